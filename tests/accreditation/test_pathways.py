"""Pathways from files (with the QAA rule), registration with stored consent, and a university's decision."""
from __future__ import annotations

import textwrap
from datetime import date

import pytest
from sqlalchemy import select

from lms.accounts.models import Organisation, OrganisationMember
from lms.accreditation.models import Pathway, PathwayRegistration, RegistrationDecision
from lms.courses.content import ContentInvalid, read_content
from tests.courses.test_content import write_course
from tests.factories import login, make_course, make_user, post_form

PATHWAY = textwrap.dedent("""\
    title: PGCert in Community Cohesion and Integration
    award: PGCert
    university: University of Castlebridge
    level: 7
    credits_required: 60
    entry_requirements: A degree, or relevant professional experience.
    registration_opens: 2020-01-01
    registration_closes: 2099-12-31
    consent: I agree that Cohesion LMS may share my module records with the University of Castlebridge.
    modules:
      - {course: module-a, code: CCI701, credits: 20}
      - {course: module-b, code: CCI702, credits: 20}
      - {course: module-c, code: CCI703, credits: 20}
    """)


def write_pathway(root, text=PATHWAY, name="pgcert"):
    folder = root / "pathways"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(text)


def level7_courses(db):
    return [make_course(f"module-{x}", level="7", modules=1, lessons=1) for x in "abc"]


def load(runner, root):
    return runner.invoke(args=["lms", "content", "load", str(root)])


def test_pathway_loads_from_files_with_its_university(runner, db, tmp_path):
    level7_courses(db)
    write_course(tmp_path)
    write_pathway(tmp_path)
    result = load(runner, tmp_path)
    assert result.exit_code == 0, result.output
    assert "created pathway pgcert" in result.output
    pathway = db.session.scalar(select(Pathway))
    assert pathway.university.kind == "university" and [m.code for m in pathway.modules] == [
        "CCI701", "CCI702", "CCI703"]
    assert "pathway" not in load(runner, tmp_path).output  # a second load changes nothing


@pytest.mark.parametrize("change, message", [
    (("credits_required: 60", "credits_required: 50"), "a PGCert needs at least 60 credits"),
    (("  - {course: module-c, code: CCI703, credits: 20}\n", ""), "fewer than the 60 required"),
    (("module-c", "sample-course"), "is a CPD course"),
    (("module-c", "nowhere"), "no course has the slug 'nowhere'"),
    (("award: PGCert", "award: Diploma"), "'award' must be one of"),
    (("code: CCI703", "code: CCI701"), "duplicate module code"),
])
def test_qaa_rule_and_bad_pathways_are_refused(runner, db, tmp_path, change, message):
    level7_courses(db)
    write_course(tmp_path)
    write_pathway(tmp_path, PATHWAY.replace(*change))
    result = load(runner, tmp_path)
    assert result.exit_code == 1 and message in result.output and "pathways/pgcert.yaml:" in result.output
    assert db.session.scalar(select(Pathway)) is None


def test_level_rule_counts_only_credits_at_the_award_level(db, tmp_path):
    write_course(tmp_path)
    write_pathway(tmp_path)
    with pytest.raises(ContentInvalid) as raised:
        read_content(tmp_path, {"module-a": "7", "module-b": "6", "module-c": "6"})
    assert any("at least 40 credits at level 7" in str(e) for e in raised.value.errors)


@pytest.fixture
def pathway(runner, db, tmp_path):
    level7_courses(db)
    write_course(tmp_path)
    write_pathway(tmp_path)
    assert load(runner, tmp_path).exit_code == 0
    return db.session.scalar(select(Pathway))


def partner_of(db, organisation_name):
    partner = make_user("partner")
    org = db.session.scalar(select(Organisation).where(Organisation.name == organisation_name))
    db.session.add(OrganisationMember(organisation_id=org.id, user_id=partner.id))
    db.session.commit()
    return partner


def apply(client, pathway, **overrides):
    data = {"legal_name": "Rhian Mair Evans", "date_of_birth": "1984-05-02",
            "prior_qualifications": "BA Social Policy (2006); 10 years in community development.", "consent": "y"}
    data.update(overrides)
    return post_form(client, f"/pathways/{pathway.slug}/", data)


