"""Payment rules: checkout, fulfilment (once, from any path), refunds, reconciliation and enrolment codes.

Paid but not enrolled must never happen. Three paths fulfil a Checkout Session, all through
:func:`fulfil_session`: the webhook, the success page asking Stripe when the webhook is late,
and ``lms payments reconcile``. Fulfilment moves the payment from pending to paid with a
compare-and-set UPDATE, so whichever path comes first enrols and the others change nothing.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from lms import audit
from lms.accounts.models import Organisation, User
from lms.courses import services as courses
from lms.courses.models import Course, CourseStatus, Enrolment, EnrolmentSource, EnrolmentStatus
from lms.database import utcnow
from lms.extensions import db
from lms.payments import stripe_api
from lms.payments.models import CodeBatch, EnrolmentCode, Payment, PaymentStatus, StripeEvent


class PaymentError(Exception):
    """A payment rule was broken; the message is fit to show the user."""


class PaymentsNotConfiguredError(PaymentError):
    pass


class CheckoutError(PaymentError):
    pass


class WebhookSignatureError(PaymentError):
    pass


class CodeError(PaymentError):
    pass


# Enrolling and suspending ------------------------------------------------------

def grant_place(user: User, course: Course, *, source: str) -> Enrolment:
    """Enrol ``user`` because they paid or redeemed a code; a place suspended by a refund comes back.

    A paid place is honoured even if the course was archived after the learner paid.
    """
    enrolment = courses.enrolment_for(user, course)
    if enrolment is not None and enrolment.status == EnrolmentStatus.SUSPENDED:
        courses.reinstate(enrolment)
        return enrolment
    return courses.enrol(user, course, source=source)


# Checkout --------------------------------------------------------------------

def _client():
    client = stripe_api.client()
    if client is None:
        raise PaymentsNotConfiguredError("Online payment is not available at the moment.")
    return client


def start_checkout(user: User, course: Course, *, success_url: str, cancel_url: str,
                   release=None) -> tuple[Payment, str]:
    """Create a Stripe Checkout Session for a place on ``course`` and record it as a pending Payment.

    Returns the payment and the address of Stripe's checkout page. The caller commits before
    redirecting there, so the session is on record whatever happens next. ``release`` (the view
    passes ``db.session.commit``) ends the read transaction before the call to Stripe, so no
    database lock is held while the network answers.
    """
    if course.status != CourseStatus.PUBLISHED:
        raise CheckoutError("This course is not open for enrolment.")
    if course.is_free:
        raise CheckoutError("This course is free: enrol without paying.")
    enrolment = courses.enrolment_for(user, course)
    if enrolment is not None and enrolment.is_active:
        raise CheckoutError("You are already enrolled on this course.")
    if enrolment is not None and enrolment.status == EnrolmentStatus.LEFT:
        raise CheckoutError("You already hold a place on this course: enrol again, free, from the course page.")
    client = _client()
    user_id = user.id  # read now: release() below expires the loaded objects
    course_id, price, currency = course.id, course.price, course.currency
    params = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": course.currency.lower(), "unit_amount": course.price,
            "product_data": {"name": course.title, "metadata": {"course_slug": course.slug}}}}],
        "client_reference_id": f"user-{user.id}-course-{course.id}",
        "customer_email": user.email,
        "metadata": {"lms_user_id": str(user.id), "lms_course_id": str(course.id), "course_slug": course.slug},
        "payment_intent_data": {"metadata": {"lms_user_id": str(user.id), "lms_course_id": str(course.id)}},
        "allow_promotion_codes": True,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if release is not None:
        release()
    try:
        session = client.v1.checkout.sessions.create(params)
    except stripe_api.StripeError as error:
        raise CheckoutError("We could not reach the payment service. Nothing was charged; please try again "
                            "in a moment.") from error
    payment = Payment(stripe_session_id=session.id, user_id=user_id, course_id=course_id, amount=price,
                      currency=currency, status=PaymentStatus.PENDING.value)
    db.session.add(payment)
    db.session.flush()
    return payment, session.url


def payment_for_session(session_id: str) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.stripe_session_id == session_id))


# Fulfilment ------------------------------------------------------------------

@dataclass
class Fulfilment:
    payment: Payment | None
    changed: bool
    message: str
    problem: bool = False  # a person must look: listed for admins under "needing attention"


def _field(obj, name, default=None):
    try:
        value = obj[name]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _move(payment: Payment, to: PaymentStatus, *, allowed_from: set[PaymentStatus], **values) -> bool:
    """The one way a payment's status moves: a compare-and-set, true when this call made the change."""
    now = utcnow()
    result = db.session.execute(
        update(Payment).where(Payment.id == payment.id,
                              Payment.status.in_([s.value for s in allowed_from]))
        .values(status=to.value, updated_at=now, **values),
        execution_options={"synchronize_session": False})
    db.session.refresh(payment)
    return result.rowcount == 1


