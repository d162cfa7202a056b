"""Credit requests when a registered learner finishes a pathway module; moderation, award, history, CSV."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from lms.accounts.models import Organisation, OrganisationMember
from lms.accreditation.models import CreditAward, Pathway, PathwayModule, PathwayRegistration
from lms.assessment import assignments
from lms.assessment.models import Assignment
from lms.courses import services as courses
from lms.courses.models import Lesson
from lms.database import utcnow
from tests.factories import enrol, login, make_course, make_user, post_form


@pytest.fixture
def setting(db):
    university = Organisation(name="University of Castlebridge", kind="university")
    other = Organisation(name="University of Elsewhere", kind="university")
    db.session.add_all([university, other])
    db.session.flush()
    course = make_course("policy-module", level="7", modules=1, lessons=1, assignment={})
    pathway = Pathway(slug="pgcert", title="PGCert in Community Cohesion", award="PGCert",
                      university_id=university.id, credits_required=60, consent_text="I agree.")
    pathway.modules = [PathwayModule(course_id=course.id, code="CCI701", credits=20, level=7)]
    learner = make_user(email="candidate@example.org")
    db.session.add(pathway)
    db.session.flush()
    db.session.add(PathwayRegistration(pathway_id=pathway.id, user_id=learner.id, reference="CL0000001",
                                       legal_name="Cerys Candidate", date_of_birth=utcnow().date().replace(
                                           year=1980), prior_qualifications="BA", consent_text="I agree.",
                                       consented_at=utcnow(), status="approved", identity_checked=True))
    partner, outsider = make_user("partner"), make_user("partner")
    db.session.add_all([OrganisationMember(organisation_id=university.id, user_id=partner.id),
                        OrganisationMember(organisation_id=other.id, user_id=outsider.id)])
    db.session.commit()
    return course, learner, partner, outsider


def finish(db, course, learner, levels):
    enrolment = enrol(learner, course)
    courses.complete_lesson(enrolment, db.session.scalar(select(Lesson)))
    marker = make_user("trainer")
    submission = assignments.save_draft(learner, db.session.scalar(select(Assignment)), enrolment, "My review.")
    assignments.submit(submission)
    assignments.mark(marker, submission, levels, "Feedback.")
    assignments.release(marker, submission)
    db.session.commit()


def test_passing_module_sends_an_explicit_credit_request(db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [1, 2])  # 30 + 50 = 80
    award = db.session.scalar(select(CreditAward))
    assert (award.result, award.mark, award.credits, award.level, award.status, award.moderation,
            award.identity_checked, award.version) == ("passed", 80, 20, 7, "requested", "pending", True, 1)


def test_failing_module_is_reported_as_failed(db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [0, 0])  # 10 + 10 = 20 < 50
    award = db.session.scalar(select(CreditAward))
    assert award.result == "failed" and award.credits == 0 and award.mark == 20


def test_partner_moderates_approves_and_exports(app, db, setting):
    course, learner, partner, outsider = setting
    finish(db, course, learner, [1, 2])
    award = db.session.scalar(select(CreditAward))
    client = app.test_client()
    login(client, partner)
    assert "Cerys Candidate" in client.get("/partner/credits/").get_data(as_text=True)
    url = f"/partner/credits/{award.id}"
    too_early = post_form(client, url, {"action": "decide", "dec-decision": "approve"})
    assert too_early.status_code == 422 and "Moderate the mark" in too_early.get_data(as_text=True)
    no_note = post_form(client, url, {"action": "moderate", "mod-mark": "75"})
    assert no_note.status_code == 422 and "Say why the mark is adjusted" in no_note.get_data(as_text=True)
    moderated = post_form(client, url, {"action": "moderate", "mod-mark": "75",
                                        "mod-note": "Second marking found the analysis thinner."})
    new_url = moderated.headers["Location"]
    post_form(client, new_url, {"action": "decide", "dec-decision": "approve", "dec-note": ""})
    db.session.rollback()
    versions = db.session.scalars(select(CreditAward).order_by(CreditAward.version)).all()
    assert [(v.version, v.mark, v.moderation, v.status) for v in versions] == [
        (1, 80, "pending", "requested"), (2, 75, "adjusted", "requested"), (3, 75, "adjusted", "approved")]
    assert versions[1].changed_by_id == partner.id and "thinner" in versions[1].note
    rows = list(csv.reader(io.StringIO(client.get("/partner/export.csv").get_data(as_text=True))))
    assert rows[0] == ["learner_reference", "legal_name", "email", "date_of_birth", "pathway", "module_code",
                       "module_title", "credits_cats", "credits_ects", "fheq_level", "mark", "result",
                       "completion_date", "moderation_status", "award_status", "record_version", "certificate_code"]
    assert len(rows) == 4
    last = rows[-1]
    assert last[0] == "CL0000001" and last[5] == "CCI701" and last[7] == "20" and last[8] == "10"
    assert last[10:12] == ["75", "passed"] and last[13:16] == ["adjusted", "approved", "3"] and last[16]

    stranger = app.test_client()
    login(stranger, outsider)
    assert stranger.get(url).status_code == 404 and stranger.get(new_url).status_code == 404
    assert "Cerys" not in stranger.get("/partner/credits/?status=").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(stranger.get("/partner/export.csv").get_data(as_text=True))))) == 1


def test_rejecting_needs_a_reason_and_failed_credit_cannot_be_approved(app, db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [0, 0])
    award = db.session.scalar(select(CreditAward))
    client = app.test_client()
    login(client, partner)
    confirmed = post_form(client, f"/partner/credits/{award.id}", {"action": "moderate", "mod-mark": "20"})
    url = confirmed.headers["Location"]
    refused = post_form(client, url, {"action": "decide", "dec-decision": "approve"})
    assert refused.status_code == 422 and "only be awarded for a passed module" in refused.get_data(as_text=True)
    no_reason = post_form(client, url, {"action": "decide", "dec-decision": "reject"})
    assert "Give the reason" in no_reason.get_data(as_text=True)
    post_form(client, url, {"action": "decide", "dec-decision": "reject", "dec-note": "Module failed."})
    db.session.rollback()
    assert db.session.scalar(select(CreditAward).order_by(CreditAward.version.desc())).status == "rejected"


def test_board_of_examiners_lists_candidates_who_reached_the_total(app, db, setting):
    course, learner, partner, outsider = setting
    pathway = db.session.scalar(select(Pathway))
    pathway.credits_required = 20  # one module is enough here
    db.session.commit()
    finish(db, course, learner, [1, 2])
    award = db.session.scalar(select(CreditAward))
    client = app.test_client()
    login(client, partner)
    assert "No candidate has reached" in client.get("/partner/board").get_data(as_text=True)
    moderated = post_form(client, f"/partner/credits/{award.id}", {"action": "moderate", "mod-mark": "80"})
    post_form(client, moderated.headers["Location"], {"action": "decide", "dec-decision": "approve"})
    html = client.get("/partner/board").get_data(as_text=True)
    assert "Cerys Candidate" in html and "20 of 20" in html
    stranger = app.test_client()
    login(stranger, outsider)
    assert "Cerys" not in stranger.get("/partner/board").get_data(as_text=True)


def test_csv_cells_typed_by_people_cannot_become_formulas(app, db, setting):
    course, learner, partner, _ = setting
    registration = db.session.scalar(select(PathwayRegistration))
    registration.legal_name = "=HYPERLINK(\"http://x\")"
    db.session.commit()
    finish(db, course, learner, [1, 2])
    client = app.test_client()
    login(client, partner)
    rows = list(csv.reader(io.StringIO(client.get("/partner/export.csv").get_data(as_text=True))))
    assert rows[1][1].startswith("'=HYPERLINK")
