"""Quizzes and assignments in a real browser: answers survive closing the browser; marks reach the learner."""
from __future__ import annotations

from sqlalchemy import select

from lms.assessment.models import Submission
from lms.extensions import db
from tests.browser.conftest import assert_accessible, log_in
from tests.factories import QUIZ_GIFT, add_trainer, enrol, make_course, make_user


def test_quiz_answers_survive_closing_the_browser(browser, live_server):
    course = make_course(quiz=QUIZ_GIFT, title="Schools and cohesion")
    learner = make_user(email="quizzer@example.org")
    enrol(learner, course)

    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    log_in(page, learner.email)
    page.goto(f"/courses/{course.slug}/")
    page.get_by_role("link", name="Quiz: Check your understanding").click()
    assert_accessible(page)
    page.get_by_role("button", name="Start the quiz").click()
    page.get_by_text("Question 1 of 3").wait_for()
    assert_accessible(page)
    duty = page.get_by_role("group", name="Question").filter(has_text="When did the duty")
    duty.get_by_label("September 2007").check()
    duty.get_by_text("Saved").wait_for()
    truth = page.get_by_role("group", name="Question").filter(has_text="remained after the Education Act")
    truth.get_by_label("True").check()
    truth.get_by_text("Saved").wait_for()
    context.close()  # the learner closes the browser mid-attempt

    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    log_in(page, learner.email)
    page.goto(f"/courses/{course.slug}/module-1/quiz/")
    page.get_by_role("link", name="Continue attempt 1").click()
    duty = page.get_by_role("group", name="Question").filter(has_text="When did the duty")
    assert duty.get_by_label("September 2007").is_checked()
    strands = page.get_by_role("group", name="Question").filter(has_text="Which are strands")
    strands.get_by_label("Teaching, learning and curriculum").check()
    strands.get_by_label("Equity and excellence").check()
    page.get_by_role("button", name="Finish attempt…").click()
    page.get_by_text("You have answered 3 of 3 questions.").wait_for()
    page.get_by_role("button", name="Submit all and finish").click()
    page.get_by_text("100.0%").wait_for()
    assert page.get_by_text("Right: a year before inspection began.").is_visible()
    assert_accessible(page)
    context.close()


def test_trainer_marks_an_assignment_and_the_learner_sees_it(browser, live_server):
    course = make_course(level="7", assignment={}, title="Policy and evidence")
    learner = make_user(email="writer@example.org", name="Wyn Writer")
    trainer = make_user("trainer", email="marker@example.org", name="Mari Marker")
    add_trainer(course, trainer)
    enrol(learner, course)

    learner_context = browser.new_context(base_url=live_server)
    page = learner_context.new_page()
    log_in(page, learner.email)
    page.goto(f"/courses/{course.slug}/module-1/assignment/")
    page.get_by_label("Your answer").fill("## Review\n\nThe local strategy rests on the contact hypothesis.")
    page.get_by_role("button", name="Save and preview").click()
    page.get_by_role("heading", name="Preview").wait_for()
    assert_accessible(page)
    page.get_by_role("button", name="Submit…").click()
    page.get_by_role("button", name="Submit my work").click()
    page.get_by_text("Your work is submitted.").wait_for()

    trainer_context = browser.new_context(base_url=live_server)
    marker = trainer_context.new_page()
    log_in(marker, trainer.email)
    marker.get_by_role("link", name="Teaching").click()
    marker.get_by_role("link", name=f"Marking for {course.title}").click()
    assert_accessible(marker)
    marker.get_by_role("link", name="Wyn Writer").click()
    marker.get_by_role("group", name="Knowledge").get_by_label("Pass (30)", exact=False).check()
    marker.get_by_role("group", name="Analysis").get_by_label("Distinction (50)", exact=False).check()
    marker.get_by_label("Feedback for the learner").fill("A clear argument; engage more with critics.")
    marker.get_by_role("button", name="Save mark").click()
    marker.get_by_text("Marked: 80 out of 100.").wait_for()
    assert_accessible(marker)

    page.reload()
    assert page.get_by_text("once your trainer releases them").is_visible()
    marker.get_by_role("button", name="Release mark and feedback to the learner").click()
    marker.get_by_text("The mark is released to Wyn Writer.").wait_for()
    page.reload()
    assert page.get_by_text("80%").is_visible()
    assert page.get_by_text("A clear argument; engage more with critics.").is_visible()
    assert_accessible(page)
    db.session.rollback()
    assert db.session.scalar(select(Submission)).status == "released"
    learner_context.close()
    trainer_context.close()
