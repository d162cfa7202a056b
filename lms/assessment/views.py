"""Taking quizzes: the quiz page, attempts with answers saved as the learner goes, submit and review."""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload, selectinload

from lms.assessment import assignments, bp, services
from lms.assessment.forms import AssignmentForm
from lms.assessment.models import Quiz, QuizAttempt, ReviewMode
from lms.assessment.questions import AnswerError
from lms.courses import services as courses
from lms.courses.models import Module
from lms.extensions import db
from lms.forms import ConfirmForm
from lms.security import require
from lms.urls import form_page


def _course_module(slug: str, module_slug: str):
    """The visible course and its live module, or 404."""
    course = courses.get_course_with_outline(slug)
    require(course is not None and courses.can_view(current_user, course))
    module = next((m for m in course.live_modules if m.slug == module_slug), None)
    require(module is not None)
    return course, module


def _module_quiz(slug: str, module_slug: str):
    course, module = _course_module(slug, module_slug)
    quiz = services.quiz_for_module(module)
    require(quiz is not None)
    return course, module, quiz


def _own_attempt(attempt_id: int) -> QuizAttempt:
    """The learner's own attempt, with its quiz, module and course (every attempt page shows them), or 404."""
    attempt = db.session.get(QuizAttempt, attempt_id, options=[
        joinedload(QuizAttempt.quiz).joinedload(Quiz.module).joinedload(Module.course),
        selectinload(QuizAttempt.responses)])
    require(attempt is not None and attempt.user_id == current_user.id)
    return attempt


def _posted_answers(attempt: QuizAttempt) -> dict[int, list[str]]:
    """The answers in a posted attempt form, by position (only questions the form carried)."""
    answers = {}
    for position in range(len(attempt.layout)):
        if f"shown{position}" in request.form:
            answers[position] = request.form.getlist(f"q{position}")
    return answers


@bp.get("/courses/<slug>/<module>/quiz/")
@login_required
def quiz(slug: str, module: str):
    course, module_, quiz_ = _module_quiz(slug, module)
    enrolment = services.active_enrolment(current_user, course)
    if services.close_expired(quiz=quiz_, user=current_user):
        db.session.commit()  # attempts whose time ran out were closed (rarely: a GET writes only then)
    attempts = services.attempts_of(current_user, quiz_)
    return render_template("assessment/quiz.html", course=course, module=module_, quiz=quiz_, enrolment=enrolment,
                           attempts=attempts, current=services.open_attempt(attempts),
                           best=services.counting_attempt(quiz_, attempts),
                           left=services.attempts_left(quiz_, attempts), form=ConfirmForm())


@bp.post("/courses/<slug>/<module>/quiz/start")
@login_required
def start(slug: str, module: str):
    course, module_, quiz_ = _module_quiz(slug, module)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if services.active_enrolment(current_user, course) is None:
        flash("Enrol on the course to take its quizzes.", "error")
        return redirect(url_for("courses.detail", slug=course.slug), 303)
    try:
        attempt = services.start_attempt(current_user, quiz_)
    except services.AssessmentError as error:
        flash(str(error), "error")
        return redirect(url_for("assessment.quiz", slug=slug, module=module), 303)
    db.session.commit()
    return redirect(url_for("assessment.attempt", attempt_id=attempt.id))


@bp.get("/attempts/<int:attempt_id>/")
@login_required
def attempt(attempt_id: int):
    attempt_ = _own_attempt(attempt_id)
    if services.close_expired(quiz=attempt_.quiz, user=current_user):
        db.session.commit()
    if not attempt_.is_open:
        return redirect(url_for("assessment.review", attempt_id=attempt_.id))
    saved = {r.position: r.answer for r in attempt_.responses}
    module = attempt_.quiz.module
    return render_template("assessment/attempt.html", attempt=attempt_, quiz=attempt_.quiz, module=module,
                           course=module.course, saved=saved, form=ConfirmForm())


@bp.post("/attempts/<int:attempt_id>/answer")
@login_required
def save_one(attempt_id: int):
    """Autosave of one answer (used by the page's script); answers JSON."""
    attempt_ = _own_attempt(attempt_id)
    position = request.form.get("position", type=int)
    if position is None:
        return jsonify(saved=False, error="Say which question this answer is for."), 400
    try:
        services.save_answer(attempt_, position, request.form.getlist("values"))
    except services.TimeUpError as error:
        db.session.commit()  # the attempt is closed
        return jsonify(saved=False, error=str(error), closed=True), 409
    except services.AttemptClosedError as error:
        return jsonify(saved=False, error=str(error), closed=True), 409
    except AnswerError as error:
        db.session.rollback()
        return jsonify(saved=False, error=str(error)), 422
    db.session.commit()
    return jsonify(saved=True)


