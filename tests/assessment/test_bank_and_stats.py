"""The question bank through GIFT (browser upload and CLI), and quiz statistics."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.assessment import gift, services
from lms.assessment.models import Question, QuestionCategory, Quiz, Response
from tests.factories import QUIZ_GIFT, add_trainer, enrol, login, make_course, make_user, post_form

UPLOAD = """$CATEGORY: Evaluation
::Outputs or outcomes::A count of sessions delivered is an... {=output#Yes, an activity count. ~outcome#No, nothing changed yet.}

::Indicators::How many domains are in the Home Office framework? {#14:0#Yes.}

// a comment
::Matching terms::Match the term. {=Bonding -> within a group =Bridging -> across groups =Linking -> with institutions}

::Essay::Describe a proportionate evaluation. {}
"""


def trainer_client(app, course):
    trainer = make_user("trainer")
    add_trainer(course, trainer)
    client = app.test_client()
    login(client, trainer)
    return client


def test_upload_gift_in_the_browser(app, db):
    course = make_course()
    client = trainer_client(app, course)
    page = f"/teach/{course.slug}/questions"
    assert "The bank is empty" in client.get(page).get_data(as_text=True)
    response = post_form(client, page + "/import", {"file": (io.BytesIO(UPLOAD.encode()), "bank.gift"),
                                                    "category": ""}, page=page,
                         content_type="multipart/form-data", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Imported 1 essay, 1 matching, 1 numeric, 1 single" in html
    categories = {c.name for c in db.session.scalars(select(QuestionCategory))}
    assert categories == {"Evaluation"}
    # Importing again updates in place.
    post_form(client, page + "/import", {"file": (io.BytesIO(UPLOAD.encode()), "bank.gift")}, page=page,
              content_type="multipart/form-data")
    assert db.session.scalar(select(func.count(Question.id))) == 4


def test_malformed_gift_upload_gets_a_clear_4xx_and_writes_nothing(app, db):
    course = make_course()
    client = trainer_client(app, course)
    page = f"/teach/{course.slug}/questions"
    bad = "::Fine::A good one {=yes ~no}\n\n::Broken::No closing brace {=yes ~no\n"
    response = post_form(client, page + "/import", {"file": (io.BytesIO(bad.encode()), "bad.gift")}, page=page,
                         content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Line 3" in html and "brace" in html.lower()
    assert db.session.scalar(select(func.count(Question.id))) == 0
    wrong_type = post_form(client, page + "/import", {"file": (io.BytesIO(b"x"), "notes.pdf")}, page=page,
                           content_type="multipart/form-data")
    assert wrong_type.status_code == 422 and "ending in .gift" in wrong_type.get_data(as_text=True)
    binary = post_form(client, page + "/import", {"file": (io.BytesIO(b"\xff\xfe\x00bad"), "x.gift")}, page=page,
                       content_type="multipart/form-data")
    assert binary.status_code == 422 and "not UTF-8" in binary.get_data(as_text=True)


def test_cli_import_counts_by_type_and_export_round_trips(runner, db, tmp_path):
    make_course("gift-course")
    path = tmp_path / "bank.gift"
    path.write_text(UPLOAD)
    result = runner.invoke(args=["lms", "questions", "import", str(path), "--course", "gift-course"])
    assert result.exit_code == 0, result.output
    assert "essay: 1" in result.output and "matching: 1" in result.output and "numeric: 1" in result.output
    assert "Imported 4 question(s)" in result.output
    exported = runner.invoke(args=["lms", "questions", "export", "--course", "gift-course"])
    assert exported.exit_code == 0
    assert gift.parse_gift(exported.output) == gift.parse_gift(UPLOAD)


def test_cli_import_errors_name_the_line(runner, db, tmp_path):
    make_course("gift-course")
    path = tmp_path / "bad.gift"
    path.write_text("::A::Fine {=a ~b}\n\n::B::Two right answers in multiple {~%50%a ~%20%b}\n")
    result = runner.invoke(args=["lms", "questions", "import", str(path), "--course", "gift-course"])
    assert result.exit_code == 1 and f"{path}:3:" in result.output and "nothing was imported" in result.output
    assert runner.invoke(args=["lms", "questions", "import", str(path), "--course", "nope"]).exit_code == 1


def test_quiz_statistics(app, db):
    course = make_course(quiz=QUIZ_GIFT)
    quiz = db.session.scalar(select(Quiz))
    scores = []
    for right in (3, 2, 1, 0):
        learner = make_user()
        enrol(learner, course)
        attempt = services.start_attempt(learner, quiz)
        for item in attempt.layout[:right]:
            if item["kind"] == "truefalse":
                values = ["true"]
            elif item["kind"] == "single":
                values = [next(o["id"] for o in item["presented"]["options"] if o["text"] == "September 2007")]
            else:
                values = [o["id"] for o in item["presented"]["options"] if "meals" not in o["text"]]
            services.save_answer(attempt, item["position"], values)
        services.submit_attempt(attempt)
        scores.append(attempt.percent)
    db.session.commit()
    stats = services.quiz_statistics(quiz)
    assert stats.attempts == 4
    assert stats.mean == float(round(sum(scores) / 4, 1))
    assert stats.pass_rate == 25.0  # only the full marks passes 70%
    assert [q.attempts for q in stats.questions] == [4, 4, 4]
    first = stats.questions[0]
    assert first.facility == 75.0 and first.discrimination is not None and first.discrimination > 0
    client = trainer_client(app, course)
    html = client.get(f"/teach/{course.slug}/quizzes/{quiz.id}/statistics").get_data(as_text=True)
    assert "<svg" in html and "75.0%" in html and "pass rate" in html


def test_statistics_of_another_course_quiz_is_404(app, db):
    mine = make_course()
    other = make_course(quiz=QUIZ_GIFT)
    quiz = db.session.scalar(select(Quiz))
    client = trainer_client(app, mine)
    assert client.get(f"/teach/{mine.slug}/quizzes/{quiz.id}/statistics").status_code == 404
    assert client.get(f"/teach/{other.slug}/quizzes/{quiz.id}/statistics").status_code == 404


def test_essay_in_a_quiz_is_marked_by_a_person(app, db):
    course = make_course(quiz="::Why::Why does contact help? {}\n\n::Year::Year of the duty? {=2007 ~2008}")
    learner = make_user()
    enrol(learner, course)
    quiz = db.session.scalar(select(Quiz))
    attempt = services.start_attempt(learner, quiz)
    essay = next(i for i in attempt.layout if i["kind"] == "essay")
    services.save_answer(attempt, essay["position"], ["It reduces anxiety between groups."])
    services.submit_attempt(attempt)
    db.session.commit()
    assert attempt.needs_marking and attempt.passed is None
    client = trainer_client(app, course)
    queue = client.get(f"/teach/{course.slug}/marking").get_data(as_text=True)
    assert "Why" in queue
    response = next(r for r in attempt.responses if r.needs_marking)
    too_high = post_form(client, f"/teach/responses/{response.id}", {"score": "5", "comment": ""})
    assert too_high.status_code == 422 and "at most 1" in too_high.get_data(as_text=True)
    post_form(client, f"/teach/responses/{response.id}", {"score": "1", "comment": "Good."})
    db.session.rollback()
    attempt = db.session.get(type(attempt), attempt.id)
    assert not attempt.needs_marking and attempt.score == Decimal("1.00") and attempt.percent == Decimal("50.00")


def test_the_essay_marking_page_refuses_an_auto_marked_answer(app, db):
    """Only written answers are marked by hand: an auto-marked response's id gets 404, and its mark stays."""
    course = make_course(quiz="::Why::Why does contact help? {}\n\n::Year::Year of the duty? {=2007 ~2008}")
    learner = make_user()
    enrol(learner, course)
    attempt = services.start_attempt(learner, db.session.scalar(select(Quiz)))
    year = next(i for i in attempt.layout if i["kind"] != "essay")  # left unanswered: marked 0 on submit
    written = next(i for i in attempt.layout if i["kind"] == "essay")
    services.save_answer(attempt, written["position"], ["It reduces anxiety between groups."])
    services.submit_attempt(attempt)
    db.session.commit()
    rows = db.session.scalars(select(Response).where(Response.attempt_id == attempt.id)).all()
    response = next(r for r in rows if r.position == year["position"])
    essay = next(r for r in rows if r.needs_marking)
    score = response.score
    client = trainer_client(app, course)
    assert client.get(f"/teach/responses/{essay.id}").status_code == 200
    assert client.get(f"/teach/responses/{response.id}").status_code == 404
    page = post_form(client, f"/teach/responses/{essay.id}", {"score": "1", "comment": ""},
                     page=f"/teach/responses/{essay.id}")
    assert page.status_code == 302
    refused = post_form(client, f"/teach/responses/{response.id}", {"score": "1", "comment": "Right after all"},
                        page=f"/teach/responses/{essay.id}")
    assert refused.status_code == 404
    db.session.rollback()
    assert db.session.get(type(response), response.id).score == score
    with pytest.raises(services.AssessmentError):
        services.mark_response(make_user("trainer"), db.session.get(type(response), response.id), Decimal(1), "")


def test_statistics_as_csv(app, db):
    course = make_course(quiz=QUIZ_GIFT)
    quiz = db.session.scalar(select(Quiz))
    learner = make_user()
    enrol(learner, course)
    services.submit_attempt(services.start_attempt(learner, quiz))
    db.session.commit()
    client = trainer_client(app, course)
    text = client.get(f"/teach/{course.slug}/quizzes/{quiz.id}/statistics.csv").get_data(as_text=True)
    assert text.splitlines()[0] == "question,attempts,facility,discrimination" and len(text.splitlines()) == 4
