"""The trainer's side: marking queue, rubric marking, moderation and release, essay marking,
quiz statistics, and the question bank with GIFT import and export."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Response as HttpResponse
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from lms.assessment import assignments, bp, forms, services
from lms.assessment.bank import export_gift, import_gift
from lms.assessment.gift import GiftError
from lms.assessment.models import (Assignment, QuestionCategory, Quiz, QuizAttempt, Response, Submission,
                                   SubmissionStatus)
from lms.courses import services as courses
from lms.courses.models import Course, Module
from lms.extensions import db
from lms.exports import csv_response
from lms.security import require
from lms.urls import form_page


def _taught_course(slug: str) -> Course:
    course = courses.get_course(slug)
    require(course is not None and services.teaches(current_user, course))  # others: 404
    return course


@bp.get("/teach/")
@login_required
def teach():
    ids = services.taught_course_ids(current_user)
    require(ids is None or ids or current_user.has_role("trainer"), 403)
    stmt = select(Course).order_by(Course.title)
    if ids is not None:
        stmt = stmt.where(Course.id.in_(ids or [0]))
    taught = db.session.scalars(stmt).all()
    waiting = dict(db.session.execute(
        select(Module.course_id, func.count(Submission.id)).join(Assignment, Assignment.module_id == Module.id)
        .join(Submission, Submission.assignment_id == Assignment.id)
        .where(Submission.status == SubmissionStatus.SUBMITTED, Module.course_id.in_([c.id for c in taught] or [0]))
        .group_by(Module.course_id)).all())
    return render_template("assessment/teach.html", courses=taught, waiting=waiting)


@bp.get("/teach/<slug>/marking")
@login_required
def queue(slug: str):
    course = _taught_course(slug)
    status = request.args.get("status", "")
    page = db.paginate(assignments.marking_queue([course.id], status), page=request.args.get("page", 1, type=int),
                       per_page=current_app.config["PER_PAGE"], error_out=False)
    essays = db.session.execute(
        select(Response, QuizAttempt).join(QuizAttempt).join(Quiz).join(Module, Module.id == Quiz.module_id)
        .where(Module.course_id == course.id, Response.needs_marking.is_(True))
        .order_by(QuizAttempt.finished_at)).all()
    return render_template("assessment/queue.html", course=course, page=page, status=status, essays=essays,
                           filter_form=forms.QueueFilterForm(request.args))


def _submission(submission_id: int) -> tuple[Submission, Course]:
    submission = db.session.get(Submission, submission_id)
    require(submission is not None)
    course = submission.assignment.module.course
    require(services.teaches(current_user, course))
    return submission, course


def _selections(assignment: Assignment) -> list[int] | None:
    values = [request.form.get(f"criterion{i}", type=int) for i in range(len(assignment.rubric))]
    return None if any(v is None for v in values) else values


@bp.route("/teach/submissions/<int:submission_id>", methods=["GET", "POST"])
@login_required
def mark(submission_id: int):
    submission, course = _submission(submission_id)
    assignment = submission.assignment
    form = forms.FeedbackForm()
    current = submission.marks[-1] if submission.marks else None
    selections = current.selections if current else None
    error = None
    if request.method == "GET" and current:
        form.feedback.data = current.feedback
    if form.validate_on_submit():
        selections = _selections(assignment)
        try:
            if selections is None:
                raise services.AssessmentError("Choose a level for every criterion.")
            assignments.mark(current_user, submission, selections, form.feedback.data, form.note.data or "")
        except services.AssessmentError as problem:
            error = str(problem)
        else:
            db.session.commit()
            flash(f"Marked: {submission.mark} out of {assignment.max_marks}.", "success")
            return redirect(url_for("assessment.mark", submission_id=submission.id))
    elif request.method == "POST":
        selections = _selections(assignment)
    status = 422 if request.method == "POST" else 200
    return render_template("assessment/mark.html", submission=submission, assignment=assignment, course=course,
                           form=form, selections=selections, error=error,
                           can_moderate=assignments.may_moderate(current_user, submission),
                           moderation_form=forms.ModerationForm(prefix="mod")), status


@bp.post("/teach/submissions/<int:submission_id>/moderate")
@login_required
def moderate(submission_id: int):
    submission, _ = _submission(submission_id)
    form = forms.ModerationForm(prefix="mod")
    if not form.validate_on_submit():
        flash("Choose whether you agree with the mark.", "error")
        return redirect(url_for("assessment.mark", submission_id=submission.id), 303)
    selections = _selections(submission.assignment) if form.decision.data == "change" else None
    try:
        assignments.moderate(current_user, submission, agree=form.decision.data == "agree",
                             selections=selections, note=form.note.data or "")
    except services.AssessmentError as problem:
        flash(str(problem), "error")
        return redirect(url_for("assessment.mark", submission_id=submission.id), 303)
    db.session.commit()
    flash("Moderation recorded.", "success")
    return redirect(url_for("assessment.mark", submission_id=submission.id))


@bp.post("/teach/submissions/<int:submission_id>/release")
@login_required
def release(submission_id: int):
    submission, course = _submission(submission_id)
    from lms.forms import ConfirmForm
    if not ConfirmForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("assessment.mark", submission_id=submission.id), 303)
    try:
        assignments.release(current_user, submission)
    except services.AssessmentError as problem:
        flash(str(problem), "error")
        return redirect(url_for("assessment.mark", submission_id=submission.id), 303)
    db.session.commit()
    flash(f"The mark is released to {submission.user.name}.", "success")
    return redirect(url_for("assessment.queue", slug=course.slug))


@bp.route("/teach/responses/<int:response_id>", methods=["GET", "POST"])
@login_required
def mark_essay(response_id: int):
    response = db.session.get(Response, response_id)
    require(response is not None)
    attempt = response.attempt
    course = attempt.quiz.module.course
    require(services.teaches(current_user, course) and services.marked_by_hand(response))
    item = attempt.layout[response.position]
    points = Decimal(item["points"])
    form = forms.EssayMarkForm()
    if form.validate_on_submit():
        if form.score.data > points:
            form.score.errors.append(f"The mark can be at most {points}.")
        else:
            try:
                services.mark_response(current_user, response, form.score.data / points, form.comment.data or "")
            except (services.AssessmentError, InvalidOperation) as problem:
                form.score.errors.append(str(problem))
            else:
                db.session.commit()
                flash("The answer is marked.", "success")
                return redirect(url_for("assessment.queue", slug=course.slug))
    return form_page("assessment/mark_essay.html", form, response=response, attempt=attempt, item=item,
                     course=course, points=points)


@bp.get("/teach/<slug>/quizzes/<int:quiz_id>/statistics")
@login_required
def statistics(slug: str, quiz_id: int):
    course = _taught_course(slug)
    quiz = db.session.get(Quiz, quiz_id)
    require(quiz is not None and quiz.module.course_id == course.id)
    stats = services.quiz_statistics(quiz)
    db.session.commit()
    return render_template("assessment/statistics.html", course=course, quiz=quiz, stats=stats)


@bp.get("/teach/<slug>/quizzes/<int:quiz_id>/statistics.csv")
@login_required
def statistics_csv(slug: str, quiz_id: int):
    course = _taught_course(slug)
    quiz = db.session.get(Quiz, quiz_id)
    require(quiz is not None and quiz.module.course_id == course.id)
    stats = services.quiz_statistics(quiz)
    db.session.commit()
    return csv_response(f"{course.slug}-quiz-{quiz.id}.csv", ["question", "attempts", "facility", "discrimination"],
                         [[q.title, q.attempts, q.facility, q.discrimination] for q in stats.questions])


@bp.get("/teach/<slug>/marking.csv")
@login_required
def queue_csv(slug: str):
    course = _taught_course(slug)
    rows = db.session.scalars(assignments.marking_queue([course.id], request.args.get("status", ""))).all()
    return csv_response(f"{course.slug}-marking.csv",
                         ["learner", "email", "assignment", "submitted", "late", "status", "mark", "moderated"],
                         [[s.user.name, s.user.email, s.assignment.title, f"{s.submitted_at:%Y-%m-%d %H:%M}",
                           "yes" if s.late else "no", s.status, s.mark if s.mark is not None else "",
                           "yes" if s.moderated else "no"] for s in rows])


@bp.get("/teach/<slug>/questions")
@login_required
def bank(slug: str):
    course = _taught_course(slug)
    categories = db.session.scalars(
        select(QuestionCategory).where(QuestionCategory.course_id == course.id).order_by(QuestionCategory.name)
        .options(selectinload(QuestionCategory.questions))).all()
    quizzes = db.session.execute(select(Quiz, Module).join(Module, Module.id == Quiz.module_id)
                                 .where(Module.course_id == course.id).order_by(Module.position)).all()
    return render_template("assessment/bank.html", course=course, categories=categories, quizzes=quizzes,
                           form=forms.GiftImportForm())


@bp.post("/teach/<slug>/questions/import")
@login_required
def import_questions(slug: str):
    course = _taught_course(slug)
    form = forms.GiftImportForm()
    if form.validate_on_submit():
        raw = form.file.data.read(2 * 1024 * 1024 + 1)
        try:
            if len(raw) > 2 * 1024 * 1024:
                raise GiftError([(0, "The file is larger than 2 MiB.")])
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            form.file.errors.append("The file is not UTF-8 text.")
        except GiftError as error:
            form.file.errors.extend(f"{message}" for _, message in error.errors)
        else:
            try:
                counts = import_gift(course, text, default_category=(form.category.data or "Imported").strip())
            except GiftError as error:
                db.session.rollback()
                form.file.errors.extend(f"Line {line}: {message}" for line, message in error.errors[:20])
            else:
                db.session.commit()
                flash("Imported " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) + ".", "success")
                return redirect(url_for("assessment.bank", slug=course.slug))
    categories = db.session.scalars(select(QuestionCategory).where(QuestionCategory.course_id == course.id)
                                    .options(selectinload(QuestionCategory.questions))).all()
    return form_page("assessment/bank.html", form, course=course, categories=categories, quizzes=[])


@bp.get("/teach/<slug>/questions/export.gift")
@login_required
def export_questions(slug: str):
    course = _taught_course(slug)
    return HttpResponse(export_gift(course), mimetype="text/plain",
                        headers={"Content-Disposition": f'attachment; filename="{course.slug}.gift"'})
