"""The credit-record CSV export at 10,000 and 1,000,000 records: rows per second and memory, in one run.

Run: .venv/bin/python bench/exports.py [--records 1000000] [--database-url URL]
Each export runs in a fresh process (tests/accreditation/export_rss.py), which reports its resident
memory before and at most during the export; the 10,000-record export is the baseline.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import fresh_app  # noqa: E402
from lms.extensions import db  # noqa: E402


def export(url: str, partner_id: int) -> tuple[float, int, int]:
    out = subprocess.run([sys.executable, "-m", "tests.accreditation.export_rss", url, str(partner_id)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    before, peak, lines = map(int, out[:3])
    return float(out[3]), peak - before, lines - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    app = fresh_app(args.database_url)
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
        add_credit_records(pathway, 10_000)
        small = export(url, partner.id)
        add_credit_records(pathway, args.records - 10_000)
        large = export(url, partner.id)
    print(f"database: {url.split(':')[0]}")
    for label, (seconds, growth, rows) in (("baseline", small), ("large", large)):
        print(f"{label:8} {rows:>9,} records  {seconds:6.1f} s  {rows / seconds:9,.0f} records/s  "
              f"memory during export +{growth / 1024:.1f} MiB")
    print(f"ratio: {large[2] / small[2]:.0f}x the records, {large[1] / max(small[1], 1):.2f}x the memory growth")


if __name__ == "__main__":
    main()
