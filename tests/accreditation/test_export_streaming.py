"""The CSV export streams: 100,000 records go out without memory growing with the count.

Each export runs in a process of its own, so its peak resident memory counts everything the export
holds, the database driver's buffers included. The peak for 100,000 records must not be more than a
few MiB above the peak for 10,000. On PostgreSQL the rows come from a server-side cursor, seen in
pg_cursors while the export runs.
"""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

from lms.accreditation import services
from lms.accreditation.models import Pathway
from tests.accreditation.bulk import add_credit_records
from tests.accreditation.test_credit import setting  # noqa: F401  (fixture)
from tests.factories import login

ROOT = Path(__file__).resolve().parents[2]


def export_in_own_process(database_url: str, partner_id: int) -> tuple[int, int]:
    """(growth of peak RSS during the export in KiB, lines written)."""
    out = subprocess.run([sys.executable, "-m", "tests.accreditation.export_rss", database_url, str(partner_id)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=True).stdout.split()
    before, after, lines = map(int, out[:3])
    return after - before, lines


def test_export_of_100000_records_streams_in_flat_memory(app, db, setting, database_url):
    course, learner, partner, outsider = setting
    pathway = db.session.scalar(select(Pathway))
    add_credit_records(pathway, 10_000)
    growth_10k, lines = export_in_own_process(database_url, partner.id)
    assert lines == 10_001

    client = app.test_client()
    login(client, partner)
    rows = list(csv.reader(io.StringIO(client.get("/partner/export-history.csv").get_data(as_text=True))))
    assert len(rows) == 10_001 and rows[-1][0].startswith("BK") and rows[-1][-3] == "approved"
    records = {(r[0], r[5]) for r in rows[1:]}
    newest = list(csv.reader(io.StringIO(client.get("/partner/export.csv").get_data(as_text=True))))
    assert len(newest) == len(records) + 1 and {(r[0], r[5]) for r in newest[1:]} == records
    login(client, outsider)
    assert client.get("/partner/export.csv").get_data(as_text=True).count("\n") == 1  # the header alone
    assert client.get("/partner/export-history.csv").get_data(as_text=True).count("\n") == 1

    add_credit_records(pathway, 90_000)
    growth_100k, lines = export_in_own_process(database_url, partner.id)
    assert lines == 100_001
    # Holding 100,000 rows would take tens of MiB (about 1 KiB each as Python objects).
    assert growth_100k - growth_10k < 8 * 1024, (growth_10k, growth_100k)  # KiB


def test_postgresql_export_reads_through_a_server_side_cursor(db, setting):
    course, learner, partner, outsider = setting
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's driver steps through rows one at a time, with no cursor to see")
    add_credit_records(db.session.scalar(select(Pathway)), 5_000)
    cursors = []
    for _ in services.credit_csv(partner):
        cursors.append(db.session.scalar(text("SELECT count(*) FROM pg_cursors")))
    assert max(cursors) >= 1, "the export did not read through a server-side cursor"
