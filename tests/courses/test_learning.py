"""Catalogue, course page, enrolment, the lesson player, progress and the dashboard."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from lms.courses import services
from lms.courses.models import Enrolment, Lesson, LessonProgress
from tests.factories import enrol, login, make_course, make_user, post_form


def lesson_url(course, module="module-1", lesson="lesson-1-1"):
    return f"/courses/{course.slug}/{module}/{lesson}/"


# Catalogue -------------------------------------------------------------------

def test_catalogue_lists_published_courses_only(client):
    make_course("open-course", title="Open course")
    make_course("hidden-course", title="Hidden course", status="draft")
    html = client.get("/courses/").get_data(as_text=True)
    assert "Open course" in html and "Hidden course" not in html
    assert client.get("/courses/hidden-course/").status_code == 404


def test_catalogue_search_and_filters(client):
    make_course(title="Schools and cohesion", summary="For governors and headteachers.")
    make_course(title="Evaluating programmes", summary="Theories of change for commissioners.")
    make_course(title="Policy and evidence", level="7", summary="Postgraduate study.", hours="40")
    assert "Schools and cohesion" in client.get("/courses/?q=GOVERNORS").get_data(as_text=True)
    found = client.get("/courses/?q=change+commissioners").get_data(as_text=True)
    assert "Evaluating programmes" in found and "Schools and cohesion" not in found
    level7 = client.get("/courses/?level=7").get_data(as_text=True)
    assert "Policy and evidence" in level7 and "Schools and cohesion" not in level7
    long = client.get("/courses/?hours=long").get_data(as_text=True)
    assert "Policy and evidence" in long and "Evaluating programmes" not in long
    short = client.get("/courses/?hours=short").get_data(as_text=True)
    assert "Evaluating programmes" in short and "Policy and evidence" not in short
    empty = client.get("/courses/?q=zebra")
    assert empty.status_code == 200 and "No courses found" in empty.get_data(as_text=True)
    assert client.get("/courses/?level=bogus&hours=bogus&page=abc").status_code == 200


def test_catalogue_paginates(client):
    for i in range(14):
        make_course(title=f"Course {i:02d}", modules=1, lessons=1)
    first = client.get("/courses/").get_data(as_text=True)
    assert "Showing 1–12 of 14" in first and first.count('class="course-card"') == 12
    second = client.get("/courses/?page=2").get_data(as_text=True)
    assert second.count('class="course-card"') == 2


def test_catalogue_empty_state(client):
    assert "No courses are published yet" in client.get("/courses/").get_data(as_text=True)


# Course page and enrolment ---------------------------------------------------

def test_course_page_shows_outline_and_the_right_action(client, make_user):
    course = make_course(modules=2, lessons=2)
    html = client.get(f"/courses/{course.slug}/").get_data(as_text=True)
    assert "Module 1" in html and "Lesson 2.2" in html and "Log in to enrol" in html
    assert "3 hours" in html and "Free" in html  # 2 modules x 1.5 hours
    learner = make_user()
    login(client, learner)
    assert 'Enrol<span class="visually-hidden"> on' in client.get(f"/courses/{course.slug}/").get_data(as_text=True)
    enrol(learner, course)
    html = client.get(f"/courses/{course.slug}/").get_data(as_text=True)
    assert "Start: Lesson 1.1" in html and "Leave this course" in html


def test_enrol_free_course(client, make_user, db):
    course = make_course()
    learner = make_user()
    login(client, learner)
    response = post_form(client, f"/courses/{course.slug}/enrol", {}, page=f"/courses/{course.slug}/")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/courses/{course.slug}/resume")
    enrolment = db.session.scalar(select(Enrolment))
    assert enrolment.user_id == learner.id and enrolment.source == "free" and enrolment.status == "active"
    # Enrolling twice makes one enrolment.
    post_form(client, f"/courses/{course.slug}/enrol", {}, page=f"/courses/{course.slug}/")
    assert len(db.session.scalars(select(Enrolment)).all()) == 1


def test_enrol_needs_login_and_csrf(client, make_user, db):
    course = make_course()
    guest = post_form(client, f"/courses/{course.slug}/enrol", {}, page="/login")
    assert guest.status_code == 302 and "/login" in guest.headers["Location"]
    login(client, make_user())
    assert client.post(f"/courses/{course.slug}/enrol").status_code == 400
    assert db.session.scalar(select(Enrolment)) is None


def test_paid_course_cannot_be_enrolled_free(client, make_user, db):
    course = make_course(price=4500)
    login(client, make_user())
    page = client.get(f"/courses/{course.slug}/").get_data(as_text=True)
    assert "£45.00" in page and "Online payment is not available at the moment" in page
    response = post_form(client, f"/courses/{course.slug}/enrol", {}, page="/courses/", follow_redirects=True)
    assert "has a fee" in response.get_data(as_text=True)
    assert db.session.scalar(select(Enrolment)) is None


def test_leave_keeps_progress_and_reenrol_restores_it(client, make_user, db):
    course = make_course(modules=1, lessons=2)
    learner = make_user()
    enrolment = enrol(learner, course)
    services.complete_lesson(enrolment, db.session.scalar(select(Lesson).where(Lesson.slug == "lesson-1-1")))
    db.session.commit()
    login(client, learner)
    assert client.get(f"/courses/{course.slug}/leave").status_code == 200  # asks first
    post_form(client, f"/courses/{course.slug}/leave", {})
    db.session.rollback()
    assert db.session.scalar(select(Enrolment)).status == "left"
    assert "not taking any courses" in client.get("/learning/").get_data(as_text=True)
    assert client.get(lesson_url(course)).status_code == 302
    assert "Enrol again" in client.get(f"/courses/{course.slug}/").get_data(as_text=True)
    post_form(client, f"/courses/{course.slug}/enrol", {}, page=f"/courses/{course.slug}/")
    db.session.rollback()
    enrolment = db.session.scalar(select(Enrolment))
    assert enrolment.status == "active" and enrolment.lessons_completed == 1 and enrolment.progress_percent == 50


# Lessons and progress --------------------------------------------------------

def test_lesson_needs_an_active_enrolment(client, make_user):
    course = make_course()
    assert client.get(lesson_url(course)).status_code == 302
    login(client, make_user())
    response = client.get(lesson_url(course))
    assert response.status_code == 302 and response.headers["Location"] == f"/courses/{course.slug}/"
    assert client.get(f"/courses/{course.slug}/module-1/no-such-lesson/").status_code == 404
    assert client.get("/courses/no-such-course/module-1/lesson-1-1/").status_code == 404


def test_lesson_page_shows_text_outline_and_neighbours(client, make_user):
    course = make_course(modules=2, lessons=2)
    learner = make_user()
    enrol(learner, course)
    login(client, learner)
    html = client.get(lesson_url(course, "module-1", "lesson-1-2")).get_data(as_text=True)
    assert "<h1 id=\"lesson-title\">Lesson 1.2</h1>" in html
    assert "Cohesion work starts with knowing" in html
    assert 'aria-label="Course outline"' in html and 'aria-current="page"' in html
    assert 'rel="prev"' in html and "Lesson 1.1" in html and 'rel="next"' in html and "Lesson 2.1" in html
    assert "5 min read" in html and "Mark as complete" in html
    printable = client.get(lesson_url(course, "module-1", "lesson-1-2") + "?view=print").get_data(as_text=True)
    assert "Cohesion work starts with knowing" in printable and 'aria-label="Course outline"' not in printable


def test_completing_lessons_updates_stored_progress_once(client, make_user, db):
    course = make_course(modules=2, lessons=2)
    learner = make_user()
    enrol(learner, course)
    login(client, learner)
    url = lesson_url(course) + "complete"
    response = post_form(client, url, {"next": "1"}, page=lesson_url(course))
    assert response.headers["Location"].endswith("/module-1/lesson-1-2/")
    post_form(client, url, {}, page=lesson_url(course))  # again: no double count
    db.session.rollback()
    enrolment = db.session.scalar(select(Enrolment))
    assert enrolment.lessons_completed == 1 and enrolment.progress_percent == 25
    assert len(db.session.scalars(select(LessonProgress)).all()) == 1
    for module, lesson in [("module-1", "lesson-1-2"), ("module-2", "lesson-2-1"), ("module-2", "lesson-2-2")]:
        post_form(client, lesson_url(course, module, lesson) + "complete", {}, page=lesson_url(course))
    db.session.rollback()
    enrolment = db.session.scalar(select(Enrolment))
    assert enrolment.lessons_completed == 4 and enrolment.progress_percent == 100
    html = client.get(f"/courses/{course.slug}/").get_data(as_text=True)
    assert 'value="100"' in html and "Review the course" in html


def test_completing_without_enrolment_is_refused(client, make_user, db):
    course = make_course()
    login(client, make_user())
    response = post_form(client, lesson_url(course) + "complete", {}, page="/courses/")
    assert response.status_code == 303
    assert db.session.scalar(select(LessonProgress)) is None


def test_resume_goes_to_where_the_learner_left_off(client, make_user, db):
    course = make_course(modules=2, lessons=2)
    learner = make_user()
    enrol(learner, course)
    login(client, learner)
    assert client.get(f"/courses/{course.slug}/resume").headers["Location"].endswith("/module-1/lesson-1-1/")
    client.get(lesson_url(course, "module-2", "lesson-2-1"))  # opened, not finished
    assert client.get(f"/courses/{course.slug}/resume").headers["Location"].endswith("/module-2/lesson-2-1/")
    post_form(client, lesson_url(course, "module-2", "lesson-2-1") + "complete", {}, page="/courses/")
    assert client.get(f"/courses/{course.slug}/resume").headers["Location"].endswith("/module-2/lesson-2-2/")


def test_dashboard_shows_courses_with_next_step_and_empty_state(client, make_user, db):
    learner = make_user()
    login(client, learner)
    empty = client.get("/learning/").get_data(as_text=True)
    assert "not taking any courses yet" in empty and 'href="/courses/"' in empty
    started = make_course(title="Started course", modules=1, lessons=2)
    finished = make_course(title="Finished course", modules=1, lessons=1)
    enrolment = enrol(learner, started)
    services.complete_lesson(enrolment, db.session.scalar(
        select(Lesson).where(Lesson.slug == "lesson-1-1", Lesson.module.has(course_id=started.id))))
    done = enrol(learner, finished)
    services.complete_lesson(done, db.session.scalar(
        select(Lesson).where(Lesson.module.has(course_id=finished.id))))
    db.session.commit()
    html = client.get("/learning/").get_data(as_text=True)
    current = html.split('id="current-title"')[1].split('id="done-title"')[0]
    assert "Started course" in current and "Next: Lesson 1.2" in current and 'value="50"' in current
    assert "Finished course" in html.split('id="done-title"')[1]


@pytest.mark.parametrize("who, expected", [("guest", 302), ("learner", 200), ("admin", 200)])
def test_dashboard_access(client, make_user, who, expected):
    if who != "guest":
        login(client, make_user(who))
    assert client.get("/learning/").status_code == expected


def test_draft_course_visible_to_admin_only(client, make_user):
    course = make_course(status="draft")
    login(client, make_user("learner"))
    assert client.get(f"/courses/{course.slug}/").status_code == 404
    admin_client = client.application.test_client()
    login(admin_client, make_user("admin"))
    page = admin_client.get(f"/courses/{course.slug}/")
    assert page.status_code == 200 and "not open for enrolment" in page.get_data(as_text=True)


def test_lesson_html_from_the_database_is_not_rerendered(client, make_user, db):
    """The page shows the stored HTML of the current version: change it, and the page changes."""
    course = make_course(modules=1, lessons=1)
    learner = make_user()
    enrol(learner, course)
    lesson = db.session.scalar(select(Lesson))
    lesson.current_version.html = "<p>Stored rendering marker</p>"
    db.session.commit()
    login(client, learner)
    assert "Stored rendering marker" in client.get(lesson_url(course)).get_data(as_text=True)


def test_next_from_a_modules_last_lesson_goes_to_its_quiz(app):
    """The quiz is not skipped: from the last lesson of a module with a quiz, Next (and "Mark as complete
    and go to the quiz") lead to the quiz; elsewhere they lead to the next lesson."""
    from tests.factories import QUIZ_GIFT
    course = make_course("quiz-next", modules=2, lessons=2, quiz=QUIZ_GIFT)  # the quiz is module 1's
    learner = make_user()
    enrol(learner, course)
    client = app.test_client()
    login(client, learner)
    base = "/courses/quiz-next"
    last_of_first = client.get(f"{base}/module-1/lesson-1-2/").get_data(as_text=True)
    assert f'rel="next" class="pager-next" href="{base}/module-1/quiz/"' in last_of_first
    assert "Mark as complete and go to the quiz" in last_of_first
    first = client.get(f"{base}/module-1/lesson-1-1/").get_data(as_text=True)
    assert f'href="{base}/module-1/lesson-1-2/"><span class="pager-label">Next' in first
    assert "Mark as complete and continue" in first
    assert 'rel="next"' not in client.get(f"{base}/module-2/lesson-2-2/").get_data(as_text=True)

    response = post_form(client, f"{base}/module-1/lesson-1-2/complete", {"next": "1"},
                         page=f"{base}/module-1/lesson-1-2/")
    assert response.status_code == 302 and response.headers["Location"] == f"{base}/module-1/quiz/"
    response = post_form(client, f"{base}/module-1/lesson-1-1/complete", {"next": "1"},
                         page=f"{base}/module-1/lesson-1-1/")
    assert response.headers["Location"] == f"{base}/module-1/lesson-1-2/"
