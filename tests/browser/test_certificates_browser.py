"""A learner completes a short course and gets a certificate anyone can check, in a real browser."""
from __future__ import annotations

import re

from pypdf import PdfReader

from tests.browser.conftest import assert_accessible, log_in
from tests.factories import enrol, make_course, make_user


def test_complete_download_and_verify(page, live_server):
    course = make_course("short-course", modules=1, lessons=2, title="A short course on cohesion")
    learner = make_user(email="finisher@example.org", name="Nia Finisher")
    enrol(learner, course)
    log_in(page, learner.email)

    page.goto(f"/courses/{course.slug}/resume")
    page.get_by_role("button", name="Mark as complete and continue").click()
    page.get_by_role("button", name="Mark as complete").click()
    page.get_by_role("link", name="My learning").click()
    page.get_by_role("link", name="Certificate for A short course on cohesion").click()
    page.get_by_role("heading", level=1, name="A short course on cohesion").wait_for()
    assert_accessible(page)

    with page.expect_download() as download_info:
        page.evaluate("""() => { const a = document.createElement('a');
            a.href = document.querySelector('a[href$=".pdf"]').href; a.download = 'certificate.pdf';
            document.body.appendChild(a); a.click(); }""")
    pdf = download_info.value.path()
    text = PdfReader(open(pdf, "rb")).pages[0].extract_text()
    assert "Nia Finisher" in text
    match = re.search(r"(127\.0\.0\.1:\d+/verify/([A-Z2-7]{20}))", text)
    assert match, text
    code = match.group(2)
    assert code in text

    page.goto("http://" + match.group(1))
    page.get_by_role("heading", name="Valid certificate").wait_for()
    assert page.locator("#main").get_by_text("Nia Finisher").is_visible()
    assert_accessible(page)

    # An employer types the code from the paper copy into /verify/ (footer link), first mistyped.
    page.get_by_role("link", name="Check a certificate").click()
    page.get_by_label("Certificate code or number").fill("CL-1999-000001-1")
    page.get_by_role("button", name="Check").click()
    page.get_by_role("heading", level=1, name="No certificate found").wait_for()
    assert_accessible(page)
    page.get_by_label("Certificate code or number").fill(" ".join(code[i:i + 4] for i in range(0, 20, 4)).lower())
    page.get_by_role("button", name="Check").click()
    page.get_by_role("heading", name="Valid certificate").wait_for()
    assert page.locator("#main").get_by_text("Issued by", exact=True).is_visible()

    page.goto("/cpd/")
    assert page.get_by_text("Course on this platform").first.is_visible()
    assert_accessible(page)
    page.goto("/cpd/new")
    page.get_by_role("button", name="Save").click()
    page.locator(".error-summary").wait_for()
    assert_accessible(page)
