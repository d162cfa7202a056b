"""A trainer builds and publishes a course in the browser; a learner's progress survives a republish."""
from __future__ import annotations

from sqlalchemy import select

from lms.courses.models import Course, Enrolment
from lms.extensions import db
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import make_user


def add_module(page, slug, title):
    page.get_by_role("link", name="Add a module").click()
    page.get_by_label("Web address").fill(slug)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Summary").fill(f"About {title.lower()}.")
    page.get_by_label("CPD hours").fill("1")
    page.get_by_role("button", name="Save to draft").click()
    page.get_by_text("Saved to the draft").wait_for()


def add_lesson(page, module_title, slug, title, text):
    page.get_by_role("link", name=f"Add a lesson to {module_title}").click()
    page.get_by_label("Web address").fill(slug)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Text (Markdown)").fill(text)
    page.get_by_role("button", name="Save to draft").click()
    page.get_by_text("Saved to the draft").wait_for()


def test_trainer_builds_publishes_and_republishes(browser, live_server):
    trainer = make_user("trainer", email="author@example.org", name="Ana Author")
    learner = make_user(email="student@example.org")
    rival = make_user("trainer", email="rival@example.org")

    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    log_in(page, trainer.email)
    page.get_by_role("link", name="Teaching").click()
    page.get_by_role("link", name="New course").click()
    page.get_by_label("Web address").fill("listening-well")
    page.get_by_label("Title").fill("Listening well in neighbourhoods")
    page.get_by_label("Summary").fill("How to run a listening exercise that residents trust.")
    page.get_by_label("Learning outcomes").fill("Plan a listening exercise\nReport back to residents")
    page.get_by_label("Price").fill("0")
    page.get_by_role("button", name="Create course").click()
    page.get_by_text("The course is created as a draft").wait_for()
    assert_accessible(page)

    add_module(page, "before", "Before you start")
    add_module(page, "afterwards", "Afterwards")
    add_lesson(page, "Before you start", "why-listen", "Why listen", "## Why\n\nTrust is built slowly.")
    add_lesson(page, "Before you start", "who-to-ask", "Who to ask", "## Who\n\nEveryone affected.")
    add_lesson(page, "Afterwards", "report-back", "Report back", "## Report\n\nClose the loop.")

    page.get_by_role("link", name="Edit Why listen").click()
    page.get_by_label("Text (Markdown)").fill("## Why we listen\n\n::: key-points\n- Trust is built slowly.\n:::")
    page.locator(".live-preview h2", has_text="Why we listen").wait_for()  # live preview from the server
    assert page.locator(".live-preview .callout-key-points").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Save to draft").click()

    page.get_by_role("link", name="Add a quiz for Before you start").click()
    page.get_by_label("Questions (GIFT)").fill("::Trust::Listening builds what? {=trust#Yes. ~noise#No.}")
    page.get_by_role("button", name="Preview as a learner").click()
    page.get_by_role("group", name="Question 1 of 1").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Save to draft").click()

    page.get_by_role("link", name="Review and publish…").click()
    assert page.get_by_text("Lessons added (3)").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Publish version 1").click()
    page.get_by_text("Published:").wait_for()

    learner_context = browser.new_context(base_url=live_server)
    learner_page = learner_context.new_page()
    log_in(learner_page, learner.email)
    learner_page.goto("/courses/listening-well/")
    learner_page.get_by_role("button", name="Enrol").click()
    learner_page.get_by_role("button", name="Mark as complete and continue").click()
    learner_page.get_by_role("heading", level=1, name="Who to ask").wait_for()

    page.goto("/author/listening-well/")
    page.get_by_role("link", name="Edit Who to ask").click()
    page.get_by_label("Text (Markdown)").fill("## Who\n\nEveryone affected, and those who are rarely asked.")
    page.get_by_role("button", name="Save to draft").click()
    page.get_by_role("link", name="Review and publish…").click()
    assert page.get_by_text("Lessons edited (1)").is_visible()
    page.get_by_role("button", name="Publish version 2").click()
    page.get_by_text("Published:").wait_for()

    learner_page.reload()
    assert learner_page.get_by_text("rarely asked").is_visible()
    outline = learner_page.get_by_role("navigation", name="Course outline")
    assert outline.get_by_role("link", name="Why listen (completed)").is_visible()
    db.session.rollback()
    course = db.session.scalar(select(Course).where(Course.slug == "listening-well"))
    assert course.version == 2 and db.session.scalar(select(Enrolment)).lessons_completed == 1

    page.goto("/teach/listening-well/reports")
    page.get_by_role("heading", name="Learner progress").wait_for()
    assert_accessible(page)

    rival_context = browser.new_context(base_url=live_server)
    rival_page = rival_context.new_page()
    log_in(rival_page, rival.email)
    response = rival_page.goto("/author/listening-well/")
    assert response.status == 404
    for ctx in (context, learner_context, rival_context):
        ctx.close()
