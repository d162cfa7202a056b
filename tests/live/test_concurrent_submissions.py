"""200 learners submit their quiz attempts at the same moment to a real server: each is recorded once."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from lms.assessment import services
from lms.assessment.models import Quiz, QuizAttempt
from lms.extensions import db
from tests.factories import PASSWORD, QUIZ_GIFT, enrol, make_course, make_user
from tests.live.conftest import Browser

LEARNERS = 200


def _prepared_attempts(count: int):
    course = make_course(quiz=QUIZ_GIFT)
    quiz = db.session.scalar(select(Quiz))
    attempts = []
    for _ in range(count):
        learner = make_user()
        enrol(learner, course)
        attempt = services.start_attempt(learner, quiz)
        attempts.append((learner.email, attempt.id))
    db.session.commit()
    return attempts


def test_200_concurrent_submissions_are_each_recorded_once(gunicorn_server):
    attempts = _prepared_attempts(LEARNERS)
    browsers = {}

    def log_in(entry):
        email, attempt_id = entry
        browser = Browser(gunicorn_server)
        status, _ = browser.post("/login", {"email": email, "password": PASSWORD}, page="/login")
        assert status == 200  # followed the redirect to My learning
        token = browser.token(f"/attempts/{attempt_id}/summary")
        browsers[attempt_id] = (browser, token)

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(log_in, attempts))

    barrier = threading.Barrier(LEARNERS)

    def submit(entry):
        _, attempt_id = entry
        browser, token = browsers[attempt_id]
        barrier.wait(timeout=60)
        return browser.request(f"/attempts/{attempt_id}/submit", {"csrf_token": token})[0]

    with ThreadPoolExecutor(max_workers=LEARNERS) as pool:
        statuses = list(pool.map(submit, attempts))

    assert statuses == [200] * LEARNERS  # each landed on its review page
    db.session.rollback()
    rows = db.session.scalars(select(QuizAttempt)).all()
    assert len(rows) == LEARNERS
    assert all(row.status == "submitted" and row.score is not None and row.finished_at for row in rows)


def test_one_attempt_submitted_ten_times_at_once_closes_once(gunicorn_server):
    (email, attempt_id), = _prepared_attempts(1)
    browser = Browser(gunicorn_server)
    browser.post("/login", {"email": email, "password": PASSWORD}, page="/login")
    token = browser.token(f"/attempts/{attempt_id}/summary")
    barrier = threading.Barrier(10)

    def submit(_):
        barrier.wait(timeout=30)
        return browser.request(f"/attempts/{attempt_id}/submit", {"csrf_token": token})[0]

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(submit, range(10)))
    assert statuses == [200] * 10
    db.session.rollback()
    assert db.session.scalar(select(func.count(QuizAttempt.id))) == 1
    attempt = db.session.scalar(select(QuizAttempt))
    assert attempt.status == "submitted" and attempt.finished_at is not None
