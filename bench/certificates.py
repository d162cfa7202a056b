"""Certificate throughput: PDFs per second, and the time to issue 10,000 certificates.

Run: .venv/bin/python bench/certificates.py [--issue 10000] [--pdfs 300]
Figures are printed with a baseline taken in the same run (a one-line reportlab PDF), so the
ratio means something on any machine. Uses a throwaway SQLite database in a temporary folder.
Budget: at least 100 certificate PDFs per second on one core (this process is single-threaded).
``run()`` returns the figures as rows for bench/run.py; BENCH_QUICK=1 makes both counts small.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportlab.pdfgen import canvas  # noqa: E402

from bench.common import Row, fresh_app, one_core, print_rows, size  # noqa: E402
from lms.extensions import db  # noqa: E402

PDFS_PER_SECOND_BUDGET = 100


def baseline_pdf() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, invariant=1)
    pdf.drawString(100, 700, "Baseline")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def rate(fn, count: int) -> float:
    fn()  # warm up (font loading, imports)
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return count / (time.perf_counter() - start)


def run(pdfs: int | None = None, issue: int | None = None) -> list[Row]:
    """Render ``pdfs`` certificate PDFs and issue ``issue`` certificates; the figures as rows."""
    pdfs = pdfs or size("BENCH_CERTIFICATE_PDFS", 300, 50)
    issue = issue or size("BENCH_CERTIFICATES_ISSUED", 10_000, 500)
    app = fresh_app(BASE_URL="https://learn.example.org")
    with app.app_context(), app.test_request_context():
        from lms.accounts.services import create_user
        from lms.certificates.services import issue_certificate
        from lms.certificates.views import render_certificate_pdf
        from lms.courses.importer import load_courses
        from lms.courses.services import get_course
        from lms.database import utcnow
        from tests.factories import course_file
        load_courses([course_file("bench-course", modules=5, lessons=3, title="Evaluating integration programmes")])
        course = get_course("bench-course")
        user = create_user("bench@example.org", "Dr Eleri Margaret Pritchard-Jones", "a bench passphrase",
                           check_password_strength=False)
        certificate = issue_certificate(user, course, completed_at=utcnow())
        db.session.commit()

        with one_core():
            base = rate(baseline_pdf, pdfs)
            per_second = rate(lambda: render_certificate_pdf(certificate), pdfs)
        print(f"baseline one-line PDF:   {base:8.1f} per second")
        print(f"certificate PDF:         {per_second:8.1f} per second ({1000 / per_second:.2f} ms each; "
              f"{per_second / base:.2f}x the baseline rate)")

        users = [create_user(f"learner{i}@example.org", f"Learner {i}", "a bench passphrase",
                             check_password_strength=False) for i in range(issue)]
        db.session.commit()
        start = time.perf_counter()
        for i, learner in enumerate(users, start=1):
            issue_certificate(learner, course, completed_at=utcnow())
            if i % 1000 == 0:
                db.session.commit()
        db.session.commit()
        issued = time.perf_counter() - start
        print(f"issue {issue} certificates: {issued:8.2f} s ({issue / issued:.0f} per second)")
        db.session.remove()
        db.engine.dispose()
    return [
        Row("certificate PDFs, one core", f"{per_second:,.0f} per second ({1000 / per_second:.1f} ms each; "
            f"{per_second / base:.2f}x a one-line PDF)", f">= {PDFS_PER_SECOND_BUDGET} per second",
            per_second >= PDFS_PER_SECOND_BUDGET),
        Row(f"issue {issue:,} certificates [sqlite]", f"{issued:.1f} s ({issue / issued:,.0f} per second)"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pdfs", type=int, default=None, help="default 300 (50 with BENCH_QUICK=1)")
    parser.add_argument("--issue", type=int, default=None, help="default 10,000 (500 with BENCH_QUICK=1)")
    args = parser.parse_args()
    print_rows(run(args.pdfs, args.issue))


if __name__ == "__main__":
    main()
