"""A learner finds a course, enrols, reads, sees progress and resumes, in a real browser."""
from __future__ import annotations

from pathlib import Path

import pytest

from lms.courses.content import read_tree
from lms.courses.importer import load_courses
from lms.extensions import db
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import make_user

CONTENT = Path(__file__).resolve().parents[2] / "content"


@pytest.fixture
def shipped_courses(app):
    load_courses(read_tree(CONTENT))
    db.session.commit()


def test_find_enrol_read_and_resume(page, shipped_courses):
    learner = make_user(email="reader@example.org", name="Rhiannon Reader")
    log_in(page, learner.email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Courses").click()
    assert_accessible(page)
    page.get_by_label("Search titles and summaries").fill("visioning")
    page.get_by_role("button", name="Search").click()
    assert page.get_by_text("1 course matching").is_visible()
    page.get_by_role("link", name="Facilitating cohesion workshops and visioning events").click()
    page.get_by_role("heading", level=1, name="Facilitating cohesion workshops and visioning events").wait_for()
    assert_accessible(page)

    page.get_by_role("button", name="Enrol").click()
    page.get_by_role("heading", level=1, name="Purpose and who to invite").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Mark as complete and continue").click()
    page.get_by_role("heading", level=1, name="Designing the questionnaire").wait_for()
    page.get_by_role("button", name="Mark as complete and continue").click()
    page.get_by_role("heading", level=1, name="Analysing returns and shaping the day").wait_for()

    page.get_by_role("link", name="My learning").click()
    progress = page.get_by_role("progressbar", name="Progress on Facilitating cohesion workshops and visioning events")
    assert progress.get_attribute("value") == "11"  # 2 of 17 lessons
    assert page.get_by_text("Next: Analysing returns and shaping the day").is_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Log out").click()
    log_in(page, learner.email)
    page.get_by_role("link", name="My learning").click()
    page.get_by_role("link", name="Continue Facilitating cohesion workshops and visioning events").click()
    page.get_by_role("heading", level=1, name="Analysing returns and shaping the day").wait_for()
    outline = page.get_by_role("navigation", name="Course outline")
    assert outline.get_by_role("link", name="Purpose and who to invite (completed)").is_visible()


def test_level_7_course_page_and_lesson_with_tables_are_accessible(page, shipped_courses):
    learner = make_user(email="postgrad@example.org")
    log_in(page, learner.email)
    page.goto("/courses/cohesion-and-integration-policy-and-evidence/")
    assert page.get_by_role("heading", name="Reading list").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Enrol").click()
    page.goto("/courses/facilitating-cohesion-workshops/")
    page.get_by_role("button", name="Enrol").click()
    page.goto("/courses/facilitating-cohesion-workshops/objectives-and-the-action-plan/writing-the-action-plan/")
    assert page.get_by_role("table").first.is_visible()
    assert_accessible(page)
    page.goto("/courses/facilitating-cohesion-workshops/objectives-and-the-action-plan/"
              "common-faults-in-action-plans/?view=print")
    assert_accessible(page)
