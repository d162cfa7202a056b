"""Authoring in the browser: every edit goes to the course's draft; publishing makes it the new version."""
from __future__ import annotations

from decimal import Decimal

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.accounts.models import Role
from lms.courses import bp, drafts, forms
from lms.courses.content import ContentInvalid, CourseFile, QuizSettings
from lms.courses.models import Course, CourseStatus, CourseTrainer
from lms.courses.rendering import render_markdown
from lms.extensions import db
from lms.forms import ConfirmForm
from lms.security import require, roles_required
from lms.urls import form_page


def _authored(slug: str) -> Course:
    from lms.assessment.services import teaches
    course = db.session.scalar(select(Course).where(Course.slug == slug))
    require(course is not None and teaches(current_user, course))  # another trainer: 404
    return course


def _save(course: Course, cf: CourseFile, what: str):
    drafts.save_draft(course, cf, current_user, what=what)
    db.session.commit()
    flash(f"Saved to the draft: {what}. Learners see it once you publish.", "success")
    return redirect(url_for("courses.author", slug=course.slug))


@bp.get("/author/")
@roles_required(Role.TRAINER, Role.ADMIN)
def author_home():
    from lms.assessment.services import taught_course_ids
    ids = taught_course_ids(current_user)
    stmt = select(Course).order_by(Course.title)
    if ids is not None:
        stmt = stmt.where(Course.id.in_(ids or [0]))
    courses = db.session.scalars(stmt).all()
    draft_ids = {row for row in db.session.scalars(
        select(drafts.CourseDraft.course_id).where(drafts.CourseDraft.course_id.in_([c.id for c in courses] or [0])))}
    return render_template("courses/author/home.html", courses=courses, draft_ids=draft_ids)


@bp.route("/author/new", methods=["GET", "POST"])
@roles_required(Role.TRAINER, Role.ADMIN)
def author_new():
    form = forms.NewCourseForm()
    if form.validate_on_submit():
        if db.session.scalar(select(Course.id).where(Course.slug == form.slug.data)):
            form.slug.errors.append("A course already uses that web address; choose another.")
        else:
            course = Course(slug=form.slug.data, title=form.title.data, summary=form.summary.data, version=0,
                            status=CourseStatus.DRAFT.value, level=form.level.data, outcomes=[], reading=[])
            db.session.add(course)
            db.session.flush()
            if current_user.has_role(Role.TRAINER):
                db.session.add(CourseTrainer(course_id=course.id, user_id=current_user.id))
            cf = drafts.current_draft(course)
            _apply_details(cf, form)
            drafts.save_draft(course, cf, current_user, what="course created")
            db.session.commit()
            flash("The course is created as a draft. Add modules and lessons, then publish.", "success")
            return redirect(url_for("courses.author", slug=course.slug))
    return form_page("courses/author/course_form.html", form, course=None)


def _apply_details(cf: CourseFile, form) -> None:
    cf.title, cf.summary, cf.level = form.title.data, form.summary.data, form.level.data
    cf.outcomes = [line.strip() for line in form.outcomes.data.splitlines() if line.strip()]
    cf.reading = [line.strip() for line in (form.reading.data or "").splitlines() if line.strip()]
    cf.credits = form.credits.data if form.level.data != "cpd" else None
    cf.validity_months = form.validity_months.data or None
    cf.price = int((form.price.data * 100).to_integral_value())
    cf.currency = form.currency.data


@bp.get("/author/<slug>/")
@login_required
def author(slug: str):
    course = _authored(slug)
    return _author_page(course, drafts.current_draft(course), image_form=forms.ImageForm())


def _author_page(course: Course, cf: CourseFile, *, image_form):
    from lms.courses.exporter import course_to_file
    pending = drafts.changes(course_to_file(course), cf) if drafts.has_draft(course) else None
    return render_template("courses/author/course.html", course=course, cf=cf, pending=pending,
                           problems=drafts.draft_problems(cf), form=ConfirmForm(), image_form=image_form)


