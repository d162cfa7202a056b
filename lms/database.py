"""Column types and engine settings shared by every model."""
from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")
log = logging.getLogger(__name__)


# Set for requests that change things (POST and the like): on SQLite their transactions take the
# write lock when they begin, so concurrent writers queue on the busy timeout instead of failing
# when a read transaction tries to become a write.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp, stored in UTC; SQLite gives it back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a timezone-aware column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, foreign keys and a busy timeout on every SQLite connection.

    pysqlite's own transaction handling is switched off so that SQLAlchemy emits
    BEGIN itself: this makes SAVEPOINTs and locking behave as documented.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def assign_changed(obj, **values) -> bool:
    """Set the attributes that differ; True when anything changed (loads stay idempotent)."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def note_write_intent() -> None:
    """A before_request hook: requests that change things write from their first statement."""
    from flask import request
    write_intent.set(request.method not in {"GET", "HEAD", "OPTIONS"})


@contextmanager
def writing(*, expire: bool = False) -> Iterator[None]:
    """A write inside a GET (or after a slow outside call): a short transaction of its own that begins
    as a writer (BEGIN IMMEDIATE on SQLite), so it never fails upgrading a read snapshot.

    The read transaction so far is ended first, without expiring what it loaded (the page goes on
    using it); the write is committed on leaving the block, and reading goes on in a plain one.
    ``expire=True`` reloads everything afterwards, for a write made by statements the session did not see.
    """
    from lms.extensions import db
    session = db.session()
    _commit_keeping(session)
    token = write_intent.set(True)
    try:
        yield
        if expire:
            session.commit()
        else:
            _commit_keeping(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        write_intent.reset(token)


def _commit_keeping(session) -> None:
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


# Lock contention ---------------------------------------------------------------

# SQLSTATEs PostgreSQL gives when another transaction won: serialisation failure, deadlock, lock not
# available. A transaction that met one may well succeed when run again.
RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}
RETRY_ATTEMPTS = 4


class ContentionError(Exception):
    """The database stayed busy through every retry; the request may be sent again (503)."""


def is_contention(error: BaseException) -> bool:
    """True for a lock or serialisation conflict: SQLite's busy or locked, PostgreSQL's 40001/40P01/55P03."""
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    if isinstance(orig, sqlite3.OperationalError):
        message = str(orig).lower()
        return any(words in message for words in ("database is locked", "database is busy", "table is locked"))
    return getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def retry_on_contention(work: Callable[[], T], *, attempts: int = RETRY_ATTEMPTS) -> T:
    """Run ``work``; when it loses a lock or serialisation race, roll back and run it again, a few times,
    after a short random pause. The one place the app retries: every request goes through it.

    A GET that writes only now and then (closing an attempt whose time ran out, say) begins as a reader;
    on SQLite, losing the write lock then fails at once. Run again, it begins as a writer (BEGIN
    IMMEDIATE) and waits its turn on the busy timeout instead.
    """
    from lms.extensions import db
    intent = write_intent.get()
    try:
        for attempt in range(1, attempts + 1):
            try:
                return work()
            except DBAPIError as error:
                if not is_contention(error):
                    raise
                db.session.rollback()
                if attempt == attempts:
                    log.warning("database still busy after %d attempts: %s", attempts, type(error.orig).__name__)
                    raise ContentionError() from error
                write_intent.set(True)
                time.sleep(random.uniform(0, 0.02 * 2 ** attempt))
    finally:
        write_intent.set(intent)
    raise AssertionError("unreachable")
