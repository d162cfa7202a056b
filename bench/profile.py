"""Where a page's time goes: each bench page in-process (Flask's test client, one thread) over the bench's
data set, as a median time, or one page under pyinstrument.

Run: .venv/bin/python bench/profile.py                  # every page, median milliseconds
     .venv/bin/python bench/profile.py lesson           # one page (a name from bench/pages.py), profiled
     .venv/bin/python bench/profile.py --sql lesson     # one page's SQL statements, with their times
Add --database-url URL for PostgreSQL (the database is emptied and seeded, as by make bench).
In-process figures leave out gunicorn and the network; they show what the app itself costs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, select  # noqa: E402

from bench.common import temp_sqlite_url  # noqa: E402
from bench.pages import pages_for  # noqa: E402
from bench.seed import seed  # noqa: E402
from config import TestingConfig  # noqa: E402
from lms import create_app  # noqa: E402
from lms.accounts.models import User  # noqa: E402
from lms.extensions import db  # noqa: E402


def _client(app, email: str | None):
    client = app.test_client()
    if email:
        with app.app_context():
            user_id = db.session.scalar(select(User).where(User.email == email)).get_id()
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = user_id, True
    return client


def _median_ms(client, path: str, runs: int = 50) -> float:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(path)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("page", nargs="?", help="a page name from bench/pages.py, such as lesson")
    parser.add_argument("--sql", action="store_true", help="list the page's SQL statements and their times")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or temp_sqlite_url()
    data = seed(url, verbose=False)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    pages = {page.name: page for page in pages_for(data)}
    if args.page is None:
        for page in pages.values():
            print(f"{page.name:18s} {_median_ms(_client(app, page.who), page.path):7.2f} ms")
        return
    page = pages.get(args.page)
    if page is None:
        raise SystemExit(f"no page {args.page!r}; pages: {', '.join(pages)}")
    client = _client(app, page.who)
    client.get(page.path)
    if args.sql:
        with app.app_context():
            engine = db.engine
        timings: list[tuple[float, str]] = []

        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["bench_started"] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):
            timings.append((time.perf_counter() - conn.info["bench_started"], statement))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        client.get(page.path)
        for seconds, statement in timings:
            print(f"{seconds * 1000:6.2f} ms  {' '.join(statement.split())[:150]}")
        return
    from pyinstrument import Profiler
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(100):
        client.get(page.path)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False))


if __name__ == "__main__":
    main()
