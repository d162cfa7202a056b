"""Buying a place, Stripe's webhook, the success page, enrolment codes, purchases and the admin's payments."""
from __future__ import annotations

from datetime import date

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from lms.accounts.models import Organisation, Role
from lms.courses import services as courses
from lms.courses.models import Course
from lms.database import writing
from lms.extensions import csrf, db, limiter
from lms.exports import csv_response
from lms.forms import ConfirmForm
from lms.payments import bp, forms, services, stripe_api
from lms.payments.models import CodeBatch, Payment, PaymentStatus
from lms.security import require, roles_required
from lms.templating import format_money
from lms.urls import external_url, form_page


def _visible_course(slug: str) -> Course:
    course = courses.get_course(slug)
    require(course is not None and courses.can_view(current_user, course))
    return course


# Buying a place ----------------------------------------------------------------

@bp.post("/courses/<slug>/buy")
@login_required
def checkout(slug: str):
    course = _visible_course(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    success_url = external_url("payments.success") + "?session_id={CHECKOUT_SESSION_ID}"
    cancel_url = external_url("payments.cancelled", course=course.slug)
    try:
        _, checkout_url = services.start_checkout(current_user, course, success_url=success_url,
                                                  cancel_url=cancel_url, release=db.session.commit)
    except services.PaymentError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("courses.detail", slug=slug), 303)
    db.session.commit()  # the session is on record before the learner leaves for Stripe
    return redirect(checkout_url, 303)


@bp.get("/payments/cancelled")
@login_required
def cancelled():
    course = _visible_course(request.args.get("course", "")[:80])
    flash("Payment cancelled: nothing was charged. You can buy a place whenever you are ready.", "info")
    return redirect(url_for("courses.detail", slug=course.slug))


@bp.get("/payments/success")
@login_required
def success():
    session_id = request.args.get("session_id", "")[:255]
    payment = services.payment_for_session(session_id) if session_id else None
    require(payment is not None and payment.user_id == current_user.id)
    problem = None
    if payment.status in (PaymentStatus.PENDING, PaymentStatus.FAILED) and stripe_api.is_configured():
        db.session.commit()  # no transaction is held while Stripe answers
        try:
            session = services.stripe_session(session_id)
        except services.PaymentError as error:
            problem = str(error)
        else:
            if session.payment_status in ("paid", "no_payment_required"):
                with writing(expire=True):  # the webhook is late: fulfil here, through the same idempotent service
                    services.fulfil_session(session)
        payment = services.payment_for_session(session_id)
    course = payment.course
    enrolment = courses.enrolment_for(current_user, course) if course is not None else None
    if payment.status == PaymentStatus.PAID and enrolment is not None and enrolment.is_active:
        flash(f"Payment received: you are enrolled on {course.title}.", "success")
        return redirect(url_for("courses.detail", slug=course.slug))
    return render_template("payments/success.html", payment=payment, course=course, enrolment=enrolment,
                           problem=problem)


# Stripe's webhook ------------------------------------------------------------

@bp.post("/stripe/webhook")
@csrf.exempt
def webhook():
    try:
        event = services.handle_webhook(request.get_data(), request.headers.get("Stripe-Signature"))
    except services.WebhookSignatureError as error:
        db.session.rollback()
        current_app.logger.warning("Stripe webhook refused: %s", error.__cause__ or error)
        return jsonify(error="Bad signature", detail=str(error)), 400
    db.session.commit()
    if event is None:
        return jsonify(received=True, duplicate=True)
    return jsonify(received=True, duplicate=False, problem=event.problem)


# Enrolment codes: learners ---------------------------------------------------

def _code_limit() -> str:
    return current_app.config["CODE_RATE_LIMIT"]


def _code_key() -> str:
    return f"user:{current_user.get_id()}" if current_user.is_authenticated else request.remote_addr or ""


def _not_redirect(response) -> bool:
    return response.status_code != 302


@bp.route("/courses/<slug>/redeem", methods=["GET", "POST"])
@login_required
@limiter.limit(_code_limit, methods=["POST"], key_func=_code_key, deduct_when=_not_redirect)
def redeem(slug: str):
    course = _visible_course(slug)
    form = forms.RedeemCodeForm()
    if form.validate_on_submit():
        try:
            services.redeem_code(current_user, course, form.code.data)
        except (services.CodeError, courses.CourseError) as error:
            db.session.rollback()
            form.code.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Code accepted: you are enrolled on {course.title}.", "success")
            return redirect(url_for("courses.detail", slug=course.slug))
    return form_page("payments/redeem.html", form, course=course)


