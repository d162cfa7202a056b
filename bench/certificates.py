"""Certificate throughput: PDFs per second, and the time to issue 10,000 certificates.

Run: .venv/bin/python bench/certificates.py [--issue 10000] [--pdfs 300]
Figures are printed with a baseline taken in the same run (a one-line reportlab PDF), so the
ratio means something on any machine. Uses a throwaway SQLite database in a temporary folder.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportlab.pdfgen import canvas  # noqa: E402

from bench.common import fresh_app  # noqa: E402
from lms.extensions import db  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pdfs", type=int, default=300)
    parser.add_argument("--issue", type=int, default=10_000)
    args = parser.parse_args()
    app = fresh_app(BASE_URL="https://learn.example.org")
    with app.app_context(), app.test_request_context():
        from lms.accounts.services import create_user
        from lms.certificates.services import issue_certificate
        from lms.certificates.views import render_certificate_pdf
        from lms.courses.importer import load_courses
        from lms.courses.services import get_course
        from lms.database import utcnow
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.factories import course_file
        load_courses([course_file("bench-course", modules=5, lessons=3, title="Evaluating integration programmes")])
        course = get_course("bench-course")
        user = create_user("bench@example.org", "Dr Eleri Margaret Pritchard-Jones", "a bench passphrase",
                           check_password_strength=False)
        certificate = issue_certificate(user, course, completed_at=utcnow())
        db.session.commit()

        base = rate(baseline_pdf, args.pdfs)
        pdfs = rate(lambda: render_certificate_pdf(certificate), args.pdfs)
        print(f"baseline one-line PDF:   {base:8.1f} per second")
        print(f"certificate PDF:         {pdfs:8.1f} per second ({1000 / pdfs:.2f} ms each; "
              f"{pdfs / base:.2f}x the baseline rate)")

        users = [create_user(f"learner{i}@example.org", f"Learner {i}", "a bench passphrase",
                             check_password_strength=False) for i in range(args.issue)]
        db.session.commit()
        start = time.perf_counter()
        for i, learner in enumerate(users, start=1):
            issue_certificate(learner, course, completed_at=utcnow())
            if i % 1000 == 0:
                db.session.commit()
        db.session.commit()
        issued = time.perf_counter() - start
        print(f"issue {args.issue} certificates: {issued:8.2f} s ({args.issue / issued:.0f} per second)")


if __name__ == "__main__":
    main()
