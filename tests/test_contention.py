"""Lock contention is retried in one place (lms.database.retry_on_contention), a few times, and never
answers 500: a request that keeps losing gets a 503 that asks to try again, having written nothing."""
from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from lms.assessment.models import Quiz, QuizAttempt
from lms.assessment.services import start_attempt
from lms.courses import services as courses
from lms.courses.models import Enrolment
from lms.database import is_contention, utcnow
from lms.extensions import db
from tests.factories import QUIZ_GIFT, enrol, login, make_course, make_user, post_form


def _locked() -> OperationalError:
    return OperationalError("UPDATE enrolments ...", {}, sqlite3.OperationalError("database is locked"))


class _Serialisation(Exception):
    sqlstate = "40001"


def test_lock_and_serialisation_failures_count_as_contention_and_nothing_else_does():
    assert is_contention(_locked())
    assert is_contention(OperationalError("SELECT 1", {}, _Serialisation()))
    assert not is_contention(OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: x")))
    assert not is_contention(ValueError("database is locked"))


def test_a_request_that_loses_a_lock_race_is_run_again_and_succeeds(app, monkeypatch):
    course, learner = make_course(), make_user()
    calls = []
    real = courses.enrol

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise _locked()
        return real(*args, **kwargs)

    monkeypatch.setattr(courses, "enrol", flaky)
    client = app.test_client()
    login(client, learner)
    response = post_form(client, f"/courses/{course.slug}/enrol", page=f"/courses/{course.slug}/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/resume")
    assert len(calls) == 2
    assert len(db.session.scalars(select(Enrolment)).all()) == 1


def test_a_database_busy_through_every_retry_answers_503_and_writes_nothing(app, monkeypatch):
    course, learner = make_course(), make_user()
    calls, ids = [], (learner.id, course.id)

    def always_locked(*args, **kwargs):
        calls.append(1)
        db.session.add(Enrolment(user_id=ids[0], course_id=ids[1]))  # never committed
        raise _locked()

    monkeypatch.setattr(courses, "enrol", always_locked)
    client = app.test_client()
    login(client, learner)
    response = post_form(client, f"/courses/{course.slug}/enrol", page=f"/courses/{course.slug}/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert len(calls) == 4
    assert db.session.scalars(select(Enrolment)).all() == []


@pytest.fixture
def held_write_lock(app):
    """Hold SQLite's write lock from another connection, writing and committing after a moment, as a
    concurrent request would; yields a function that starts it and waits until the lock is held."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock; PostgreSQL locks rows")
    threads, path = [], db.engine.url.database

    def start(seconds: float = 0.5):
        held = threading.Event()

        def hold():
            connection = sqlite3.connect(path, isolation_level=None, timeout=15)
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("UPDATE users SET name = name")
            held.set()
            threading.Event().wait(seconds)
            connection.execute("COMMIT")
            connection.close()

        thread = threading.Thread(target=hold)
        thread.start()
        threads.append(thread)
        assert held.wait(10)

    yield start
    for thread in threads:
        thread.join(20)


def test_a_get_that_must_write_waits_for_a_held_lock_instead_of_failing(app, held_write_lock):
    """Closing an attempt whose time ran out, on the quiz page: the read transaction cannot become a
    write once another writer has committed, so the page is run again as a writer, and succeeds."""
    course, learner = make_course(quiz=QUIZ_GIFT), make_user()
    enrol(learner, course)
    attempt = start_attempt(learner, db.session.scalar(select(Quiz)))
    attempt.deadline_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    client = app.test_client()
    login(client, learner)
    held_write_lock(0.5)
    response = client.get(f"/courses/{course.slug}/module-1/quiz/")
    assert response.status_code == 200
    db.session.rollback()
    assert db.session.get(QuizAttempt, attempt.id).status == "expired"


def test_opening_a_new_lesson_waits_for_a_held_lock_instead_of_failing(app, held_write_lock):
    course, learner = make_course(modules=1, lessons=2), make_user()
    enrol(learner, course)
    client = app.test_client()
    login(client, learner)
    held_write_lock(0.5)
    assert client.get(f"/courses/{course.slug}/module-1/lesson-1-2/").status_code == 200
    db.session.rollback()
    assert db.session.scalar(select(Enrolment)).last_lesson.slug == "lesson-1-2"
