"""``make bench``: every benchmark in one run, one table at the end, and the same in bench/results.md.

On SQLite, and then on PostgreSQL too when BENCH_DATABASE_URL is set (a database of the bench's own:
its public schema is replaced), it seeds the data set (bench/seed.py), measures the bare app and then
each page under wrk (bench/pages.py), the mixed load (bench/mixed.py) and the quiz spike
(bench/spike.py) on one gunicorn, then the progress report (bench/reports.py) and the CSV export
(bench/exports.py); certificate PDFs (bench/certificates.py) once, at the end.

Settings, all from the environment:
  BENCH_QUICK=1           everything small and short (about two minutes), to check the harness
  BENCH_SECONDS=N         seconds per page under wrk, and for the mixed load (default 10; 2 when quick)
  BENCH_DATABASE_URL=URL  also on PostgreSQL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/lms_bench
  BENCH_ONLY=a,b          only these parts: pages, mixed, spike, reports, exports, certificates
  BENCH_WORKERS, BENCH_WORKER_CLASS, BENCH_THREADS   gunicorn's settings (default 2 x cores, sync)

Exits 0 when every budget is met, 1 when one is not, 2 when wrk is missing.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import QUICK, ROOT, Row, database_label, seconds, table, temp_sqlite_url  # noqa: E402
from bench.machine import BUSY_CORES, Others  # noqa: E402
from bench.server import Settings, app_env, app_env_description  # noqa: E402

PARTS = ("pages", "mixed", "spike", "reports", "exports", "certificates")
RESULTS = ROOT / "bench" / "results.md"


def parts_wanted() -> set[str]:
    wanted = {p.strip() for p in os.environ.get("BENCH_ONLY", "").split(",") if p.strip()} or set(PARTS)
    unknown = wanted - set(PARTS)
    if unknown:
        raise SystemExit(f"BENCH_ONLY names unknown parts {sorted(unknown)}; the parts are {', '.join(PARTS)}")
    return wanted


def guarded(name: str, work: Callable[[], list[Row]]) -> list[Row]:
    """The rows of one part, or one failed row saying why it could not be measured (the run goes on)."""
    try:
        return work()
    except Exception as error:  # a bench that breaks is a result too; the other parts still run
        traceback.print_exc()
        return [Row(name, f"error: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300],
                    "runs", False)]


def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run_database(url: str, settings: Settings, parts: set[str]) -> tuple[list[Row], dict[str, int]]:
    """Every part that needs a database, on ``url``. Returns the rows and the seeded data set's counts."""
    from bench import exports, reports
    from bench.mixed import run_mixed
    from bench.pages import bare_rate, measure_pages
    from bench.seed import seed
    from bench.server import serve
    database = database_label(url)
    rows: list[Row] = []
    counts: dict[str, int] = {}
    if parts & {"pages", "mixed", "spike"}:
        heading(f"{database}: seeding the data set")
        try:
            data = seed(url)
        except Exception as error:
            traceback.print_exc()
            return rows + [Row(f"seeding the data set [{database}]", f"error: {type(error).__name__}", "runs",
                               False)], counts
        counts = data.counts
        try:
            bare = bare_rate(settings, seconds()) if "pages" in parts else None
        except Exception:
            traceback.print_exc()
            bare = None
            rows.append(Row(f"bare app [{database}]", "error: the bare app could not be measured", "runs", False))
        instance = Path(tempfile.mkdtemp(prefix="lms-bench-instance-"))
        try:
            with serve("wsgi:app", settings, app_env(url, instance)) as base:
                if "pages" in parts and bare is not None:
                    heading(f"{database}: pages, {seconds():.0f} s each under wrk at 32 connections")
                    rows += guarded(f"pages [{database}]", lambda: measure_pages(base, data, bare, seconds()))
                if "mixed" in parts:
                    heading(f"{database}: mixed load")
                    rows += guarded(f"mixed load [{database}]", lambda: run_mixed(base, data, seconds()))
                if "spike" in parts:
                    heading(f"{database}: quiz start spike")
                    from bench.spike import run_spike
                    rows += guarded(f"quiz spike [{database}]", lambda: run_spike(base, data))
        except Exception as error:  # gunicorn did not start: say so and go on with the rest
            traceback.print_exc()
            rows.append(Row(f"wsgi:app under gunicorn [{database}]", f"error: {str(error).splitlines()[0]}", "runs",
                            False))
    own = None if database == "sqlite" else url  # on SQLite each of these makes a file of its own
    if "reports" in parts:
        heading(f"{database}: progress report")
        rows += guarded(f"progress report [{database}]", lambda: reports.run(database_url=own))
    if "exports" in parts:
        heading(f"{database}: CSV export")
        rows += guarded(f"CSV export [{database}]", lambda: exports.run(database_url=own))
    return rows, counts