@bp.route("/author/<slug>/details", methods=["GET", "POST"])
@login_required
def author_details(slug: str):
    course = _authored(slug)
    cf = drafts.current_draft(course)
    form = forms.CourseDetailsForm(data={
        "title": cf.title, "summary": cf.summary, "outcomes": "\n".join(cf.outcomes),
        "reading": "\n".join(cf.reading), "level": cf.level, "credits": cf.credits,
        "validity_months": cf.validity_months, "price": Decimal(cf.price) / 100, "currency": cf.currency,
    } if request.method == "GET" else None)
    if form.validate_on_submit():
        _apply_details(cf, form)
        return _save(course, cf, "course details")
    return form_page("courses/author/course_form.html", form, course=course)


@bp.route("/author/<slug>/modules/new", methods=["GET", "POST"])
@login_required
def author_module_new(slug: str):
    course = _authored(slug)
    cf = drafts.current_draft(course)
    form = forms.NewModuleForm()
    if form.validate_on_submit():
        try:
            module = drafts.add_module(cf, slug=form.slug.data, title=form.title.data, summary=form.summary.data,
                                       cpd_hours=form.cpd_hours.data)
        except drafts.DraftError as error:
            form.slug.errors.append(str(error))
        else:
            return _save(course, cf, f"module “{module.title}” added")
    return form_page("courses/author/module_form.html", form, course=course, module=None)


@bp.route("/author/<slug>/modules/<module>/edit", methods=["GET", "POST"])
@login_required
def author_module_edit(slug: str, module: str):
    course = _authored(slug)
    cf = drafts.current_draft(course)
    current = _or_404(lambda: drafts._module(cf, module))
    form = forms.ModuleForm(obj=current if request.method == "GET" else None)
    if form.validate_on_submit():
        drafts.update_module(cf, module, title=form.title.data, summary=form.summary.data,
                             cpd_hours=form.cpd_hours.data)
        return _save(course, cf, f"module “{form.title.data}” edited")
    return form_page("courses/author/module_form.html", form, course=course, module=current)


def _or_404(find):
    try:
        return find()
    except drafts.DraftError:
        abort(404)


@bp.route("/author/<slug>/modules/<module>/lessons/new", methods=["GET", "POST"])
@login_required
def author_lesson_new(slug: str, module: str):
    course = _authored(slug)
    cf = drafts.current_draft(course)
    current = _or_404(lambda: drafts._module(cf, module))
    form = forms.NewLessonForm()
    preview = None
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            preview = render_markdown(form.source.data)
        else:
            try:
                lesson = drafts.add_lesson(cf, module, slug=form.slug.data, title=form.title.data,
                                           minutes=form.minutes.data, source=form.source.data)
            except drafts.DraftError as error:
                form.slug.errors.append(str(error))
            else:
                return _save(course, cf, f"lesson “{lesson.title}” added")
    return form_page("courses/author/lesson_form.html", form, course=course, module=current, lesson=None,
                     preview=preview)


@bp.route("/author/<slug>/modules/<module>/lessons/<lesson>/edit", methods=["GET", "POST"])
@login_required
def author_lesson_edit(slug: str, module: str, lesson: str):
    course = _authored(slug)
    cf = drafts.current_draft(course)
    current_module = _or_404(lambda: drafts._module(cf, module))
    current = _or_404(lambda: drafts._lesson(current_module, lesson))
    form = forms.LessonForm(obj=current if request.method == "GET" else None)
    preview = None
    if form.validate_on_submit():
        if request.form.get("action") == "preview":
            preview = render_markdown(form.source.data)
        else:
            drafts.update_lesson(cf, module, lesson, title=form.title.data, minutes=form.minutes.data,
                                 source=form.source.data)
            return _save(course, cf, f"lesson “{form.title.data}” edited")
    return form_page("courses/author/lesson_form.html", form, course=course, module=current_module, lesson=current,
                     preview=preview)


