"""The course team's reports, each table also as CSV."""
from __future__ import annotations

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user, login_required
from sqlalchemy import func, select

from lms.courses import bp, reports, services
from lms.extensions import db
from lms.exports import csv_response
from lms.security import require

PER_PAGE = 50


def _taught(slug: str):
    from lms.assessment.services import teaches
    course = services.get_course(slug)
    require(course is not None and teaches(current_user, course))
    return course


def _progress_args():
    q = request.args.get("q", "").strip()[:100]
    status = request.args.get("status", "")
    sort = request.args.get("sort", "name")
    return (q, status if status in reports.STATUS_FILTERS else "", sort if sort in reports.SORTS else "name",
            request.args.get("dir") == "desc")


@bp.get("/teach/<slug>/reports")
@login_required
def report(slug: str):
    from lms.assessment.models import Quiz, Submission, SubmissionStatus
    course = _taught(slug)
    q, status, sort, descending = _progress_args()
    page = db.paginate(reports.progress_query(course, q=q, status=status, sort=sort, descending=descending),
                       page=request.args.get("page", 1, type=int), per_page=PER_PAGE, error_out=False,
                       count=True)
    learners, bars = reports.completion_by_module(course)
    from lms.courses.models import Module
    quizzes = db.session.execute(select(Quiz, Module).join(Module, Module.id == Quiz.module_id)
                                 .where(Module.course_id == course.id).order_by(Module.position)).all()
    from lms.assessment.models import Assignment
    waiting = db.session.scalar(select(func.count(Submission.id)).join(Assignment).join(
        Module, Module.id == Assignment.module_id).where(Module.course_id == course.id,
                                                         Submission.status == SubmissionStatus.SUBMITTED)) or 0
    issued = db.session.scalar(select(func.count()).select_from(reports.certificates_query(course).subquery()))
    expiring = db.session.scalars(reports.certificates_query(course, expiring=True).limit(20)).all()
    return render_template("courses/report.html", course=course, page=page, q=q, status=status, sort=sort,
                           descending=descending, learners=learners, bars=bars, quizzes=quizzes, waiting=waiting,
                           issued=issued, expiring=expiring, statuses=reports.STATUS_FILTERS,
                           status_label=reports.status_label)


@bp.get("/teach/<slug>/reports/progress.csv")
@login_required
def report_progress_csv(slug: str):
    course = _taught(slug)
    q, status, sort, descending = _progress_args()
    stmt = reports.progress_query(course, q=q, status=status, sort=sort, descending=descending)
    return Response(stream_with_context(reports.progress_csv(stmt)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{course.slug}-progress.csv"'})


@bp.get("/teach/<slug>/reports/certificates.csv")
@login_required
def report_certificates_csv(slug: str):
    course = _taught(slug)
    stmt = reports.certificates_query(course, expiring=request.args.get("expiring") == "1")
    return Response(stream_with_context(reports.certificates_csv(stmt)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{course.slug}-certificates.csv"'})


@bp.get("/teach/<slug>/reports/modules.csv")
@login_required
def report_modules_csv(slug: str):
    course = _taught(slug)
    learners, bars = reports.completion_by_module(course)
    return csv_response(f"{course.slug}-modules.csv", ["module", "completed", "learners", "percent"],
                         [[b.title, b.completed, learners, b.percent] for b in bars])
