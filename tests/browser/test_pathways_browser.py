"""A learner applies to a pathway; the university's partner approves it; the pages pass axe-core."""
from __future__ import annotations

import csv
import json

from sqlalchemy import select

from lms.accounts.models import Organisation, OrganisationMember
from lms.accreditation.models import Pathway, PathwayModule, PathwayRegistration
from lms.extensions import db
from tests.browser.conftest import ARTIFACTS, assert_accessible, log_in
from tests.factories import credit_url, make_course, make_user


def test_apply_and_approve(browser, live_server):
    university = Organisation(name="University of Castlebridge", kind="university")
    db.session.add(university)
    db.session.flush()
    course = make_course("policy-module", level="7", modules=1, lessons=1, title="Policy and evidence")
    pathway = Pathway(slug="pgcert", title="PGCert in Community Cohesion", award="PGCert",
                      university_id=university.id, credits_required=20,
                      consent_text="I agree to share my records with the University of Castlebridge.")
    pathway.modules = [PathwayModule(course_id=course.id, code="CCI701", credits=20, level=7)]
    db.session.add(pathway)
    learner = make_user(email="applicant@example.org", name="Alys Applicant")
    partner = make_user("partner", email="registry@castlebridge.example")
    db.session.flush()
    db.session.add(OrganisationMember(organisation_id=university.id, user_id=partner.id))
    db.session.commit()

    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    log_in(page, learner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pathways").click()
    assert_accessible(page)
    page.get_by_role("link", name="PGCert in Community Cohesion").click()
    page.get_by_label("Date of birth").fill("1982-03-14")
    page.get_by_label("Your qualifications so far").fill("BA Geography (2004); youth work since 2006.")
    page.get_by_role("button", name="Apply to University of Castlebridge").click()
    page.locator(".error-summary").wait_for()  # no consent yet
    assert_accessible(page)
    page.get_by_label("I agree to share my records").check()
    page.get_by_role("button", name="Apply to University of Castlebridge").click()
    page.get_by_text("waiting for the university").wait_for()
    assert_accessible(page)

    portal_context = browser.new_context(base_url=live_server)
    portal = portal_context.new_page()
    log_in(portal, partner.email)
    portal.get_by_role("link", name="Partner portal").click()
    assert_accessible(portal)
    db.session.rollback()
    reference = db.session.scalar(select(PathwayRegistration.reference))
    assert reference
    portal.get_by_role("link", name=reference).click()
    assert_accessible(portal)
    portal.get_by_label("Approve", exact=True).check()
    portal.get_by_role("button", name="Check the decision").click()
    portal.get_by_text("Record how you checked the learner's identity").first.wait_for()   # refused without it
    assert_accessible(portal)
    portal.get_by_label("Approve", exact=True).check()
    portal.get_by_label("Photo identity document (passport").check()
    portal.get_by_label("Identity check: what you saw").fill("Passport ending 7731")
    portal.get_by_role("button", name="Check the decision").click()
    portal.get_by_role("heading", name="Check before you record it").wait_for()
    assert_accessible(portal)
    ARTIFACTS.mkdir(exist_ok=True)
    portal.screenshot(path=str(ARTIFACTS / "registration-confirm.png"), full_page=True)
    portal.get_by_role("button", name="Approve the registration").click()
    portal.get_by_text("Alys Applicant: approved.").wait_for()
    portal.get_by_text("Passport ending 7731").first.wait_for()
    assert_accessible(portal)
    portal.set_viewport_size({"width": 390, "height": 844})
    portal.screenshot(path=str(ARTIFACTS / "registration-decided-phone.png"), full_page=True)
    portal.set_viewport_size({"width": 1280, "height": 900})
    portal.goto("/partner/credits/")
    assert_accessible(portal)
    portal.goto("/partner/board")
    assert_accessible(portal)

    page.reload()
    assert page.get_by_text("is approved").is_visible()
    context.close()
    portal_context.close()


def test_pathway_from_registration_to_exported_award(browser, live_server):
    """Register, approve, study, submit, mark and release, moderate, award, export; another university sees none."""
    from lms.accreditation.models import CreditAward
    from tests.factories import add_trainer
    university = Organisation(name="University of Castlebridge", kind="university")
    elsewhere = Organisation(name="University of Elsewhere", kind="university")
    db.session.add_all([university, elsewhere])
    db.session.flush()
    course = make_course("engagement-module", level="7", modules=1, lessons=1, assignment={},
                         title="Engagement and conflict")
    pathway = Pathway(slug="pgcert", title="PGCert in Community Cohesion", award="PGCert",
                      university_id=university.id, credits_required=20,
                      consent_text="I agree to share my records with the University of Castlebridge.")
    pathway.modules = [PathwayModule(course_id=course.id, code="CCI703", credits=20, level=7)]
    db.session.add(pathway)
    learner = make_user(email="cai@example.org", name="Cai Candidate")
    trainer = make_user("trainer", email="tutor@example.org", name="Tegan Tutor")
    partner = make_user("partner", email="registry@castlebridge.example")
    outsider = make_user("partner", email="registry@elsewhere.example")
    db.session.flush()
    add_trainer(course, trainer)
    db.session.add_all([OrganisationMember(organisation_id=university.id, user_id=partner.id),
                        OrganisationMember(organisation_id=elsewhere.id, user_id=outsider.id)])
    db.session.commit()

    # The learner registers on the pathway.
    learner_context = browser.new_context(base_url=live_server)
    page = learner_context.new_page()
    log_in(page, learner.email)
    page.goto("/pathways/pgcert/")
    page.get_by_label("Date of birth").fill("1979-07-02")
    page.get_by_label("Your qualifications so far").fill("BSc Sociology (2001); community development since 2003.")
    page.get_by_label("I agree to share my records").check()
    page.get_by_role("button", name="Apply to University of Castlebridge").click()
    page.get_by_text("waiting for the university").wait_for()

    # The partner approves it.
    partner_context = browser.new_context(base_url=live_server, accept_downloads=True)
    portal = partner_context.new_page()
    log_in(portal, partner.email)
    portal.goto("/partner/")
    db.session.rollback()
    registration = db.session.scalar(select(PathwayRegistration))
    portal.get_by_role("link", name=registration.reference).click()
    portal.get_by_label("Approve", exact=True).check()
    portal.get_by_label("Matched to the university's own student record").check()
    portal.get_by_role("button", name="Check the decision").click()
    portal.get_by_role("button", name="Approve the registration").click()
    portal.get_by_text("Cai Candidate: approved.").wait_for()

    # The learner completes the module and submits the assignment.
    page.goto(f"/courses/{course.slug}/")
    page.get_by_role("button", name="Enrol").click()
    page.goto(f"/courses/{course.slug}/")
    page.locator(".course-side").get_by_role("link").first.click()
    page.get_by_role("button", name="Mark as complete").first.click()
    page.goto(f"/courses/{course.slug}/module-1/assignment/")
    page.get_by_label("Your answer").fill("## Review\n\nThe borough's engagement plan, read against the evidence.")
    page.get_by_role("button", name="Save and preview").click()
    page.get_by_role("button", name="Submit…").click()
    page.get_by_role("button", name="Submit my work").click()
    page.get_by_text("Your work is submitted.").wait_for()

    # The trainer marks and releases.
    trainer_context = browser.new_context(base_url=live_server)
    marker = trainer_context.new_page()
    log_in(marker, trainer.email)
    marker.get_by_role("link", name="Teaching").click()
    marker.get_by_role("link", name=f"Marking for {course.title}").click()
    marker.get_by_role("link", name="Cai Candidate").click()
    marker.get_by_role("group", name="Knowledge").get_by_label("Pass (30)", exact=False).check()
    marker.get_by_role("group", name="Analysis").get_by_label("Pass (30)", exact=False).check()
    marker.get_by_label("Feedback for the learner").fill("Sound use of the evidence.")
    marker.get_by_role("button", name="Save mark").click()
    marker.get_by_text("Marked: 60 out of 100.").wait_for()
    marker.get_by_role("button", name="Release mark and feedback to the learner").click()
    marker.get_by_text("The mark is released to Cai Candidate.").wait_for()

    # The partner sees the candidate's progress, moderates, approves the credit and exports it.
    portal.goto("/partner/candidates")
    portal.get_by_text("credit requested (passed, mark 60)").wait_for()
    assert_accessible(portal)
    portal.goto("/partner/credits/")
    assert_accessible(portal)
    portal.get_by_role("link", name="Cai Candidate").click()
    assert_accessible(portal)
    portal.get_by_role("button", name="Record moderation").click()
    portal.get_by_text("Recorded.").wait_for()
    portal.get_by_label("Approve the credit").check()
    portal.get_by_role("button", name="Record decision").click()
    portal.get_by_text("Recorded.").wait_for()
    portal.goto("/partner/credits/?status=approved")
    portal.get_by_label("Pathway").select_option(label="PGCert in Community Cohesion")
    portal.get_by_role("button", name="Filter").click()
    portal.get_by_role("link", name="Cai Candidate").wait_for()
    assert_accessible(portal)
    with portal.expect_download() as download:
        portal.get_by_role("link", name="CSV, one row per record").click()
    with open(download.value.path(), encoding="utf-8", newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert len(rows) == 1  # one row per record: its newest version, not one per version
    assert {k: rows[0][k] for k in ("learner_reference", "module_code", "mark", "result", "moderation_status",
                                    "award_status", "record_version", "credits_cats", "fheq_level")} == {
        "learner_reference": registration.reference, "module_code": "CCI703", "mark": "60", "result": "passed",
        "moderation_status": "confirmed", "award_status": "approved", "record_version": "3", "credits_cats": "20",
        "fheq_level": "7"}
    assert rows[0]["certificate_code"]  # the course certificate issued on completion
    with portal.expect_download() as download:
        portal.get_by_role("link", name="xAPI statements (JSON)").click()
    with open(download.value.path(), encoding="utf-8") as exported:
        statements = json.load(exported)
    assert [s["verb"]["id"].rsplit("/", 1)[1] for s in statements] == ["completed", "passed"]
    assert statements[1]["actor"]["account"]["name"] == registration.reference
    portal.goto("/partner/board")
    portal.get_by_text("Cai Candidate").wait_for()
    assert_accessible(portal)
    portal.goto("/partner/tokens")
    portal.get_by_label("What the token is for").fill("Student records sync")
    portal.get_by_role("button", name="Create token").click()
    portal.locator("code.token").wait_for()
    assert_accessible(portal)

    # A partner of another university sees none of it.
    db.session.rollback()
    award = db.session.scalar(select(CreditAward).order_by(CreditAward.version.desc()))
    other_context = browser.new_context(base_url=live_server)
    other = other_context.new_page()
    log_in(other, outsider.email)
    for url in (f"/partner/registrations/{registration.id}", credit_url(award)):
        assert other.goto(url).status == 404
    other.goto("/partner/?status=")
    assert other.get_by_text("Cai Candidate").count() == 0
    other.goto("/partner/candidates")
    assert other.get_by_text("Cai Candidate").count() == 0
    other.goto("/partner/board")
    assert other.get_by_text("Cai Candidate").count() == 0
    assert other.request.get(f"{live_server}/partner/export.csv").text().strip().count("\n") == 0
    for context in (learner_context, partner_context, trainer_context, other_context):
        context.close()
