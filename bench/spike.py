"""Quiz start spike: 200 learners, logged in beforehand, start one timed quiz within one second, then
all submit (again within a second of each other).

Every start must answer with a redirect to an attempt of its own, every submit with the redirect to the
review; afterwards the database must hold exactly one attempt per learner on that quiz, each submitted.
Prints p95 and max latency for the starts and for the submits, and the errors.

Run alone: .venv/bin/python bench/spike.py [--database-url URL]  (seeds, serves, measures, stops)
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bench.clients import Learner, Tally, percentile  # noqa: E402
from bench.common import Row, database_label, open_app, print_rows  # noqa: E402
from bench.machine import Others, busy_note  # noqa: E402
from bench.seed import DataSet, learner_email  # noqa: E402
from bench.server import Settings, app_env, serve  # noqa: E402

WINDOW = 1.0          # seconds over which the starts (and then the submits) are spread
LOG_IN_AT_ONCE = 16   # logging in beforehand, this many at a time (each is a real password check)


async def _prepare(learner: Learner, quiz: str, gate: asyncio.Semaphore) -> bool:
    async with gate:
        return await learner.log_in() and await learner.get("quiz page", quiz) is not None


async def _at(delay: float, work):
    await asyncio.sleep(delay)
    return await work


async def _run(base: str, data: DataSet) -> tuple[Tally, list[int | None], list[bool]]:
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=0)
    quiz = f"/courses/{data.timed_course}/{data.timed_module}/quiz/"
    learners = [Learner(base, learner_email(i), tally, connector) for i in data.spike_learners]
    try:
        gate = asyncio.Semaphore(LOG_IN_AT_ONCE)
        ready = await asyncio.gather(*(_prepare(learner, quiz, gate) for learner in learners))
        if not all(ready):
            raise RuntimeError("quiz spike: log-in failed: " + "; ".join(tally.errors[:5]))
        starts = await asyncio.gather(*(_at(random.uniform(0, WINDOW), learner.post("start", quiz + "start",
                                                                                     expect=(302,)))
                                        for learner in learners))
        attempts: list[int | None] = []
        for reply in starts:
            path = urlsplit(reply.location).path if reply else ""
            attempts.append(int(path.strip("/").split("/")[-1]) if path.startswith("/attempts/") else None)
        submits = await asyncio.gather(*(_at(random.uniform(0, WINDOW), learner.post(
            "submit", f"/attempts/{attempt}/submit", expect=(303,)))
            for learner, attempt in zip(learners, attempts) if attempt is not None))
        submitted = [reply is not None and "/review" in reply.location for reply in submits]
    finally:
        for learner in learners:
            await learner.close()
        await connector.close()
    return tally, attempts, submitted


def attempts_in_database(data: DataSet) -> list[tuple[str, int, str]]:
    """(email, attempt number, status) of every attempt the spike's learners have on the spike's quiz."""
    from sqlalchemy import select

    from lms.accounts.models import User
    from lms.assessment.models import Quiz, QuizAttempt
    from lms.courses.models import Course, Module
    from lms.extensions import db
    emails = [learner_email(i) for i in data.spike_learners]
    app = open_app(data.database_url)
    with app.app_context():
        rows = db.session.execute(
            select(User.email, QuizAttempt.number, QuizAttempt.status).join(QuizAttempt, QuizAttempt.user_id == User.id)
            .join(Quiz, Quiz.id == QuizAttempt.quiz_id).join(Module, Module.id == Quiz.module_id)
            .join(Course, Course.id == Module.course_id)
            .where(User.email.in_(emails), Course.slug == data.timed_course, Module.slug == data.timed_module)).all()
        db.session.remove()
        db.engine.dispose()
    return [tuple(row) for row in rows]


def run_spike(base: str, data: DataSet) -> list[Row]:
    database = database_label(data.database_url)
    count = len(data.spike_learners)
    others = Others()
    tally, attempts, submitted = asyncio.run(_run(base, data))
    busy = busy_note(others.cores())
    rows = attempts_in_database(data)
    problems = []
    if len({a for a in attempts if a is not None}) != count:
        problems.append(f"{len({a for a in attempts if a is not None})} distinct attempts started for {count} learners")
    if sum(submitted) != count:
        problems.append(f"{sum(submitted)} of {count} submits reached the review")
    users = {email for email, _, _ in rows}
    if len(rows) != count or len(users) != count:
        problems.append(f"the database holds {len(rows)} attempts by {len(users)} learners, not {count} by {count}")
    unsubmitted = [row for row in rows if row[2] != "submitted"]
    if unsubmitted:
        problems.append(f"{len(unsubmitted)} attempts are not submitted: {unsubmitted[:3]}")
    start_ms = [s * 1000 for s in tally.latencies.get("start", [])]
    submit_ms = [s * 1000 for s in tally.latencies.get("submit", [])]
    errors = tally.errors
    print(f"  quiz spike: {count} learners; starts p95 {percentile(start_ms, 95):.0f} ms, "
          f"max {max(start_ms, default=0):.0f} ms; submits p95 {percentile(submit_ms, 95):.0f} ms, "
          f"max {max(submit_ms, default=0):.0f} ms; "
          f"{len(errors)} errors; {len(rows)} attempts in the database", flush=True)
    for line in errors[:10] + problems:
        print(f"    {line}")
    figure = (f"start p95/max {percentile(start_ms, 95):.0f}/{max(start_ms, default=0):.0f} ms, submit p95/max "
              f"{percentile(submit_ms, 95):.0f}/{max(submit_ms, default=0):.0f} ms, {len(errors)} errors; "
              + (f"{count} attempts, each submitted once" if not problems else "; ".join(problems))
              + (f" ({busy})" if busy else ""))
    return [Row(f"quiz spike, {count} learners [{database}]", figure, "0 errors, each start and submit once",
                not errors and not problems)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="an emptied PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    from bench.seed import seed
    settings = Settings.from_env()
    data = seed(args.database_url)
    print(settings.describe())
    with serve("wsgi:app", settings, app_env(data.database_url, Path(tempfile.mkdtemp(prefix="lms-bench-")))) as base:
        rows = run_spike(base, data)
    print_rows(rows)


if __name__ == "__main__":
    main()
