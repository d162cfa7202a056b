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
from tests.factories import credit_url, enrol, login, make_course, make_user, post_form


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
    url = credit_url(award)
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
    assert len(rows) == 2   # one row per record: its newest version
    history = list(csv.reader(io.StringIO(client.get("/partner/export-history.csv").get_data(as_text=True))))
    assert history[0] == rows[0] and [r[15] for r in history[1:]] == ["1", "2", "3"] and history[-1] == rows[-1]
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
    confirmed = post_form(client, credit_url(award), {"action": "moderate", "mod-mark": "20"})
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
    moderated = post_form(client, credit_url(award), {"action": "moderate", "mod-mark": "80"})
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


def test_the_credit_page_shows_the_work_and_always_the_newest_version(app, db, setting):
    course, learner, partner, outsider = setting
    finish(db, course, learner, [1, 2])
    award = db.session.scalar(select(CreditAward))
    submission = db.session.scalar(select(assignments.Submission))
    submission_html = submission.html
    client = app.test_client()
    login(client, partner)
    url = credit_url(award)
    assert url == "/partner/credits/CL0000001/CCI701"
    page = client.get(url).get_data(as_text=True)
    # The work: the text as submitted, the rubric with the marker's choices, the feedback, every mark.
    assert submission_html in page and "The marker's choices on the rubric" in page
    rubric = db.session.scalar(select(Assignment)).rubric
    for criterion, chosen in zip(rubric, [1, 2]):
        assert f"<strong>{criterion['criterion']}</strong>: {criterion['levels'][chosen]['label']}" in page
    assert "Feedback." in page and "First mark" in page and "Test User" in page
    # The old address of a version leads to the record.
    old = client.get(f"/partner/credits/{award.id}")
    assert old.status_code == 301 and old.headers["Location"].endswith(url)
    moderated = post_form(client, url, {"action": "moderate", "version": "1", "mod-mark": "",
                                        "mod-note": ""})
    assert moderated.status_code == 303 and moderated.headers["Location"].endswith(url)
    # Reloading shows the newest version with its forms, and links the older one; it is never a dead end.
    page = client.get(url).get_data(as_text=True)
    assert "The record (version 2)" in page and "Record decision" in page
    assert f'href="{url}/v1"' in page
    v1 = client.get(f"{url}/v1").get_data(as_text=True)
    assert "kept for its history" in v1 and f'href="{url}"' in v1 and "Record decision" not in v1
    assert client.get(f"{url}/v2").status_code == 301
    assert client.get(f"/partner/credits/{award.id}").headers["Location"].endswith(f"{url}/v1")
    # A form from the older version is refused rather than acting on a record that has moved on.
    stale = post_form(client, url, {"action": "decide", "version": "1", "dec-decision": "approve"})
    assert stale.status_code == 422 and "changed since you opened it" in stale.get_data(as_text=True)
    # Another university sees none of it.
    stranger = app.test_client()
    login(stranger, outsider)
    for address in (url, f"{url}/v1", f"/partner/credits/{award.id}", "/partner/credits/CL0000001/NOPE"):
        assert stranger.get(address).status_code == 404, address


def test_the_universitys_moderation_is_the_mark_the_learner_sees(app, db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [1, 1])  # 30 + 30 = 60
    award = db.session.scalar(select(CreditAward))
    assert award.mark == 60
    portal = app.test_client()
    login(portal, partner)
    post_form(portal, credit_url(award), {"action": "moderate", "version": "1", "mod-mark": "63",
                                          "mod-note": "The analysis deserves the upper band."})
    db.session.rollback()
    submission = db.session.scalar(select(assignments.Submission))
    assert submission.mark == 63 and [m.kind for m in submission.marks] == ["first", "university-changed"]
    assert submission.marks[-1].marker_id == partner.id
    learner_client = app.test_client()
    login(learner_client, learner)
    page = learner_client.get(f"/courses/{course.slug}/module-1/assignment/").get_data(as_text=True)
    assert "<strong>63%</strong>" in page and "60%" not in page.split("History of your mark")[0]
    assert "University moderation changed the mark" in page and "The analysis deserves the upper band." in page
    # The transcript and the partner's export say the same.
    rows = list(csv.reader(io.StringIO(portal.get("/partner/export.csv").get_data(as_text=True))))
    assert rows[1][10] == "63"


def test_moderating_below_the_pass_mark_fails_the_module_for_credit(app, db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [1, 1])  # 60
    portal = app.test_client()
    login(portal, partner)
    post_form(portal, credit_url(db.session.scalar(select(CreditAward))),
              {"action": "moderate", "mod-mark": "45", "mod-note": "Below the threshold for level 7."})
    db.session.rollback()
    award = db.session.scalar(select(CreditAward).order_by(CreditAward.version.desc()))
    assert (award.mark, award.result, award.credits, award.moderation) == (45, "failed", 0, "adjusted")
    assert db.session.scalar(select(assignments.Submission)).passed is False
    refused = post_form(portal, credit_url(award), {"action": "decide", "dec-decision": "approve"})
    assert refused.status_code == 422 and "only be awarded for a passed module" in refused.get_data(as_text=True)
