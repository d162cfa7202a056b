"""Sending a university's xAPI statements to its Learning Record Store, through an outbox.

A university's partner staff set the LRS (endpoint, and a username and password or key and
secret, both sent as HTTP Basic as the xAPI spec describes). From then on every new credit
record version queues its statements in ``xapi_deliveries``; "queue all" adds the records made
before. ``send_due`` posts pending statements in batches to ``<endpoint>/statements``.

Nothing is lost: a failed send leaves the rows pending with the error and a later retry time
(exponential backoff, capped at a day); a statement the LRS refuses outright (a 400 for that one
statement) is marked failed with the LRS's answer, shown in the portal, and can be queued again.
Re-sending is harmless because statement ids are stable (see ``lms.accreditation.xapi``).
"""
from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import (Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, func,
                        select, update)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accreditation.models import CreditAward
from lms.accreditation.xapi import XAPI_VERSION, records_query, statements_for
from lms.audit import record
from lms.database import UTCDateTime, utcnow
from lms.extensions import db

DELIVERY_STATUSES = ("pending", "sent", "failed")
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=24)
DEFAULT_BATCH = 50
DEFAULT_TIMEOUT = 10.0


class LrsError(Exception):
    """A Learning Record Store setting or delivery rule was broken; the message is fit to show."""

    def __init__(self, message: str, field: str = "endpoint"):
        super().__init__(message)
        self.field = field  # the settings form field the message belongs to


class LrsEndpoint(db.Model):
    """A university's Learning Record Store. The secret is stored encrypted, and never shown again."""

    __tablename__ = "lrs_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), unique=True)
    endpoint: Mapped[str] = mapped_column(String(500))
    username: Mapped[str] = mapped_column(String(200))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped["Organisation"] = relationship()  # noqa: F821

    @property
    def statements_url(self) -> str:
        return self.endpoint.rstrip("/") + "/statements"


