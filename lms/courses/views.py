"""Catalogue, course page, enrolment, the lesson player and the learner's dashboard."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.courses import bp, services
from lms.courses.models import CourseMedia
from lms.courses.outline import lesson_html, outline_for
from lms.database import writing
from lms.extensions import db
from lms.forms import ConfirmForm
from lms.security import require


def module_assessments(course, outline, user):
    """Each module's quiz and assignment with the learner's standing (imported late: assessment uses courses)."""
    from lms.assessment.services import module_assessments as load
    return load(course, outline, user)


def _visible_course(slug: str):
    course = services.get_course(slug)
    require(course is not None and services.can_view(current_user, course))
    return course


@bp.get("/courses/")
def catalogue():
    q = request.args.get("q", "").strip()[:100]
    level = request.args.get("level", "")
    hours = request.args.get("hours", "")
    level = level if level in services.LEVEL_FILTERS else ""
    hours = hours if hours in services.HOURS_FILTERS else ""
    page = db.paginate(services.catalogue_query(q, level, hours), page=request.args.get("page", 1, type=int) or 1,
                       per_page=12, error_out=False)
    enrolments = services.enrolments_by_course(current_user, [c.id for c in page.items])
    return render_template("courses/catalogue.html", page=page, q=q, level=level, hours=hours,
                           enrolments=enrolments, level_filters=services.LEVEL_FILTERS,
                           hours_filters=services.HOURS_FILTERS)


@bp.get("/courses/<slug>/")
def detail(slug: str):
    course = _visible_course(slug)
    outline = outline_for(course)
    enrolment = services.enrolment_for(current_user, course)
    completed = services.completed_lesson_ids(current_user, course) if enrolment else set()
    resume = services.resume_lesson(outline, enrolment, completed) if enrolment else None
    return render_template("courses/course_detail.html", course=course, outline=outline, enrolment=enrolment,
                           completed=completed, resume=resume, module_progress=services.module_progress,
                           certificate=_certificate(course, enrolment),
                           # A guest gets no form, so no CSRF token and no session cookie: the page stays cacheable.
                           form=ConfirmForm() if current_user.is_authenticated else None,
                           assessments=module_assessments(course, outline, current_user))


@bp.post("/courses/<slug>/enrol")
@login_required
def enrol(slug: str):
    course = _visible_course(slug)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.enrol(current_user, course, source="free")
    except services.CourseError as error:
        flash(str(error), "error")
        return redirect(url_for("courses.detail", slug=course.slug), 303)
    db.session.commit()
    flash(f"You are enrolled on {course.title}.", "success")
    return redirect(url_for("courses.resume", slug=course.slug))


@bp.route("/courses/<slug>/leave", methods=["GET", "POST"])
@login_required
def leave(slug: str):
    course = _visible_course(slug)
    enrolment = services.enrolment_for(current_user, course)
    require(enrolment is not None and enrolment.is_active)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.leave(enrolment)
        db.session.commit()
        flash(f"You have left {course.title}. Your progress is kept if you come back.", "info")
        return redirect(url_for("courses.dashboard"))
    return render_template("confirm.html", form=form, title=f"Leave {course.title}?",
                           message="The course leaves your dashboard. Your progress is kept, and comes back "
                                   "if you enrol again.",
                           action_label="Leave course", cancel_url=url_for("courses.detail", slug=course.slug))


@bp.get("/courses/<slug>/resume")
@login_required
def resume(slug: str):
    course = _visible_course(slug)
    enrolment = services.enrolment_for(current_user, course)
    if enrolment is None or not enrolment.is_active:
        return redirect(url_for("courses.detail", slug=course.slug))
    lesson = services.resume_lesson(outline_for(course), enrolment,
                                    services.completed_lesson_ids(current_user, course))
    if lesson is None:
        flash("This course has no lessons yet.", "info")
        return redirect(url_for("courses.detail", slug=course.slug))
    return redirect(url_for("courses.lesson", slug=course.slug, module=lesson.module.slug, lesson=lesson.slug))


def _certificate(course, enrolment):
    """The learner's certificate for a course they completed (imported late: certificates uses courses)."""
    if enrolment is None or enrolment.completed_at is None:
        return None
    from lms.certificates.services import current_certificate
    return current_certificate(current_user, course)


