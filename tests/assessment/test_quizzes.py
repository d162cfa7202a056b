"""Taking a quiz through the web: start, save as you go, resume, submit once, review; limits and keys."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from lms.assessment import services
from lms.assessment.models import Quiz, QuizAttempt, Response
from lms.database import utcnow
from tests.factories import QUIZ_GIFT, enrol, login, make_course, make_user, post_form


@pytest.fixture
def setup(client, db):
    def build(**settings):
        course = make_course(quiz=QUIZ_GIFT, quiz_settings=settings or None)
        learner = make_user()
        enrol(learner, course)
        login(client, learner)
        quiz = db.session.scalar(select(Quiz))
        return course, learner, quiz
    return build


def start(client, course):
    page = f"/courses/{course.slug}/module-1/quiz/"
    response = post_form(client, f"{page}start", {}, page=page)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def layout_positions(db, titles=None):
    attempt = db.session.scalar(select(QuizAttempt))
    return {item["title"]: item for item in attempt.layout}


def option_id(item, text):
    return next(o["id"] for o in item["presented"]["options"] if o["text"] == text)


def test_quiz_page_and_start(client, setup, db):
    course, learner, quiz = setup()
    page = client.get(f"/courses/{course.slug}/module-1/quiz/").get_data(as_text=True)
    assert "Pass mark" in page and "Start the quiz" in page and "3" in page
    url = start(client, course)
    html = client.get(url).get_data(as_text=True)
    assert "Question 1 of 3" in html and "When did the duty" in html


def test_attempt_page_holds_no_answer_key_or_feedback(client, setup, db):
    course, learner, quiz = setup()
    url = start(client, course)
    html = client.get(url).get_data(as_text=True)
    for secret in ["#Right", "Right: a year before", "that is when Ofsted", "Yes, a strand", "No, not a strand",
                   "weight", "Right: only the judgement", "Wrong: it remained", "feedback"]:
        assert secret not in html, secret
    # Nor does the autosave answer leak anything.
    item = layout_positions(db)["Duty start"]
    response = post_form(client, url + "answer", {"position": item["position"],
                                                  "values": option_id(item, "September 2007")}, page=url)
    assert response.get_json() == {"saved": True}


def test_answers_are_saved_as_you_go_and_survive_a_new_device(client, setup, db, app):
    course, learner, quiz = setup()
    url = start(client, course)
    items = layout_positions(db)
    duty = items["Duty start"]
    post_form(client, url + "answer", {"position": duty["position"],
                                       "values": option_id(duty, "September 2007")}, page=url)
    other_device = app.test_client()
    login(other_device, learner)
    html = other_device.get(url).get_data(as_text=True)
    chosen = option_id(duty, "September 2007")
    assert re.search(rf'value="{chosen}" checked', html)
    # Starting again resumes the same attempt.
    assert start(other_device, course) == url
    assert len(db.session.scalars(select(QuizAttempt)).all()) == 1


def test_malformed_answers_get_4xx_and_change_nothing(client, setup, db):
    course, learner, quiz = setup()
    url = start(client, course)
    duty = layout_positions(db)["Duty start"]
    bad = post_form(client, url + "answer", {"position": duty["position"], "values": "not-an-option"}, page=url)
    assert bad.status_code == 422 and "not one of the options" in bad.get_json()["error"]
    assert post_form(client, url + "answer", {"position": 99, "values": "x"}, page=url).status_code == 422
    assert post_form(client, url + "answer", {"values": "x"}, page=url).status_code == 400
    assert db.session.scalar(select(Response)) is None
    form = post_form(client, url + "save", {f"shown{duty['position']}": "1", f"q{duty['position']}": "zzz"},
                     page=url, follow_redirects=True)
    assert "not one of the options" in form.get_data(as_text=True)


def test_submit_marks_and_review_shows_feedback(client, setup, db):
    course, learner, quiz = setup()
    url = start(client, course)
    items = layout_positions(db)
    answers = {}
    duty, strands, remains = items["Duty start"], items["Strands"], items["Duty remains"]
    answers[f"shown{duty['position']}"] = "1"
    answers[f"q{duty['position']}"] = option_id(duty, "September 2007")
    answers[f"shown{strands['position']}"] = "1"
    answers[f"q{strands['position']}"] = option_id(strands, "Equity and excellence")
    answers[f"shown{remains['position']}"] = "1"
    answers[f"q{remains['position']}"] = "true"
    response = post_form(client, url + "save", {**answers, "then": "finish"}, page=url)
    assert response.headers["Location"].endswith("/summary")
    summary = client.get(url + "summary").get_data(as_text=True)
    assert "answered 3 of 3" in summary
    post_form(client, url + "submit", {}, page=url + "summary")
    db.session.rollback()
    attempt = db.session.scalar(select(QuizAttempt))
    assert attempt.status == "submitted" and attempt.score == Decimal("2.5") and attempt.percent == Decimal("83.33")
    assert attempt.passed
    review = client.get(url + "review").get_data(as_text=True)
    assert "83.3%" in review and "Passed" in review
    assert "Right: a year before inspection began." in review and "Yes, a strand." in review
    assert "Right answer:" in review


def test_marks_only_review(client, setup, db):
    course, learner, quiz = setup(review="marks")
    url = start(client, course)
    post_form(client, url + "submit", {}, page=url)
    review = client.get(url + "review").get_data(as_text=True)
    assert "0.0%" in review and "Right answer" not in review and "a year before" not in review


def test_double_submit_records_one_attempt(client, setup, db):
    course, learner, quiz = setup()
    url = start(client, course)
    first = post_form(client, url + "submit", {}, page=url)
    second = post_form(client, url + "submit", {}, page="/courses/")
    assert first.status_code == second.status_code == 303
    db.session.rollback()
    attempts = db.session.scalars(select(QuizAttempt)).all()
    assert len(attempts) == 1 and attempts[0].status == "submitted"
    attempt = attempts[0]
    assert services.submit_attempt(attempt) is False


def test_answers_cannot_change_after_submitting(client, setup, db):
    course, learner, quiz = setup()
    url = start(client, course)
    duty = layout_positions(db)["Duty start"]
    post_form(client, url + "submit", {}, page=url)
    late = post_form(client, url + "answer", {"position": duty["position"],
                                              "values": option_id(duty, "September 2007")}, page="/courses/")
    assert late.status_code == 409
    db.session.rollback()
    assert db.session.scalar(select(QuizAttempt)).score == 0


def test_time_limit_is_enforced_by_the_server(client, setup, db):
    course, learner, quiz = setup(time_limit_minutes=10)
    url = start(client, course)
    duty = layout_positions(db)["Duty start"]
    post_form(client, url + "answer", {"position": duty["position"],
                                       "values": option_id(duty, "September 2007")}, page=url)
    attempt = db.session.scalar(select(QuizAttempt))
    attempt.deadline_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    late = post_form(client, url + "answer", {"position": duty["position"],
                                              "values": option_id(duty, "September 2008")}, page="/courses/")
    assert late.status_code == 409 and "Time is up" in late.get_json()["error"]
    db.session.rollback()
    attempt = db.session.scalar(select(QuizAttempt))
    assert attempt.status == "expired" and attempt.score == 1  # the answer saved in time counted


def test_expired_attempts_close_without_the_learner(client, setup, db, runner):
    course, learner, quiz = setup(time_limit_minutes=5)
    start(client, course)
    attempt = db.session.scalar(select(QuizAttempt))
    attempt.deadline_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    result = runner.invoke(args=["lms", "close-expired-attempts"])
    assert result.exit_code == 0 and "Closed 1 attempt" in result.output
    db.session.rollback()
    assert db.session.scalar(select(QuizAttempt)).status == "expired"
    assert "Closed 0 attempt" in runner.invoke(args=["lms", "close-expired-attempts"]).output


def test_attempt_limit(client, setup, db):
    course, learner, quiz = setup(attempts=1)
    url = start(client, course)
    post_form(client, url + "submit", {}, page=url)
    page = f"/courses/{course.slug}/module-1/quiz/"
    assert "used all your attempts" in client.get(page).get_data(as_text=True)
    refused = post_form(client, page + "start", {}, page="/courses/", follow_redirects=True)
    assert "used all your attempts" in refused.get_data(as_text=True)
    assert len(db.session.scalars(select(QuizAttempt)).all()) == 1


def test_highest_or_last_attempt_counts(db, make_user):
    course = make_course(quiz=QUIZ_GIFT, quiz_settings={"grading": "last"})
    learner = make_user()
    enrol(learner, course)
    quiz = db.session.scalar(select(Quiz))
    first = services.start_attempt(learner, quiz)
    duty = next(i for i in first.layout if i["title"] == "Duty start")
    services.save_answer(first, duty["position"], [option_id(duty, "September 2007")])
    services.submit_attempt(first)
    second = services.start_attempt(learner, quiz)
    services.submit_attempt(second)
    db.session.commit()
    attempts = services.attempts_of(learner, quiz)
    assert services.counting_attempt(quiz, attempts).number == 2
    quiz.grading = "highest"
    assert services.counting_attempt(quiz, attempts).number == 1


def test_other_learners_attempt_is_404(client, setup, db, app):
    course, learner, quiz = setup()
    url = start(client, course)
    stranger = app.test_client()
    login(stranger, make_user())
    assert stranger.get(url).status_code == 404
    assert stranger.get(url + "review").status_code == 404
    assert post_form(stranger, url + "submit", {}, page="/courses/").status_code == 404


def test_quiz_needs_enrolment(client, db, make_user):
    course = make_course(quiz=QUIZ_GIFT)
    login(client, make_user())
    page = f"/courses/{course.slug}/module-1/quiz/"
    assert "Enrol on" in client.get(page).get_data(as_text=True)
    response = post_form(client, page + "start", {}, page="/courses/")
    assert response.status_code == 303
    assert db.session.scalar(select(QuizAttempt)) is None
    assert client.get(f"/courses/{course.slug}/module-2/quiz/").status_code == 404


def test_questions_drawn_at_random_from_a_category(db, make_user):
    from lms.assessment.models import QuestionCategory, QuizSlot
    course = make_course(quiz=QUIZ_GIFT)
    learner = make_user()
    enrol(learner, course)
    quiz = db.session.scalar(select(Quiz))
    category = db.session.scalar(select(QuestionCategory))
    quiz.slots = [QuizSlot(position=0, category_id=category.id, draw_count=2)]
    db.session.commit()
    attempt = services.start_attempt(learner, quiz)
    assert len(attempt.layout) == 2 and len({i["question_id"] for i in attempt.layout}) == 2


def test_review_marks_each_option_and_explains_partial_credit(client, setup, db):
    """Two right options and one wrong one score 0 on a question with a -100% penalty: the review says why."""
    course, learner, quiz = setup()
    url = start(client, course)
    items = layout_positions(db)
    duty, strands, remains = items["Duty start"], items["Strands"], items["Duty remains"]
    answers = {f"shown{i['position']}": "1" for i in (duty, strands, remains)}
    answers[f"q{duty['position']}"] = option_id(duty, "September 2008")
    client_values = [option_id(strands, t) for t in ("Teaching, learning and curriculum", "Equity and excellence",
                                                     "School meals")]
    post_form(client, url + "save", {**answers, f"q{strands['position']}": client_values, "then": "finish"}, page=url)
    post_form(client, url + "submit", {}, page=url + "summary")
    review = services.review(db.session.scalar(select(QuizAttempt)), full=True)
    by_title = {item.title: item for item in review}
    strands_review = by_title["Strands"]
    assert strands_review.score == 0
    assert {o.text: o.verdict for o in strands_review.options} == {
        "Teaching, learning and curriculum": "right", "Equity and excellence": "right", "School meals": "wrong"}
    assert strands_review.explanation.startswith("2 right options chosen, 1 wrong option chosen: +50% +50% −100% = 0%")
    duty_review = by_title["Duty start"]
    assert {o.text: o.verdict for o in duty_review.options} == {
        "September 2007": "missed", "September 2008": "wrong", "September 2011": ""}
    assert [o.text for o in duty_review.options] == [o["text"] for o in duty["presented"]["options"]]
    # The true/false question left unanswered: the right option is "missed".
    assert {o.text: o.verdict for o in by_title["Duty remains"].options} == {"True": "missed", "False": ""}

    html = client.get(url + "review").get_data(as_text=True)
    meals = html.index("School meals")
    assert html.index("You chose this: not right", meals) < html.index("No, not a strand.", meals)
    assert "Right, but not chosen" in html and "(−100%)" in html and "(+50%)" in html
    assert "+50% +50% −100% = 0%" in html and "Each right option adds its share" in html
    # A wrong option's feedback is shown beside that option, not in a list after the answer.
    option = re.search(r'<li class="review-option review-wrong">(.*?)</li>', html, re.S).group(1)
    assert "September 2008" in option and "that is when Ofsted began reporting on it" in option
