"""Enrolment codes bought by invoice, the learner's purchases, the admin's payments, and the app without Stripe."""
from __future__ import annotations

import csv
import io
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from lms.accounts.models import Organisation
from lms.audit import AuditEvent
from lms.courses.models import Enrolment
from lms.extensions import db
from lms.payments import services
from lms.payments.models import CodeBatch, EnrolmentCode, Payment, StripeEvent
from tests.factories import add_trainer, csrf_token, login, make_course, make_user, post_form


@pytest.fixture
def course(app):
    return make_course("invoiced", price=4900, title="Invoiced course")


@pytest.fixture
def employer(app):
    org = Organisation(name="Castlebridge Borough Council", kind="employer")
    db.session.add(org)
    db.session.commit()
    return org


def make_batch(course, employer, *, size=3, expires_on=None) -> CodeBatch:
    admin = make_user("admin")
    batch = services.create_code_batch(admin, course, employer, size=size,
                                       expires_on=expires_on or date.today() + timedelta(days=30), reference="INV-1")
    db.session.commit()
    return batch


def enrolment_count(course=None) -> int:
    db.session.rollback()
    stmt = select(func.count(Enrolment.id))
    return db.session.scalar(stmt.where(Enrolment.course_id == course.id) if course else stmt)


# Making codes -----------------------------------------------------------------

def test_codes_are_hard_to_guess_and_typed_any_way():
    codes = {services.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    code = next(iter(codes))
    assert len(code) == 14 and code.count("-") == 2 and not set(code.replace("-", "")) - set(services.CODE_ALPHABET)
    assert services.normalise_code(code.lower().replace("-", " ")) == code
    assert services.normalise_code(f"  {code.replace('-', '')}  ") == code


def test_a_trainer_on_the_team_creates_a_batch_and_downloads_it(client, course, employer):
    trainer = make_user("trainer", name="Tina Trainer")
    add_trainer(course, trainer)
    login(client, trainer)
    page = client.get("/teach/invoiced/codes")
    assert page.status_code == 200 and "No codes yet" in page.get_data(as_text=True)
    response = post_form(client, "/teach/invoiced/codes", {
        "organisation_id": employer.id, "size": "25", "expires_on": (date.today() + timedelta(days=90)).isoformat(),
        "reference": "=HYPERLINK(\"x\")"})
    assert response.status_code == 302
    db.session.rollback()
    batch = db.session.scalar(select(CodeBatch))
    assert batch.size == 25 and batch.created_by_id == trainer.id and batch.organisation_id == employer.id
    assert db.session.scalar(select(func.count(EnrolmentCode.id))) == 25
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "codes.create"))
    assert audit.actor_id == trainer.id and "25 enrolment codes" in audit.summary

    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Codes for Castlebridge Borough Council" in detail and "0 of 25" in detail
    download = client.get(f"/teach/invoiced/codes/{batch.id}.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0] == ["code", "course", "organisation", "reference", "expires_on", "redeemed_at",
                       "redeemed_by_name", "redeemed_by_email"]
    assert len(rows) == 26
    assert rows[1][3] == "'=HYPERLINK(\"x\")"  # spreadsheet-safe
    assert {r[0] for r in rows[1:]} == set(db.session.scalars(select(EnrolmentCode.code)))


@pytest.mark.parametrize("data, message", [
    ({"size": "0"}, "Enter a number from 1 to 1000."),
    ({"size": "1001"}, "Enter a number from 1 to 1000."),
    ({"size": "ten"}, "Not a valid integer value."),
    ({"expires_on": "2020-01-01"}, "The expiry date must be today or later."),
    ({"expires_on": "not a date"}, "Not a valid date value."),
    ({"organisation_id": "0"}, "Choose the organisation paying."),
    ({"organisation_id": "99999"}, "Not a valid choice."),
])
def test_bad_batch_input_is_422_with_a_message_and_writes_nothing(client, course, employer, data, message):
    login(client, make_user("admin"))
    form = {"organisation_id": employer.id, "size": "5",
            "expires_on": (date.today() + timedelta(days=9)).isoformat(), **data}
    response = post_form(client, "/teach/invoiced/codes", form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CodeBatch.id))) == 0