def fulfil_session(session) -> Fulfilment:
    """Act on a Checkout Session as Stripe reports it: enrol when it is paid. Safe to call any number of times."""
    session_id = _field(session, "id")
    payment = payment_for_session(session_id) if session_id else None
    if payment is None:
        return Fulfilment(None, False, f"Checkout Session {session_id} is not one of ours: no payment is recorded "
                                       "for it. Nobody was enrolled.", problem=True)
    if _field(session, "payment_status") not in ("paid", "no_payment_required"):
        return Fulfilment(payment, False, f"Checkout Session {session_id} is not paid yet "
                                          f"({_field(session, 'payment_status', 'unknown')}).")
    intent = _field(session, "payment_intent")
    intent_id = intent if isinstance(intent, str) or intent is None else _field(intent, "id")
    moved = _move(payment, PaymentStatus.PAID, allowed_from={PaymentStatus.PENDING, PaymentStatus.FAILED},
                  paid_at=utcnow(), stripe_payment_intent_id=intent_id,
                  amount_paid=_field(session, "amount_total", payment.amount))
    user = db.session.get(User, payment.user_id) if payment.user_id else None
    course = db.session.get(Course, payment.course_id) if payment.course_id else None
    if user is None or course is None:
        return Fulfilment(payment, moved, f"Payment {payment.id} is paid but its learner or course no longer "
                                          "exists. Nobody was enrolled.", problem=True)
    enrolment = courses.enrolment_for(user, course)
    if moved and enrolment is not None and enrolment.is_active:
        return Fulfilment(payment, True, f"Payment {payment.id} is paid, but {user.email} already had an active "
                                         f"place on {course.slug}: a second payment for one place, to refund.",
                          problem=True)
    if moved or enrolment is None:
        # Newly paid (or paid with no enrolment at all): give the place. A replay of an old event after a
        # refund moves nothing, so it never lifts the suspension.
        grant_place(user, course, source=EnrolmentSource.PAYMENT)
        return Fulfilment(payment, True, f"{user.email} enrolled on {course.slug} (payment {payment.id}).")
    return Fulfilment(payment, False, f"Payment {payment.id} was already fulfilled.")


def fail_session(session) -> Fulfilment:
    """An asynchronous payment (such as a bank debit) failed: the payment is marked failed."""
    payment = payment_for_session(_field(session, "id", ""))
    if payment is None:
        return Fulfilment(None, False, f"Checkout Session {_field(session, 'id')} is not one of ours.", problem=True)
    moved = _move(payment, PaymentStatus.FAILED, allowed_from={PaymentStatus.PENDING})
    return Fulfilment(payment, moved, f"Payment {payment.id} failed." if moved else
                      f"Payment {payment.id} is {payment.status}; left as it is.")


