"""Concurrent webhook deliveries and code redemptions against a real server (gunicorn, 2 workers x 16 threads),
on SQLite and on PostgreSQL: each payment enrols once, each code once."""
from __future__ import annotations

import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from sqlalchemy import func, select

from lms.accounts.models import Organisation
from lms.courses.models import Enrolment
from lms.extensions import db
from lms.payments import services
from lms.payments.models import EnrolmentCode, Payment, StripeEvent
from tests.factories import PASSWORD, make_course, make_user
from tests.fake_stripe import FakeStripe
from tests.live.conftest import Browser

DELIVERIES = 10


def _post_webhook(base: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(base + "/stripe/webhook", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _paid_session(fake: FakeStripe):
    """A learner's pending payment in the database, and the paid Checkout Session as Stripe would send it."""
    course = make_course(price=4900)
    learner = make_user()
    session = fake.create_session({
        "mode": "payment", "client_reference_id": f"user-{learner.id}-course-{course.id}",
        "metadata": {"lms_user_id": str(learner.id), "lms_course_id": str(course.id)},
        "line_items": [{"quantity": "1", "price_data": {"currency": "gbp", "unit_amount": "4900",
                                                        "product_data": {"name": course.title}}}]})
    db.session.add(Payment(stripe_session_id=session["id"], user_id=learner.id, course_id=course.id, amount=4900,
                           currency="GBP"))
    db.session.commit()
    return fake.pay(session["id"], send=False)


def _deliver_at_once(base: str, bodies: list[tuple[bytes, dict]]) -> list[int]:
    barrier = threading.Barrier(len(bodies))

    def send(item):
        barrier.wait(timeout=30)
        return _post_webhook(base, *item)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def test_ten_concurrent_deliveries_of_one_event_make_one_enrolment(gunicorn_server):
    fake = FakeStripe()  # not served: only its objects and signatures are used
    event = _paid_session(fake)
    signed = fake.signed(event)
    statuses = _deliver_at_once(gunicorn_server, [signed] * DELIVERIES)
    assert statuses == [200] * DELIVERIES
    db.session.rollback()
    assert db.session.scalar(select(func.count(Enrolment.id))) == 1
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 1
    assert db.session.scalar(select(Payment)).status == "paid"
    assert db.session.scalar(select(Enrolment)).source == "payment"


def test_ten_different_events_for_one_session_at_once_make_one_enrolment(gunicorn_server):
    fake = FakeStripe()
    event = _paid_session(fake)
    session = event["data"]["object"]
    events = [event] + [fake.event("checkout.session.async_payment_succeeded" if i % 2 else
                                   "checkout.session.completed", session) for i in range(DELIVERIES - 1)]
    statuses = _deliver_at_once(gunicorn_server, [fake.signed(e) for e in events])
    assert statuses == [200] * DELIVERIES
    db.session.rollback()
    assert db.session.scalar(select(func.count(Enrolment.id))) == 1
    assert db.session.scalar(select(func.count(StripeEvent.id))) == DELIVERIES
    outcomes = db.session.scalars(select(StripeEvent.outcome)).all()
    assert sum("enrolled on" in outcome for outcome in outcomes) == 1


def test_a_badly_signed_flood_changes_nothing(gunicorn_server):
    fake = FakeStripe()
    event = _paid_session(fake)
    body, headers = fake.signed(event, secret="whsec_wrong")
    assert _deliver_at_once(gunicorn_server, [(body, headers)] * 5) == [400] * 5
    db.session.rollback()
    assert db.session.scalar(select(func.count(Enrolment.id))) == 0
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 0


def test_ten_learners_racing_for_one_code_make_one_enrolment(gunicorn_server):
    course = make_course(price=4900)
    employer = Organisation(name="Racing Employer", kind="employer")
    db.session.add(employer)
    db.session.commit()
    batch = services.create_code_batch(make_user("admin"), course, employer, size=1,
                                       expires_on=date.today() + timedelta(days=7))
    db.session.commit()
    code, slug = batch.codes[0].code, course.slug
    learners = [make_user().email for _ in range(DELIVERIES)]
    browsers = []
    for email in learners:
        browser = Browser(gunicorn_server)
        status, _ = browser.post("/login", {"email": email, "password": PASSWORD}, page="/login")
        assert status == 200
        browsers.append((browser, browser.token(f"/courses/{slug}/redeem")))
    barrier = threading.Barrier(DELIVERIES)

    def redeem(entry):
        browser, token = entry
        barrier.wait(timeout=30)
        return browser.request(f"/courses/{slug}/redeem", {"code": code, "csrf_token": token})

    with ThreadPoolExecutor(max_workers=DELIVERIES) as pool:
        answers = list(pool.map(redeem, browsers))
    winners = [html for status, html in answers if status == 200 and "Code accepted" in html]
    losers = [html for status, html in answers if status == 422 and "That code has already been used." in html]
    assert len(winners) == 1 and len(losers) == DELIVERIES - 1, [status for status, _ in answers]
    db.session.rollback()
    assert db.session.scalar(select(func.count(Enrolment.id))) == 1
    assert db.session.scalar(select(EnrolmentCode)).redeemed_by_id is not None
