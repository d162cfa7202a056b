"""Time to open a course's progress report with 10,000 learners, against /healthz in the same run.

Run: .venv/bin/python bench/reports.py [--learners 10000] [--database-url URL]
The report reads each enrolment's stored progress figures; it never recounts lessons.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from bench.common import fresh_app  # noqa: E402
from lms.extensions import db  # noqa: E402


def timed(client, path: str, runs: int = 7) -> float:
    client.get(path)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    app = fresh_app(args.database_url)
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
            for i in range(args.learners)])
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
    print(f"database: {url.split(':')[0]}, learners: {args.learners}")
    print(f"baseline /healthz:                      {base * 1000:8.1f} ms")
    print(f"progress report, first page:            {report * 1000:8.1f} ms ({report / base:.0f}x baseline)")
    print(f"progress report, sorted and searched:   {sorted_search * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
