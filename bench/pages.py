"""Pages under wrk: req/s, p50/p95/p99 latency and non-2xx responses, against the bare app in the same run.

Each page is fetched once first (it must answer 200 with what the page shows), then wrk drives it for
BENCH_SECONDS at 32 connections with the session cookie of a real log-in (the /login form, its CSRF
token and all). bench/wrk.lua counts every status (a 3xx is a failure too: a redirect to /login means
the bench is wrong) and prints the percentiles as JSON.

Run alone: .venv/bin/python bench/pages.py [--database-url URL]  (seeds, serves, measures, stops)
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from bench.common import Row, database_label, print_rows, seconds  # noqa: E402
from bench.machine import Others, busy_note  # noqa: E402
from bench.seed import PASSWORD, DataSet  # noqa: E402
from bench.server import USER_AGENT, Settings, app_env, serve  # noqa: E402

HERE = Path(__file__).resolve().parent
CONNECTIONS = 32
WRK_THREADS = 2
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
RATIO_BUDGET = 0.4
P99_BUDGET_MS = 50.0
BUDGET = f">= {RATIO_BUDGET}x bare, p99 < {P99_BUDGET_MS:.0f} ms, 0 non-2xx"


class BenchError(RuntimeError):
    """The bench itself is wrong (a page did not answer as expected): no figure would mean anything."""


@dataclass
class Page:
    name: str
    path: str
    who: str | None      # the account to log in as; None for a guest
    expect: list[str]    # text the page must contain


@dataclass
class WrkResult:
    requests: int
    seconds: float
    statuses: dict[int, int]
    socket_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    others: float | None = None  # cores other processes used meanwhile (bench/machine.py)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    def describe_statuses(self) -> str:
        return ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))


def pages_for(data: DataSet) -> list[Page]:
    course = data.course(data.learner_course)
    lesson_title = "Lesson " + data.lesson_path.rstrip("/").rsplit("/", 1)[1].removeprefix("lesson-").replace("-", ".")
    return [
        Page("home", "/", None, ["Practical training for people who build cohesive communities"]),
        Page("catalogue", "/courses/", None, ["<h1>Courses</h1>", "Community cohesion in practice"]),
        Page("course page", f"/courses/{course.slug}/", None, [course.title, "Module 8"]),
        Page("lesson", data.lesson_path, data.learner, [lesson_title, "Mark as complete"]),
        Page("dashboard", "/learning/", data.learner, ["My learning", course.title]),
        Page("quiz attempt", f"/attempts/{data.attempt_id}/", data.learner, ["attempt 1", "Question 3 of 3"]),
        Page("CPD record", "/cpd/", data.learner, ["CPD record", "Community cohesion workshop"]),
        Page("progress report", f"/teach/{data.report_course}/reports", data.trainer, ["Reports", "Learner "]),
        Page("partner portal", "/partner/", data.partner, ["Partner portal", "Bench"]),
    ]


def require_wrk() -> str:
    """wrk's path, or exit with the one line that says how to get it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    return path


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    if not match:
        raise BenchError("no CSRF token in the page")
    return match.group(1) or match.group(2)