def refund_charge(charge) -> Fulfilment:
    """A charge was refunded in full: the payment is refunded and that enrolment only is suspended."""
    intent_id = _field(charge, "payment_intent")
    payment = db.session.scalar(select(Payment).where(Payment.stripe_payment_intent_id == intent_id)) \
        if intent_id else None
    if payment is None:
        return Fulfilment(None, False, f"Charge {_field(charge, 'id')} (payment intent {intent_id}) does not match "
                                       "any payment of ours.", problem=True)
    if not _field(charge, "refunded", False):
        refunded = _field(charge, "amount_refunded", 0)
        return Fulfilment(payment, False, f"Payment {payment.id} was partly refunded ({refunded} of "
                                          f"{_field(charge, 'amount', payment.amount)}); the place is kept.")
    moved = _move(payment, PaymentStatus.REFUNDED, allowed_from={PaymentStatus.PAID, PaymentStatus.PENDING},
                  refunded_at=utcnow())
    if not moved:
        return Fulfilment(payment, False, f"Payment {payment.id} was already {payment.status}.")
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == payment.user_id,
                                                          Enrolment.course_id == payment.course_id))
    if enrolment is not None and enrolment.status != EnrolmentStatus.SUSPENDED:
        courses.suspend(enrolment)  # a learner who left first must not come back free
    audit.record(None, "payment.refund", payment, summary=f"Payment {payment.id} refunded; the place on course "
                 f"{payment.course_id} is suspended (progress kept).")
    return Fulfilment(payment, True, f"Payment {payment.id} refunded; enrolment suspended.")


# Webhooks --------------------------------------------------------------------

HANDLERS = {
    "checkout.session.completed": fulfil_session,
    "checkout.session.async_payment_succeeded": fulfil_session,
    "checkout.session.async_payment_failed": fail_session,
    "charge.refunded": refund_charge,
}


def handle_webhook(payload: bytes, signature: str | None) -> StripeEvent | None:
    """Verify and act on one webhook delivery. Returns the stored event, or None for a repeat.

    The event row (unique by Stripe's event id) is written in the same transaction as its
    effects, which the caller commits: a second delivery, even a concurrent one, finds the id
    taken and changes nothing.
    """
    try:
        event = stripe_api.construct_event(payload, signature)
    except (stripe_api.SignatureVerificationError, ValueError) as error:
        raise WebhookSignatureError("The webhook signature could not be verified.") from error
    obj = event.data.object
    stored = StripeEvent(event_id=event.id, type=event.type, object_id=_field(obj, "id"))
    try:
        with db.session.begin_nested():
            db.session.add(stored)
    except IntegrityError:
        return None  # already received: processed once, in the transaction that stored it
    handler = HANDLERS.get(event.type)
    if handler is None:
        stored.outcome = "Ignored: the app does not act on this type of event."
    else:
        result = handler(obj)
        stored.payment_id = result.payment.id if result.payment else None
        if result.problem:
            stored.problem = result.message
        else:
            stored.outcome = result.message
    stored.processed_at = utcnow()
    db.session.flush()
    return stored


# The success page --------------------------------------------------------------

def stripe_session(session_id: str):
    """Stripe's own view of a Checkout Session (the webhook may be late). A network call: the caller
    holds no database transaction while it runs. Raises PaymentError when Stripe cannot be reached."""
    try:
        return _client().v1.checkout.sessions.retrieve(session_id)
    except stripe_api.StripeError as error:
        raise PaymentError("We could not reach the payment service to check your payment.") from error


# Reconciliation ----------------------------------------------------------------

@dataclass
class ReconcileReport:
    checked: int = 0
    fixed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _payment_from_metadata(session) -> Payment | None:
    """A paid session with our metadata but no Payment row (the app stopped between Stripe and the commit)."""
    metadata = _field(session, "metadata", {}) or {}
    try:
        user_id, course_id = int(_field(metadata, "lms_user_id")), int(_field(metadata, "lms_course_id"))
    except (TypeError, ValueError):
        return None
    if _field(session, "client_reference_id") != f"user-{user_id}-course-{course_id}":
        return None
    user, course = db.session.get(User, user_id), db.session.get(Course, course_id)
    if user is None or course is None:
        return None
    payment = Payment(stripe_session_id=_field(session, "id"), user_id=user.id, course_id=course.id,
                      amount=_field(session, "amount_subtotal", _field(session, "amount_total", 0)),
                      currency=str(_field(session, "currency", course.currency)).upper(),
                      status=PaymentStatus.PENDING.value)
    db.session.add(payment)
    db.session.flush()
    return payment


