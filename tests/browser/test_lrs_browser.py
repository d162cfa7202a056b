"""A university's partner sets up its LRS, queues its records, and sees a failed delivery; the pages pass axe-core."""
from __future__ import annotations

import socket

from lms.accounts.models import Organisation, OrganisationMember
from lms.accreditation.models import CreditAward, Pathway, PathwayModule, PathwayRegistration
from lms.database import utcnow
from lms.extensions import db
from tests.browser.conftest import ARTIFACTS, assert_accessible, log_in
from tests.factories import make_course, make_user


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_set_up_lrs_queue_and_see_failures(browser, live_server):
    university = Organisation(name="University of Castlebridge", kind="university")
    db.session.add(university)
    db.session.flush()
    course = make_course("policy-module", level="7", modules=1, lessons=1, title="Policy and evidence")
    pathway = Pathway(slug="pgcert", title="PGCert in Community Cohesion", award="PGCert",
                      university_id=university.id, credits_required=60, consent_text="I agree.")
    pathway.modules = [PathwayModule(course_id=course.id, code="CCI701", credits=20, level=7)]
    learner = make_user(email="candidate@example.org")
    partner = make_user("partner", email="registry@castlebridge.example")
    db.session.add(pathway)
    db.session.flush()
    registration = PathwayRegistration(pathway_id=pathway.id, user_id=learner.id, reference="CL0000001",
                                       legal_name="Cerys Candidate", date_of_birth=utcnow().date().replace(year=1980),
                                       prior_qualifications="BA", consent_text="I agree.", consented_at=utcnow(),
                                       status="approved", identity_checked=True)
    db.session.add_all([registration, OrganisationMember(organisation_id=university.id, user_id=partner.id)])
    db.session.flush()
    db.session.add(CreditAward(registration_id=registration.id, pathway_module_id=pathway.modules[0].id, version=1,
                               result="passed", mark=72, credits=20, level=7, completed_at=utcnow(),
                               identity_checked=True, moderation="pending", status="requested",
                               note="Module completed"))
    db.session.commit()
    partner_email, university_id = partner.email, university.id
    db.session.commit()  # reading those began a transaction: end it before the browser writes

    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, partner_email)
    page.get_by_role("link", name="Partner portal").click()
    page.get_by_role("link", name="Learning Record Store").click()
    page.get_by_role("heading", level=1, name="Learning Record Store").wait_for()
    assert_accessible(page)

    page.get_by_label("xAPI endpoint").fill("ftp://lrs.castlebridge.example/xAPI")
    page.get_by_label("Username or key").fill("lms")
    page.get_by_role("button", name="Save LRS settings").click()
    page.locator(".error-summary").wait_for()
    assert page.get_by_text("must be an http:// or https:// address").first.is_visible()
    assert_accessible(page)

    page.get_by_label("xAPI endpoint").fill(f"http://127.0.0.1:{_closed_port()}/xAPI/")
    page.get_by_label("Password or secret").fill("a-test-lrs-secret")
    page.get_by_role("button", name="Save LRS settings").click()
    page.get_by_text("LRS settings saved").wait_for()
    assert page.get_by_label("Password or secret").input_value() == ""  # never shown again
    page.get_by_role("button", name="Queue every record").click()
    page.get_by_text("2 statement(s) queued").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Send now").click()
    page.get_by_role("heading", level=1, name="Statement deliveries").wait_for()
    assert page.locator(".flash").get_by_text("2 still pending").is_visible()
    assert page.locator("table").get_by_text("Could not reach the LRS").first.is_visible()
    assert_accessible(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lrs-deliveries.png"), full_page=True)
    page.goto(f"/partner/lrs/{university_id}")
    page.screenshot(path=str(ARTIFACTS / "lrs-settings.png"), full_page=True)
    context.close()
