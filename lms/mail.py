"""Outgoing mail: SMTP when configured, otherwise the log; tests read an in-memory outbox."""
from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

log = logging.getLogger("lms.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def outbox(app=None) -> list[Mail]:
    """The in-memory outbox of the ``memory`` backend (used by the tests)."""
    app = app or current_app
    return app.extensions.setdefault("lms_outbox", [])


def backend_name(config) -> str:
    return config.get("MAIL_BACKEND") or ("smtp" if config.get("MAIL_SERVER") else "log")


def send_mail(to: str, subject: str, body: str) -> Mail:
    """Send a plain-text message now, through the configured backend."""
    config = current_app.config
    mail = Mail(to=to, subject=subject, body=body)
    backend = backend_name(config)
    if backend == "memory":
        outbox().append(mail)
    elif backend == "smtp":
        _send_smtp(config, mail)
    else:
        log.info("Mail to %s: %s\n%s", to, subject, body)
    return mail


def _send_smtp(config, mail: Mail) -> None:
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid()
    message.set_content(mail.body)
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20) as smtp:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