def reconcile(since: datetime, *, commit=None) -> ReconcileReport:
    """Enrol everyone Stripe says has paid since ``since`` but who is not enrolled. Safe to run again.

    ``commit`` is called after each session (the CLI passes ``db.session.commit``), so a failure
    part-way keeps the fixes made before it.
    """
    report = ReconcileReport()
    params = {"created": {"gte": int(since.timestamp())}, "status": "complete", "limit": 100}
    for session in _client().v1.checkout.sessions.list(params).auto_paging_iter():
        report.checked += 1
        if _field(session, "payment_status") not in ("paid", "no_payment_required"):
            continue
        payment = payment_for_session(session.id)
        created = False
        if payment is None:
            payment = _payment_from_metadata(session)
            created = payment is not None
            if payment is None:
                report.problems.append(f"{session.id}: paid, but not one of ours (no payment and no usable "
                                       "metadata); left alone.")
                continue
        result = fulfil_session(session)
        if result.problem:
            report.problems.append(f"{session.id}: {result.message}")
        elif result.changed or created:
            line = result.message + (" A missing payment record was created." if created else "")
            report.fixed.append(f"{session.id}: {line}")
            audit.record(None, "payment.reconcile", payment, summary=line)
        if commit:
            commit()
    return report


# Lists -----------------------------------------------------------------------

def purchases(user: User) -> list[Payment]:
    return list(db.session.scalars(
        select(Payment).where(Payment.user_id == user.id, Payment.status != PaymentStatus.PENDING)
        .options(joinedload(Payment.course)).order_by(Payment.created_at.desc())))


def payments_query(*, status: str = "", course_id: int | None = None, q: str = "",
                   date_from: date | None = None, date_to: date | None = None):
    stmt = (select(Payment).outerjoin(User, User.id == Payment.user_id)
            .options(joinedload(Payment.user), joinedload(Payment.course))
            .order_by(Payment.created_at.desc(), Payment.id.desc()))
    if status:
        stmt = stmt.where(Payment.status == status)
    if course_id:
        stmt = stmt.where(Payment.course_id == course_id)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(or_(User.email.ilike(pattern), User.name.ilike(pattern),
                              Payment.stripe_session_id == q, Payment.stripe_payment_intent_id == q))
    if date_from:
        stmt = stmt.where(Payment.created_at >= datetime.combine(date_from, datetime.min.time(), UTC))
    if date_to:
        stmt = stmt.where(Payment.created_at < datetime.combine(date_to + timedelta(days=1), datetime.min.time(),
                                                                UTC))
    return stmt


def problem_events_query():
    return select(StripeEvent).where(StripeEvent.problem.is_not(None)).order_by(StripeEvent.received_at.desc())


def receipt_url(payment: Payment) -> str | None:
    """Stripe's receipt for a paid payment, fetched once and kept. Network call: no transaction held."""
    if payment.receipt_url or not payment.stripe_payment_intent_id:
        return payment.receipt_url
    try:
        intent = _client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id,
                                                       {"expand": ["latest_charge"]})
    except stripe_api.StripeError as error:
        raise PaymentError("We could not fetch the receipt from the payment service; try again later.") from error
    charge = _field(intent, "latest_charge")
    return _field(charge, "receipt_url") if charge is not None and not isinstance(charge, str) else None


# Enrolment codes -------------------------------------------------------------

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: easy to read out and type
CODE_GROUPS, CODE_GROUP_LENGTH = 3, 4                # 31^12, about 2^59 codes: not guessable
MAX_BATCH = 1000


def new_code() -> str:
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LENGTH))
    return "-".join(chars[i:i + CODE_GROUP_LENGTH] for i in range(0, len(chars), CODE_GROUP_LENGTH))


def normalise_code(text: str) -> str:
    """What the learner typed, in stored form: case, spaces and hyphens do not matter."""
    chars = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    return "-".join(chars[i:i + CODE_GROUP_LENGTH] for i in range(0, len(chars), CODE_GROUP_LENGTH))


def create_code_batch(actor: User, course: Course, organisation: Organisation, *, size: int, expires_on: date,
                      reference: str = "") -> CodeBatch:
    if not 1 <= size <= MAX_BATCH:
        raise CodeError(f"A batch holds from 1 to {MAX_BATCH} codes.")
    if expires_on < utcnow().date():
        raise CodeError("The expiry date must be today or later.")
    batch = CodeBatch(course_id=course.id, organisation_id=organisation.id, size=size, expires_on=expires_on,
                      reference=reference.strip(), created_by_id=actor.id)
    db.session.add(batch)
    db.session.flush()
    made = 0
    while made < size:
        try:
            with db.session.begin_nested():
                db.session.add(EnrolmentCode(batch_id=batch.id, code=new_code()))
            made += 1
        except IntegrityError:  # a collision: astronomically rare, but never fatal
            continue
    audit.record(actor, "codes.create", batch, summary=f"{size} enrolment codes for {course.title}, paid by "
                 f"{organisation.name}, expiring {expires_on.isoformat()}",
                 after={"course": course.slug, "organisation": organisation.name, "size": size,
                        "expires_on": expires_on.isoformat(), "reference": batch.reference})
    return batch