@pytest.mark.parametrize("who, status", [
    ("guest", 302), ("learner", 404), ("other trainer", 404), ("team trainer", 200), ("partner", 404),
    ("admin", 200)])
def test_who_may_see_a_courses_codes(client, course, employer, who, status):
    batch = make_batch(course, employer)
    if who != "guest":
        role = {"learner": "learner", "other trainer": "trainer", "team trainer": "trainer",
                "partner": "partner", "admin": "admin"}[who]
        user = make_user(role)
        if who == "team trainer":
            add_trainer(course, user)
        login(client, user)
    for url in ("/teach/invoiced/codes", f"/teach/invoiced/codes/{batch.id}", f"/teach/invoiced/codes/{batch.id}.csv"):
        assert client.get(url).status_code == status, url


def test_a_batch_of_another_course_is_404(client, course, employer):
    other = make_course("other-course", price=100)
    batch = make_batch(other, employer)
    login(client, make_user("admin"))
    assert client.get(f"/teach/invoiced/codes/{batch.id}").status_code == 404
    assert client.get(f"/teach/other-course/codes/{batch.id}").status_code == 200


def test_admins_see_every_batch(client, course, employer):
    make_batch(course, employer)
    make_batch(make_course("second", price=100, title="Second course"), employer)
    login(client, make_user("admin"))
    html = client.get("/admin/payments/codes").get_data(as_text=True)
    assert "Invoiced course" in html and "Second course" in html and html.count("0 of 3") == 2


def test_the_team_extends_a_batch_or_ends_its_unused_codes(client, course, employer):
    batch = make_batch(course, employer, size=2)
    trainer = make_user("trainer")
    add_trainer(course, trainer)
    learner = make_user("learner")
    services.redeem_code(learner, course, batch.codes[0].code)
    db.session.commit()
    unused = batch.codes[1].code
    login(client, trainer)
    url = f"/teach/invoiced/codes/{batch.id}"
    later = date.today() + timedelta(days=200)
    response = post_form(client, f"{url}/expiry", {"expires_on": later.isoformat()}, page=url)
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(CodeBatch, batch.id).expires_on == later
    past = post_form(client, f"{url}/expiry", {"expires_on": "2020-01-01"}, page=url)
    assert past.status_code == 422 and "end the batch now" in past.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(CodeBatch, batch.id).expires_on == later

    confirm = client.get(f"{url}/end").get_data(as_text=True)
    assert "The 1 unused code in this batch will stop working at once." in confirm
    assert post_form(client, f"{url}/end", {}).status_code == 302
    db.session.rollback()
    assert db.session.get(CodeBatch, batch.id).expires_on == date.today() - timedelta(days=1)
    with pytest.raises(services.CodeError, match="That code expired"):
        services.redeem_code(make_user("learner"), course, unused)
    db.session.rollback()
    assert enrolment_count(course) == 1  # the place already taken stays
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "codes.expiry")).all()
    assert len(actions) == 2

    login(client, make_user("trainer"))  # not on the course team
    assert post_form(client, f"{url}/expiry", {"expires_on": later.isoformat()}, page="/account").status_code == 404
    assert client.get(f"{url}/end").status_code == 404


# Redeeming codes --------------------------------------------------------------