def test_learner_applies_and_the_consent_text_is_stored(client, pathway, db):
    login(client, make_user())
    page = client.get(f"/pathways/{pathway.slug}/").get_data(as_text=True)
    assert "CCI701" in page and "I agree that Cohesion LMS may share" in page and "30 ECTS" in page
    assert apply(client, pathway).status_code == 302
    registration = db.session.scalar(select(PathwayRegistration))
    assert registration.status == "pending" and registration.reference.startswith("CL")
    assert registration.consent_text == pathway.consent_text and registration.date_of_birth == date(1984, 5, 2)
    assert "waiting for the university" in client.get(f"/pathways/{pathway.slug}/").get_data(as_text=True)


@pytest.mark.parametrize("overrides, message", [
    ({"consent": ""}, "You must agree to share your records"),
    ({"legal_name": ""}, "Enter your name"),
    ({"date_of_birth": "2030-01-01"}, "real date of birth"),
    ({"date_of_birth": "not a date"}, "Enter your date of birth"),
])
def test_bad_applications_get_messages(client, pathway, db, overrides, message):
    login(client, make_user())
    response = apply(client, pathway, **overrides)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(PathwayRegistration)) is None


def test_closed_registration(client, pathway, db):
    pathway.registration_closes = date(2000, 1, 1)
    db.session.commit()
    login(client, make_user())
    assert "not open" in client.get(f"/pathways/{pathway.slug}/").get_data(as_text=True)
    assert apply(client, pathway).status_code == 422


def decide(portal, registration, confirm=True, **data):
    """Post a decision to the partner's page, and (by default) confirm it as the page asks."""
    url = f"/partner/registrations/{registration.id}"
    checked = post_form(portal, url, data)
    if not confirm or checked.status_code != 200 or "Check before you record it" not in checked.get_data(as_text=True):
        return checked
    return post_form(portal, url, {**data, "confirm": "yes"})


def test_partner_decides_after_a_check_and_the_learner_sees_the_reason(app, client, pathway, db):
    learner = make_user()
    login(client, learner)
    apply(client, pathway)
    registration = db.session.scalar(select(PathwayRegistration))
    partner = partner_of(db, "University of Castlebridge")
    portal = app.test_client()
    login(portal, partner)
    assert "Rhian Mair Evans" in portal.get("/partner/").get_data(as_text=True)
    no_reason = decide(portal, registration, decision="reject", reason="")
    assert no_reason.status_code == 422 and "Give the learner a reason" in no_reason.get_data(as_text=True)
    # The first post only shows what will be recorded; nothing is written until it is confirmed.
    check = decide(portal, registration, confirm=False, decision="reject",
                   reason="Please send evidence of your degree first.")
    page = check.get_data(as_text=True)
    assert check.status_code == 200 and "Check before you record it" in page and "Reject the registration" in page
    db.session.rollback()
    assert db.session.get(PathwayRegistration, registration.id).status == "pending"
    assert db.session.scalar(select(RegistrationDecision)) is None
    done = decide(portal, registration, decision="reject", reason="Please send evidence of your degree first.")
    assert done.status_code == 303
    db.session.rollback()
    registration = db.session.get(PathwayRegistration, registration.id)
    assert registration.status == "rejected" and registration.decided_by_id == partner.id
    page = client.get(f"/pathways/{pathway.slug}/").get_data(as_text=True)
    assert "not approved" in page and "Please send evidence of your degree first." in page
    shown = portal.get(f"/partner/registrations/{registration.id}").get_data(as_text=True)
    assert f"Rejected by {partner.name} on" in shown and "Change this decision" in shown
    # Deciding the same again is refused; changing it needs a reason and, to approve, the identity check.
    again = decide(portal, registration, decision="reject", reason="Still no evidence.")
    assert again.status_code == 422 and "already rejected" in again.get_data(as_text=True)
    no_why = decide(portal, registration, decision="approve", identity_method="photo-id", reason="")
    assert no_why.status_code == 422 and "Say why the earlier decision is changed" in no_why.get_data(as_text=True)
    reversed_ = decide(portal, registration, decision="approve", identity_method="photo-id",
                       identity_note="Passport ending 4821", reason="Degree certificate received on 3 December.")
    assert reversed_.status_code == 303
    db.session.rollback()
    decisions = db.session.scalars(select(RegistrationDecision).order_by(RegistrationDecision.sequence)).all()
    assert [(d.sequence, d.status, d.decided_by_id) for d in decisions] == [(1, "rejected", partner.id),
                                                                            (2, "approved", partner.id)]
    assert db.session.get(PathwayRegistration, registration.id).status == "approved"
    shown = portal.get(f"/partner/registrations/{registration.id}").get_data(as_text=True)
    assert "changing an earlier decision" in shown and "Passport ending 4821" in shown
    assert shown.index("Degree certificate received") < shown.index("Reason: Please send evidence of your degree first.")
    from lms.audit import AuditEvent
    assert [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
            if e.action.startswith("registration.")] == ["registration.rejected", "registration.approved"]


