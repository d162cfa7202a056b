"""What every bench script needs: an app on an empty database of its own, the sizes a run uses, and the
row each benchmark adds to the table that ``bench/run.py`` prints.

Sizes come from the environment: ``BENCH_QUICK=1`` makes everything small and short (a run of about two
minutes, to check the harness), ``BENCH_SECONDS`` is how long each timed part runs.
"""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import TestingConfig  # noqa: E402
from lms import create_app  # noqa: E402
from lms.extensions import db  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}


def size(name: str, full: int, quick: int) -> int:
    """The environment's ``name`` if set, else ``quick`` under BENCH_QUICK and ``full`` otherwise."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else (quick if QUICK else full)


def seconds() -> float:
    """How long each timed part (a page under wrk, the mixed load) runs: BENCH_SECONDS, 10 (2 when quick)."""
    value = os.environ.get("BENCH_SECONDS", "").strip()
    return float(value) if value else (2.0 if QUICK else 10.0)


@dataclass
class Row:
    """One line of the results table: what was measured, the figure, the budget, and whether it was met."""
    benchmark: str
    figure: str
    budget: str = ""
    passed: bool | None = None  # None: a figure without a budget (a baseline)

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: "-"}[self.passed]


def table(rows: list[Row]) -> list[str]:
    """The rows as the lines of a Markdown table, aligned so that it reads as plain text too."""
    cells = [("benchmark", "figure", "budget", "result")] + [(r.benchmark, r.figure, r.budget, r.verdict)
                                                            for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(4)]
    lines = ["| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths)) + " |" for line in cells]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return lines


def print_rows(rows: list[Row]) -> None:
    print("\n".join(table(rows)))


def database_label(url: str) -> str:
    """``sqlite`` or ``postgresql``: the database a figure was measured on."""
    return "postgresql" if url.startswith("postgresql") else url.split(":")[0].split("+")[0]


def temp_sqlite_url() -> str:
    return f"sqlite:///{Path(tempfile.mkdtemp(prefix='lms-bench-')) / 'bench.sqlite3'}"


def reset_postgresql(url: str) -> None:
    """An empty public schema: a bench's database may hold tables of another version of the models."""
    from sqlalchemy import create_engine, text
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_app(database_url: str | None = None, **overrides):
    """The app on empty tables: a new SQLite file by default, or ``database_url`` emptied first (on
    PostgreSQL its whole public schema: give the benches a database of their own).

    The caller runs inside ``app.app_context()``; this one is only for creating the tables.
    """
    url = database_url or temp_sqlite_url()
    if url.startswith("postgresql"):
        reset_postgresql(url)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, **overrides)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def open_app(database_url: str):
    """The app on a database as it is (to read back what a bench wrote); never creates or drops."""
    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)


@contextmanager
def one_core() -> Iterator[None]:
    """Run the block on one CPU of this machine (where the system lets a process choose), then restore."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)
