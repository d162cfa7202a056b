"""Mixed load: 50 learners at once, each reading lessons, marking them complete and taking a quiz.

Every learner logs in through the form first; then, all together and for BENCH_SECONDS (each finishing
the round it is in), each goes round: "Continue" to the next lesson, read it and mark it complete
(three lessons), then the quiz of that module: open it, start an attempt, answer every question, save
and go to the summary, submit, read the review. Afterwards the database must hold exactly what the
clients did: every lesson they completed once (and the enrolment's count moved by one for each), and one
submitted attempt, with its answers, for each quiz they started.

Run alone: .venv/bin/python bench/mixed.py [--database-url URL]  (seeds, serves, measures, stops)
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench.clients import Learner, Tally, answers_for, percentile  # noqa: E402
from bench.common import Row, database_label, open_app, print_rows, seconds  # noqa: E402
from bench.machine import Others, busy_note  # noqa: E402
from bench.seed import DataSet, learner_email  # noqa: E402
from bench.server import Settings, app_env, serve  # noqa: E402

LESSONS_PER_ROUND = 3
MAX_ROUNDS = 50  # a bound on each learner's loop, whatever BENCH_SECONDS says
LOG_IN = ("log-in form", "log in", "after log-in")  # not counted in the load's figures


def _path(location: str) -> str:
    return urlsplit(location).path


@dataclass
class Done:
    """What one learner's client did, as the server confirmed it."""
    course: str
    completed: set[str] = field(default_factory=set)   # lesson paths whose "Mark as complete" was answered
    quizzes_started: int = 0
    submitted: list[int] = field(default_factory=list)  # attempt ids whose submit was answered


@dataclass
class Snapshot:
    """The database's view of the mixed-load learners: lesson paths done, enrolment counts, attempts."""
    progress: dict[str, set[str]]
    counted: dict[str, int]                          # enrolment.lessons_completed in the learner's course
    attempts: dict[str, dict[int, tuple[str, int]]]  # attempt id: (status, answers saved)


def snapshot(database_url: str, courses: dict[str, str]) -> Snapshot:
    """Read the learners' (email: course slug) progress, enrolment counts and attempts in that course."""
    from sqlalchemy import func, select

    from lms.accounts.models import User
    from lms.assessment.models import Quiz, QuizAttempt, Response
    from lms.courses.models import Course, Enrolment, Lesson, LessonProgress, Module
    from lms.extensions import db
    app = open_app(database_url)
    progress: dict[str, set[str]] = {email: set() for email in courses}
    counted: dict[str, int] = {}
    attempts: dict[str, dict[int, tuple[str, int]]] = {email: {} for email in courses}
    with app.app_context():
        for email, slug, module, lesson in db.session.execute(
                select(User.email, Course.slug, Module.slug, Lesson.slug)
                .join(LessonProgress, LessonProgress.user_id == User.id)
                .join(Lesson, Lesson.id == LessonProgress.lesson_id)
                .join(Module, Module.id == Lesson.module_id).join(Course, Course.id == Module.course_id)
                .where(User.email.in_(list(courses)))):
            if courses[email] == slug:
                progress[email].add(f"/courses/{slug}/{module}/{lesson}/")
        for email, slug, count in db.session.execute(
                select(User.email, Course.slug, Enrolment.lessons_completed)
                .join(Enrolment, Enrolment.user_id == User.id).join(Course, Course.id == Enrolment.course_id)
                .where(User.email.in_(list(courses)))):
            if courses[email] == slug:
                counted[email] = count
        answers = (select(func.count(Response.id)).where(Response.attempt_id == QuizAttempt.id,
                                                         Response.answer.is_not(None)).scalar_subquery())
        for email, slug, attempt_id, status, saved in db.session.execute(
                select(User.email, Course.slug, QuizAttempt.id, QuizAttempt.status, answers)
                .join(QuizAttempt, QuizAttempt.user_id == User.id).join(Quiz, Quiz.id == QuizAttempt.quiz_id)
                .join(Module, Module.id == Quiz.module_id).join(Course, Course.id == Module.course_id)
                .where(User.email.in_(list(courses)))):
            if courses[email] == slug:
                attempts[email][attempt_id] = (status, saved)
        db.session.remove()
        db.engine.dispose()
    return Snapshot(progress, counted, attempts)


def check(before: Snapshot, after: Snapshot, done: dict[str, Done]) -> list[str]:
    """Each difference between what the clients did and what the database holds (empty when none)."""
    problems = []
    for email, did in done.items():
        expected = before.progress[email] | did.completed
        if after.progress[email] != expected:
            lost, extra = expected - after.progress[email], after.progress[email] - expected
            problems.append(f"{email}: lessons lost {sorted(lost)}, unexpected {sorted(extra)}")
        if after.counted.get(email) != len(after.progress[email]):
            problems.append(f"{email}: the enrolment counts {after.counted.get(email)} lessons, "
                            f"{len(after.progress[email])} are recorded")
        new = {k: v for k, v in after.attempts[email].items() if k not in before.attempts[email]}
        if len(new) != did.quizzes_started:
            problems.append(f"{email}: {did.quizzes_started} quizzes started, {len(new)} new attempts")
        for attempt_id in did.submitted:
            status, saved = new.get(attempt_id, ("missing", 0))
            if status != "submitted" or saved != 3:
                problems.append(f"{email}: attempt {attempt_id} is {status} with {saved} answers saved")
        if set(new) != set(did.submitted):
            problems.append(f"{email}: attempts {sorted(new)} in the database, {sorted(did.submitted)} submitted")
    return problems


