"""The credit-record CSV export at 100,000 and 1,000,000 records: rows per second and memory, in one run.

Run: .venv/bin/python bench/exports.py [--records 1000000] [--baseline 100000] [--database-url URL]
Each export runs in a fresh process (tests/accreditation/export_rss.py), which reports its resident
memory before and at most during the export; the 100,000-record export is the baseline.
Budget: 1,000,000 records in under 20 s, with a peak resident memory at most 1.2 times the baseline's
(a streamed export holds no more for ten times the rows). ``run()`` returns the figures as rows for
bench/run.py; BENCH_QUICK=1 makes it 100,000 and 10,000 records.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import Row, database_label, fresh_app, print_rows, size  # noqa: E402
from lms.extensions import db  # noqa: E402

SECONDS_BUDGET = 20.0
MEMORY_BUDGET = 1.2  # the large export's peak resident memory over the baseline's


@dataclass
class Export:
    seconds: float
    before_kib: int  # resident memory before the export began
    peak_kib: int    # at most during it
    rows: int

    @property
    def growth_kib(self) -> int:
        return self.peak_kib - self.before_kib


def export(url: str, partner_id: int) -> Export:
    out = subprocess.run([sys.executable, "-m", "tests.accreditation.export_rss", url, str(partner_id)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    before, peak, lines = map(int, out[:3])
    return Export(float(out[3]), before, peak, lines - 1)


def run(records: int | None = None, baseline: int | None = None, database_url: str | None = None) -> list[Row]:
    """Export ``baseline`` then ``records`` credit records, each in a process of its own; the figures as rows."""
    records = records or size("BENCH_EXPORT_RECORDS", 1_000_000, 100_000)
    baseline = baseline or size("BENCH_EXPORT_BASELINE", 100_000, 10_000)
    app = fresh_app(database_url)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        from lms.accounts.models import Organisation, OrganisationMember
        from lms.accounts.services import create_user
        from lms.accreditation.models import Pathway, PathwayModule
        from tests.accreditation.bulk import add_credit_records
        from tests.factories import make_course
        university = Organisation(name="University of Castlebridge", kind="university")
        db.session.add(university)
        db.session.flush()
        pathway = Pathway(slug="pgcert", title="PGCert", award="PGCert", university_id=university.id,
                          credits_required=60, consent_text="I agree.")
        pathway.modules = [PathwayModule(course_id=make_course(f"module-{n}", level="7").id, code=f"CCI70{n}",
                                         credits=20, level=7, position=n) for n in range(1, 4)]
        partner = create_user("partner@example.org", "Partner", "a bench passphrase", roles=["partner"],
                              verified=True, check_password_strength=False)
        db.session.add_all([pathway, OrganisationMember(organisation_id=university.id, user_id=partner.id)])
        db.session.commit()
        started = time.perf_counter()
        add_credit_records(pathway, baseline)
        small = export(url, partner.id)
        add_credit_records(pathway, records - baseline)
        print(f"wrote {records:,} credit records in {time.perf_counter() - started:.0f} s (exports included)")
        large = export(url, partner.id)
        db.session.remove()
        db.engine.dispose()
    database = database_label(url)
    print(f"database: {database}")
    for label, result in (("baseline", small), ("large", large)):
        print(f"{label:8} {result.rows:>9,} records  {result.seconds:6.1f} s  {result.rows / result.seconds:9,.0f} "
              f"records/s  peak memory {result.peak_kib / 1024:.1f} MiB (+{result.growth_kib / 1024:.1f} MiB "
              f"during the export)")
    memory = large.peak_kib / small.peak_kib
    print(f"ratio: {large.rows / small.rows:.0f}x the records, {memory:.2f}x the peak memory, "
          f"{large.growth_kib / max(small.growth_kib, 1):.2f}x the growth")
    return [
        Row(f"CSV export, {large.rows:,} records [{database}]",
            f"{large.seconds:.1f} s ({large.rows / large.seconds:,.0f} records/s)", f"< {SECONDS_BUDGET:.0f} s",
            large.seconds < SECONDS_BUDGET and large.rows == records),
        Row(f"CSV export memory, {large.rows:,} vs {small.rows:,} records [{database}]",
            f"peak {large.peak_kib / 1024:.0f} MiB vs {small.peak_kib / 1024:.0f} MiB ({memory:.2f}x; during the "
            f"export +{large.growth_kib / 1024:.1f} vs +{small.growth_kib / 1024:.1f} MiB)",
            f"<= {MEMORY_BUDGET}x", memory <= MEMORY_BUDGET and small.rows == baseline),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=None, help="default 1,000,000 (100,000 with BENCH_QUICK=1)")
    parser.add_argument("--baseline", type=int, default=None, help="default 100,000 (10,000 with BENCH_QUICK=1)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print_rows(run(args.records, args.baseline, args.database_url))


if __name__ == "__main__":
    main()
