"""A learner applies to a pathway; the university's partner approves it; the pages pass axe-core."""
from __future__ import annotations

from sqlalchemy import select

from lms.accounts.models import Organisation, OrganisationMember
from lms.accreditation.models import Pathway, PathwayModule, PathwayRegistration
from lms.extensions import db
from tests.browser.conftest import assert_accessible
from tests.factories import PASSWORD, make_course, make_user


def log_in(page, email):
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Welcome back").wait_for()


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
    portal.get_by_label("Approve").check()
    portal.get_by_label("We have checked the learner's identity").check()
    portal.get_by_role("button", name="Record decision").click()
    portal.get_by_text("Alys Applicant: approved.").wait_for()
    portal.goto("/partner/credits/")
    assert_accessible(portal)
    portal.goto("/partner/board")
    assert_accessible(portal)

    page.reload()
    assert page.get_by_text("is approved").is_visible()
    context.close()
    portal_context.close()