def log_in(base: str, email: str | None, guest_pages: list[str] = ()) -> str:
    """The Cookie header of a visitor: logged in as ``email`` through the /login form, or a guest who has
    been to ``guest_pages`` before (as a browser would have, holding the session a form's CSRF token made).

    After logging in the next page is fetched too, so the "Welcome back" message is shown once and gone
    from the session, as in a browser: wrk sends one cookie for good and never stores what it is sent.
    """
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    if email is None:
        for path in [*guest_pages, *guest_pages]:  # twice: the session settles after the first visit
            session.get(base + path, timeout=30)
    else:
        token = csrf_token(session.get(f"{base}/login", timeout=30).text)
        response = session.post(f"{base}/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                                allow_redirects=False, timeout=30)
        location = response.headers.get("Location", "")
        if response.status_code != 302 or "/login" in location:
            raise BenchError(f"log-in as {email} answered {response.status_code} {location}")
        session.get(requests.compat.urljoin(base, location), timeout=30)
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def check_page(base: str, page: Page, cookie: str) -> str:
    """Fetch the page as wrk will; raise unless it is a 200 showing what it should. Returns a note for a
    page that sets a cookie on every response (its session is written by every GET)."""
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    for _ in range(2):
        response = requests.get(base + page.path, headers=headers, allow_redirects=False, timeout=30)
        if response.status_code != 200:
            raise BenchError(f"{page.name} ({page.path}) answered {response.status_code} "
                             f"{response.headers.get('Location', '')}")
        missing = [text for text in page.expect if text not in response.text]
        if missing:
            raise BenchError(f"{page.name} ({page.path}) does not show {missing}")
    return "sets a cookie on every response" if "Set-Cookie" in response.headers else ""


def run_wrk(url: str, duration: float, cookie: str = "") -> WrkResult:
    command = [require_wrk(), f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{max(1, round(duration))}s",
               "--timeout", "10s", "-s", str(HERE / "wrk.lua"), "-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    others = Others()
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    busy = others.cores()
    line = next((line for line in output.splitlines() if line.startswith("BENCH-JSON ")), None)
    if line is None:
        raise BenchError(f"wrk printed no figures:\n{output}")
    figures = json.loads(line.removeprefix("BENCH-JSON "))
    latency, errors = figures["latency_us"], figures["errors"]
    return WrkResult(requests=figures["requests"], seconds=figures["duration_us"] / 1e6,
                     statuses={int(k): v for k, v in figures["statuses"].items()},
                     socket_errors=errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
                     p50_ms=latency["p50"] / 1000, p95_ms=latency["p95"] / 1000, p99_ms=latency["p99"] / 1000,
                     max_ms=latency["max"] / 1000, others=busy)


def bare_rate(settings: Settings, duration: float) -> WrkResult:
    """The bare Flask app under the same gunicorn settings and the same wrk."""
    with serve("bench.bare:app", settings, ready_path="/") as base:
        run_wrk(base + "/", 1)  # warm up
        return run_wrk(base + "/", duration)


def _print_result(name: str, result: WrkResult, bare: WrkResult | None, note: str = "") -> None:
    ratio = f"{result.rate / bare.rate:5.2f}x bare" if bare else "  (bare)  "
    print(f"  {name:16} {result.rate:8,.0f} req/s  {ratio}  p50 {result.p50_ms:6.1f}  p95 {result.p95_ms:6.1f}  "
          f"p99 {result.p99_ms:6.1f}  max {result.max_ms:7.1f} ms  non-2xx {result.non_2xx}"
          + (f"  socket errors {result.socket_errors}" if result.socket_errors else "")
          + "".join(f"  ({n})" for n in (note, busy_note(result.others)) if n), flush=True)


def page_row(name: str, database: str, result: WrkResult, bare: WrkResult) -> Row:
    ratio = result.rate / bare.rate
    failures = result.non_2xx + result.socket_errors
    figure = (f"{result.rate:,.0f} req/s ({ratio:.2f}x bare); p50/p95/p99 {result.p50_ms:.1f}/{result.p95_ms:.1f}/"
              f"{result.p99_ms:.1f} ms; non-2xx {result.non_2xx}"
              + (f" ({result.describe_statuses()})" if result.non_2xx else "")
              + (f"; socket errors {result.socket_errors}" if result.socket_errors else "")
              + (f" ({busy_note(result.others)})" if busy_note(result.others) else ""))
    return Row(f"page: {name} [{database}]", figure, BUDGET,
               ratio >= RATIO_BUDGET and result.p99_ms < P99_BUDGET_MS and failures == 0)


def measure_pages(base: str, data: DataSet, bare: WrkResult, duration: float) -> list[Row]:
    """Every page on the running LMS at ``base``: checked once, then driven by wrk."""
    database = database_label(data.database_url)
    _print_result("bare app", bare, None)
    cookies: dict[str | None, str] = {}
    rows = [Row(f"bare app [{database}]", f"{bare.rate:,.0f} req/s; p99 {bare.p99_ms:.1f} ms"
                + (f" ({busy_note(bare.others)})" if busy_note(bare.others) else ""))]
    pages = pages_for(data)
    for page in pages:
        try:
            if page.who not in cookies:
                cookies[page.who] = log_in(base, page.who, [p.path for p in pages if p.who is None])
            cookie = cookies[page.who]
            note = check_page(base, page, cookie)
        except (BenchError, requests.RequestException) as error:  # this page is wrong; the others still run
            print(f"  {page.name:16} not measured: {error}", flush=True)
            rows.append(Row(f"page: {page.name} [{database}]", f"not measured: {error}"[:300], BUDGET, False))
            continue
        run_wrk(base + page.path, 1, cookie)  # warm every worker's caches and connections
        result = run_wrk(base + page.path, duration, cookie)
        _print_result(page.name, result, bare, note)
        rows.append(page_row(page.name, database, result, bare))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="an emptied PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    from bench.seed import seed
    require_wrk()
    settings = Settings.from_env()
    data = seed(args.database_url)
    print(settings.describe())
    bare = bare_rate(settings, seconds())
    with serve("wsgi:app", settings, app_env(data.database_url, Path(tempfile.mkdtemp(prefix="lms-bench-")))) as base:
        rows = measure_pages(base, data, bare, seconds())
    print_rows(rows)


if __name__ == "__main__":
    main()
