"""Buying a place through Stripe Checkout (the fake on 127.0.0.1), webhooks, refunds, the success page and
reconciliation. Paid but not enrolled must never happen; nothing is ever enrolled twice."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEvent
from lms.courses.models import Enrolment, LessonProgress
from lms.extensions import db
from lms.payments.models import Payment, StripeEvent
from tests.factories import csrf_token, login, make_course, make_user, post_form

pytestmark = pytest.mark.usefixtures("fake_stripe")


def buy(client, course) -> tuple[Payment, str]:
    """Press "Buy a place" on the course page; returns the recorded payment and the checkout address."""
    response = client.post(f"/courses/{course.slug}/buy",
                            data={"csrf_token": csrf_token(client, f"/courses/{course.slug}/")})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    db.session.rollback()
    payment = db.session.scalar(select(Payment).order_by(Payment.id.desc()))
    return payment, response.headers["Location"]


def post_event(client, fake, event, *, secret=None, signature=None):
    body, headers = fake.signed(event, secret=secret)
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post("/stripe/webhook", data=body, headers=headers)


def enrolments(user=None, course=None) -> list[Enrolment]:
    db.session.rollback()
    stmt = select(Enrolment)
    if user is not None:
        stmt = stmt.where(Enrolment.user_id == user.id)
    if course is not None:
        stmt = stmt.where(Enrolment.course_id == course.id)
    return db.session.scalars(stmt).all()


@pytest.fixture
def paid_course(app):
    return make_course("paid-course", price=4900, title="Paid course")


@pytest.fixture
def learner(client):
    user = make_user(email="payer@example.org", name="Pat Payer")
    login(client, user)
    return user


def test_course_page_offers_to_buy_at_the_price(client, paid_course, learner):
    html = client.get("/courses/paid-course/").get_data(as_text=True)
    assert "Buy a place · £49.00" in html
    assert "Have an enrolment code?" in html
    catalogue = client.get("/courses/").get_data(as_text=True)
    assert "£49.00" in catalogue


def test_checkout_creates_a_session_and_records_it_before_redirecting(app, client, fake_stripe, paid_course,
                                                                    learner):
    payment, location = buy(client, paid_course)
    assert location == f"{fake_stripe.base_url}/c/pay/{payment.stripe_session_id}"
    assert payment.status == "pending" and payment.amount == 4900 and payment.currency == "GBP"
    assert payment.user_id == learner.id and payment.course_id == paid_course.id
    params = fake_stripe.created_params[-1]
    assert params["mode"] == "payment"
    assert params["allow_promotion_codes"] == "true"
    assert params["client_reference_id"] == f"user-{learner.id}-course-{paid_course.id}"
    assert params["metadata"] == {"lms_user_id": str(learner.id), "lms_course_id": str(paid_course.id),
                                  "course_slug": "paid-course"}
    assert params["line_items"][0]["price_data"] == {"currency": "gbp", "unit_amount": "4900",
                                                     "product_data": {"name": "Paid course",
                                                                      "metadata": {"course_slug": "paid-course"}}}
    base = app.config["BASE_URL"]  # links back are built on BASE_URL, never the request's Host
    assert params["success_url"] == f"{base}/payments/success?session_id={{CHECKOUT_SESSION_ID}}"
    assert params["cancel_url"] == f"{base}/payments/cancelled?course=paid-course"
    assert enrolments() == []


def test_the_checkout_redirect_is_allowed_by_the_csp(client, fake_stripe, paid_course, learner):
    csp = client.get("/courses/paid-course/").headers["Content-Security-Policy"]
    assert f"form-action 'self' {fake_stripe.base_url}" in csp


def test_checkout_refuses_free_courses_and_learners_already_enrolled(client, paid_course, learner):
    make_course("free-course")
    response = client.post("/courses/free-course/buy", data={"csrf_token": csrf_token(client, "/courses/")})
    assert response.status_code == 303
    assert "This course is free" in client.get("/courses/free-course/").get_data(as_text=True)
    db.session.add(Enrolment(user_id=learner.id, course_id=paid_course.id, source="admin", status="active"))
    db.session.commit()
    response = client.post("/courses/paid-course/buy", data={"csrf_token": csrf_token(client, "/courses/")})
    assert response.status_code == 303
    assert "already enrolled" in client.get("/courses/paid-course/").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_checkout_needs_a_csrf_token_and_a_login(client, paid_course):
    token = csrf_token(client, "/login")
    assert client.post("/courses/paid-course/buy", data={"csrf_token": token}).status_code == 302  # log in
    login(client, make_user())
    assert client.post("/courses/paid-course/buy").status_code == 400
    assert client.post("/courses/no-such-course/buy", data={"csrf_token": csrf_token(client, "/courses/")}
                       ).status_code == 404


def test_completed_webhook_enrols_the_learner(client, fake_stripe, paid_course, learner):
    payment, _ = buy(client, paid_course)
    event = fake_stripe.pay(payment.stripe_session_id, send=False)
    response = post_event(client, fake_stripe, event)
    assert response.status_code == 200 and response.json == {"received": True, "duplicate": False,
                                                             "problem": None}
    [enrolment] = enrolments(learner, paid_course)
    assert enrolment.status == "active" and enrolment.source == "payment"
    payment = db.session.get(Payment, payment.id)
    assert payment.status == "paid" and payment.amount_paid == 4900 and payment.paid_at is not None
    assert payment.stripe_payment_intent_id.startswith("pi_test_")
    stored = db.session.scalar(select(StripeEvent))
    assert stored.event_id == event["id"] and stored.processed_at is not None and stored.problem is None


def test_one_event_replayed_ten_times_makes_one_enrolment(client, fake_stripe, paid_course, learner):
    payment, _ = buy(client, paid_course)
    event = fake_stripe.pay(payment.stripe_session_id, send=False)
    answers = [post_event(client, fake_stripe, event) for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10
    assert [a.json["duplicate"] for a in answers] == [False] + [True] * 9
    assert len(enrolments(learner, paid_course)) == 1
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 1
    assert db.session.get(Payment, payment.id).status == "paid"


def test_completed_and_async_succeeded_for_one_session_make_one_enrolment(client, fake_stripe, paid_course,
                                                                         learner):
    payment, _ = buy(client, paid_course)
    completed = fake_stripe.pay(payment.stripe_session_id, send=False)
    succeeded = fake_stripe.event("checkout.session.async_payment_succeeded", completed["data"]["object"])
    assert post_event(client, fake_stripe, completed).status_code == 200
    assert post_event(client, fake_stripe, succeeded).status_code == 200
    assert len(enrolments(learner, paid_course)) == 1
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 2


def test_async_payment_pending_then_succeeded(client, fake_stripe, paid_course, learner):
    payment, _ = buy(client, paid_course)
    completed = fake_stripe.pay(payment.stripe_session_id, send=False, status="unpaid")  # a bank debit
    assert post_event(client, fake_stripe, completed).status_code == 200
    assert enrolments(learner, paid_course) == []
    assert db.session.get(Payment, payment.id).status == "pending"
    page = client.get(f"/payments/success?session_id={payment.stripe_session_id}")
    assert "Your payment is being confirmed" in page.get_data(as_text=True)
    fake_stripe.sessions[payment.stripe_session_id]["payment_status"] = "paid"
    succeeded = fake_stripe.event("checkout.session.async_payment_succeeded",
                                  dict(fake_stripe.sessions[payment.stripe_session_id]))
    assert post_event(client, fake_stripe, succeeded).status_code == 200
    assert len(enrolments(learner, paid_course)) == 1


@pytest.mark.parametrize("how", ["wrong secret", "tampered body", "no header", "old timestamp", "garbage"])
def test_a_bad_signature_gets_400_and_changes_nothing(client, fake_stripe, paid_course, learner, how):
    payment, _ = buy(client, paid_course)
    event = fake_stripe.pay(payment.stripe_session_id, send=False)
    body, headers = fake_stripe.signed(event)
    if how == "wrong secret":
        body, headers = fake_stripe.signed(event, secret="whsec_someone_else")
    elif how == "tampered body":
        body = body.replace(b'"paid"', b'"paid" ')
    elif how == "no header":
        headers.pop("Stripe-Signature")
    elif how == "old timestamp":
        from tests.fake_stripe import sign
        headers["Stripe-Signature"] = sign(body, timestamp=1_600_000_000)
    else:
        body = b"not json at all"
    response = client.post("/stripe/webhook", data=body, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] == "Bad signature"
    assert enrolments() == []
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 0
    assert db.session.get(Payment, payment.id).status == "pending"


def test_an_event_for_an_unknown_session_is_recorded_and_shown_to_admins(client, fake_stripe, paid_course):
    session = fake_stripe.create_session({"mode": "payment", "line_items": [
        {"quantity": "1", "price_data": {"currency": "gbp", "unit_amount": "1000",
                                         "product_data": {"name": "Elsewhere"}}}]})
    event = fake_stripe.pay(session["id"], send=False)
    response = post_event(client, fake_stripe, event)
    assert response.status_code == 200
    assert "not one of ours" in response.json["problem"]
    db.session.rollback()
    stored = db.session.scalar(select(StripeEvent))
    assert stored.event_id == event["id"] and session["id"] in stored.problem
    assert enrolments() == []
    login(client, make_user("admin"))
    page = client.get("/admin/payments").get_data(as_text=True)
    assert "Webhook events needing attention (1)" in page and event["id"] in page


def test_other_event_types_are_stored_and_ignored(client, fake_stripe):
    event = fake_stripe.event("customer.created", {"id": "cus_123", "object": "customer"})
    assert post_event(client, fake_stripe, event).status_code == 200
    db.session.rollback()
    stored = db.session.scalar(select(StripeEvent))
    assert stored.type == "customer.created" and stored.outcome.startswith("Ignored") and stored.problem is None


def test_a_refund_suspends_only_the_refunded_course_and_keeps_progress(client, fake_stripe, paid_course, learner):
    other = make_course("other-paid", price=2500)
    first, _ = buy(client, paid_course)
    second, _ = buy(client, other)
    for payment in (first, second):
        assert post_event(client, fake_stripe, fake_stripe.pay(payment.stripe_session_id, send=False)
                          ).status_code == 200
    lesson = "/courses/paid-course/module-1/lesson-1-1/"
    assert client.get(lesson).status_code == 200
    client.post(lesson + "complete", data={"csrf_token": csrf_token(client, lesson)})
    assert db.session.scalar(select(func.count(LessonProgress.id))) == 1

    refund = fake_stripe.refund(first.stripe_session_id, send=False)
    assert post_event(client, fake_stripe, refund).status_code == 200
    assert db.session.get(Payment, first.id).status == "refunded"
    assert db.session.get(Payment, first.id).refunded_at is not None
    assert db.session.get(Payment, second.id).status == "paid"
    [refunded] = enrolments(learner, paid_course)
    [kept] = enrolments(learner, other)
    assert refunded.status == "suspended" and kept.status == "active"
    assert db.session.scalar(select(func.count(LessonProgress.id))) == 1  # progress kept
    page = client.get("/courses/paid-course/").get_data(as_text=True)
    assert "suspended when your payment was refunded" in page and "Buy a place" in page
    assert client.get(lesson).status_code == 302  # no longer readable
    dashboard = client.get("/learning/").get_data(as_text=True)
    assert dashboard.count("Suspended") == 1
    purchases = client.get("/account/purchases").get_data(as_text=True)
    assert "Refunded" in purchases and "Paid" in purchases
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.refund")) is not None

    # Replaying the old completed event does not lift the suspension.
    replay = fake_stripe.event("checkout.session.completed", dict(fake_stripe.sessions[first.stripe_session_id]))
    assert post_event(client, fake_stripe, replay).status_code == 200
    assert enrolments(learner, paid_course)[0].status == "suspended"
    assert db.session.get(Payment, first.id).status == "refunded"


def test_a_partial_refund_keeps_the_place(client, fake_stripe, paid_course, learner):
    payment, _ = buy(client, paid_course)
    post_event(client, fake_stripe, fake_stripe.pay(payment.stripe_session_id, send=False))
    refund = fake_stripe.refund(payment.stripe_session_id, send=False, amount=1000)
    assert post_event(client, fake_stripe, refund).status_code == 200
    assert enrolments(learner, paid_course)[0].status == "active"
    assert db.session.get(Payment, payment.id).status == "paid"


def test_paying_again_after_a_refund_reinstates_the_place(client, fake_stripe, paid_course, learner):
    first, _ = buy(client, paid_course)
    post_event(client, fake_stripe, fake_stripe.pay(first.stripe_session_id, send=False))
    post_event(client, fake_stripe, fake_stripe.refund(first.stripe_session_id, send=False))
    assert enrolments(learner, paid_course)[0].status == "suspended"
    second, _ = buy(client, paid_course)
    post_event(client, fake_stripe, fake_stripe.pay(second.stripe_session_id, send=False))
    [enrolment] = enrolments(learner, paid_course)
    assert enrolment.status == "active"


def test_a_learner_who_paid_and_left_comes_back_free(client, fake_stripe, paid_course, learner):
    payment, _ = buy(client, paid_course)
    post_event(client, fake_stripe, fake_stripe.pay(payment.stripe_session_id, send=False))
    leave = "/courses/paid-course/leave"
    assert client.post(leave, data={"csrf_token": csrf_token(client, leave)}).status_code == 302
    assert enrolments(learner, paid_course)[0].status == "left"
    page = client.get("/courses/paid-course/").get_data(as_text=True)
    assert "Enrol again" in page and "Buy a place" not in page
    response = client.post("/courses/paid-course/buy", data={"csrf_token": csrf_token(client, "/courses/")})
    assert response.status_code == 303 and len(fake_stripe.sessions) == 1  # no second charge
    enrol = client.post("/courses/paid-course/enrol", data={"csrf_token": csrf_token(client, "/courses/")})
    assert enrol.status_code == 302
    [enrolment] = enrolments(learner, paid_course)
    assert enrolment.status == "active" and enrolment.source == "payment"


def test_the_free_enrol_button_cannot_take_a_paid_place(client, paid_course, learner):
    response = client.post("/courses/paid-course/enrol", data={"csrf_token": csrf_token(client, "/courses/")})
    assert response.status_code == 303
    assert "This course has a fee" in client.get("/courses/paid-course/").get_data(as_text=True)
    assert enrolments() == []


# The success page -------------------------------------------------------------

def test_success_page_asks_stripe_when_the_webhook_is_late(client, fake_stripe, paid_course, learner):
    payment, _ = buy(client, paid_course)
    url = f"/payments/success?session_id={payment.stripe_session_id}"
    page = client.get(url)
    assert page.status_code == 200
    assert "Your payment is being confirmed" in page.get_data(as_text=True)
    assert enrolments() == []

    fake_stripe.pay(payment.stripe_session_id, send=False)  # paid, but the webhook has not arrived
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"] == "/courses/paid-course/"
    assert "Payment received: you are enrolled on Paid course" in client.get("/courses/paid-course/").get_data(
        as_text=True)
    assert len(enrolments(learner, paid_course)) == 1
    # The webhook arrives afterwards: stored, and nothing doubled.
    late = fake_stripe.event("checkout.session.completed", dict(fake_stripe.sessions[payment.stripe_session_id]))
    assert post_event(client, fake_stripe, late).json["duplicate"] is False
    assert len(enrolments(learner, paid_course)) == 1
    assert db.session.get(Payment, payment.id).status == "paid"


def test_success_page_when_stripe_cannot_be_reached(app, client, fake_stripe, paid_course, learner):
    payment, _ = buy(client, paid_course)
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    page = client.get(f"/payments/success?session_id={payment.stripe_session_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Your payment is being confirmed" in html and "could not reach the payment service" in html


def test_success_page_is_only_for_the_payer(client, fake_stripe, paid_course, learner):
    payment, _ = buy(client, paid_course)
    login(client, make_user())
    assert client.get(f"/payments/success?session_id={payment.stripe_session_id}").status_code == 404
    assert client.get("/payments/success?session_id=cs_nothing").status_code == 404
    assert client.get("/payments/success").status_code == 404


def test_cancel_returns_to_the_course_with_a_message(client, paid_course, learner):
    response = client.get("/payments/cancelled?course=paid-course")
    assert response.status_code == 302
    assert "nothing was charged" in client.get("/courses/paid-course/").get_data(as_text=True)


# Reconciliation -------------------------------------------------------------

def test_reconcile_fixes_a_missed_webhook_and_is_safe_to_repeat(client, runner, fake_stripe, paid_course, learner):
    payment, _ = buy(client, paid_course)
    fake_stripe.pay(payment.stripe_session_id, send=False)  # the webhook never arrives
    unpaid, _ = buy(client, make_course("still-open", price=1500))
    assert enrolments() == []

    result = runner.invoke(args=["lms", "payments", "reconcile", "--since", date.today().isoformat()])
    assert result.exit_code == 0, result.output
    assert f"fixed   {payment.stripe_session_id}: payer@example.org enrolled on paid-course" in result.output
    assert "1 fixed, 0 problem(s)" in result.output
    assert len(enrolments(learner, paid_course)) == 1
    assert db.session.get(Payment, payment.id).status == "paid"
    assert db.session.get(Payment, unpaid.id).status == "pending"
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "payment.reconcile")) == 1

    again = runner.invoke(args=["lms", "payments", "reconcile", "--since", date.today().isoformat()])
    assert again.exit_code == 0 and "0 fixed" in again.output
    assert len(enrolments()) == 1


def test_reconcile_creates_a_missing_payment_record_from_our_metadata(client, runner, fake_stripe, paid_course,
                                                                      learner):
    payment, _ = buy(client, paid_course)
    session_id = payment.stripe_session_id
    db.session.delete(db.session.get(Payment, payment.id))  # as if the app died before its commit
    db.session.commit()
    fake_stripe.pay(session_id, send=False)
    result = runner.invoke(args=["lms", "payments", "reconcile", "--since", date.today().isoformat()])
    assert result.exit_code == 0, result.output
    assert "A missing payment record was created" in result.output
    assert len(enrolments(learner, paid_course)) == 1
    assert db.session.scalar(select(Payment)).status == "paid"


def test_reconcile_reports_foreign_sessions_and_bad_dates(runner, fake_stripe):
    session = fake_stripe.create_session({"mode": "payment", "metadata": {"order": "elsewhere"}, "line_items": [
        {"quantity": "1", "price_data": {"currency": "gbp", "unit_amount": "1000",
                                         "product_data": {"name": "Elsewhere"}}}]})
    fake_stripe.pay(session["id"], send=False)
    result = runner.invoke(args=["lms", "payments", "reconcile", "--since", "2020-01-01"])
    assert result.exit_code == 0 and "problem " + session["id"] in result.output
    assert enrolments() == []
    bad = runner.invoke(args=["lms", "payments", "reconcile", "--since", "yesterday"])
    assert bad.exit_code != 0


def test_reconcile_without_stripe_configured_fails_with_one_line(app, runner, fake_stripe):
    app.config["STRIPE_SECRET_KEY"] = ""
    result = runner.invoke(args=["lms", "payments", "reconcile", "--since", "2020-01-01"])
    assert result.exit_code == 1
    assert "Online payment is not available" in result.output


def test_reconcile_pages_through_many_sessions(client, runner, fake_stripe, paid_course):
    payers = []
    for i in range(105):  # more than one page of 100
        user = make_user()
        payment = _pending_payment(fake_stripe, user, paid_course)
        fake_stripe.pay(payment.stripe_session_id, send=False)
        payers.append(user)
    result = runner.invoke(args=["lms", "payments", "reconcile", "--since", date.today().isoformat()])
    assert result.exit_code == 0, result.output
    assert "105 completed Checkout Session(s) checked" in result.output and "105 fixed" in result.output
    assert len(enrolments(course=paid_course)) == 105


def _pending_payment(fake, user, course) -> Payment:
    session = fake.create_session({"mode": "payment", "client_reference_id": f"user-{user.id}-course-{course.id}",
                                   "metadata": {"lms_user_id": str(user.id), "lms_course_id": str(course.id)},
                                   "line_items": [{"quantity": "1", "price_data": {
                                       "currency": "gbp", "unit_amount": str(course.price),
                                       "product_data": {"name": course.title}}}]})
    payment = Payment(stripe_session_id=session["id"], user_id=user.id, course_id=course.id, amount=course.price,
                      currency="GBP")
    db.session.add(payment)
    db.session.commit()
    return payment


def test_a_refund_after_leaving_suspends_the_place_so_it_does_not_come_back_free(client, fake_stripe, paid_course,
                                                                                  learner):
    payment, _ = buy(client, paid_course)
    post_event(client, fake_stripe, fake_stripe.pay(payment.stripe_session_id, send=False))
    post_form(client, "/courses/paid-course/leave", {})
    assert enrolments(learner, paid_course)[0].status == "left"
    post_event(client, fake_stripe, fake_stripe.refund(payment.stripe_session_id, send=False))
    assert enrolments(learner, paid_course)[0].status == "suspended"
    post_form(client, "/courses/paid-course/enrol", {}, page="/courses/paid-course/")
    assert enrolments(learner, paid_course)[0].status == "suspended"


def test_a_second_payment_for_a_held_place_is_flagged_for_a_refund(client, fake_stripe, paid_course, learner):
    first, _ = buy(client, paid_course)
    second, _ = buy(client, paid_course)  # two tabs: two Checkout Sessions before either is paid
    post_event(client, fake_stripe, fake_stripe.pay(first.stripe_session_id, send=False))
    response = post_event(client, fake_stripe, fake_stripe.pay(second.stripe_session_id, send=False))
    assert response.status_code == 200 and "a second payment for one place" in response.json["problem"]
    assert len(enrolments(learner, paid_course)) == 1


def test_a_payment_confirmed_after_the_course_went_back_to_draft_still_enrols(client, fake_stripe, paid_course,
                                                                               learner):
    payment, _ = buy(client, paid_course)
    paid_course.status = "draft"
    db.session.commit()
    response = post_event(client, fake_stripe, fake_stripe.pay(payment.stripe_session_id, send=False))
    assert response.status_code == 200
    assert enrolments(learner, paid_course)[0].status == "active"
