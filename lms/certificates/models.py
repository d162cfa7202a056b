"""Completion, the CPD ledger, certificates and their reminders."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import UTCDateTime, utcnow
from lms.extensions import db


class ModuleCompletion(db.Model):
    __tablename__ = "module_completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "module_id"),)


CPD_CATEGORIES = [
    "Course on this platform",
    "Formal course or qualification",
    "Workshop, seminar or conference",
    "Reading and research",
    "Work-based learning",
    "Mentoring or supervision",
    "Other",
]


class CpdEntry(db.Model):
    """One row of a learner's CPD ledger: hours earned here (once per module) or logged for outside work."""

    __tablename__ = "cpd_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # platform or external
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    activity_date: Mapped[date] = mapped_column(Date)
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 1))
    category: Mapped[str] = mapped_column(String(60))
    learned: Mapped[str] = mapped_column(Text, default="")
    apply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("user_id", "module_id"),  # a module's hours count once
        CheckConstraint("source IN ('platform', 'external')", name="source_known"),
        CheckConstraint("hours > 0 AND hours <= 1000", name="hours_range"),
    )


class CpdTarget(db.Model):
    __tablename__ = "cpd_targets"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal("30"))

    __table_args__ = (CheckConstraint("hours > 0 AND hours <= 1000", name="hours_range"),)


class Certificate(db.Model):
    """A certificate as issued: its text is fixed at issue, so downloading again gives the same one."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)      # public verification code, 100 random bits
    number: Mapped[str] = mapped_column(String(40), unique=True)    # printed reference, e.g. CL-2026-000042-1
    credential_id: Mapped[str] = mapped_column(String(64), unique=True)  # urn:uuid of the Open Badge
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    holder_name: Mapped[str] = mapped_column(String(120))
    course_title: Mapped[str] = mapped_column(String(200))
    level_label: Mapped[str] = mapped_column(String(60))
    cpd_hours: Mapped[Decimal] = mapped_column(Numeric(6, 1))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="SET NULL"))
    # The certificate this one renews (recertification), if any.
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="SET NULL"))

    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
    course: Mapped["Course"] = relationship()  # noqa: F821
    superseded_by: Mapped[Certificate | None] = relationship(remote_side=[id], foreign_keys=[superseded_by_id])

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.superseded_by_id is not None:
            return "superseded"
        if self.expires_at is not None and self.expires_at < utcnow():
            return "expired"
        return "valid"


class CertificateReminder(db.Model):
    """A reminder sent about a certificate; its key makes the reminder command idempotent."""

    __tablename__ = "certificate_reminders"

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # window or expiry
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