@bp.route("/author/<slug>/remove", methods=["GET", "POST"])
@login_required
def author_remove(slug: str):
    """Remove a module or a lesson from the draft, after a confirmation."""
    course = _authored(slug)
    cf = drafts.current_draft(course)
    module_slug, lesson_slug = request.values.get("module", ""), request.values.get("lesson", "")
    module = _or_404(lambda: drafts._module(cf, module_slug))
    lesson = _or_404(lambda: drafts._lesson(module, lesson_slug)) if lesson_slug else None
    form = ConfirmForm()
    if form.validate_on_submit():
        if lesson:
            drafts.remove_lesson(cf, module_slug, lesson_slug)
        else:
            drafts.remove_module(cf, module_slug)
        return _save(course, cf, f"{'lesson' if lesson else 'module'} “{(lesson or module).title}” removed")
    name = (lesson or module).title
    return render_template("confirm.html", form=form, title=f"Remove “{name}”?",
                           message="It leaves the draft. Learners who started it keep their records: when you "
                                   "publish, it is hidden rather than deleted.",
                           action_label="Remove", cancel_url=url_for("courses.author", slug=course.slug))


@bp.post("/author/<slug>/move")
@login_required
def author_move(slug: str):
    course = _authored(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    cf = drafts.current_draft(course)
    try:
        drafts.move(cf, module_slug=request.form.get("module", ""), lesson_slug=request.form.get("lesson", ""),
                    direction=request.form.get("direction", ""))
    except (drafts.DraftError, StopIteration):
        flash("That item cannot move that way.", "error")
        return redirect(url_for("courses.author", slug=course.slug), 303)
    drafts.save_draft(course, cf, current_user, what="order changed")
    db.session.commit()
    anchor = request.form.get("lesson") or request.form.get("module")
    return redirect(url_for("courses.author", slug=course.slug) + f"#item-{anchor}", 303)


@bp.route("/author/<slug>/modules/<module>/quiz", methods=["GET", "POST"])
@login_required
def author_quiz(slug: str, module: str):
    from lms.assessment.gift import to_gift
    course = _authored(slug)
    cf = drafts.current_draft(course)
    current = _or_404(lambda: drafts._module(cf, module))
    settings = current.quiz or QuizSettings()
    form = forms.QuizForm(data={"title": settings.title, "pass_mark": settings.pass_mark,
                                "attempts": settings.attempts, "time_limit_minutes": settings.time_limit_minutes,
                                "grading": settings.grading, "review": settings.review,
                                "questions": to_gift(current.questions)} if request.method == "GET" else None)
    preview = None
    if form.validate_on_submit():
        settings = QuizSettings(title=form.title.data, pass_mark=form.pass_mark.data, attempts=form.attempts.data,
                                time_limit_minutes=form.time_limit_minutes.data, grading=form.grading.data,
                                review=form.review.data)
        try:
            questions = drafts.set_quiz(cf, module, settings, form.questions.data)
        except drafts.DraftError as error:
            form.questions.errors.append(str(error))
        else:
            if request.form.get("action") == "preview":
                preview = _learner_view(questions)
            else:
                return _save(course, cf, f"quiz of “{current.title}” ({len(questions)} questions)")
    return form_page("courses/author/quiz_form.html", form, course=course, module=current, preview=preview)


def _learner_view(questions) -> list[dict]:
    """The questions as a learner would see them at the start of an attempt."""
    import random

    from lms.assessment.questions import GIFT_TO_KIND, data_from_gift, question_type
    rng = random.Random(0)
    items = []
    for position, gq in enumerate(questions):
        kind = GIFT_TO_KIND[gq.kind]
        items.append({"position": position, "kind": kind, "title": gq.title, "points": "1",
                      "text_html": render_markdown(gq.text),
                      "presented": question_type(kind).present(data_from_gift(gq), rng)})
    return items


@bp.route("/author/<slug>/modules/<module>/quiz/remove", methods=["GET", "POST"])
@login_required
def author_quiz_remove(slug: str, module: str):
    course = _authored(slug)
    cf = drafts.current_draft(course)
    current = _or_404(lambda: drafts._module(cf, module))
    form = ConfirmForm()
    if form.validate_on_submit():
        drafts.set_quiz(cf, module, None, "")
        return _save(course, cf, f"quiz of “{current.title}” removed")
    return render_template("confirm.html", form=form, title=f"Remove the quiz of “{current.title}”?",
                           message="Once learners have attempted it, publishing without it is refused: "
                                   "their attempts are never deleted.",
                           action_label="Remove quiz", cancel_url=url_for("courses.author", slug=course.slug))


@bp.post("/author/preview")
@login_required
def author_preview():
    """Live preview for the lesson editor: the same renderer and sanitiser learners see."""
    require(current_user.has_any_role(Role.TRAINER, Role.ADMIN), 403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return jsonify(html=render_markdown(request.form.get("source", "")[:100_000]))


@bp.post("/author/<slug>/images")
@login_required
def author_image(slug: str):
    course = _authored(slug)
    cf = drafts.current_draft(course)
    form = forms.ImageForm()
    if form.validate_on_submit():
        data = form.file.data.read(drafts.MAX_IMAGE_BYTES + 1)
        try:
            name = drafts.add_image(cf, form.file.data.filename or "image", data)
        except drafts.DraftError as error:
            form.file.errors.append(str(error))
        else:
            drafts.save_draft(course, cf, current_user, what=f"image {name} uploaded")
            db.session.commit()
            flash(f"Uploaded. Use it in a lesson as ![what it shows]({name}).", "success")
            return redirect(url_for("courses.author", slug=course.slug) + "#images", 303)
    return _author_page(course, cf, image_form=form), 422


@bp.get("/author/<slug>/images/<name>")
@login_required
def author_image_file(slug: str, name: str):
    course = _authored(slug)
    image = drafts.current_draft(course).images.get(f"images/{name}")
    require(image is not None)
    response = Response(image.data, mimetype=image.content_type)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/author/<slug>/publish", methods=["GET", "POST"])
@login_required
def author_publish(slug: str):
    from lms.courses.exporter import course_to_file
    course = _authored(slug)
    cf = drafts.current_draft(course)
    form = ConfirmForm()
    problems = drafts.draft_problems(cf)
    if form.validate_on_submit() and not problems:
        try:
            drafts.publish(course, current_user)
        except ContentInvalid as invalid:
            db.session.rollback()
            problems = [error.message for error in invalid.errors]
        else:
            db.session.commit()
            flash(f"Published: {course.title} is now version {course.version}. Learners keep their progress.",
                  "success")
            return redirect(url_for("courses.author", slug=course.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("courses/author/publish.html", course=course, form=form, problems=problems,
                           changes=drafts.changes(course_to_file(course), cf)), status


@bp.route("/author/<slug>/discard", methods=["GET", "POST"])
@login_required
def author_discard(slug: str):
    course = _authored(slug)
    form = ConfirmForm()
    if form.validate_on_submit():
        drafts.discard_draft(course, current_user)
        db.session.commit()
        flash("The draft is discarded; the published course is unchanged.", "info")
        return redirect(url_for("courses.author", slug=course.slug))
    return render_template("confirm.html", form=form, title="Discard the draft?",
                           message="Every change since the last publish is lost. The published course stays as it is.",
                           action_label="Discard draft", cancel_url=url_for("courses.author", slug=course.slug))


@bp.route("/author/<slug>/archive", methods=["GET", "POST"])
@login_required
def author_archive(slug: str):
    course = _authored(slug)
    form = ConfirmForm()
    if form.validate_on_submit():
        drafts.archive(course, current_user)
        db.session.commit()
        flash(f"{course.title} is archived: no new enrolments; learners on it keep access and records.", "info")
        return redirect(url_for("courses.author", slug=course.slug))
    return render_template("confirm.html", form=form, title=f"Archive {course.title}?",
                           message="Nobody new can enrol. Learners already on the course keep access, progress and "
                                   "certificates.",
                           action_label="Archive course", cancel_url=url_for("courses.author", slug=course.slug))