# Purchases -------------------------------------------------------------------

@bp.get("/account/purchases")
@login_required
def purchases():
    return render_template("payments/purchases.html", payments=services.purchases(current_user))


@bp.get("/account/purchases/<int:payment_id>/receipt")
@login_required
def receipt(payment_id: int):
    payment = db.session.get(Payment, payment_id)
    require(payment is not None and payment.user_id == current_user.id
            and payment.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED))
    if payment.receipt_url:
        return redirect(payment.receipt_url)
    db.session.commit()  # no transaction is held while Stripe answers
    try:
        url = services.receipt_url(payment)
    except services.PaymentError as error:
        flash(str(error), "error")
        return redirect(url_for("payments.purchases"))
    if not url:
        flash("Stripe has no receipt for this payment yet; try again later.", "info")
        return redirect(url_for("payments.purchases"))
    with writing():
        db.session.get(Payment, payment_id).receipt_url = url
    return redirect(url)


# Enrolment codes: the course team --------------------------------------------

def _taught(slug: str) -> Course:
    from lms.assessment.services import teaches
    course = courses.get_course(slug)
    require(course is not None and teaches(current_user, course))
    return course


def _batch(course: Course, batch_id: int) -> CodeBatch:
    batch = db.session.get(CodeBatch, batch_id)
    require(batch is not None and batch.course_id == course.id)
    return batch


def _page() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.route("/teach/<slug>/codes", methods=["GET", "POST"])
@login_required
def code_batches(slug: str):
    course = _taught(slug)
    form = forms.CodeBatchForm()
    organisations = db.session.execute(select(Organisation.id, Organisation.name).order_by(Organisation.name)).all()
    form.organisation_id.choices = [(0, "Choose an organisation")] + [(o.id, o.name) for o in organisations]
    if form.validate_on_submit():
        organisation = db.session.get(Organisation, form.organisation_id.data)
        try:
            batch = services.create_code_batch(current_user, course, organisation, size=form.size.data,
                                               expires_on=form.expires_on.data, reference=form.reference.data or "")
        except services.CodeError as error:
            db.session.rollback()
            form.size.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"{batch.size} codes created for {organisation.name}. Download them as CSV to send on.",
                  "success")
            return redirect(url_for("payments.code_batch", slug=course.slug, batch_id=batch.id))
    page = db.paginate(services.batches_query(course), page=_page(), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    return form_page("payments/code_batches.html", form, course=course, page=page,
                     redeemed=services.redeemed_counts([b.id for b in page.items]),
                     has_organisations=bool(organisations))


@bp.get("/teach/<slug>/codes/<int:batch_id>")
@login_required
def code_batch(slug: str, batch_id: int):
    course = _taught(slug)
    batch = _batch(course, batch_id)
    status = request.args.get("status", "")
    stmt = services.codes_query(batch)
    from lms.payments.models import EnrolmentCode
    if status == "redeemed":
        stmt = stmt.where(EnrolmentCode.redeemed_at.is_not(None))
    elif status == "unused":
        stmt = stmt.where(EnrolmentCode.redeemed_at.is_(None))
    else:
        status = ""
    page = db.paginate(stmt, page=_page(), per_page=100, error_out=False)
    return _batch_page(course, batch, page, status, forms.BatchExpiryForm(expires_on=batch.expires_on))


def _batch_page(course, batch, page, status, expiry_form, code=200):
    return render_template("payments/code_batch.html", course=course, batch=batch, page=page, status=status,
                           redeemed=services.redeemed_counts([batch.id]).get(batch.id, 0),
                           today=date.today(), expiry_form=expiry_form), code


@bp.post("/teach/<slug>/codes/<int:batch_id>/expiry")
@login_required
def code_batch_expiry(slug: str, batch_id: int):
    course = _taught(slug)
    batch = _batch(course, batch_id)
    form = forms.BatchExpiryForm()
    if form.validate_on_submit():
        try:
            services.change_batch_expiry(current_user, batch, form.expires_on.data)
        except services.CodeError as error:
            db.session.rollback()
            form.expires_on.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"The unused codes now work until {batch.expires_on.strftime('%d %B %Y').lstrip('0')}.",
                  "success")
            return redirect(url_for("payments.code_batch", slug=course.slug, batch_id=batch.id))
    page = db.paginate(services.codes_query(batch), page=1, per_page=100, error_out=False)
    return _batch_page(course, batch, page, "", form, 422)