async def _round(learner: Learner, did: Done) -> bool:
    """One round: three lessons read and completed, then that module's quiz. False when something failed."""
    reply = await learner.get("resume", f"/courses/{did.course}/resume", expect=(302,))
    if reply is None:
        return False
    lesson = _path(reply.location)
    for _ in range(LESSONS_PER_ROUND):
        if await learner.get("lesson", lesson) is None:
            return False
        reply = await learner.post("complete lesson", lesson + "complete", [("next", "1")])
        if reply is None:
            return False
        did.completed.add(lesson)
        completed, lesson = lesson, _path(reply.location)
    module = completed.rstrip("/").split("/")[-2]
    quiz = f"/courses/{did.course}/{module}/quiz/"
    if await learner.get("quiz page", quiz) is None:
        return False
    reply = await learner.post("start quiz", quiz + "start", expect=(302,))
    if reply is None or "/attempts/" not in reply.location:
        return False
    did.quizzes_started += 1
    attempt = _path(reply.location)
    attempt_id = int(attempt.strip("/").split("/")[-1])
    page = await learner.get("attempt page", attempt)
    if page is None:
        return False
    if await learner.post("save answers", attempt + "save", [*answers_for(page.text), ("then", "finish")],
                          expect=(303,)) is None:
        return False
    if await learner.get("summary", attempt + "summary") is None:
        return False
    if await learner.post("submit", attempt + "submit", expect=(303,)) is None:
        return False
    did.submitted.append(attempt_id)
    return await learner.get("review", attempt + "review") is not None


async def _learner(learner: Learner, did: Done, start: asyncio.Event, until: list[float]) -> None:
    await start.wait()
    for _ in range(MAX_ROUNDS):
        if not await _round(learner, did) or time.monotonic() >= until[0]:
            return


async def _run(base: str, data: DataSet, duration: float) -> tuple[Tally, dict[str, Done], float]:
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=0)
    learners, done = [], {}
    for index in data.mixed_learners:
        email = learner_email(index)
        learners.append(Learner(base, email, tally, connector))
        done[email] = Done(course=data.courses_of(index)[0])
    try:
        logins = await asyncio.gather(*(learner.log_in() for learner in learners))
        if not all(logins):
            raise RuntimeError("mixed load: log-in failed: " + "; ".join(tally.errors[:5]))
        start, until = asyncio.Event(), [0.0]
        tasks = [asyncio.create_task(_learner(learner, done[learner.email], start, until)) for learner in learners]
        started = time.monotonic()
        until[0] = started + duration
        start.set()
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    finally:
        for learner in learners:
            await learner.close()
        await connector.close()
    return tally, done, elapsed


def run_mixed(base: str, data: DataSet, duration: float) -> list[Row]:
    """The mixed load on the LMS at ``base``, then the database checked against what the clients did."""
    database = database_label(data.database_url)
    courses = {learner_email(i): data.courses_of(i)[0] for i in data.mixed_learners}
    state_before = snapshot(data.database_url, courses)
    others = Others()
    tally, done, elapsed = asyncio.run(_run(base, data, duration))
    busy = busy_note(others.cores())
    problems = check(state_before, snapshot(data.database_url, courses), done)
    latencies = [s for label, values in tally.latencies.items() if label not in LOG_IN for s in values]
    requests = len(latencies)
    lessons = sum(len(d.completed) for d in done.values())
    quizzes = sum(len(d.submitted) for d in done.values())
    p95 = percentile(latencies, 95) * 1000
    print(f"  mixed load: {len(done)} learners, {elapsed:.1f} s, {requests:,} requests "
          f"({requests / elapsed:,.0f} req/s), p95 {p95:.0f} ms, max {max(latencies, default=0) * 1000:.0f} ms, "
          f"{len(tally.errors)} errors; "
          f"{lessons} lessons completed, {quizzes} quizzes submitted", flush=True)
    for line in (tally.errors[:10] + problems[:10]):
        print(f"    {line}")
    figure = (f"{requests / elapsed:,.0f} req/s, p95 {p95:.0f} ms, {len(tally.errors)} errors; {lessons} lessons "
              f"completed, {quizzes} quizzes submitted: "
              + ("nothing lost or doubled" if not problems else f"{len(problems)} differences in the database")
              + (f" ({busy})" if busy else ""))
    return [Row(f"mixed load, {len(done)} learners [{database}]", figure, "0 errors, nothing lost or doubled",
                not tally.errors and not problems and requests > 0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="an emptied PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    from bench.seed import seed
    settings = Settings.from_env()
    data = seed(args.database_url)
    print(settings.describe())
    with serve("wsgi:app", settings, app_env(data.database_url, Path(tempfile.mkdtemp(prefix="lms-bench-")))) as base:
        rows = run_mixed(base, data, seconds())
    print_rows(rows)


if __name__ == "__main__":
    main()
