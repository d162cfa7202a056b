"""Courses, their modules and lessons (with rendered versions), enrolments and progress."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (JSON, Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import UTCDateTime, utcnow
from lms.extensions import db


class CourseStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    LEFT = "left"
    SUSPENDED = "suspended"


class EnrolmentSource(StrEnum):
    FREE = "free"
    PAYMENT = "payment"
    CODE = "code"
    ADMIN = "admin"


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    # "cpd", or an FHEQ level as text ("7").
    level: Mapped[str] = mapped_column(String(10), default="cpd")
    credits: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer, default=0)  # minor units
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    status: Mapped[str] = mapped_column(String(20), default=CourseStatus.DRAFT.value, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    validity_months: Mapped[int | None] = mapped_column(Integer)
    outcomes: Mapped[list] = mapped_column(JSON, default=list)
    reading: Mapped[list] = mapped_column(JSON, default=list)
    # Totals over the course's live modules and lessons, kept up to date when content changes.
    cpd_hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal("0"))
    lesson_count: Mapped[int] = mapped_column(Integer, default=0)
    module_count: Mapped[int] = mapped_column(Integer, default=0)
    total_minutes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    modules: Mapped[list[Module]] = relationship(
        back_populates="course", order_by="Module.position", cascade="all, delete-orphan")
    media: Mapped[list[CourseMedia]] = relationship(back_populates="course", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(CourseStatus)})", name="status_known"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("cpd_hours >= 0", name="cpd_hours_not_negative"),
    )

    def __repr__(self) -> str:
        return f"<Course {self.slug}>"

    @property
    def is_free(self) -> bool:
        return self.price == 0

    @property
    def is_published(self) -> bool:
        return self.status == CourseStatus.PUBLISHED

    @property
    def fheq_level(self) -> int | None:
        return int(self.level) if self.level.isdigit() else None

    @property
    def live_modules(self) -> list[Module]:
        return [m for m in self.modules if not m.archived]


class Module(db.Model):
    __tablename__ = "modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    cpd_hours: Mapped[Decimal] = mapped_column(Numeric(5, 1), default=Decimal("0"))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)

    course: Mapped[Course] = relationship(back_populates="modules")
    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="module", order_by="Lesson.position", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("course_id", "slug"),
        CheckConstraint("cpd_hours >= 0", name="cpd_hours_not_negative"),
    )

    def __repr__(self) -> str:
        return f"<Module {self.slug}>"

    @property
    def live_lessons(self) -> list[Lesson]:
        return [lesson for lesson in self.lessons if not lesson.archived]


class Lesson(db.Model):
    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[int] = mapped_column(Integer, default=5)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("lesson_versions.id", use_alter=True, ondelete="SET NULL"))

    module: Mapped[Module] = relationship(back_populates="lessons")
    current_version: Mapped[LessonVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)
    versions: Mapped[list[LessonVersion]] = relationship(
        back_populates="lesson", foreign_keys="LessonVersion.lesson_id", cascade="all, delete-orphan",
        order_by="LessonVersion.number")

    __table_args__ = (UniqueConstraint("module_id", "slug"),)

    def __repr__(self) -> str:
        return f"<Lesson {self.slug}>"


class LessonVersion(db.Model):
    """One version of a lesson's text, with its HTML rendered and sanitised once, when saved."""

    __tablename__ = "lesson_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lesson: Mapped[Lesson] = relationship(back_populates="versions", foreign_keys=[lesson_id])

    __table_args__ = (UniqueConstraint("lesson_id", "number"),)


class CourseMedia(db.Model):
    """An image a course's lessons show, kept in the database so every app server can serve it."""

    __tablename__ = "course_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    course: Mapped[Course] = relationship(back_populates="media")

    __table_args__ = (UniqueConstraint("course_id", "name"),)


class CourseTrainer(db.Model):
    """A member of a course's team: may mark its work and see its reports."""

    __tablename__ = "course_trainers"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Enrolment(db.Model):
    __tablename__ = "enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(20), default=EnrolmentSource.FREE.value)
    status: Mapped[str] = mapped_column(String(20), default=EnrolmentStatus.ACTIVE.value)
    # Progress figures, updated the moment a lesson is completed (reports read them, never recount).
    lessons_completed: Mapped[int] = mapped_column(Integer, default=0)
    progress_percent: Mapped[int] = mapped_column(Integer, default=0)
    last_lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    course: Mapped[Course] = relationship()
    user: Mapped["User"] = relationship()  # noqa: F821
    last_lesson: Mapped[Lesson | None] = relationship()

    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        CheckConstraint(f"status IN ({_in(EnrolmentStatus)})", name="status_known"),
        CheckConstraint(f"source IN ({_in(EnrolmentSource)})", name="source_known"),
        CheckConstraint("progress_percent BETWEEN 0 AND 100", name="percent_range"),
    )

    @property
    def is_active(self) -> bool:
        return self.status == EnrolmentStatus.ACTIVE


class LessonProgress(db.Model):
    """A learner's completion of one lesson. Kept by user and lesson, so it outlives an enrolment."""

    __tablename__ = "lesson_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)


class CourseDraft(db.Model):
    """The edits to a course not yet published: the whole course as content data (see lms.courses.drafts)."""

    __tablename__ = "course_drafts"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
