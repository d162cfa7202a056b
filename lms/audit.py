"""The audit log: who did what to which record, when, with before and after where it matters."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import UTCDateTime, utcnow
from lms.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)        # e.g. course.publish, mark.change
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    actor: Mapped["User | None"] = relationship()  # noqa: F821


def record(actor, action: str, obj=None, *, summary: str = "", before: dict | None = None,
           after: dict | None = None, object_type: str | None = None) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits it with the change)."""
    event = AuditEvent(actor_id=getattr(actor, "id", None), action=action,
                       object_type=object_type or (type(obj).__name__ if obj is not None else ""),
                       object_id=getattr(obj, "id", None), summary=summary, before=before, after=after)
    db.session.add(event)
    return event