@bp.post("/attempts/<int:attempt_id>/save")
@login_required
def save(attempt_id: int):
    """Save every answer on the page (without script), then go on to the summary or back."""
    attempt_ = _own_attempt(attempt_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        problems = services.save_answers(attempt_, _posted_answers(attempt_))
    except services.AttemptClosedError as error:
        db.session.commit()
        flash(str(error), "error")
        return redirect(url_for("assessment.review", attempt_id=attempt_.id), 303)
    db.session.commit()
    for problem in problems:
        flash(problem, "error")
    if problems:
        return redirect(url_for("assessment.attempt", attempt_id=attempt_.id), 303)
    if request.form.get("then") == "finish":
        return redirect(url_for("assessment.summary", attempt_id=attempt_.id), 303)
    flash("Your answers are saved.", "success")
    return redirect(url_for("assessment.attempt", attempt_id=attempt_.id), 303)


@bp.get("/attempts/<int:attempt_id>/summary")
@login_required
def summary(attempt_id: int):
    attempt_ = _own_attempt(attempt_id)
    if not attempt_.is_open:
        return redirect(url_for("assessment.review", attempt_id=attempt_.id))
    answered, total = services.attempt_progress(attempt_)
    saved = {r.position for r in attempt_.responses if r.answer is not None}
    return render_template("assessment/summary.html", attempt=attempt_, quiz=attempt_.quiz, answered=answered,
                           total=total, saved=saved, form=ConfirmForm())


@bp.post("/attempts/<int:attempt_id>/submit")
@login_required
def submit(attempt_id: int):
    attempt_ = _own_attempt(attempt_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.submit_attempt(attempt_)
    db.session.commit()
    return redirect(url_for("assessment.review", attempt_id=attempt_.id), 303)


@bp.get("/attempts/<int:attempt_id>/review")
@login_required
def review(attempt_id: int):
    attempt_ = _own_attempt(attempt_id)
    if services.close_expired(quiz=attempt_.quiz, user=current_user):
        db.session.commit()
    if attempt_.is_open:
        return redirect(url_for("assessment.attempt", attempt_id=attempt_.id))
    quiz_ = attempt_.quiz
    full = quiz_.review == ReviewMode.FULL
    module = quiz_.module
    return render_template("assessment/review.html", attempt=attempt_, quiz=quiz_, module=module,
                           course=module.course, items=services.review(attempt_, full=full), full=full)


# Written assignments -----------------------------------------------------------------

def _module_assignment(slug: str, module_slug: str):
    course, module = _course_module(slug, module_slug)
    assignment = assignments.assignment_for_module(module)
    require(assignment is not None)
    return course, module, assignment


@bp.route("/courses/<slug>/<module>/assignment/", methods=["GET", "POST"])
@login_required
def assignment(slug: str, module: str):
    course, module_, assignment_ = _module_assignment(slug, module)
    enrolment = services.active_enrolment(current_user, course)
    submission = assignments.submission_of(current_user, assignment_)
    form = AssignmentForm(obj=submission if request.method == "GET" else None)
    preview = None
    if form.validate_on_submit():
        if enrolment is None:
            flash("Enrol on the course to write this assignment.", "error")
            return redirect(url_for("courses.detail", slug=course.slug), 303)
        try:
            submission = assignments.save_draft(current_user, assignment_, enrolment, form.text.data or "")
        except services.AssessmentError as error:
            form.text.errors.append(str(error))
        else:
            db.session.commit()
            if request.form.get("action") == "submit":
                return redirect(url_for("assessment.assignment_submit", slug=slug, module=module), 303)
            if request.form.get("action") == "preview":
                preview = submission.html
            else:
                flash("Your draft is saved.", "success")
                return redirect(url_for("assessment.assignment", slug=slug, module=module), 303)
    return form_page("assessment/assignment.html", form, course=course, module=module_, assignment=assignment_,
                     submission=submission, enrolment=enrolment, preview=preview, mark_kinds=assignments.MARK_KINDS)


@bp.route("/courses/<slug>/<module>/assignment/submit", methods=["GET", "POST"])
@login_required
def assignment_submit(slug: str, module: str):
    course, module_, assignment_ = _module_assignment(slug, module)
    submission = assignments.submission_of(current_user, assignment_)
    if submission is None or submission.status != "draft":
        return redirect(url_for("assessment.assignment", slug=slug, module=module))
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            assignments.submit(submission)
        except services.AssessmentError as error:
            flash(str(error), "error")
            return redirect(url_for("assessment.assignment", slug=slug, module=module), 303)
        db.session.commit()
        flash("Your work is submitted." + (" It was after the deadline, so it is marked as late." if submission.late
                                            else ""), "success")
        return redirect(url_for("assessment.assignment", slug=slug, module=module))
    return render_template("confirm.html", form=form, title=f"Submit “{assignment_.title}”?",
                           message=f"You have written {submission.word_count} words (the limit is "
                                   f"{assignment_.word_limit}). Once submitted, your work cannot be changed.",
                           action_label="Submit my work", cancel_url=url_for("assessment.assignment", slug=slug,
                                                                             module=module))