@pytest.mark.parametrize("data, field, message", [
    ({}, "identity_method", "Record how you checked the learner"),
    ({"identity_method": "other"}, "identity_note", "Describe the identity check you made"),
    ({"identity_method": "guessed"}, "identity_method", "Not a valid choice"),
])
def test_approval_needs_the_identity_check_recorded(app, client, pathway, db, data, field, message):
    login(client, make_user())
    apply(client, pathway)
    registration = db.session.scalar(select(PathwayRegistration))
    portal = app.test_client()
    login(portal, partner_of(db, "University of Castlebridge"))
    refused = decide(portal, registration, decision="approve", **data)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and message in body
    assert f'id="{field}-error"' in body   # beside the field it is about
    # Even posted straight to the confirmation step, nothing is written.
    post_form(portal, f"/partner/registrations/{registration.id}", {"decision": "approve", "confirm": "yes", **data})
    db.session.rollback()
    assert db.session.get(PathwayRegistration, registration.id).status == "pending"
    assert db.session.scalar(select(RegistrationDecision)) is None


def test_the_identity_check_flows_into_the_credit_record(app, client, pathway, db):
    login(client, make_user())
    apply(client, pathway)
    registration = db.session.scalar(select(PathwayRegistration))
    partner = partner_of(db, "University of Castlebridge")
    portal = app.test_client()
    login(portal, partner)
    assert decide(portal, registration, decision="approve", identity_method="video-call").status_code == 303
    db.session.rollback()
    registration = db.session.get(PathwayRegistration, registration.id)
    assert registration.identity_checked is True
    decision = registration.decisions[-1]
    assert (decision.identity_method, decision.decided_by_id) == ("video-call", partner.id)
    shown = portal.get(f"/partner/registrations/{registration.id}").get_data(as_text=True)
    assert "Photo identity document shown on a video call" in shown and f"Approved by {partner.name}" in shown


def test_a_decision_made_meanwhile_is_not_overwritten(app, client, pathway, db):
    login(client, make_user())
    apply(client, pathway)
    registration = db.session.scalar(select(PathwayRegistration))
    first, second = app.test_client(), app.test_client()
    login(first, partner_of(db, "University of Castlebridge"))
    login(second, partner_of(db, "University of Castlebridge"))
    url = f"/partner/registrations/{registration.id}"
    stale = {"decision": "approve", "identity_method": "photo-id", "seen": "0"}
    checked = post_form(first, url, stale)
    assert "Check before you record it" in checked.get_data(as_text=True)
    assert decide(second, registration, decision="reject", reason="Entry requirements not met.").status_code == 303
    late = post_form(first, url, {**stale, "confirm": "yes"})
    assert late.status_code == 422 and "decided by someone else" in late.get_data(as_text=True)
    db.session.rollback()
    assert [d.status for d in db.session.scalars(select(RegistrationDecision))] == ["rejected"]


def test_another_university_sees_none_of_it(app, client, pathway, db):
    login(client, make_user())
    apply(client, pathway)
    registration = db.session.scalar(select(PathwayRegistration))
    db.session.add(Organisation(name="University of Elsewhere", kind="university"))
    db.session.commit()
    outsider = partner_of(db, "University of Elsewhere")
    other = app.test_client()
    login(other, outsider)
    assert "Rhian" not in other.get("/partner/?status=").get_data(as_text=True)
    assert other.get(f"/partner/registrations/{registration.id}").status_code == 404
    assert post_form(other, f"/partner/registrations/{registration.id}", {"decision": "approve"},
                     page="/partner/").status_code == 404
    learner_client = app.test_client()
    login(learner_client, make_user())
    assert learner_client.get("/partner/").status_code == 403


def test_applying_on_29_february_works(client, pathway, db, monkeypatch):
    from datetime import UTC, datetime

    from lms.accreditation import services
    monkeypatch.setattr(services, "utcnow", lambda: datetime(2028, 2, 29, 12, tzinfo=UTC))
    pathway.registration_closes = None
    db.session.commit()
    login(client, make_user())
    assert apply(client, pathway).status_code == 302
    too_young = make_user()
    login(client, too_young)
    response = apply(client, pathway, date_of_birth="2012-03-01")  # 15 on that day
    assert response.status_code == 422 and "real date of birth" in response.get_data(as_text=True)
