"""Buying a place through Stripe Checkout (the fake, on its own origin) and redeeming an enrolment code, in a real
browser; axe-core on the purchase, code and payments pages. Screenshots go to test-artifacts/."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from lms.accounts.models import Organisation
from lms.courses.models import Enrolment
from lms.extensions import db
from lms.payments.models import EnrolmentCode, Payment, StripeEvent
from tests.browser.conftest import ARTIFACTS, assert_accessible, log_in
from tests.factories import add_trainer, make_course, make_user
from tests.fake_stripe import fake_stripe, fake_stripe_server  # noqa: F401  (fixtures)


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"payments-{name}.png"), full_page=True)


def test_a_learner_buys_a_place_through_checkout_and_lands_enrolled(page, live_server, fake_stripe):
    fake_stripe.webhook_url = f"{live_server}/stripe/webhook"
    make_course("leading-cohesion", price=4900, title="Leading cohesion work")
    learner = make_user(email="buyer@example.org", name="Bea Buyer")
    log_in(page, learner.email)

    page.goto("/courses/leading-cohesion/")
    assert_accessible(page)
    shot(page, "course")
    page.get_by_role("button", name="Buy a place · £49.00 on Leading cohesion work").click()

    page.get_by_role("heading", level=1, name="Pay £49.00").wait_for()  # the fake's hosted checkout page
    assert page.url.startswith(fake_stripe.base_url + "/c/pay/cs_test_")
    assert_accessible(page)
    page.get_by_role("button", name="Pay £49.00").click()

    page.get_by_text("Payment received: you are enrolled on Leading cohesion work").wait_for()
    page.get_by_role("heading", level=1, name="Leading cohesion work").wait_for()
    assert page.get_by_role("link", name="Start: Lesson 1.1").is_visible()
    assert fake_stripe.deliveries == [200]  # the signed webhook was accepted
    db.session.rollback()
    enrolment = db.session.scalar(select(Enrolment))
    assert enrolment.user_id == learner.id and enrolment.source == "payment" and enrolment.status == "active"
    assert db.session.scalar(select(Payment)).status == "paid"
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 1

    page.goto("/account/purchases")
    page.get_by_role("heading", level=1, name="Your purchases").wait_for()
    assert page.get_by_role("cell", name="£49.00").is_visible()
    assert_accessible(page)
    shot(page, "purchases")
    page.get_by_role("link", name="Receipt for Leading cohesion work").click()
    page.get_by_role("heading", level=1, name="Receipt").wait_for()
    assert page.url.startswith(fake_stripe.base_url + "/receipts/ch_test_")


def test_the_success_page_waits_for_confirmation_then_enrols(page, live_server, fake_stripe):
    fake_stripe.webhook_url = None  # the webhook is lost: the success page asks Stripe itself
    make_course("slow-bank", price=2500, title="Slow bank course")
    learner = make_user(email="waiter@example.org")
    log_in(page, learner.email)
    page.goto("/courses/slow-bank/")
    page.get_by_role("button", name="Buy a place · £25.00 on Slow bank course").click()
    page.get_by_role("heading", level=1, name="Pay £25.00").wait_for()
    session_id = page.url.rsplit("/", 1)[1]

    page.goto(f"/payments/success?session_id={session_id}")  # back before paying
    page.get_by_role("heading", level=1, name="Your payment is being confirmed").wait_for()
    assert_accessible(page)
    shot(page, "confirming")
    fake_stripe.pay(session_id, send=False)
    page.get_by_role("link", name="Check again").click()
    page.get_by_text("Payment received: you are enrolled on Slow bank course").wait_for()
    db.session.rollback()
    assert db.session.scalar(select(func.count(Enrolment.id))) == 1


def test_a_trainer_makes_codes_and_a_learner_redeems_one(page, browser, live_server):
    course = make_course("invoiced-course", price=9900, title="Safeguarding cohesion")
    db.session.add(Organisation(name="Castlebridge Borough Council", kind="employer"))
    db.session.commit()
    trainer = make_user("trainer", email="teacher@example.org", name="Tariq Trainer")
    add_trainer(course, trainer)
    log_in(page, trainer.email)

    page.goto("/teach/")
    page.get_by_role("link", name="Enrolment codes for Safeguarding cohesion").click()
    page.get_by_role("heading", level=1, name="Enrolment codes").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Create codes").click()  # nothing filled in
    page.get_by_role("heading", name="There is a problem").wait_for()
    assert_accessible(page)
    page.get_by_label("Organisation paying").select_option(label="Castlebridge Borough Council")
    page.get_by_label("Number of codes").fill("12")
    page.get_by_label("Codes expire after").fill((date.today() + timedelta(days=60)).isoformat())
    page.get_by_label("Invoice or order reference").fill("INV-2026-0042")
    page.get_by_role("button", name="Create codes").click()
    page.get_by_role("heading", level=1, name="Codes for Castlebridge Borough Council").wait_for()
    assert page.get_by_text("12 codes created").is_visible()
    assert_accessible(page)
    shot(page, "codes")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV of all 12 codes").click()
    assert download.value.suggested_filename.startswith("invoiced-course-codes-")
    page.get_by_role("link", name="Enrolment codes for Safeguarding cohesion").click()
    page.get_by_role("cell", name="0 of 12").wait_for()
    assert_accessible(page)
    shot(page, "code-batches")
    page.get_by_role("row", name=re.compile("INV-2026-0042")).get_by_role("link").click()
    page.get_by_role("heading", level=1, name="Codes for Castlebridge Borough Council").wait_for()

    db.session.rollback()
    code = db.session.scalar(select(EnrolmentCode.code).order_by(EnrolmentCode.id))
    learner = make_user(email="staff@example.org", name="Sam Staff")
    context = browser.new_context(base_url=live_server)
    other = context.new_page()
    log_in(other, learner.email)
    other.goto("/courses/invoiced-course/")
    other.get_by_label("Have an enrolment code?").fill("AAAA-BBBB-CCCC")
    other.get_by_role("button", name="Use code").click()
    other.get_by_text("We do not recognise that code").first.wait_for()
    assert_accessible(other)
    shot(other, "redeem-error")
    other.get_by_label("Enrolment code").fill(code.lower())
    other.get_by_role("button", name="Use code for Safeguarding cohesion").click()
    other.get_by_text("Code accepted: you are enrolled on Safeguarding cohesion").wait_for()
    context.close()

    page.reload()
    assert page.get_by_role("cell", name="Sam Staff (staff@example.org)").is_visible()
    db.session.rollback()
    assert db.session.scalar(select(Enrolment)).source == "code"


def test_the_admin_payments_page(page, live_server):
    course = make_course("admin-view", price=4900, title="Evaluating cohesion programmes")
    learner = make_user(email="paid@example.org", name="Priya Paid")
    db.session.add_all([
        Payment(stripe_session_id="cs_test_paid_one", user_id=learner.id, course_id=course.id, amount=4900,
                currency="GBP", status="paid", amount_paid=3920),
        Payment(stripe_session_id="cs_test_refunded", user_id=learner.id, course_id=course.id, amount=4900,
                currency="GBP", status="refunded", amount_paid=4900),
        Payment(stripe_session_id="cs_test_pending", user_id=learner.id, course_id=course.id, amount=4900,
                currency="GBP", status="pending"),
        StripeEvent(event_id="evt_test_unknown", type="checkout.session.completed", object_id="cs_elsewhere",
                    problem="Checkout Session cs_elsewhere is not one of ours: no payment is recorded for it."),
    ])
    db.session.commit()
    admin = make_user("admin", email="boss@example.org")
    log_in(page, admin.email)
    page.goto("/admin/")
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Payments").click()
    page.get_by_role("heading", level=1, name="Payments").wait_for()
    assert page.get_by_text("3 payments").is_visible()
    assert page.get_by_role("heading", name="Webhook events needing attention (1)").is_visible()
    assert page.get_by_role("heading", name="Stripe is not configured").is_visible()
    assert_accessible(page)
    shot(page, "admin")
    page.get_by_label("Status").select_option("refunded")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("1 payment", exact=True).wait_for()
    assert_accessible(page)
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Enrolment codes").click()
    page.get_by_role("heading", level=1, name="Enrolment codes").wait_for()
    assert_accessible(page)
