"""Writing a checked content tree to the database, in the caller's transaction.

Slugs are the identity: a course, module or lesson keeps its id (and every learner's
progress) for as long as its slug stays, whatever else changes. A lesson's text is
rendered once per version. Loading the same tree again changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from lms.assessment.importer import load_module_assessment, refused_removals
from lms.courses import services
from lms.courses.content import ContentError, ContentInvalid, CourseFile, ModuleFile
from lms.courses.models import Course, CourseMedia, CourseStatus, Lesson, LessonProgress, LessonVersion, Module
from lms.courses.rendering import render_markdown, word_count
from lms.database import assign_changed, utcnow
from lms.extensions import db


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    new_versions: int = 0

    def lines(self) -> list[str]:
        out = [f"created {slug}" for slug in self.created] + [f"updated {slug}" for slug in self.updated]
        out += [f"archived {item}" for item in self.archived] + [f"deleted {item}" for item in self.deleted]
        out.append(f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged; "
                   f"{self.new_versions} new lesson version(s)")
        return out




def _media_path(course_slug: str, name: str) -> str:
    adapter = current_app.url_map.bind("localhost")
    return adapter.build("courses.media", {"slug": course_slug, "name": name.removeprefix("images/")})


def load_courses(courses: list[CourseFile], *, archive: bool = False) -> LoadReport:
    """Write ``courses``; raise ContentInvalid (after writing nothing the caller commits) on a refused change."""
    report = LoadReport()
    errors: list[ContentError] = []
    existing = {c.slug: c for c in db.session.scalars(
        select(Course).where(Course.slug.in_([c.slug for c in courses])))}
    progress_counts = _progress_counts(list(existing.values()))
    for course_file in courses:
        course = existing.get(course_file.slug)
        created = course is None
        if created:
            course = Course(slug=course_file.slug, version=1, created_at=utcnow())
            db.session.add(course)
        changed = _load_course(course, course_file, archive, progress_counts, report, errors)
        if created:
            report.created.append(course.slug)
        elif changed:
            course.version += 1
            course.updated_at = utcnow()
            report.updated.append(course.slug)
        else:
            report.unchanged.append(course.slug)
    if errors:
        raise ContentInvalid(errors)
    db.session.flush()
    for slug in report.created + report.updated:
        course = existing.get(slug) or db.session.scalar(select(Course).where(Course.slug == slug))
        services.refresh_course_totals(course)
    db.session.flush()
    return report


def _progress_counts(courses: list[Course]) -> dict[int, int]:
    """Learners with progress, per lesson id, over the given courses."""
    if not courses:
        return {}
    rows = db.session.execute(
        select(LessonProgress.lesson_id, func.count(LessonProgress.id))
        .join(Lesson, Lesson.id == LessonProgress.lesson_id).join(Module, Module.id == Lesson.module_id)
        .where(Module.course_id.in_([c.id for c in courses])).group_by(LessonProgress.lesson_id))
    return dict(rows.all())


def _assessment_activity(module_ids: list[int]) -> dict[int, int]:
    """Quiz attempts and assignment submissions per module: learners' records a removal must keep."""
    from lms.assessment.models import Assignment, Quiz, QuizAttempt, Submission
    if not module_ids:
        return {}
    counts: dict[int, int] = {}
    for module_id, count in db.session.execute(
            select(Quiz.module_id, func.count(QuizAttempt.id)).join(QuizAttempt, QuizAttempt.quiz_id == Quiz.id)
            .where(Quiz.module_id.in_(module_ids)).group_by(Quiz.module_id)):
        counts[module_id] = counts.get(module_id, 0) + count
    for module_id, count in db.session.execute(
            select(Assignment.module_id, func.count(Submission.id))
            .join(Submission, Submission.assignment_id == Assignment.id)
            .where(Assignment.module_id.in_(module_ids)).group_by(Assignment.module_id)):
        counts[module_id] = counts.get(module_id, 0) + count
    return counts


