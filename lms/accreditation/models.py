"""University-accreditation pathways, registrations, and credit records with their history."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import UTCDateTime, utcnow
from lms.extensions import db

# QAA Frameworks for Higher Education Qualifications: minimum credits, and minimum at the award's level.
AWARD_RULES = {"PGCert": (60, 40), "PGDip": (120, 90), "MA": (180, 150), "MSc": (180, 150)}


class RegistrationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


# What a partner may record as the identity check behind an approval (key: what the page says).
IDENTITY_METHODS = {
    "photo-id": "Photo identity document (passport, driving licence or national identity card) "
                "checked against the legal name and date of birth",
    "video-call": "Photo identity document shown on a video call and matched to the learner",
    "student-record": "Matched to the university's own student record",
    "other": "Another check, described in the note",
}

NOT_RECORDED = "not-recorded"   # approvals made before decisions were kept (migration 0014)


class Pathway(db.Model):
    __tablename__ = "pathways"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    award: Mapped[str] = mapped_column(String(20))
    university_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    framework: Mapped[str] = mapped_column(String(20), default="CATS")
    level: Mapped[int] = mapped_column(Integer, default=7)
    credits_required: Mapped[int] = mapped_column(Integer)
    entry_requirements: Mapped[str] = mapped_column(Text, default="")
    consent_text: Mapped[str] = mapped_column(Text)
    registration_opens: Mapped[date | None] = mapped_column(Date)
    registration_closes: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="published")

    university: Mapped["Organisation"] = relationship()  # noqa: F821
    modules: Mapped[list[PathwayModule]] = relationship(back_populates="pathway", order_by="PathwayModule.position",
                                                        cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint("credits_required > 0", name="credits_positive"),)


class PathwayModule(db.Model):
    __tablename__ = "pathway_modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(ForeignKey("pathways.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    credits: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)

    pathway: Mapped[Pathway] = relationship(back_populates="modules")
    course: Mapped["Course"] = relationship()  # noqa: F821

    __table_args__ = (UniqueConstraint("pathway_id", "course_id"), UniqueConstraint("pathway_id", "code"),
                      CheckConstraint("credits > 0", name="credits_positive"))


class PathwayRegistration(db.Model):
    __tablename__ = "pathway_registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # the learner reference universities see
    pathway_id: Mapped[int] = mapped_column(ForeignKey("pathways.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    prior_qualifications: Mapped[str] = mapped_column(Text)
    consent_text: Mapped[str] = mapped_column(Text)       # exactly what the learner agreed to
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=RegistrationStatus.PENDING.value, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    identity_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    pathway: Mapped[Pathway] = relationship()
    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
    decided_by: Mapped["User | None"] = relationship(foreign_keys=[decided_by_id])  # noqa: F821
    decisions: Mapped[list[RegistrationDecision]] = relationship(
        back_populates="registration", order_by="RegistrationDecision.sequence", cascade="all, delete-orphan")

    __table_args__ = (UniqueConstraint("pathway_id", "user_id"),
                      CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn')",
                                      name="status_known"))


class RegistrationDecision(db.Model):
    """One decision on a registration, never edited: a change of mind is a new decision with its reason.

    The registration's ``status``, ``reason``, ``identity_checked`` and ``decided_*`` repeat the
    newest decision, for the lists, the CSV and the API.
    """

    __tablename__ = "registration_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("pathway_registrations.id", ondelete="CASCADE"),
                                                 index=True)
    sequence: Mapped[int] = mapped_column(Integer)        # 1 for the first decision, 2 for its reversal...
    status: Mapped[str] = mapped_column(String(20))       # approved or rejected
    reason: Mapped[str] = mapped_column(Text, default="")
    identity_method: Mapped[str | None] = mapped_column(String(20))   # a key of IDENTITY_METHODS; approvals only
    identity_note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    registration: Mapped[PathwayRegistration] = relationship(back_populates="decisions")
    decided_by: Mapped["User | None"] = relationship()  # noqa: F821

    __table_args__ = (UniqueConstraint("registration_id", "sequence"),
                      CheckConstraint("status IN ('approved', 'rejected')", name="status_known"),
                      CheckConstraint("status = 'rejected' OR identity_method IS NOT NULL",
                                      name="approval_has_identity_check"))

    @property
    def identity_text(self) -> str:
        if self.identity_method == NOT_RECORDED:
            return "Not recorded: approved before the check was recorded with each decision"
        return IDENTITY_METHODS.get(self.identity_method or "", "")

    @property
    def reverses(self) -> bool:
        return self.sequence > 1


class CreditAward(db.Model):
    """One version of the credit record for a learner's pathway module: requested, moderated, decided.

    Rows are never edited: each change (moderation, approval, a later correction) adds a version
    with who, when and why. The newest version is the record; an approved one is the award.
    """

    __tablename__ = "credit_awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("pathway_registrations.id", ondelete="CASCADE"),
                                                 index=True)
    pathway_module_id: Mapped[int] = mapped_column(ForeignKey("pathway_modules.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(String(10))           # passed or failed, always explicit
    mark: Mapped[int] = mapped_column(Integer)
    credits: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    identity_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    moderation: Mapped[str] = mapped_column(String(20), default="pending")   # pending, confirmed, adjusted
    status: Mapped[str] = mapped_column(String(20), default="requested")     # requested, approved, rejected
    note: Mapped[str] = mapped_column(Text, default="")                      # why this version exists
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    registration: Mapped[PathwayRegistration] = relationship()
    pathway_module: Mapped[PathwayModule] = relationship()
    changed_by: Mapped["User | None"] = relationship(foreign_keys=[changed_by_id])  # noqa: F821

    __table_args__ = (
        UniqueConstraint("registration_id", "pathway_module_id", "version"),
        CheckConstraint("result IN ('passed', 'failed')", name="result_known"),
        CheckConstraint("moderation IN ('pending', 'confirmed', 'adjusted')", name="moderation_known"),
        CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="status_known"),
        CheckConstraint("mark BETWEEN 0 AND 100", name="mark_range"),
    )


class ApiToken(db.Model):
    """A university's bearer token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
