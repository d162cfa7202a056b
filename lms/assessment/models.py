"""Question bank, quizzes and attempts; written assignments, submissions and marks."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (JSON, Boolean, CheckConstraint, ForeignKey, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import UTCDateTime, utcnow
from lms.extensions import db


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


QUESTION_KINDS = ("single", "multiple", "truefalse", "short", "numeric", "matching", "ordering", "essay")


class QuestionCategory(db.Model):
    __tablename__ = "question_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))

    questions: Mapped[list[Question]] = relationship(back_populates="category")

    __table_args__ = (UniqueConstraint("course_id", "name"),)


class Question(db.Model):
    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("question_categories.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    text_format: Mapped[str] = mapped_column(String(20), default="moodle")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    general_feedback: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("1"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    category: Mapped[QuestionCategory] = relationship(back_populates="questions")

    __table_args__ = (
        UniqueConstraint("category_id", "title"),
        CheckConstraint(f"kind IN ({_in(QUESTION_KINDS)})", name="kind_known"),
        CheckConstraint("points > 0", name="points_positive"),
    )


class GradingMethod(StrEnum):
    HIGHEST = "highest"
    LAST = "last"


class ReviewMode(StrEnum):
    MARKS = "marks"          # the mark only
    FULL = "full"            # the mark, the right answers and the feedback


class Quiz(db.Model):
    __tablename__ = "quizzes"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    pass_mark: Mapped[int] = mapped_column(Integer, default=70)  # per cent
    attempts_allowed: Mapped[int] = mapped_column(Integer, default=0)  # 0: unlimited
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    grading: Mapped[str] = mapped_column(String(10), default=GradingMethod.HIGHEST.value)
    review: Mapped[str] = mapped_column(String(10), default=ReviewMode.FULL.value)
    shuffle_questions: Mapped[bool] = mapped_column(Boolean, default=True)

    module: Mapped["Module"] = relationship()  # noqa: F821
    slots: Mapped[list[QuizSlot]] = relationship(back_populates="quiz", order_by="QuizSlot.position",
                                                 cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("pass_mark BETWEEN 0 AND 100", name="pass_mark_range"),
        CheckConstraint("attempts_allowed >= 0", name="attempts_not_negative"),
        CheckConstraint(f"grading IN ({_in(GradingMethod)})", name="grading_known"),
        CheckConstraint(f"review IN ({_in(ReviewMode)})", name="review_known"),
    )


class QuizSlot(db.Model):
    """One place in a quiz: a fixed question, or N questions drawn at random from a category."""

    __tablename__ = "quiz_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("question_categories.id", ondelete="CASCADE"))
    draw_count: Mapped[int] = mapped_column(Integer, default=1)

    quiz: Mapped[Quiz] = relationship(back_populates="slots")
    question: Mapped[Question | None] = relationship()
    category: Mapped[QuestionCategory | None] = relationship()

    __table_args__ = (
        CheckConstraint("(question_id IS NULL) <> (category_id IS NULL)", name="question_or_category"),
        CheckConstraint("draw_count >= 1", name="draw_positive"),
    )


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"        # marked, or waiting for an essay to be marked
    EXPIRED = "expired"            # closed by the clock; marked on what was saved in time


class QuizAttempt(db.Model):
    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_id: Mapped[int] = mapped_column(ForeignKey("quizzes.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=AttemptStatus.IN_PROGRESS.value, index=True)
    # The questions as they were when the attempt began, in the order shown, with their keys.
    layout: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    max_score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    needs_marking: Mapped[bool] = mapped_column(Boolean, default=False)

    quiz: Mapped[Quiz] = relationship()
    responses: Mapped[list[Response]] = relationship(back_populates="attempt", order_by="Response.position",
                                                     cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("quiz_id", "user_id", "number"),
        CheckConstraint(f"status IN ({_in(AttemptStatus)})", name="status_known"),
    )

    @property
    def is_open(self) -> bool:
        return self.status == AttemptStatus.IN_PROGRESS


class Response(db.Model):
    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    answer: Mapped[object | None] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    fraction: Mapped[Decimal | None] = mapped_column(Numeric(6, 5))
    score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    needs_marking: Mapped[bool] = mapped_column(Boolean, default=False)
    marker_comment: Mapped[str] = mapped_column(Text, default="")
    marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    attempt: Mapped[QuizAttempt] = relationship(back_populates="responses")

    __table_args__ = (UniqueConstraint("attempt_id", "position"),)


# Written assignments ------------------------------------------------------------------

class Assignment(db.Model):
    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    brief: Mapped[str] = mapped_column(Text)
    brief_html: Mapped[str] = mapped_column(Text)
    word_limit: Mapped[int] = mapped_column(Integer)
    pass_mark: Mapped[int] = mapped_column(Integer, default=50)
    # Days after enrolment the work is due; none means no deadline.
    due_days: Mapped[int | None] = mapped_column(Integer)
    rubric: Mapped[list] = mapped_column(JSON, default=list)

    module: Mapped["Module"] = relationship()  # noqa: F821

    __table_args__ = (CheckConstraint("pass_mark BETWEEN 0 AND 100", name="pass_mark_range"),)

    @property
    def max_marks(self) -> int:
        return sum(max(level["marks"] for level in criterion["levels"]) for criterion in self.rubric)


class SubmissionStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    MARKED = "marked"
    RELEASED = "released"


class Submission(db.Model):
    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default=SubmissionStatus.DRAFT.value, index=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The current mark (the newest MarkRecord), copied here for queues and reports.
    mark: Mapped[int | None] = mapped_column(Integer)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    moderated: Mapped[bool] = mapped_column(Boolean, default=False)

    assignment: Mapped[Assignment] = relationship()
    user: Mapped["User"] = relationship()  # noqa: F821
    marks: Mapped[list[MarkRecord]] = relationship(back_populates="submission", order_by="MarkRecord.version",
                                                   cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("assignment_id", "user_id"),
        CheckConstraint(f"status IN ({_in(SubmissionStatus)})", name="status_known"),
    )


class MarkRecord(db.Model):
    """Every mark given or changed on a submission, with who, when and why; never edited."""

    __tablename__ = "mark_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # first, moderation-agreed, moderation-changed, remark
    marker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    selections: Mapped[list] = mapped_column(JSON, default=list)  # level index chosen per criterion
    total: Mapped[int] = mapped_column(Integer)
    feedback: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")  # why (required when a mark changes)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="marks")
    marker: Mapped["User | None"] = relationship()  # noqa: F821

    __table_args__ = (UniqueConstraint("submission_id", "version"),)