def test_a_learner_redeems_a_code_on_the_course_page(client, course, employer):
    batch = make_batch(course, employer)
    code = batch.codes[0].code
    learner = make_user(name="Carys Coder")
    login(client, learner)
    response = post_form(client, "/courses/invoiced/redeem", {"code": code.lower().replace("-", " ")},
                         page="/courses/invoiced/")
    assert response.status_code == 302 and response.headers["Location"] == "/courses/invoiced/"
    assert "Code accepted: you are enrolled on Invoiced course" in client.get("/courses/invoiced/").get_data(
        as_text=True)
    db.session.rollback()
    enrolment = db.session.scalar(select(Enrolment))
    assert enrolment.user_id == learner.id and enrolment.source == "code" and enrolment.status == "active"
    used = db.session.scalar(select(EnrolmentCode).where(EnrolmentCode.code == code))
    assert used.redeemed_by_id == learner.id and used.redeemed_at is not None

    login(client, make_user("admin"))
    detail = client.get(f"/teach/invoiced/codes/{batch.id}?status=redeemed").get_data(as_text=True)
    assert "Carys Coder" in detail and code in detail and "1 of 3" in detail
    rows = list(csv.reader(io.StringIO(client.get(f"/teach/invoiced/codes/{batch.id}.csv").get_data(as_text=True))))
    assert [r[6] for r in rows if r[0] == code] == ["Carys Coder"]


def _redeem(client, text):
    return post_form(client, "/courses/invoiced/redeem", {"code": text}, page="/courses/invoiced/redeem")


def test_used_expired_unknown_and_other_course_codes_get_clear_messages(client, course, employer):
    batch = make_batch(course, employer)
    expired = make_batch(course, employer, expires_on=date.today())
    db.session.execute(CodeBatch.__table__.update().where(CodeBatch.id == expired.id)
                       .values(expires_on=date(2025, 3, 1)))
    other = make_batch(make_course("elsewhere", price=100), employer)
    db.session.commit()
    first = make_user()
    login(client, first)
    assert _redeem(client, batch.codes[0].code).status_code == 302

    second = make_user()
    login(client, second)
    cases = [
        (batch.codes[0].code, "That code has already been used."),
        (expired.codes[0].code, "That code expired on 1 March 2025."),
        ("AAAA-BBBB-CCCC", "We do not recognise that code. Check it and try again."),
        (other.codes[0].code, "That code is for a different course."),
        ("ABC", "A code has 12 letters and digits."),
        ("", "Enter the code you were given."),
    ]
    for text, message in cases:
        response = _redeem(client, text)
        assert response.status_code == 422, text
        html = response.get_data(as_text=True)
        assert message in html, (text, html[:2000])
        assert 'id="code-error"' in html and 'aria-invalid="true"' in html
    assert enrolment_count(course) == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count(EnrolmentCode.id)).where(EnrolmentCode.redeemed_at.is_not(None))) == 1


def test_an_enrolled_learner_keeps_the_code_for_someone_else(client, course, employer):
    batch = make_batch(course, employer, size=2)
    learner = make_user()
    login(client, learner)
    assert _redeem(client, batch.codes[0].code).status_code == 302
    response = _redeem(client, batch.codes[1].code)
    assert response.status_code == 422 and "already enrolled" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(EnrolmentCode, batch.codes[1].id).redeemed_at is None


def test_two_learners_racing_for_one_code_make_one_enrolment(app, course, employer):
    """Each learner in their own session and transaction; the code's compare-and-set lets one through.
    (tests/live/test_payments_live.py races ten learners through a real server too.)"""
    batch = make_batch(course, employer)
    code = batch.codes[0].code
    learners = [make_user().id for _ in range(2)]
    course_id = course.id
    db.session.commit()  # this thread holds no transaction while the two race
    barrier = threading.Barrier(2)
    outcomes = []

    def redeem(user_id):
        from lms.accounts.models import User
        from lms.courses.models import Course
        from lms.database import write_intent
        write_intent.set(True)  # as for the POST that redeems (BEGIN IMMEDIATE on SQLite)
        with app.app_context():
            user, target = db.session.get(User, user_id), db.session.get(Course, course_id)
            db.session.commit()
            barrier.wait(timeout=10)
            try:
                services.redeem_code(user, target, code)
                db.session.commit()
                outcomes.append("enrolled")
            except services.CodeError as error:
                db.session.rollback()
                outcomes.append(str(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=redeem, args=(uid,)) for uid in learners]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(outcomes) == ["That code has already been used.", "enrolled"]
    assert enrolment_count(course) == 1


