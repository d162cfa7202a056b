"""Pages issue the same number of SQL statements whatever the course size or number of enrolments."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, select

from lms.courses import services
from lms.courses.models import Lesson
from lms.extensions import db
from tests.factories import enrol, login, make_course, make_user


@contextmanager
def count_statements():
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def statements_for(client, url: str) -> int:
    client.get(url)  # warm up: first-request work is not what is measured
    with count_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements)


def _learner_with(courses, complete_first=True):
    learner = make_user()
    for course in courses:
        enrolment = enrol(learner, course)
        if complete_first:
            lesson = db.session.scalar(select(Lesson).where(Lesson.module.has(course_id=course.id))
                                       .order_by(Lesson.id))
            services.complete_lesson(enrolment, lesson)
    db.session.commit()
    return learner


def test_course_lesson_and_catalogue_pages_do_not_grow_with_course_size(app):
    small = make_course("small-course", modules=3, lessons=2)
    large = make_course("large-course", modules=30, lessons=3)
    counts = {}
    for course in (small, large):
        client = app.test_client()
        login(client, _learner_with([course]))
        counts[course.slug] = (
            statements_for(client, f"/courses/{course.slug}/"),
            statements_for(client, f"/courses/{course.slug}/module-2/lesson-2-1/"),
            statements_for(client, "/courses/"),
        )
    assert counts["small-course"] == counts["large-course"], counts
    print("course, lesson, catalogue statements:", counts["small-course"])


def test_dashboard_and_catalogue_do_not_grow_with_enrolments(app):
    courses = [make_course(modules=3, lessons=2) for _ in range(20)]
    one = app.test_client()
    login(one, _learner_with(courses[:1]))
    twenty = app.test_client()
    login(twenty, _learner_with(courses))
    assert statements_for(one, "/learning/") == statements_for(twenty, "/learning/")
    assert statements_for(one, "/courses/") == statements_for(twenty, "/courses/")
    print("dashboard statements:", statements_for(twenty, "/learning/"))


def test_dashboard_does_not_grow_with_course_size(app):
    small = app.test_client()
    login(small, _learner_with([make_course(modules=3, lessons=2)]))
    large = app.test_client()
    login(large, _learner_with([make_course(modules=30, lessons=3)]))
    assert statements_for(small, "/learning/") == statements_for(large, "/learning/")