class XapiDelivery(db.Model):
    """One statement on its way to a university's LRS (the outbox)."""

    __tablename__ = "xapi_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    credit_award_id: Mapped[int] = mapped_column(ForeignKey("credit_awards.id", ondelete="CASCADE"), index=True)
    statement_id: Mapped[str] = mapped_column(String(36))
    verb: Mapped[str] = mapped_column(String(20))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    credit_award: Mapped[CreditAward] = relationship()

    __table_args__ = (
        UniqueConstraint("organisation_id", "statement_id"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        db.Index("ix_xapi_deliveries_due", "status", "next_attempt_at"),
    )


# Settings ---------------------------------------------------------------------------------

def _fernet() -> Fernet:
    digest = hashlib.sha256(("lrs-secret:" + current_app.config["SECRET_KEY"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt_secret(endpoint: LrsEndpoint) -> str:
    try:
        return _fernet().decrypt(endpoint.secret_encrypted.encode()).decode()
    except InvalidToken:
        raise LrsError("The stored LRS secret can no longer be read (the site's secret key has changed): "
                       "enter it again in the LRS settings.") from None


def check_endpoint_url(url: str) -> str:
    """The endpoint, normalised, or an LrsError saying what is wrong with it."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise LrsError("Enter the LRS endpoint as a web address, such as https://lrs.example.ac.uk/xAPI/.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LrsError("The LRS endpoint must be an http:// or https:// address, such as "
                       "https://lrs.example.ac.uk/xAPI/.")
    if parts.username or parts.password:
        raise LrsError("Put the LRS credentials in their own fields, not in the address.")
    if parts.query or parts.fragment:
        raise LrsError("The LRS endpoint cannot have a query (?…) or a fragment (#…).")
    if len(url) > 500:
        raise LrsError("The LRS endpoint is too long (500 characters at most).")
    if port is not None and not 0 < port < 65536:
        raise LrsError("The LRS endpoint's port is not valid.")
    return url.rstrip("/")


def _check_address(url: str) -> None:
    """Refuse a private, loopback or link-local address unless XAPI_ALLOW_PRIVATE_LRS is set."""
    if current_app.config.get("XAPI_ALLOW_PRIVATE_LRS"):
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        raise LrsError(f"The LRS host {host} could not be found.") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            raise LrsError(f"The LRS host {host} is on a private or local network address, which is not allowed.")


def endpoint_for(university_id: int) -> LrsEndpoint | None:
    return db.session.scalar(select(LrsEndpoint).where(LrsEndpoint.organisation_id == university_id))


def save_endpoint(actor, university_id: int, *, endpoint: str, username: str, secret: str,
                  enabled: bool) -> LrsEndpoint:
    """Create or change a university's LRS; a blank secret keeps the stored one."""
    url = check_endpoint_url(endpoint)
    _check_address(url)
    username = (username or "").strip()
    if not username:
        raise LrsError("Enter the LRS username or key.", "username")
    if ":" in username:
        raise LrsError("The username or key cannot contain a colon.", "username")
    row = endpoint_for(university_id)
    if row is None and not secret:
        raise LrsError("Enter the LRS password or secret.", "secret")
    if row is None:
        row = LrsEndpoint(organisation_id=university_id)
        db.session.add(row)
    changed = row.endpoint != url or row.username != username or bool(secret) or row.enabled != enabled
    row.endpoint, row.username, row.enabled = url, username, enabled
    if secret:
        row.secret_encrypted = encrypt_secret(secret)
    row.updated_by_id, row.updated_at = actor.id, utcnow()
    db.session.flush()
    if changed:
        record(actor, "lrs.update", row, summary=f"LRS {url} as {username}"
               f"{' (secret changed)' if secret else ''}{'' if enabled else ' (sending paused)'}")
    return row


def remove_endpoint(actor, university_id: int) -> None:
    """Forget the university's LRS and its credentials. Statements not yet sent stay in the outbox,
    pending, for the next LRS set up (nothing is lost)."""
    row = endpoint_for(university_id)
    if row is None:
        return
    record(actor, "lrs.remove", row, summary=f"LRS {row.endpoint} removed")
    db.session.delete(row)
    db.session.flush()


# Queueing -----------------------------------------------------------------------------------

def _university_of(award: CreditAward) -> int:
    return award.registration.pathway.university_id


def _rows_for(award: CreditAward, university_id: int) -> list[dict]:
    now = utcnow()
    return [{"organisation_id": university_id, "credit_award_id": award.id, "statement_id": statement["id"],
             "verb": statement["verb"]["display"]["en-GB"],
             "payload": json.dumps(statement, ensure_ascii=False, sort_keys=True), "status": "pending",
             "attempts": 0, "last_error": "", "next_attempt_at": now, "created_at": now}
            for statement in statements_for(award)]


def _insert_new(rows: list[dict], chunk: int = 200) -> int:
    """Add outbox rows, skipping statements already queued for that university (even by a concurrent run)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    added = 0
    for start in range(0, len(rows), chunk):
        stmt = insert(XapiDelivery).values(rows[start:start + chunk]).on_conflict_do_nothing(
            index_elements=["organisation_id", "statement_id"]).returning(XapiDelivery.id)
        added += len(db.session.execute(stmt).all())  # RETURNING gives only the rows inserted
    return added


def queue_statements(awards: list[CreditAward]) -> int:
    """Queue the statements of new credit record versions for universities with an LRS set up."""
    if not awards:
        return 0
    enabled = set(db.session.scalars(select(LrsEndpoint.organisation_id).where(LrsEndpoint.enabled.is_(True))))
    rows = [row for award in awards if _university_of(award) in enabled
            for row in _rows_for(award, _university_of(award))]
    return _insert_new(rows) if rows else 0


def queue_all(actor, university_id: int, *, chunk: int = 500) -> int:
    """Queue every credit record version of the university not queued before (for an LRS set up later)."""
    if endpoint_for(university_id) is None:
        raise LrsError("Set up the university's LRS first.")
    queued = 0
    stmt = records_query([university_id]).execution_options(yield_per=chunk)
    for awards in db.session.scalars(stmt).partitions(chunk):
        queued += _insert_new([row for award in awards for row in _rows_for(award, university_id)])
    if actor is not None:
        record(actor, "lrs.queue_all", endpoint_for(university_id), summary=f"{queued} statement(s) queued")
    db.session.flush()
    return queued


def requeue_failed(actor, university_id: int) -> int:
    """Failed statements go back to pending (after the LRS or the statements were put right)."""
    result = db.session.execute(update(XapiDelivery).where(
        XapiDelivery.organisation_id == university_id, XapiDelivery.status == "failed")
        .values(status="pending", next_attempt_at=utcnow()))
    if result.rowcount and actor is not None:
        record(actor, "lrs.retry_failed", endpoint_for(university_id), summary=f"{result.rowcount} statement(s)")
    db.session.flush()
    return result.rowcount or 0


def status_counts(university_id: int) -> dict[str, int]:
    counts = dict(db.session.execute(select(XapiDelivery.status, func.count(XapiDelivery.id)).where(
        XapiDelivery.organisation_id == university_id).group_by(XapiDelivery.status)).all())
    return {status: counts.get(status, 0) for status in DELIVERY_STATUSES}


def deliveries_query(university_id: int, *, status: str = ""):
    stmt = select(XapiDelivery).where(XapiDelivery.organisation_id == university_id)
    if status in DELIVERY_STATUSES:
        stmt = stmt.where(XapiDelivery.status == status)
    return stmt.order_by(XapiDelivery.id.desc())


# Sending ------------------------------------------------------------------------------------

@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0       # refused by the LRS: marked failed
    deferred: int = 0     # not delivered this time: still pending, with the error and a retry time
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = f"Sent {self.sent} statement(s)"
        if self.deferred:
            text += f"; {self.deferred} still pending"
        if self.failed:
            text += f"; {self.failed} refused by the LRS"
        return text + "."


class _Transient(Exception):
    """The LRS could not take the batch now: keep it pending and retry later."""


class _Refused(Exception):
    """The LRS refused the batch's content (HTTP 400, 413 or 422)."""


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _describe(response: requests.Response) -> str:
    body = " ".join(response.text.split())[:300]
    return f"HTTP {response.status_code} from the LRS" + (f": {body}" if body else "")


def _post(session: requests.Session, lrs: LrsEndpoint, secret: str, rows: list[XapiDelivery],
          timeout: float) -> None:
    body = "[" + ",".join(row.payload for row in rows) + "]"
    try:
        response = session.post(lrs.statements_url, data=body.encode(), auth=(lrs.username, secret),
                                headers={"X-Experience-API-Version": XAPI_VERSION,
                                         "Content-Type": "application/json"},
                                timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        raise _Transient(f"The LRS did not answer within {timeout:g} seconds.") from None
    except requests.RequestException as error:
        raise _Transient(f"Could not reach the LRS ({type(error).__name__}).") from None
    # 200: stored; 204 (ralph) or 409: already there (a statement id is stable, so it was ours).
    if response.status_code in (200, 204, 409):
        return
    # 400 or 422: the LRS found the statements invalid; 413: too large. Split the batch, or give up on one.
    if response.status_code in (400, 413, 422):
        raise _Refused(_describe(response))
    raise _Transient(_describe(response))


def _defer(rows: list[XapiDelivery], error: str) -> None:
    now = utcnow()
    for row in rows:
        row.attempts += 1
        row.last_error, row.status = error[:2000], "pending"
        row.next_attempt_at = now + _backoff(row.attempts)


def _mark_sent(rows: list[XapiDelivery]) -> None:
    now = utcnow()
    for row in rows:
        row.attempts += 1
        row.status, row.sent_at, row.last_error = "sent", now, ""


def _refuse(row: XapiDelivery, error: str, report: SendReport) -> None:
    row.attempts += 1
    row.status, row.last_error = "failed", error[:2000]
    report.failed += 1
    report.errors.append(f"Statement {row.statement_id}: {error}")


def send_for(university_id: int, *, force: bool = False, batch_size: int = DEFAULT_BATCH,
             timeout: float = DEFAULT_TIMEOUT, limit: int | None = None, budget: float | None = None,
             session: requests.Session | None = None) -> SendReport:
    """Send a university's pending statements, oldest first. ``force`` ignores the retry times.

    ``budget`` (seconds) stops starting new batches after that long, so a request that sends
    stays short; what is left simply waits for the next run. A transient failure stops this run
    for that LRS (it is down, or the credentials are wrong): the rest wait for the next run, with
    nothing lost. The caller commits.
    """
    report = SendReport()
    lrs = endpoint_for(university_id)
    if lrs is None or not lrs.enabled:
        return report
    stmt = select(XapiDelivery).where(XapiDelivery.organisation_id == university_id,
                                      XapiDelivery.status == "pending").order_by(XapiDelivery.id)
    if not force:
        stmt = stmt.where(XapiDelivery.next_attempt_at <= utcnow())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = list(db.session.scalars(stmt))
    if not rows:
        return report
    try:
        secret = decrypt_secret(lrs)
        _check_address(lrs.endpoint)
    except LrsError as error:
        _defer(rows, str(error))
        report.deferred += len(rows)
        report.errors.append(str(error))
        return report
    session = session or requests.Session()
    started = time.monotonic()
    for start in range(0, len(rows), batch_size):
        if budget is not None and start and time.monotonic() - started > budget:
            break
        batch = rows[start:start + batch_size]
        try:
            _post(session, lrs, secret, batch, timeout)
            _mark_sent(batch)
            report.sent += len(batch)
        except _Refused as refused:
            if len(batch) == 1:
                _refuse(batch[0], str(refused), report)
            else:
                # One bad statement spoils a batch: send them one by one to find it.
                for index, row in enumerate(batch):
                    try:
                        _post(session, lrs, secret, [row], timeout)
                        _mark_sent([row])
                        report.sent += 1
                    except _Refused as single:
                        _refuse(row, str(single), report)
                    except _Transient as error:
                        remaining = rows[start + index:]
                        _defer(remaining, str(error))
                        report.deferred += len(remaining)
                        report.errors.append(str(error))
                        db.session.flush()
                        return report
        except _Transient as error:
            remaining = rows[start:]
            _defer(remaining, str(error))
            report.deferred += len(remaining)
            report.errors.append(str(error))
            break
        db.session.flush()
    db.session.flush()
    return report


def universities_with_lrs() -> list[int]:
    return list(db.session.scalars(select(LrsEndpoint.organisation_id).where(LrsEndpoint.enabled.is_(True))
                                   .order_by(LrsEndpoint.organisation_id)))
