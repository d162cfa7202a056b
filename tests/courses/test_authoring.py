"""Authoring in the browser: drafts, publishing with a summary, progress kept, access, bad input."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from lms.audit import AuditEvent
from lms.courses import services
from lms.courses.models import Course, CourseDraft, Enrolment, Lesson, LessonProgress
from tests.factories import add_trainer, enrol, login, make_course, make_user, post_form

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


@pytest.fixture
def trainer_client(app):
    trainer = make_user("trainer", name="Tom Trainer")
    client = app.test_client()
    login(client, trainer)
    return trainer, client


def create_course(client, slug="new-course", **overrides):
    data = {"slug": slug, "title": "Running a listening exercise", "summary": "How to hear a neighbourhood.",
            "outcomes": "Plan a listening exercise\nReport what you heard", "reading": "", "level": "cpd",
            "credits": "", "validity_months": "", "price": "0", "currency": "GBP"}
    data.update(overrides)
    return post_form(client, "/author/new", data)


def build_course(client, slug="new-course"):
    create_course(client, slug)
    base = f"/author/{slug}"
    for m in (1, 2):
        post_form(client, f"{base}/modules/new", {"slug": f"part-{m}", "title": f"Part {m}",
                                                   "summary": f"About part {m}.", "cpd_hours": "1"})
    post_form(client, f"{base}/modules/part-1/lessons/new", {"slug": "why-listen", "title": "Why listen",
                                                              "source": "## Why\n\nBecause trust matters."})
    post_form(client, f"{base}/modules/part-1/lessons/new", {"slug": "who-to-ask", "title": "Who to ask",
                                                              "source": "## Who\n\nEveryone affected."})
    post_form(client, f"{base}/modules/part-2/lessons/new", {"slug": "reporting", "title": "Reporting back",
                                                              "source": "## Report\n\nClose the loop."})
    post_form(client, f"{base}/modules/part-1/quiz", {
        "title": "Check", "pass_mark": "60", "attempts": "0", "time_limit_minutes": "", "grading": "highest",
        "review": "full", "questions": "::Trust::Listening builds... {=trust#Yes ~noise#No}", "action": "save"})


def test_trainer_builds_previews_and_publishes_a_course(trainer_client, db):
    trainer, client = trainer_client
    build_course(client)
    course = db.session.scalar(select(Course).where(Course.slug == "new-course"))
    assert course.status == "draft" and services.can_view(make_user(), course) is False
    page = client.get("/author/new-course/").get_data(as_text=True)
    assert "Part 1" in page and "Who to ask" in page and "Edit the quiz (1 questions)" in page
    preview = post_form(client, "/author/new-course/modules/part-1/lessons/why-listen/edit",
                        {"title": "Why listen", "source": "## Heading\n\n<script>x</script> *em*",
                         "action": "preview"})
    html = preview.get_data(as_text=True)
    assert '<h2 id="heading">Heading</h2>' in html and "<em>em</em>" in html and "<script>x</script>" not in html
    summary = client.get("/author/new-course/publish").get_data(as_text=True)
    assert "Modules added (2)" in summary and "Lessons added (3)" in summary
    post_form(client, "/author/new-course/publish", {})
    db.session.rollback()
    course = db.session.scalar(select(Course).where(Course.slug == "new-course"))
    assert course.status == "published" and course.lesson_count == 3
    assert db.session.get(CourseDraft, course.id) is None
    assert [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))][-1] == "course.publish"
    assert "Running a listening exercise" in client.get("/courses/").get_data(as_text=True)


def test_edits_go_to_a_draft_and_republishing_keeps_progress(app, trainer_client, db):
    trainer, client = trainer_client
    build_course(client)
    post_form(client, "/author/new-course/publish", {})
    db.session.rollback()
    course = db.session.scalar(select(Course).where(Course.slug == "new-course"))
    learner = make_user()
    enrolment = enrol(learner, course)
    lesson = db.session.scalar(select(Lesson).where(Lesson.slug == "why-listen"))
    services.complete_lesson(enrolment, lesson)
    db.session.commit()

    post_form(client, "/author/new-course/modules/part-1/lessons/why-listen/edit",
              {"title": "Why we listen", "source": "## Why\n\nBecause trust matters, and it takes time.",
               "action": "save"})
    db.session.rollback()
    assert db.session.get(Lesson, lesson.id).title == "Why listen"  # published text untouched until publish
    summary = client.get("/author/new-course/publish").get_data(as_text=True)
    assert "Lessons edited (1)" in summary and "Part 1: Why we listen" in summary
    post_form(client, "/author/new-course/publish", {})
    db.session.rollback()
    lesson = db.session.get(Lesson, lesson.id)
    assert lesson.title == "Why we listen" and "takes time" in lesson.current_version.html
    assert db.session.scalar(select(func.count(LessonProgress.id))) == 1
    assert db.session.scalar(select(Enrolment)).lessons_completed == 1


def test_reorder_with_buttons(trainer_client, db):
    trainer, client = trainer_client
    build_course(client)
    post_form(client, "/author/new-course/move", {"module": "part-1", "lesson": "who-to-ask", "direction": "up"},
              page="/author/new-course/")
    post_form(client, "/author/new-course/move", {"module": "part-2", "lesson": "", "direction": "up"},
              page="/author/new-course/")
    from lms.courses.drafts import current_draft
    cf = current_draft(db.session.scalar(select(Course)))
    assert [m.slug for m in cf.modules] == ["part-2", "part-1"]
    assert [lesson.slug for lesson in cf.modules[1].lessons] == ["who-to-ask", "why-listen"]
    bad = post_form(client, "/author/new-course/move", {"module": "part-2", "direction": "up"},
                    page="/author/new-course/", follow_redirects=True)
    assert "cannot move" in bad.get_data(as_text=True)


def test_removing_a_started_lesson_archives_it_on_publish(trainer_client, db):
    trainer, client = trainer_client
    build_course(client)
    post_form(client, "/author/new-course/publish", {})
    course = db.session.scalar(select(Course))
    learner = make_user()
    enrolment = enrol(learner, course)
    services.complete_lesson(enrolment, db.session.scalar(select(Lesson).where(Lesson.slug == "reporting")))
    db.session.commit()
    assert client.get("/author/new-course/remove?module=part-1&lesson=who-to-ask").status_code == 200
    post_form(client, "/author/new-course/remove?module=part-2&lesson=reporting", {})
    post_form(client, "/author/new-course/modules/part-2/lessons/new",
              {"slug": "closing", "title": "Closing", "source": "## Close\n\nDone."})
    post_form(client, "/author/new-course/publish", {})
    db.session.rollback()
    reporting = db.session.scalar(select(Lesson).where(Lesson.slug == "reporting"))
    assert reporting.archived and db.session.scalar(select(func.count(LessonProgress.id))) == 1


@pytest.mark.parametrize("who, expected", [("guest", 302), ("learner", 403), ("other_trainer", 404),
                                           ("team_trainer", 200), ("admin", 200)])
def test_only_the_course_team_can_open_the_editor(app, db, who, expected):
    course = make_course("team-course")
    client = app.test_client()
    if who != "guest":
        user = make_user({"learner": "learner", "other_trainer": "trainer", "team_trainer": "trainer",
                          "admin": "admin"}[who])
        if who == "team_trainer":
            add_trainer(course, user)
        login(client, user)
    status = client.get("/author/team-course/").status_code
    assert status == (302 if who == "guest" else 404 if who == "learner" else expected)


@pytest.mark.parametrize("field, value, message", [
    ("title", "", "Enter the course title"),
    ("slug", "Not A Slug", "lower-case letters"),
    ("outcomes", "", "Give at least one learning outcome"),
    ("credits", "20", "carries no credits"),
    ("price", "-5", "Enter a price from 0 to 100,000"),
])
def test_bad_course_details_get_messages(trainer_client, db, field, value, message):
    trainer, client = trainer_client
    response = create_course(client, **{field: value})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(Course)) is None


def test_duplicate_slugs_are_refused(trainer_client, db):
    trainer, client = trainer_client
    make_course("taken")
    assert "already uses that web address" in create_course(client, "taken").get_data(as_text=True)
    build_course(client, "mine")
    again = post_form(client, "/author/mine/modules/new", {"slug": "part-1", "title": "Again", "summary": "x",
                                                           "cpd_hours": "1"})
    assert again.status_code == 422 and "already used here" in again.get_data(as_text=True)


def test_invalid_question_gets_a_message_beside_the_field(trainer_client, db):
    trainer, client = trainer_client
    build_course(client)
    response = post_form(client, "/author/new-course/modules/part-2/quiz", {
        "title": "Check", "pass_mark": "70", "attempts": "0", "grading": "highest", "review": "full",
        "questions": "::Broken::No right answer {~a#x ~b#y}", "action": "save"})
    assert response.status_code == 422 and "line 1" in response.get_data(as_text=True)
    preview = post_form(client, "/author/new-course/modules/part-2/quiz", {
        "title": "Check", "pass_mark": "70", "attempts": "0", "grading": "highest", "review": "full",
        "questions": "::Pick::Pick one {=right#Yes ~wrong#No}", "action": "preview"})
    html = preview.get_data(as_text=True)
    assert "Learner&#39;s view" in html or "Learner's view" in html
    assert 'type="radio"' in html and "#Yes" in html  # the editor keeps the GIFT; the preview shows choices


def test_image_upload_checks_type_and_size(trainer_client, db):
    trainer, client = trainer_client
    build_course(client)
    page = "/author/new-course/"
    ok = post_form(client, "/author/new-course/images", {"file": (io.BytesIO(PNG), "Town Map.png")}, page=page,
                   content_type="multipart/form-data", follow_redirects=True)
    assert "images/town-map.png" in ok.get_data(as_text=True)
    image = client.get("/author/new-course/images/town-map.png")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == PNG
    fake = post_form(client, "/author/new-course/images", {"file": (io.BytesIO(b"<svg onload=x>"), "x.png")},
                     page=page, content_type="multipart/form-data")
    assert fake.status_code == 422
    assert re.search(r'class="field-error" id="file-error">.*Upload a PNG, JPEG, GIF or WebP image',
                     fake.get_data(as_text=True))
    big = post_form(client, "/author/new-course/images",
                    {"file": (io.BytesIO(PNG + bytes(2 * 1024 * 1024)), "big.png")}, page=page,
                    content_type="multipart/form-data")
    assert big.status_code == 422 and "larger than 2 MiB" in big.get_data(as_text=True)
    missing = post_form(client, "/author/new-course/images", {}, page=page, content_type="multipart/form-data")
    assert missing.status_code == 422 and "Choose an image to upload" in missing.get_data(as_text=True)


def test_archive_stops_new_enrolments_and_keeps_learners(trainer_client, db):
    trainer, client = trainer_client
    build_course(client)
    post_form(client, "/author/new-course/publish", {})
    course = db.session.scalar(select(Course))
    learner = make_user()
    enrol(learner, course)
    post_form(client, "/author/new-course/archive", {})
    db.session.rollback()
    course = db.session.scalar(select(Course))
    assert course.status == "archived"
    with pytest.raises(services.EnrolmentClosedError):
        services.enrol(make_user(), course)
    assert services.enrolment_for(learner, course).is_active
    assert "course.archive" in {e.action for e in db.session.scalars(select(AuditEvent))}


def test_every_question_type_is_edited_in_the_browser(trainer_client, db):
    trainer, client = trainer_client
    build_course(client)
    gift_text = "\n\n".join([
        "::S::Pick one {=right#Yes ~wrong#No}",
        "::M::Pick two {~%50%a#Yes ~%50%b#Yes ~%-100%c#No}",
        "::T::True? {T#Wrong#Right}",
        "::SA::Name it {=Cantle =Ted Cantle}",
        "::N::Credits? {#60:0}",
        "::Ma::Match {=PGCert -> 60 =PGDip -> 120 =MA -> 180}",
        "::O::Order {>Questionnaire >Visioning event >Action plan}",
        "::E::Describe {}",
    ])
    form = {"title": "All kinds", "pass_mark": "50", "attempts": "0", "grading": "highest", "review": "full",
            "questions": gift_text}
    preview = post_form(client, "/author/new-course/modules/part-2/quiz", {**form, "action": "preview"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Question 8 of 8" in html and "Position…" in html and "Choose…" in html
    post_form(client, "/author/new-course/modules/part-2/quiz", {**form, "action": "save"})
    post_form(client, "/author/new-course/publish", {})
    from lms.assessment.models import Question
    kinds = {q.kind for q in db.session.scalars(select(Question))}
    assert kinds == {"single", "multiple", "truefalse", "short", "numeric", "matching", "ordering", "essay"}
