"""Time to open a course's progress report with 10,000 learners, against /healthz in the same run.

Run: .venv/bin/python bench/reports.py [--learners 10000] [--database-url URL]
The report reads each enrolment's stored progress figures; it never recounts lessons.
Budget: the first page, and the page sorted and searched, each under 1 s (the median of 7 requests).
``run()`` returns the figures as rows for bench/run.py; BENCH_QUICK=1 makes it 1,000 learners.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from bench.common import Row, database_label, fresh_app, print_rows, size  # noqa: E402
from lms.extensions import db  # noqa: E402

BUDGET_SECONDS = 1.0


def timed(client, path: str, runs: int = 7) -> float:
    client.get(path)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return statistics.median(samples)


def run(learners: int | None = None, database_url: str | None = None) -> list[Row]:
    """The report's first page, and sorted and searched, over ``learners`` enrolments; the figures as rows."""
    learners = learners or size("BENCH_REPORT_LEARNERS", 10_000, 1_000)
    app = fresh_app(database_url)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        from lms.accounts.models import User, UserRole
        from lms.accounts.services import create_user, hash_password
        from lms.courses.importer import load_courses
        from lms.courses.models import CourseTrainer, Enrolment
        from lms.courses.services import get_course
        from lms.database import utcnow
        from tests.factories import course_file
        load_courses([course_file("bench-course", modules=5, lessons=3)])
        course = get_course("bench-course")
        trainer = create_user("trainer@example.org", "Bench Trainer", "a bench passphrase", roles=["trainer"],
                              verified=True, check_password_strength=False)
        db.session.add(CourseTrainer(course_id=course.id, user_id=trainer.id))
        now, password = utcnow(), hash_password("unused passphrase")
        db.session.execute(insert(User), [
            {"email": f"learner{i}@example.org", "name": f"Learner {i:05d}", "password_hash": password,
             "active": True, "session_version": 1, "created_at": now, "email_verified_at": now}
            for i in range(learners)])
        ids = [uid for (uid,) in db.session.execute(db.select(User.id).where(User.id != trainer.id))]
        db.session.execute(insert(UserRole), [{"user_id": uid, "role": "learner", "granted_at": now} for uid in ids])
        db.session.execute(insert(Enrolment), [
            {"user_id": uid, "course_id": course.id, "source": "free", "status": "active",
             "lessons_completed": i % 16, "progress_percent": (i % 16) * 100 // 15, "created_at": now,
             "last_activity_at": now} for i, uid in enumerate(ids)])
        db.session.commit()
        trainer_id = f"{trainer.id}.{trainer.session_version}"

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = trainer_id
        session["_fresh"] = True
    base = timed(client, "/healthz")
    report = timed(client, "/teach/bench-course/reports")
    sorted_search = timed(client, "/teach/bench-course/reports?sort=progress&dir=desc&q=learner 9")
    database = database_label(url)
    print(f"database: {database}, learners: {learners}")
    print(f"baseline /healthz:                      {base * 1000:8.1f} ms")
    print(f"progress report, first page:            {report * 1000:8.1f} ms ({report / base:.0f}x baseline)")
    print(f"progress report, sorted and searched:   {sorted_search * 1000:8.1f} ms")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    budget = f"< {BUDGET_SECONDS:.0f} s"
    return [
        Row(f"progress report, {learners:,} learners [{database}]",
            f"{report * 1000:,.0f} ms ({report / base:.0f}x /healthz at {base * 1000:.1f} ms)", budget,
            report < BUDGET_SECONDS),
        Row(f"progress report sorted and searched, {learners:,} learners [{database}]",
            f"{sorted_search * 1000:,.0f} ms", budget, sorted_search < BUDGET_SECONDS),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=None, help="default 10,000 (1,000 with BENCH_QUICK=1)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print_rows(run(args.learners, args.database_url))


if __name__ == "__main__":
    main()
