"""Payments through Stripe Checkout, the Stripe events received, and enrolment codes bought by invoice."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import UTCDateTime, utcnow
from lms.extensions import db


class PaymentStatus(StrEnum):
    PENDING = "pending"      # a Checkout Session was created; the learner has not paid (yet)
    PAID = "paid"
    FAILED = "failed"        # an asynchronous payment (such as Bacs) failed
    REFUNDED = "refunded"


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Payment(db.Model):
    """One Stripe Checkout Session for a place on a course, recorded before the learner is sent to pay."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_session_id: Mapped[str] = mapped_column(String(255), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"), index=True)
    amount: Mapped[int] = mapped_column(Integer)          # minor units: what the learner was asked to pay
    currency: Mapped[str] = mapped_column(String(3))
    amount_paid: Mapped[int | None] = mapped_column(Integer)  # after any promotion code, as Stripe reports it
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.PENDING.value, index=True)
    receipt_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped["User | None"] = relationship()  # noqa: F821
    course: Mapped["Course | None"] = relationship()  # noqa: F821

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(PaymentStatus)})", name="status_known"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    def __repr__(self) -> str:
        return f"<Payment {self.id} {self.stripe_session_id} {self.status}>"


class StripeEvent(db.Model):
    """A webhook event from Stripe, stored once (its id is unique) in the transaction that acts on it."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)  # the session or charge it is about
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(Text, default="")
    # Set when the event could not be acted on (an unknown session, say); admins see these.
    problem: Mapped[str | None] = mapped_column(Text)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"), index=True)


class CodeBatch(db.Model):
    """Places on a course bought by an organisation (paid by invoice), as single-use codes."""

    __tablename__ = "code_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    size: Mapped[int] = mapped_column(Integer)
    expires_on: Mapped[date] = mapped_column(Date)  # codes work up to and including this day (UTC)
    reference: Mapped[str] = mapped_column(String(100), default="")  # such as the invoice number
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    course: Mapped["Course"] = relationship()  # noqa: F821
    organisation: Mapped["Organisation"] = relationship()  # noqa: F821
    created_by: Mapped["User | None"] = relationship()  # noqa: F821
    codes: Mapped[list[EnrolmentCode]] = relationship(back_populates="batch", order_by="EnrolmentCode.id",
                                                      cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint("size BETWEEN 1 AND 1000", name="size_range"),)


class EnrolmentCode(db.Model):
    """One place: the code a learner types once. Stored in canonical form (upper case, grouped)."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("code_batches.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    batch: Mapped[CodeBatch] = relationship(back_populates="codes")
    redeemed_by: Mapped["User | None"] = relationship()  # noqa: F821