def _quiz_after(course, lesson, assessments) -> dict | None:
    """The module's quiz, when ``lesson`` is the module's last lesson and the module has one: where
    "Next" goes from there, so the quiz is not skipped on the way to the next module."""
    entry = assessments.get(lesson.module.id)
    if entry is None or entry.quiz is None or lesson.module.live_lessons[-1].id != lesson.id:
        return None
    return {"url": url_for("assessment.quiz", slug=course.slug, module=lesson.module.slug), "title": entry.quiz.title}


def _lesson_context(slug: str, module: str, lesson_slug: str):
    course = _visible_course(slug)
    outline = outline_for(course)
    lesson = services.find_lesson(outline, module, lesson_slug)
    require(lesson is not None)
    return course, outline, lesson


@bp.get("/courses/<slug>/<module>/<lesson>/")
@login_required
def lesson(slug: str, module: str, lesson: str):
    course, outline, current = _lesson_context(slug, module, lesson)
    enrolment = services.enrolment_for(current_user, course)
    if enrolment is None or not enrolment.is_active:
        flash("Enrol on the course to read its lessons.", "info")
        return redirect(url_for("courses.detail", slug=course.slug))
    if services.visit_is_news(enrolment, current):
        with writing():  # rarely: only when the learner moves to another lesson
            services.record_visit(enrolment, current)
    completed = services.completed_lesson_ids(current_user, course)
    previous, following = services.neighbours(outline, current)
    assessments = module_assessments(course, outline, current_user)
    template = "courses/lesson_print.html" if request.args.get("view") == "print" else "courses/lesson.html"
    return render_template(template, course=course, outline=outline, lesson=current, module=current.module,
                           lesson_html=lesson_html(current), enrolment=enrolment, completed=completed,
                           previous=previous, following=following, module_progress=services.module_progress,
                           form=ConfirmForm(), assessments=assessments,
                           next_quiz=_quiz_after(course, current, assessments))


@bp.post("/courses/<slug>/<module>/<lesson>/complete")
@login_required
def complete(slug: str, module: str, lesson: str):
    course, outline, current = _lesson_context(slug, module, lesson)
    enrolment = services.enrolment_for(current_user, course)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if enrolment is None or not enrolment.is_active:
        flash("Enrol on the course to record your progress.", "error")
        return redirect(url_for("courses.detail", slug=course.slug), 303)
    services.complete_lesson(enrolment, current)
    db.session.commit()
    if request.form.get("next") == "1":
        quiz = _quiz_after(course, current, module_assessments(course, outline, current_user))
        _, following = services.neighbours(outline, current)
        if quiz is not None:
            return redirect(quiz["url"])
        if following is not None:
            return redirect(following.url)
    flash(f"“{current.title}” is complete.", "success")
    return redirect(url_for("courses.lesson", slug=course.slug, module=current.module.slug, lesson=current.slug))


@bp.get("/courses/<slug>/media/<name>")
def media(slug: str, name: str):
    course = _visible_course(slug)
    item = db.session.scalar(select(CourseMedia).where(CourseMedia.course_id == course.id,
                                                       CourseMedia.name == f"images/{name}"))
    require(item is not None)
    if request.if_none_match.contains(item.sha256):
        return Response(status=304)
    response = Response(item.data, mimetype=item.content_type)
    response.set_etag(item.sha256)
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@bp.get("/learning/")
@login_required
def dashboard():
    from lms.certificates.services import standing_for  # certificates builds on courses
    items = services.dashboard(current_user)
    in_progress = [item for item in items if not item.complete]
    finished = [item for item in items if item.complete]
    standing = standing_for(current_user)
    due = [s for s in standing.values() if s.renewal_open]
    return render_template("courses/dashboard.html", in_progress=in_progress, finished=finished,
                           standing=standing, due=due)


@bp.get("/teach/<slug>/export.zip")
@login_required
def export_zip(slug: str):
    """The course as content files (the format ``lms content load`` reads), for its team."""
    from lms.assessment.services import teaches
    from lms.courses.exporter import export_zip as build
    course = services.get_course(slug)
    require(course is not None and teaches(current_user, course))
    return Response(build(course), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{course.slug}-content.zip"'})