def test_redeeming_is_rate_limited(app, client, course, employer):
    app.config["RATELIMIT_ENABLED"] = True
    login(client, make_user())
    statuses = [_redeem(client, f"AAAA-BBBB-CC{n:02d}".replace("0", "A").replace("1", "B")).status_code
                for n in range(12)]
    assert statuses[:10] == [422] * 10
    assert statuses[10:] == [429, 429]


def test_a_code_reinstates_a_place_suspended_by_a_refund(client, course, employer):
    learner = make_user()
    db.session.add(Enrolment(user_id=learner.id, course_id=course.id, source="payment", status="suspended"))
    db.session.commit()
    batch = make_batch(course, employer)
    login(client, learner)
    assert _redeem(client, batch.codes[0].code).status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(Enrolment)).status == "active"


# Without Stripe --------------------------------------------------------------

def test_without_stripe_learners_get_a_clear_message_and_codes_still_work(client, course, employer):
    learner = make_user()
    login(client, learner)
    html = client.get("/courses/invoiced/").get_data(as_text=True)
    assert "Online payment is not available at the moment" in html
    assert "Buy a place" not in html and "For admins" not in html
    assert "Have an enrolment code?" in html
    response = client.post("/courses/invoiced/buy", data={"csrf_token": csrf_token(client, "/courses/invoiced/")})
    assert response.status_code == 303
    assert "Online payment is not available" in client.get("/courses/invoiced/").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Payment.id))) == 0
    assert client.get("/courses/invoiced/").headers["Content-Security-Policy"].count("form-action 'self';") == 1


def test_without_stripe_admins_are_told_what_to_set(client, course):
    login(client, make_user("admin"))
    html = client.get("/courses/invoiced/").get_data(as_text=True)
    assert "Stripe is not configured" in html and "STRIPE_SECRET_KEY" in html
    assert "Stripe is not configured" in client.get("/admin/payments").get_data(as_text=True)