def _load_course(course: Course, cf: CourseFile, archive: bool, progress: dict[int, int],
                 report: LoadReport, errors: list[ContentError]) -> bool:
    status = CourseStatus.PUBLISHED.value if cf.status == "published" else CourseStatus.DRAFT.value
    changed = assign_changed(course, title=cf.title, summary=cf.summary, level=cf.level, credits=cf.credits,
                      price=cf.price, currency=cf.currency, status=status, validity_months=cf.validity_months,
                      outcomes=cf.outcomes, reading=cf.reading)
    if status == CourseStatus.PUBLISHED and course.published_at is None:
        course.published_at = utcnow()
    changed |= _load_media(course, cf)

    modules = {m.slug: m for m in course.modules}
    for position, mf in enumerate(cf.modules):
        module = modules.pop(mf.slug, None)
        if module is None:
            module = Module(slug=mf.slug)
            course.modules.append(module)
            changed = True
        changed |= assign_changed(module, title=mf.title, summary=mf.summary, position=position,
                           cpd_hours=Decimal(mf.cpd_hours), archived=False)
        changed |= _load_lessons(course, module, mf, archive, progress, report, errors)
        refused = refused_removals(module, mf)
        errors.extend(ContentError(cf.path, cf.modules_line, problem) for problem in refused)
        if not refused:
            changed |= load_module_assessment(course, module, mf)
    activity = _assessment_activity([m.id for m in modules.values() if not m.archived])
    for module in modules.values():
        if module.archived:
            continue
        learners = sum(progress.get(lesson.id, 0) for lesson in module.lessons) + activity.get(module.id, 0)
        label = f"{course.slug}/{module.slug}"
        if not learners:
            course.modules.remove(module)
            report.deleted.append(label)
        elif archive:
            module.archived = True
            report.archived.append(label)
        else:
            errors.append(ContentError(cf.path, cf.modules_line,
                                       f"module '{module.slug}' was removed, but learners have progress in it; "
                                       "put it back, or load with --archive to hide it and keep their records"))
            continue
        changed = True
    return changed


def _load_media(course: Course, cf: CourseFile) -> bool:
    changed = False
    media = {m.name: m for m in course.media}
    for name, image in cf.images.items():
        row = media.pop(name, None)
        if row is None:
            course.media.append(CourseMedia(name=name, content_type=image.content_type, data=image.data,
                                            sha256=image.sha256))
            changed = True
        elif row.sha256 != image.sha256:
            assign_changed(row, content_type=image.content_type, data=image.data, sha256=image.sha256)
            changed = True
    for row in media.values():
        course.media.remove(row)
        changed = True
    return changed


def _load_lessons(course: Course, module: Module, mf: ModuleFile, archive: bool, progress: dict[int, int],
                  report: LoadReport, errors: list[ContentError]) -> bool:
    changed = False
    lessons = {lesson.slug: lesson for lesson in module.lessons}
    for position, lf in enumerate(mf.lessons):
        lesson = lessons.pop(lf.slug, None)
        if lesson is None:
            lesson = Lesson(slug=lf.slug)
            module.lessons.append(lesson)
            changed = True
        changed |= assign_changed(lesson, title=lf.title, position=position, minutes=lf.minutes, archived=False)
        current = lesson.current_version
        if current is None or current.content_hash != lf.content_hash:
            number = max((v.number for v in lesson.versions), default=0) + 1
            version = LessonVersion(
                number=number, source=lf.source, content_hash=lf.content_hash, word_count=word_count(lf.source),
                html=render_markdown(lf.source, image_url=lambda src: _media_path(course.slug, src)))
            lesson.versions.append(version)
            lesson.current_version = version
            report.new_versions += 1
            changed = True
    for lesson in lessons.values():
        if lesson.archived:
            continue
        label = f"{course.slug}/{module.slug}/{lesson.slug}"
        if not progress.get(lesson.id):
            module.lessons.remove(lesson)
            report.deleted.append(label)
        elif archive:
            lesson.archived = True
            report.archived.append(label)
        else:
            errors.append(ContentError(mf.path, mf.lessons_line,
                                       f"lesson '{lesson.slug}' was removed, but {progress[lesson.id]} learner(s) "
                                       "have progress in it; put it back, or load with --archive to hide it and "
                                       "keep their records"))
            continue
        changed = True
    return changed