def _cores(value: float | None) -> str:
    return "an unknown number of" if value is None else f"{value:.2f}"


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = [line for line in git("status", "--porcelain").splitlines() if not line.endswith("bench/results.md")]
    return commit + (" + uncommitted changes" if dirty else "")


def redact(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


def write_results(rows: list[Row], header: list[tuple[str, str]]) -> None:
    lines = ["# Benchmark results", "", "Written by `make bench` (bench/run.py); each run replaces this file.", ""]
    lines += [f"- **{name}**: {value}" for name, value in header]
    lines += [""] + table(rows) + [""]
    RESULTS.write_text("\n".join(lines))


def main() -> int:
    from bench.pages import CONNECTIONS, WRK_THREADS, require_wrk
    parts = parts_wanted()
    if parts & {"pages"}:
        try:
            require_wrk()
        except SystemExit as missing:
            print(missing, file=sys.stderr)
            return 2
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    others = Others()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = git_commit()  # before the run: results.md is the only file it changes
    settings = Settings.from_env()
    urls = [temp_sqlite_url()]
    if os.environ.get("BENCH_DATABASE_URL"):
        from config import database_url
        urls.append(database_url(os.environ["BENCH_DATABASE_URL"]))
    print(f"bench: {os.cpu_count()} cores, commit {commit}, {'quick' if QUICK else 'full'} run, "
          f"databases {', '.join(database_label(u) for u in urls)}")
    print(f"gunicorn: {settings.describe()}; {app_env_description()}")
    rows: list[Row] = []
    counts: dict[str, int] = {}
    for url in urls:
        database_rows, seeded = run_database(url, settings, parts)
        rows += database_rows
        counts = counts or seeded
    if "certificates" in parts:
        heading("certificate PDFs")
        from bench import certificates
        rows += guarded("certificate PDFs", certificates.run)
    elapsed = time.monotonic() - started
    failed = [row for row in rows if row.passed is False]
    header = [
        ("date", date), ("cores", str(os.cpu_count())), ("commit", commit),
        ("databases", ", ".join(f"{database_label(u)}" + (f" ({redact(u)})" if not u.startswith("sqlite") else
                                                         " (a new file)") for u in urls)),
        ("gunicorn", f"`{settings.describe()}`, the same for `wsgi:app` and `bench.bare:app`; "
                     f"{app_env_description()}"),
        ("wrk", f"`wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{max(1, round(seconds()))}s --timeout 10s -s bench/wrk.lua`, "
                "with the session cookie of a real log-in where the page needs one"),
        ("data set", ", ".join(f"{n:,} {name}" for name, n in counts.items()) or "not seeded"),
        ("run", f"{'quick (BENCH_QUICK=1)' if QUICK else 'full'}, parts {', '.join(p for p in PARTS if p in parts)}, "
                f"{elapsed / 60:.1f} minutes"),
        ("other work on the machine", (f"the load average was {load_before:.2f} before the run; other processes "
                                       f"(PostgreSQL's server aside) used {_cores(others.cores())} cores on average "
                                       f"during it (a figure taken while they used more than {BUSY_CORES} is marked "
                                       "\"busy machine\")")),
        ("verdict", f"{len(failed)} of {sum(r.passed is not None for r in rows)} budgets not met" if failed
         else "every budget met"),
    ]
    write_results(rows, header)
    print("\n" + "\n".join(table(rows)))
    print(f"\n{header[-1][1]}; {elapsed / 60:.1f} minutes; written to {RESULTS.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
