"""A class reading and completing lessons at once, and a university's systems calling the API at once,
against a real server (gunicorn, two workers, on this run's database): never a 5xx, nothing lost or doubled.

Before, every lesson GET wrote "last visited" in a transaction that began as a reader, and lost the
write lock to any concurrent writer at once on SQLite ("database is locked", a 500); every API call
wrote the token's "last used" the same way.
"""
from __future__ import annotations

import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from lms.accounts.models import Organisation, OrganisationMember
from lms.accreditation.api import create_token
from lms.accreditation.models import ApiToken
from lms.courses.models import Enrolment, Lesson, LessonProgress
from lms.extensions import db
from tests.factories import PASSWORD, enrol, make_course, make_user
from tests.live.conftest import Browser

LEARNERS = 8
CONCURRENCY = 32
MODULES, LESSONS = 2, 4  # eight lessons each


def _lesson_paths(course) -> list[tuple[str, str]]:
    """(lesson page, completion form) for every lesson of the course, in order."""
    paths = []
    for module in range(1, MODULES + 1):
        for lesson in range(1, LESSONS + 1):
            page = f"/courses/{course.slug}/module-{module}/lesson-{module}-{lesson}/"
            paths.append((page, page + "complete"))
    return paths


def test_a_class_reading_and_completing_lessons_at_once_gets_no_server_error(gunicorn_server):
    course = make_course("concurrent-reading", modules=MODULES, lessons=LESSONS)
    learners = [make_user() for _ in range(LEARNERS)]
    for learner in learners:
        enrol(learner, course)
    db.session.commit()
    paths = _lesson_paths(course)

    browsers = []
    for learner in learners:
        browser = Browser(gunicorn_server)
        status, _ = browser.post("/login", {"email": learner.email, "password": PASSWORD}, page="/login")
        assert status == 200
        browsers.append(browser)
    tokens = [browser.token(paths[0][0]) for browser in browsers]

    # Each learner has four requests in flight at once: lesson pages (each a different lesson than the
    # last, so "last visited" changes) and completions, all released together.
    jobs = []
    for index, browser in enumerate(browsers):
        for step in range(CONCURRENCY // LEARNERS):
            page, complete = paths[(index + step) % len(paths)]
            jobs.append((browser, page, None))
            jobs.append((browser, paths[(index + step + 4) % len(paths)][0], None))
            jobs.append((browser, complete, tokens[index]))
    statuses: list[int] = []
    for round_start in range(0, len(jobs), CONCURRENCY):
        batch = jobs[round_start:round_start + CONCURRENCY]
        barrier = threading.Barrier(len(batch))

        def run(job):
            browser, path, token = job
            barrier.wait(timeout=60)
            return browser.request(path, {"csrf_token": token} if token else None)[0]

        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            statuses += list(pool.map(run, batch))

    assert [s for s in statuses if s >= 500] == []
    assert set(statuses) == {200}, statuses  # pages, and completions landing on the lesson after redirect

    db.session.rollback()
    completed = {(uid, lid) for uid, lid in db.session.execute(select(LessonProgress.user_id,
                                                                      LessonProgress.lesson_id))}
    lesson_ids = _lesson_ids(course)
    expected = {(learners[i].id, lesson_ids[paths[(i + step) % len(paths)][0]])
                for i in range(LEARNERS) for step in range(CONCURRENCY // LEARNERS)}
    assert completed == expected  # each completion recorded, once
    for enrolment in db.session.scalars(select(Enrolment).where(Enrolment.course_id == course.id)):
        assert enrolment.lessons_completed == CONCURRENCY // LEARNERS  # counted once each, none lost
        assert enrolment.last_lesson_id is not None and enrolment.last_activity_at is not None


def _lesson_ids(course) -> dict[str, int]:
    from lms.courses.models import Module
    rows = db.session.execute(select(Module.slug, Lesson.slug, Lesson.id).join(Lesson.module)
                              .where(Module.course_id == course.id))
    return {f"/courses/{course.slug}/{module}/{lesson}/": lid for module, lesson, lid in rows}


def test_concurrent_api_calls_with_one_token_get_no_server_error(gunicorn_server):
    university = Organisation(name="University of Castlebridge", kind="university")
    db.session.add(university)
    db.session.flush()
    partner = make_user("partner")
    db.session.add(OrganisationMember(organisation_id=university.id, user_id=partner.id))
    _, plain = create_token(university.id, "Records sync", partner)
    db.session.commit()
    barrier = threading.Barrier(CONCURRENCY)

    def call(index: int) -> int:
        path = "/api/v1/credit-records" if index % 2 else "/api/v1/registrations"
        request = urllib.request.Request(gunicorn_server + path, headers={"Authorization": f"Bearer {plain}"})
        barrier.wait(timeout=60)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        statuses = list(pool.map(call, range(CONCURRENCY)))
    assert statuses == [200] * CONCURRENCY
    db.session.rollback()
    token = db.session.scalar(select(ApiToken))
    assert token.last_used_at is not None  # still recorded, once in a while rather than on every call
