"""The emails the accounts package sends."""
from __future__ import annotations

from flask import current_app, render_template

from lms.accounts import services
from lms.accounts.models import User
from lms.mail import send_mail
from lms.urls import external_url


def send_verification_email(user: User) -> None:
    link = external_url("accounts.confirm_email", token=services.make_verify_token(user))
    send_mail(user.pending_email or user.email, f"Confirm your email address for {current_app.config['SITE_NAME']}",
              render_template("accounts/email/verify.txt", user=user, link=link))


def send_reset_email(user: User) -> None:
    link = external_url("accounts.reset_password", token=services.make_reset_token(user))
    minutes = current_app.config["RESET_TOKEN_MAX_AGE"] // 60
    send_mail(user.email, f"Reset your {current_app.config['SITE_NAME']} password",
              render_template("accounts/email/reset.txt", user=user, link=link, minutes=minutes))