def change_batch_expiry(actor: User, batch: CodeBatch, expires_on: date) -> None:
    """Move the last day the batch's unused codes work: later to extend, or to yesterday to end them now.

    Codes already used are not affected: their places stay.
    """
    yesterday = utcnow().date() - timedelta(days=1)
    if expires_on < yesterday:
        raise CodeError("The new expiry date must be today or later (or end the batch now).")
    if expires_on == batch.expires_on:
        return
    before = batch.expires_on
    batch.expires_on = expires_on
    audit.record(actor, "codes.expiry", batch,
                 summary=("Unused codes ended" if expires_on == yesterday else "Expiry changed") +
                 f" for {batch.organisation.name}'s codes on {batch.course.title}",
                 before={"expires_on": before.isoformat()}, after={"expires_on": expires_on.isoformat()})
    db.session.flush()


def end_batch(actor: User, batch: CodeBatch) -> None:
    """Stop the batch's unused codes at once (they expired yesterday); places already taken stay."""
    change_batch_expiry(actor, batch, utcnow().date() - timedelta(days=1))


def redeem_code(user: User, course: Course, text: str) -> Enrolment:
    """Use one code for a place on ``course``. Two learners racing for one code: one enrolment."""
    code = db.session.scalar(select(EnrolmentCode).where(EnrolmentCode.code == normalise_code(text))
                             .options(joinedload(EnrolmentCode.batch)))
    if code is None:
        raise CodeError("We do not recognise that code. Check it and try again.")
    if code.batch.course_id != course.id:
        raise CodeError("That code is for a different course.")
    if code.redeemed_at is not None:
        raise CodeError("That code has already been used.")
    if code.batch.expires_on < utcnow().date():
        raise CodeError(f"That code expired on {code.batch.expires_on.strftime('%d %B %Y').lstrip('0')}.")
    enrolment = courses.enrolment_for(user, course)
    if enrolment is not None and enrolment.is_active:
        raise CodeError("You are already enrolled on this course; keep the code for someone else.")
    if course.status != CourseStatus.PUBLISHED:
        raise CodeError("This course is not open for enrolment.")
    claimed = db.session.execute(
        update(EnrolmentCode).where(EnrolmentCode.id == code.id, EnrolmentCode.redeemed_at.is_(None))
        .values(redeemed_at=utcnow(), redeemed_by_id=user.id),
        execution_options={"synchronize_session": False}).rowcount
    if claimed != 1:
        raise CodeError("That code has already been used.")
    return grant_place(user, course, source=EnrolmentSource.CODE)


def batches_query(course: Course | None = None):
    stmt = (select(CodeBatch).options(joinedload(CodeBatch.organisation), joinedload(CodeBatch.course),
                                      joinedload(CodeBatch.created_by))
            .order_by(CodeBatch.created_at.desc(), CodeBatch.id.desc()))
    return stmt.where(CodeBatch.course_id == course.id) if course is not None else stmt


def redeemed_counts(batch_ids: list[int]) -> dict[int, int]:
    from sqlalchemy import func
    if not batch_ids:
        return {}
    return dict(db.session.execute(
        select(EnrolmentCode.batch_id, func.count(EnrolmentCode.id))
        .where(EnrolmentCode.batch_id.in_(batch_ids), EnrolmentCode.redeemed_at.is_not(None))
        .group_by(EnrolmentCode.batch_id)).all())


def codes_query(batch: CodeBatch):
    return (select(EnrolmentCode).where(EnrolmentCode.batch_id == batch.id)
            .options(joinedload(EnrolmentCode.redeemed_by)).order_by(EnrolmentCode.id))