def test_without_stripe_the_webhook_refuses_everything(client):
    response = client.post("/stripe/webhook", data=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 400 and response.is_json
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 0


# Purchases and the admin's payments --------------------------------------------

def _payment(user, course, *, status="paid", amount=4900, session="cs_test_1", when=None, **extra) -> Payment:
    payment = Payment(stripe_session_id=session, user_id=user.id, course_id=course.id, amount=amount,
                      currency="GBP", status=status, amount_paid=amount if status != "pending" else None, **extra)
    if when is not None:
        payment.created_at = when
    db.session.add(payment)
    db.session.commit()
    return payment


def test_purchases_list_paid_places_with_receipts(client, course, fake_stripe):
    learner = make_user()
    login(client, learner)
    assert "No purchases yet" in client.get("/account/purchases").get_data(as_text=True)
    response = client.post("/courses/invoiced/buy", data={"csrf_token": csrf_token(client, "/courses/invoiced/")})
    session_id = response.headers["Location"].rsplit("/", 1)[1]
    event = fake_stripe.pay(session_id, send=False)
    body, headers = fake_stripe.signed(event)
    assert client.post("/stripe/webhook", data=body, headers=headers).status_code == 200
    _payment(make_user(), course, session="cs_someone_else")
    html = client.get("/account/purchases").get_data(as_text=True)
    assert "Invoiced course" in html and "£49.00" in html and "Paid" in html
    assert html.count("Receipt<span") == 1
    db.session.rollback()
    payment = db.session.scalar(select(Payment).where(Payment.stripe_session_id == session_id))
    receipt = client.get(f"/account/purchases/{payment.id}/receipt")
    assert receipt.status_code == 302 and receipt.headers["Location"].startswith(f"{fake_stripe.base_url}/receipts/ch_")
    db.session.rollback()
    assert db.session.get(Payment, payment.id).receipt_url == receipt.headers["Location"]
    other = db.session.scalar(select(Payment).where(Payment.stripe_session_id == "cs_someone_else"))
    assert client.get(f"/account/purchases/{other.id}/receipt").status_code == 404


@pytest.mark.parametrize("who, status", [("guest", 302), ("learner", 403), ("trainer", 403), ("partner", 403),
                                         ("admin", 200)])
def test_only_admins_see_payments(client, who, status):
    if who != "guest":
        login(client, make_user(who))
    for url in ("/admin/payments", "/admin/payments.csv", "/admin/payments/codes"):
        assert client.get(url).status_code == status, url


def test_admin_payments_filter_and_export(client, course):
    from datetime import UTC, datetime
    other = make_course("second", price=1500, title="Second course")
    alice, bob = make_user(name="Alice Able", email="alice@example.org"), make_user(name="Bob Baker")
    _payment(alice, course, session="cs_a", when=datetime(2026, 1, 5, tzinfo=UTC))
    _payment(bob, other, session="cs_b", status="refunded", amount=1500, when=datetime(2026, 2, 5, tzinfo=UTC))
    _payment(bob, course, session="cs_c", status="pending", when=datetime(2026, 3, 5, tzinfo=UTC))
    login(client, make_user("admin"))

    def listed(query=""):
        html = client.get(f"/admin/payments{query}").get_data(as_text=True)
        found = [name for name in ("cs_a", "cs_b", "cs_c") if f">{name}<" in html]
        return sorted(found, key=lambda name: html.index(f">{name}<"))

    assert listed() == ["cs_c", "cs_b", "cs_a"]  # newest first
    assert listed("?status=refunded") == ["cs_b"]
    assert listed(f"?course={course.id}") == ["cs_c", "cs_a"]
    assert listed("?q=alice") == ["cs_a"]
    assert listed("?q=cs_c") == ["cs_c"]
    assert listed("?from=2026-02-01&to=2026-02-28") == ["cs_b"]
    assert listed("?status=nonsense&from=garbage&course=x") == ["cs_c", "cs_b", "cs_a"]
    assert "No payments match" in client.get("/admin/payments?q=nobody").get_data(as_text=True)

    download = client.get("/admin/payments.csv?status=paid")
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0][:6] == ["id", "created_at", "status", "email", "name", "course"]
    assert [(r[2], r[3], r[5], r[9]) for r in rows[1:]] == [("paid", "alice@example.org", "invoiced", "£49.00")]


# Prices ------------------------------------------------------------------------

def test_a_trainer_prices_a_course_and_the_catalogue_shows_it(client, app):
    from tests.courses.test_authoring import build_course
    trainer = make_user("trainer")
    login(client, trainer)
    build_course(client, "priced")
    details = {"title": "Running a listening exercise", "summary": "How to hear a neighbourhood.",
               "outcomes": "Plan a listening exercise", "reading": "", "level": "cpd", "credits": "",
               "validity_months": "", "price": "49.50", "currency": "GBP"}
    assert post_form(client, "/author/priced/details", details).status_code == 302
    post_form(client, "/author/priced/publish", {})
    db.session.rollback()
    from lms.courses.models import Course
    course = db.session.scalar(select(Course).where(Course.slug == "priced"))
    assert course.price == 4950 and course.currency == "GBP" and not course.is_free
    login(client, make_user())
    assert "£49.50" in client.get("/courses/").get_data(as_text=True)
    page = client.get("/courses/priced/").get_data(as_text=True)
    assert "£49.50" in page and "Online payment is not available at the moment" in page