@bp.route("/teach/<slug>/codes/<int:batch_id>/end", methods=["GET", "POST"])
@login_required
def code_batch_end(slug: str, batch_id: int):
    course = _taught(slug)
    batch = _batch(course, batch_id)
    form = ConfirmForm()
    back = url_for("payments.code_batch", slug=course.slug, batch_id=batch.id)
    if form.validate_on_submit():
        services.end_batch(current_user, batch)
        db.session.commit()
        flash(f"The unused codes for {batch.organisation.name} no longer work. Places already taken are kept.",
              "success")
        return redirect(back)
    unused = batch.size - services.redeemed_counts([batch.id]).get(batch.id, 0)
    return render_template("confirm.html", form=form, title=f"End {batch.organisation.name}'s codes now?",
                           message=f"The {unused} unused code{'s' if unused != 1 else ''} in this batch will stop "
                                   "working at once. Learners who already used a code keep their places.",
                           action_label="End the unused codes", cancel_url=back)


@bp.get("/teach/<slug>/codes/<int:batch_id>.csv")
@login_required
def code_batch_csv(slug: str, batch_id: int):
    course = _taught(slug)
    batch = _batch(course, batch_id)
    rows = [[code.code, course.slug, batch.organisation.name, batch.reference, batch.expires_on.isoformat(),
             code.redeemed_at.isoformat() if code.redeemed_at else "",
             code.redeemed_by.name if code.redeemed_by else "", code.redeemed_by.email if code.redeemed_by else ""]
            for code in db.session.scalars(services.codes_query(batch))]
    return csv_response(f"{course.slug}-codes-{batch.id}.csv",
                        ["code", "course", "organisation", "reference", "expires_on", "redeemed_at",
                         "redeemed_by_name", "redeemed_by_email"], rows)


# The admin's payments ----------------------------------------------------------

PAYMENT_STATUSES = {"": "Any status", **{s.value: s.value.capitalize() for s in PaymentStatus}}


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _payment_filters() -> dict:
    status = request.args.get("status", "")
    return {"status": status if status in PAYMENT_STATUSES else "",
            "course_id": request.args.get("course", type=int),
            "q": request.args.get("q", "").strip()[:200],
            "date_from": _date_arg("from"), "date_to": _date_arg("to")}


@bp.get("/admin/payments")
@roles_required(Role.ADMIN)
def admin_payments():
    filters = _payment_filters()
    page = db.paginate(services.payments_query(**filters), page=_page(), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    problems = db.session.scalars(services.problem_events_query().limit(20)).all()
    problem_count = db.session.scalar(select(func.count()).select_from(services.problem_events_query().subquery()))
    course_choices = db.session.execute(select(Course.id, Course.title).where(Course.price > 0)
                                        .order_by(Course.title)).all()
    return render_template("payments/admin_payments.html", page=page, filters=filters, statuses=PAYMENT_STATUSES,
                           course_choices=course_choices, problems=problems, problem_count=problem_count,
                           configured=stripe_api.is_configured())


@bp.get("/admin/payments.csv")
@roles_required(Role.ADMIN)
def admin_payments_csv():
    rows = [[p.id, p.created_at.isoformat(), p.status, p.user.email if p.user else "",
             p.user.name if p.user else "", p.course.slug if p.course else "", p.amount, p.amount_paid or "",
             p.currency, format_money(p.amount_paid if p.amount_paid is not None else p.amount, p.currency),
             p.stripe_session_id, p.stripe_payment_intent_id or "",
             p.paid_at.isoformat() if p.paid_at else "", p.refunded_at.isoformat() if p.refunded_at else ""]
            for p in db.session.scalars(services.payments_query(**_payment_filters()))]
    return csv_response("payments.csv", ["id", "created_at", "status", "email", "name", "course", "amount_minor",
                                         "amount_paid_minor", "currency", "amount", "stripe_session_id",
                                         "stripe_payment_intent_id", "paid_at", "refunded_at"], rows)


@bp.get("/admin/payments/codes")
@roles_required(Role.ADMIN)
def admin_codes():
    page = db.paginate(services.batches_query(), page=_page(), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    return render_template("payments/admin_codes.html", page=page,
                           redeemed=services.redeemed_counts([b.id for b in page.items]))
