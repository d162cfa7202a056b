"""Pathways from files (with the QAA rule), registration with stored consent, and a university's decision."""
from __future__ import annotations

import textwrap
from datetime import date

import pytest
from sqlalchemy import select

from lms.accounts.models import Organisation, OrganisationMember
from lms.accreditation.models import Pathway, PathwayRegistration
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


def test_partner_decides_and_the_learner_sees_the_reason(app, client, pathway, db):
    learner = make_user()
    login(client, learner)
    apply(client, pathway)
    registration = db.session.scalar(select(PathwayRegistration))
    partner = partner_of(db, "University of Castlebridge")
    portal = app.test_client()
    login(portal, partner)
    assert "Rhian Mair Evans" in portal.get("/partner/").get_data(as_text=True)
    url = f"/partner/registrations/{registration.id}"
    no_reason = post_form(portal, url, {"decision": "reject", "reason": ""})
    assert no_reason.status_code == 422 and "Give the learner a reason" in no_reason.get_data(as_text=True)
    post_form(portal, url, {"decision": "reject", "reason": "Please send evidence of your degree first."})
    db.session.rollback()
    assert db.session.get(PathwayRegistration, registration.id).status == "rejected"
    page = client.get(f"/pathways/{pathway.slug}/").get_data(as_text=True)
    assert "not approved" in page and "Please send evidence of your degree first." in page
    again = post_form(portal, url, {"decision": "approve"}, page="/partner/")
    assert again.status_code == 422 and "already been decided" in again.get_data(as_text=True)


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
