"""Written assignments: drafts, deadline, rubric marking, moderation, release; and who may see what."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.assessment.models import MarkRecord, Submission
from lms.database import utcnow
from tests.factories import add_trainer, enrol, login, make_course, make_user, post_form


@pytest.fixture
def course(db):
    return make_course(level="7", assignment={})


def page(course):
    return f"/courses/{course.slug}/module-1/assignment/"


def write_and_submit(client, course, text="## My review\n\nThe policy *assumes* contact works.", submit=True):
    response = post_form(client, page(course), {"text": text, "action": "save"})
    assert response.status_code == 303, response.get_data(as_text=True)
    if submit:
        post_form(client, page(course) + "submit", {}, page=page(course) + "submit")


@pytest.fixture
def submitted(client, course, db, make_user):
    learner = make_user(name="Lena Learner")
    enrol(learner, course)
    login(client, learner)
    write_and_submit(client, course)
    db.session.rollback()
    return learner, db.session.scalar(select(Submission))


def test_learner_saves_drafts_previews_and_submits(client, course, db, make_user):
    learner = make_user()
    enrol(learner, course)
    login(client, learner)
    html = client.get(page(course)).get_data(as_text=True)
    assert "Review a local cohesion policy" in html and "Knowledge" in html and "Distinction" in html
    preview = post_form(client, page(course), {"text": "## Intro\n\n<script>x()</script> *fine*", "action": "preview"})
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<em>fine</em>" in body and "<script>x()" not in body
    db.session.rollback()
    submission = db.session.scalar(select(Submission))
    assert submission.status == "draft" and "Intro" in submission.text
    confirm = client.get(page(course) + "submit")
    assert confirm.status_code == 200 and "cannot be changed" in confirm.get_data(as_text=True)
    post_form(client, page(course) + "submit", {})
    db.session.rollback()
    submission = db.session.scalar(select(Submission))
    assert submission.status == "submitted" and not submission.late and submission.due_at is not None
    again = post_form(client, page(course), {"text": "changed", "action": "save"})
    assert again.status_code == 422 and "can no longer be changed" in again.get_data(as_text=True)


def test_empty_work_cannot_be_submitted(client, course, db, make_user):
    learner = make_user()
    enrol(learner, course)
    login(client, learner)
    write_and_submit(client, course, text="   ", submit=False)
    response = post_form(client, page(course) + "submit", {}, follow_redirects=True)
    assert "Write your answer before submitting" in response.get_data(as_text=True)


def test_late_submission_is_flagged(client, course, db, make_user):
    learner = make_user()
    enrol(learner, course)
    login(client, learner)
    write_and_submit(client, course, submit=False)
    db.session.rollback()
    submission = db.session.scalar(select(Submission))
    submission.due_at = utcnow() - timedelta(days=1)
    db.session.commit()
    response = post_form(client, page(course) + "submit", {}, follow_redirects=True)
    assert "marked as late" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(Submission)).late


def test_trainer_marks_releases_and_learner_sees_it_only_then(app, client, course, submitted, db):
    learner, submission = submitted
    trainer = make_user("trainer", name="Tara Trainer")
    add_trainer(course, trainer)
    teacher = app.test_client()
    login(teacher, trainer)
    queue = teacher.get(f"/teach/{course.slug}/marking").get_data(as_text=True)
    assert "Lena Learner" in queue and "Waiting to be marked" in queue
    mark_url = f"/teach/submissions/{submission.id}"
    assert "contact works" in teacher.get(mark_url).get_data(as_text=True)
    missing = post_form(teacher, mark_url, {"criterion0": 1, "feedback": "Good start."})
    assert missing.status_code == 422 and "Choose a level for every criterion" in missing.get_data(as_text=True)
    post_form(teacher, mark_url, {"criterion0": 1, "criterion1": 2, "feedback": "Clear and critical."})
    db.session.rollback()
    submission = db.session.get(Submission, submission.id)
    assert submission.mark == 80 and submission.passed and submission.status == "marked"
    hidden = client.get(page(course)).get_data(as_text=True)
    assert "80%" not in hidden and "Clear and critical" not in hidden and "once your trainer releases" in hidden
    post_form(teacher, mark_url + "/release", {}, page=mark_url)
    shown = client.get(page(course)).get_data(as_text=True)
    assert "80%" in shown and "Clear and critical." in shown and "Passed" in shown


def test_changing_a_mark_needs_a_reason_and_keeps_history(app, course, submitted, db):
    learner, submission = submitted
    trainer = make_user("trainer")
    add_trainer(course, trainer)
    teacher = app.test_client()
    login(teacher, trainer)
    mark_url = f"/teach/submissions/{submission.id}"
    post_form(teacher, mark_url, {"criterion0": 1, "criterion1": 1, "feedback": "Sound."})
    no_reason = post_form(teacher, mark_url, {"criterion0": 2, "criterion1": 1, "feedback": "Sound."})
    assert no_reason.status_code == 422 and "Say why" in no_reason.get_data(as_text=True)
    post_form(teacher, mark_url, {"criterion0": 2, "criterion1": 1, "feedback": "Sound.",
                                  "note": "Re-read the second half."})
    db.session.rollback()
    records = db.session.scalars(select(MarkRecord).order_by(MarkRecord.version)).all()
    assert [(r.version, r.kind, r.total, r.note) for r in records] == [
        (1, "first", 60, ""), (2, "remark", 80, "Re-read the second half.")]
    assert all(r.marker_id == trainer.id for r in records)


def test_second_marker_moderates(app, course, submitted, db):
    learner, submission = submitted
    first, second = make_user("trainer"), make_user("trainer")
    add_trainer(course, first)
    add_trainer(course, second)
    one, two = app.test_client(), app.test_client()
    login(one, first)
    login(two, second)
    mark_url = f"/teach/submissions/{submission.id}"
    post_form(one, mark_url, {"criterion0": 1, "criterion1": 1, "feedback": "Sound."})
    first_view = one.get(mark_url).get_data(as_text=True)
    assert "Record moderation" not in first_view and "A second marker moderates this mark" in first_view
    assert "Record moderation" in two.get(mark_url).get_data(as_text=True)
    own = post_form(one, mark_url + "/moderate", {"mod-decision": "agree"}, page=mark_url, follow_redirects=True)
    assert "you gave the current mark" in own.get_data(as_text=True)
    no_note = post_form(two, mark_url + "/moderate", {"mod-decision": "change", "criterion0": 0, "criterion1": 1},
                        page=mark_url, follow_redirects=True)
    assert "Say why you are changing the mark" in no_note.get_data(as_text=True)
    post_form(two, mark_url + "/moderate", {"mod-decision": "change", "criterion0": 0, "criterion1": 1,
                                            "mod-note": "Knowledge is thinner than the first marker allowed."},
              page=mark_url)
    db.session.rollback()
    submission = db.session.get(Submission, submission.id)
    assert submission.mark == 40 and not submission.passed and submission.moderated
    last = submission.marks[-1]
    assert last.kind == "moderation-changed" and last.marker_id == second.id and "thinner" in last.note
    post_form(two, mark_url + "/moderate", {"mod-decision": "agree"}, page=mark_url)  # now agree: fine
    history = one.get(mark_url).get_data(as_text=True)
    assert "moderation changed" in history and "thinner" in history


@pytest.mark.parametrize("who, expected", [("guest", 302), ("learner", 404), ("other_trainer", 404),
                                           ("course_trainer", 200), ("admin", 200)])
def test_marking_access(app, course, submitted, db, who, expected):
    learner, submission = submitted
    client = app.test_client()
    if who != "guest":
        role = {"learner": "learner", "other_trainer": "trainer", "course_trainer": "trainer", "admin": "admin"}[who]
        user = make_user(role)
        if who == "course_trainer":
            add_trainer(course, user)
        login(client, user)
    for url in (f"/teach/submissions/{submission.id}", f"/teach/{course.slug}/marking",
                f"/teach/{course.slug}/questions"):
        assert client.get(url).status_code == expected, url


def test_other_trainer_cannot_mark_by_post(app, course, submitted, db):
    learner, submission = submitted
    intruder = make_user("trainer")
    client = app.test_client()
    login(client, intruder)
    response = post_form(client, f"/teach/submissions/{submission.id}",
                         {"criterion0": 2, "criterion1": 2, "feedback": "x"}, page="/courses/")
    assert response.status_code == 404
    db.session.rollback()
    assert db.session.get(Submission, submission.id).mark is None
