"""Column types and engine settings shared by every model."""
from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator


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


def begin_writing() -> None:
    """For a GET that must write (the payment success page): end the read transaction, so the next one
    begins as a writer (BEGIN IMMEDIATE on SQLite) and never fails upgrading a stale read snapshot."""
    from lms.extensions import db
    db.session.commit()
    write_intent.set(True)
