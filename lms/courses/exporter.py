"""A course from the database back out as content files, in the format ``lms content load`` reads.

``course_to_file`` gives the same CourseFile the loader would read from the exported files,
so export then load gives an equal course, questions included.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.courses.content import AssignmentFile, CourseFile, ImageFile, LessonFile, ModuleFile, QuizSettings
from lms.courses.models import Course, Lesson, Module


def course_to_file(course: Course) -> CourseFile:
    from lms.assessment.bank import to_gift_question
    from lms.assessment.models import Assignment, Quiz, QuizSlot
    base = f"content/courses/{course.slug}"
    modules = db_modules(course)
    quizzes = {q.module_id: q for q in db_quizzes(course, Quiz, QuizSlot)}
    assignments = {a.module_id: a for a in db_assignments(course, Assignment)}
    module_files = []
    for module in modules:
        lessons = [LessonFile(slug=lesson.slug, title=lesson.title, minutes=lesson.minutes,
                              source=lesson.current_version.source if lesson.current_version else "",
                              path=f"{base}/{module.slug}/{lesson.slug}.md")
                   for lesson in module.live_lessons]
        quiz = quizzes.get(module.id)
        settings = questions = None
        if quiz is not None:
            settings = QuizSettings(title=quiz.title, pass_mark=quiz.pass_mark, attempts=quiz.attempts_allowed,
                                    time_limit_minutes=quiz.time_limit_minutes, grading=quiz.grading,
                                    review=quiz.review)
            questions = []
            for slot in quiz.slots:
                if slot.question is None:
                    continue
                gq = to_gift_question(slot.question)
                if gq is not None:
                    if gq.category == module.slug:
                        gq.category = None
                    questions.append(gq)
        assignment = assignments.get(module.id)
        module_files.append(ModuleFile(
            slug=module.slug, title=module.title, summary=module.summary, cpd_hours=module.cpd_hours,
            lessons=lessons, path=f"{base}/{module.slug}/module.yaml", lessons_line=0, quiz=settings,
            quiz_path=f"{base}/{module.slug}/quiz.gift" if quiz else None, questions=questions or [],
            assignment=AssignmentFile(title=assignment.title, brief=assignment.brief,
                                      word_limit=assignment.word_limit, pass_mark=assignment.pass_mark,
                                      due_days=assignment.due_days, rubric=assignment.rubric,
                                      path=f"{base}/{module.slug}/assignment.yaml") if assignment else None))
    return CourseFile(
        slug=course.slug, title=course.title, summary=course.summary, level=course.level, credits=course.credits,
        price=course.price, currency=course.currency, status="published" if course.is_published else "draft",
        validity_months=course.validity_months, outcomes=list(course.outcomes), reading=list(course.reading),
        modules=module_files, path=f"{base}/course.yaml", modules_line=0,
        images={m.name: ImageFile(m.name, m.content_type, m.data) for m in course.media})


def db_modules(course: Course) -> list[Module]:
    from lms.extensions import db
    return [m for m in db.session.scalars(
        select(Module).where(Module.course_id == course.id, Module.archived.is_(False)).order_by(Module.position)
        .options(selectinload(Module.lessons).selectinload(Lesson.current_version)))]


def db_quizzes(course, Quiz, QuizSlot):
    from lms.extensions import db
    return db.session.scalars(select(Quiz).join(Module, Module.id == Quiz.module_id)
                              .where(Module.course_id == course.id)
                              .options(selectinload(Quiz.slots).selectinload(QuizSlot.question))).all()


def db_assignments(course, Assignment):
    from lms.extensions import db
    return db.session.scalars(select(Assignment).join(Module, Module.id == Assignment.module_id)
                              .where(Module.course_id == course.id)).all()


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)


def files_of(cf: CourseFile) -> dict[str, bytes]:
    """Every file of the course's folder, by path inside it."""
    from lms.assessment.gift import to_gift
    course = {"title": cf.title, "summary": cf.summary, "level": int(cf.level) if cf.level.isdigit() else cf.level}
    if cf.credits is not None:
        course["credits"] = cf.credits
    course.update(price=cf.price, currency=cf.currency, status=cf.status)
    if cf.validity_months:
        course["validity_months"] = cf.validity_months
    course["outcomes"] = cf.outcomes
    course["modules"] = [m.slug for m in cf.modules]
    if cf.reading:
        course["reading"] = cf.reading
    files = {"course.yaml": _yaml(course).encode()}
    for name, image in cf.images.items():
        files[name] = image.data
    for module in cf.modules:
        data = {"title": module.title, "summary": module.summary, "cpd_hours": _number(module.cpd_hours),
                "lessons": [lesson.slug for lesson in module.lessons]}
        if module.quiz is not None:
            quiz = {"title": module.quiz.title, "pass_mark": module.quiz.pass_mark, "attempts": module.quiz.attempts}
            if module.quiz.time_limit_minutes:
                quiz["time_limit_minutes"] = module.quiz.time_limit_minutes
            quiz.update(grading=module.quiz.grading, review=module.quiz.review)
            data["quiz"] = quiz
            files[f"{module.slug}/quiz.gift"] = to_gift(module.questions).encode()
        files[f"{module.slug}/module.yaml"] = _yaml(data).encode()
        for lesson in module.lessons:
            front = _yaml({"title": lesson.title, "minutes": lesson.minutes})
            files[f"{module.slug}/{lesson.slug}.md"] = f"---\n{front}---\n\n{lesson.source}".encode()
        if module.assignment is not None:
            a = module.assignment
            assignment = {"title": a.title, "brief": a.brief, "word_limit": a.word_limit, "pass_mark": a.pass_mark}
            if a.due_days:
                assignment["due_days"] = a.due_days
            assignment["rubric"] = a.rubric
            files[f"{module.slug}/assignment.yaml"] = _yaml(assignment).encode()
    return files


def _number(value):
    return int(value) if value == int(value) else float(value)


def export_to(course: Course, root: Path) -> Path:
    """Write the course under ``root/courses/<slug>/`` (replacing what was there); returns that folder."""
    import shutil
    folder = Path(root) / "courses" / course.slug
    if folder.exists():
        shutil.rmtree(folder)
    for name, data in files_of(course_to_file(course)).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def export_zip(course: Course) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files_of(course_to_file(course)).items()):
            archive.writestr(f"courses/{course.slug}/{name}", data)
    return buffer.getvalue()
