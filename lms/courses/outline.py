"""A course's live modules and lessons as plain data, built once per course version and cached.

Every learner of a version sees the same outline, so the course page, the lesson player, resume and
the dashboard read it from the cache (no query) instead of loading modules and lessons each time.
The entries answer the same names as the models (``live_modules``, ``live_lessons``, ``module``),
so the rules in ``lms.courses.services`` work on either.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app, has_request_context, url_for
from sqlalchemy import select

from lms.caching import cached, for_course_version
from lms.courses.models import Course, Lesson, LessonVersion, Module
from lms.extensions import db


@dataclass(eq=False)
class LessonEntry:
    id: int
    slug: str
    title: str
    minutes: int
    version_id: int | None
    content_hash: str
    module: ModuleEntry = field(repr=False)
    url: str = ""  # the lesson page's path, built once with the outline (pages list many lessons)
    archived: bool = False


@dataclass(eq=False)
class ModuleEntry:
    id: int
    slug: str
    title: str
    summary: str
    cpd_hours: Decimal
    lessons: list[LessonEntry] = field(default_factory=list)
    archived: bool = False

    @property
    def live_lessons(self) -> list[LessonEntry]:
        return self.lessons


@dataclass(eq=False)
class CourseOutline:
    course_id: int
    version: int
    modules: list[ModuleEntry]

    @property
    def live_modules(self) -> list[ModuleEntry]:
        return self.modules

    @property
    def module_ids(self) -> list[int]:
        return [m.id for m in self.modules]


def outline_for(course: Course) -> CourseOutline:
    """The live outline of this version of ``course`` (from the cache; two queries to build)."""
    return for_course_version(course, "outline", lambda: _build(course.id, course.slug, course.version))


def _lesson_path(course_slug: str, module_slug: str, lesson_slug: str) -> str:
    values = {"slug": course_slug, "module": module_slug, "lesson": lesson_slug}
    if has_request_context():
        return url_for("courses.lesson", **values)
    return current_app.url_map.bind("localhost").build("courses.lesson", values)


def _build(course_id: int, course_slug: str, version: int) -> CourseOutline:
    modules = {m.id: ModuleEntry(m.id, m.slug, m.title, m.summary or "", m.cpd_hours) for m in db.session.scalars(
        select(Module).where(Module.course_id == course_id, Module.archived.is_(False)).order_by(Module.position))}
    lessons = db.session.execute(
        select(Lesson.id, Lesson.module_id, Lesson.slug, Lesson.title, Lesson.minutes, Lesson.current_version_id,
               LessonVersion.content_hash)
        .outerjoin(LessonVersion, LessonVersion.id == Lesson.current_version_id)
        .where(Lesson.module_id.in_(list(modules) or [0]), Lesson.archived.is_(False))
        .order_by(Lesson.position, Lesson.id))
    for row in lessons:
        module = modules[row.module_id]
        module.lessons.append(LessonEntry(row.id, row.slug, row.title, row.minutes, row.current_version_id,
                                          row.content_hash or "", module,
                                          _lesson_path(course_slug, module.slug, row.slug)))
    return CourseOutline(course_id, version, list(modules.values()))


def lesson_html(lesson: LessonEntry) -> str:
    """The lesson's current version as stored, sanitised HTML (cached: a version never changes)."""
    if lesson.version_id is None:
        return ""
    return cached(f"lesson-html:{lesson.version_id}:{lesson.content_hash}",
                  lambda: db.session.scalar(select(LessonVersion.html).where(LessonVersion.id == lesson.version_id))
                  or "")
