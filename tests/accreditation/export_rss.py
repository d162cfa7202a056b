"""Run one CSV export in a fresh process; print its resident memory before and at most during (KiB),
the lines written and the seconds taken.

    python -m tests.accreditation.export_rss DATABASE_URL PARTNER_USER_ID

A process of its own measures everything the export holds, the database driver's buffers included.
Used by the streaming test and by bench/exports.py.
"""
from __future__ import annotations

import gc
import os
import sys
import time

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def resident_kib() -> int:
    """This process's resident memory now (not its high-water mark, which start-up may have set)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_KIB


def main(url: str, partner_id: int) -> None:
    from config import TestingConfig
    from lms import create_app
    from lms.accounts.models import User
    from lms.accreditation.services import credit_csv
    from lms.extensions import db
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.test_request_context():
        partner = db.session.get(User, partner_id)
        gc.collect()
        before = peak = resident_kib()
        started, lines = time.perf_counter(), 0
        for chunk in credit_csv(partner, history=True):  # every version: the largest export
            lines += chunk.count("\n")
            peak = max(peak, resident_kib())
    print(before, peak, lines, f"{time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
