"""A person registers, confirms, logs in and out, in a real browser; pages pass axe-core."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lms.mail import outbox
from tests.browser.conftest import assert_accessible
from tests.factories import PASSWORD, make_user


def test_register_confirm_login_logout(page, app, live_server):
    page.goto("/")
    page.get_by_role("link", name="Create account").first.click()
    page.get_by_label("Full name").fill("Bronwen Ellis")
    page.get_by_label("Email address").fill("bronwen@example.org")
    page.get_by_label("Password", exact=True).fill("cohesion is local work")
    page.get_by_label("Repeat password").fill("cohesion is local work")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()

    mail = [m for m in outbox(app) if m.to == "bronwen@example.org"][-1]
    link = re.search(r"(http://127\.0\.0\.1:\d+/\S+)", mail.body).group(1)
    assert link.startswith(live_server)
    page.goto(link)
    page.get_by_text("Your email address is confirmed.").wait_for()

    page.get_by_label("Password", exact=True).fill("cohesion is local work")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Welcome back, Bronwen Ellis.").wait_for()
    assert page.get_by_role("link", name="Bronwen Ellis").is_visible()

    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You have logged out.").wait_for()
    assert page.get_by_role("banner").get_by_role("link", name="Log in").is_visible()


def test_login_errors_are_shown_beside_the_field_and_in_a_summary(page):
    page.goto("/login")
    page.get_by_role("button", name="Log in").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert "Enter your email address." in summary.inner_text()
    # The summary takes focus so a screen reader announces it; its links lead to the fields.
    expect(summary).to_be_focused(timeout=5000)  # polled from Playwright's side: the CSP forbids eval
    summary.get_by_role("link", name="Enter your email address.").click()
    assert page.evaluate("document.activeElement.id") == "email"
    assert_accessible(page)


def test_keyboard_user_can_skip_to_main_content(page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.parametrize("path", ["/", "/register", "/login", "/reset"])
def test_public_pages_have_no_axe_violations(page, path):
    page.goto(path)
    assert_accessible(page)


def test_admin_pages_have_no_axe_violations(page, app):
    admin = make_user("admin", email="admin-browser@example.org")
    make_user("learner", email="someone@example.org")
    page.goto("/login")
    page.get_by_label("Email address").fill(admin.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Admin").click()
    assert_accessible(page)
    page.get_by_role("link", name="Users").first.click()
    page.get_by_role("table").wait_for()
    assert_accessible(page)
    page.goto("/admin/organisations")
    assert_accessible(page)
    page.goto("/account")
    assert_accessible(page)
