"""Course rules: what a learner can see, enrolment, progress, and where to resume."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from lms.accounts.models import Role, User
from lms.courses.models import (Course, CourseStatus, Enrolment, EnrolmentSource, EnrolmentStatus, Lesson,
                                LessonProgress, Module)
from lms.courses.outline import outline_for
from lms.database import utcnow
from lms.extensions import db


class CourseError(Exception):
    """A course rule was broken; the message is fit to show the user."""


class EnrolmentClosedError(CourseError):
    pass


class PaymentRequiredError(CourseError):
    pass


class NotEnrolledError(CourseError):
    pass


# Finding courses ---------------------------------------------------------------

HOURS_FILTERS = {
    "": ("Any length", None, None),
    "short": ("Up to 5 hours", None, Decimal("5")),
    "medium": ("5 to 10 hours", Decimal("5"), Decimal("10")),
    "long": ("Over 10 hours", Decimal("10"), None),
}
LEVEL_FILTERS = {"": "Any level", "cpd": "CPD", "7": "Level 7 (postgraduate)"}


def catalogue_query(q: str = "", level: str = "", hours: str = ""):
    """Published courses matching a search over title and summary, a level and a length."""
    stmt = select(Course).where(Course.status == CourseStatus.PUBLISHED).order_by(Course.level, Course.title)
    if q:
        words = [w for w in q.lower().split() if w][:8]
        for word in words:
            pattern = f"%{word}%"
            stmt = stmt.where(or_(func.lower(Course.title).like(pattern), func.lower(Course.summary).like(pattern)))
    if level in LEVEL_FILTERS and level:
        stmt = stmt.where(Course.level == level)
    if hours in HOURS_FILTERS and hours:
        _, low, high = HOURS_FILTERS[hours]
        if low is not None:
            stmt = stmt.where(Course.cpd_hours > low) if high is None else stmt.where(Course.cpd_hours >= low)
        if high is not None:
            stmt = stmt.where(Course.cpd_hours <= high)
    return stmt


def get_course(slug: str) -> Course | None:
    return db.session.scalar(select(Course).where(Course.slug == slug))


def get_course_with_outline(slug: str) -> Course | None:
    """The course with its modules and lessons loaded (three queries, whatever the size)."""
    return db.session.scalar(
        select(Course).where(Course.slug == slug)
        .options(selectinload(Course.modules).selectinload(Module.lessons)))


def can_view(user: User, course: Course) -> bool:
    if course.status in (CourseStatus.PUBLISHED, CourseStatus.ARCHIVED):
        return True
    return user.is_authenticated and user.has_role(Role.ADMIN)


def enrolment_for(user: User, course: Course) -> Enrolment | None:
    if not user.is_authenticated:
        return None
    return db.session.scalar(select(Enrolment).where(Enrolment.user_id == user.id,
                                                     Enrolment.course_id == course.id))


def enrolments_by_course(user: User, course_ids: list[int]) -> dict[int, Enrolment]:
    if not user.is_authenticated or not course_ids:
        return {}
    rows = db.session.scalars(select(Enrolment).where(Enrolment.user_id == user.id,
                                                      Enrolment.course_id.in_(course_ids)))
    return {e.course_id: e for e in rows}


def completed_lesson_ids(user: User, course: Course | None = None, lesson_ids: list[int] | None = None) -> set[int]:
    """The ids of the lessons ``user`` has completed: of ``course``'s live outline, or of ``lesson_ids``."""
    if not user.is_authenticated:
        return set()
    if course is not None:
        lesson_ids = [lesson.id for lesson in ordered_lessons(outline_for(course))]
    stmt = select(LessonProgress.lesson_id).where(LessonProgress.user_id == user.id)
    if lesson_ids is not None:
        stmt = stmt.where(LessonProgress.lesson_id.in_(lesson_ids or [0]))
    return set(db.session.scalars(stmt))


def ordered_lessons(course: Course) -> list[Lesson]:
    """The live lessons of a loaded course, in reading order."""
    return [lesson for module in course.live_modules for lesson in module.live_lessons]


# Enrolment -------------------------------------------------------------------

def enrol(user: User, course: Course, *, source: str = EnrolmentSource.FREE) -> Enrolment:
    """Enrol ``user`` (or bring back their earlier enrolment, progress and all)."""
    # A paid place is honoured whatever became of the course after the learner paid.
    if course.status != CourseStatus.PUBLISHED and source != EnrolmentSource.PAYMENT:
        raise EnrolmentClosedError("This course is not open for enrolment.")
    enrolment = enrolment_for(user, course)
    if source == EnrolmentSource.FREE and not course.is_free and enrolment is None:
        # A learner who left still holds their place (paid, by code or before the fee): they come back free.
        raise PaymentRequiredError("This course has a fee; enrol through the payment page.")
    if enrolment is not None:
        if enrolment.status == EnrolmentStatus.SUSPENDED:
            raise EnrolmentClosedError("Your place on this course is suspended. Contact the course team.")
        if enrolment.status == EnrolmentStatus.LEFT:
            enrolment.status = EnrolmentStatus.ACTIVE.value
            enrolment.left_at = None
            db.session.flush()
        return enrolment
    enrolment = Enrolment(user_id=user.id, course_id=course.id, source=EnrolmentSource(source).value,
                          status=EnrolmentStatus.ACTIVE.value, lessons_completed=0, progress_percent=0)
    try:
        with db.session.begin_nested():
            db.session.add(enrolment)
    except IntegrityError:  # enrolled by a concurrent request
        enrolment = enrolment_for(user, course)
    _refresh_enrolment(enrolment, course)
    return enrolment


def leave(enrolment: Enrolment) -> None:
    """Leave a course; progress is kept and comes back on re-enrolling."""
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise CourseError("You are not taking this course.")
    enrolment.status = EnrolmentStatus.LEFT.value
    enrolment.left_at = utcnow()
    db.session.flush()


def suspend(enrolment: Enrolment) -> None:
    """Suspend a place (its payment was refunded): the learner keeps their progress but cannot study,
    nor come back free after leaving."""
    if enrolment.status == EnrolmentStatus.SUSPENDED:
        raise CourseError("This place is already suspended.")
    enrolment.status = EnrolmentStatus.SUSPENDED.value
    db.session.flush()


def reinstate(enrolment: Enrolment) -> None:
    """Lift a suspension (the learner paid again, or redeemed a code); progress comes back with it."""
    if enrolment.status != EnrolmentStatus.SUSPENDED:
        raise CourseError("Only a suspended place can be reinstated.")
    enrolment.status = EnrolmentStatus.ACTIVE.value
    enrolment.left_at = None
    db.session.flush()


# Progress --------------------------------------------------------------------

# Opening a lesson writes only when it tells something new: another lesson, or the first visit in a while.
ACTIVITY_RESOLUTION = timedelta(hours=1)


def visit_is_news(enrolment: Enrolment, lesson) -> bool:
    """Whether opening ``lesson`` changes what is recorded (a GET writes only then)."""
    return (enrolment.last_lesson_id != lesson.id or enrolment.last_activity_at is None
            or utcnow() - enrolment.last_activity_at >= ACTIVITY_RESOLUTION)


def record_visit(enrolment: Enrolment, lesson) -> None:
    """Remember the lesson the learner opened last, and when (the caller commits, as a writer)."""
    enrolment.last_lesson_id = lesson.id
    enrolment.last_activity_at = utcnow()
    db.session.flush()


def complete_lesson(enrolment: Enrolment, lesson: Lesson) -> bool:
    """Mark ``lesson`` complete for the enrolment's learner. True when it was not complete before.

    The enrolment's figures move in the same transaction, by one, with no recount.
    """
    if not enrolment.is_active:
        raise NotEnrolledError("Enrol on the course to record your progress.")
    try:
        with db.session.begin_nested():
            db.session.add(LessonProgress(user_id=enrolment.user_id, lesson_id=lesson.id))
    except IntegrityError:
        return False  # already complete (a double click, or another tab)
    percent = (Enrolment.lessons_completed + 1) * 100 // max(enrolment.course.lesson_count, 1)
    db.session.execute(
        update(Enrolment).where(Enrolment.id == enrolment.id).values(
            lessons_completed=Enrolment.lessons_completed + 1,
            progress_percent=case((percent > 100, 100), else_=percent),
            last_lesson_id=lesson.id, last_activity_at=utcnow()),
        execution_options={"synchronize_session": False})
    db.session.refresh(enrolment)
    _evaluate_completion(enrolment)
    return True


def _evaluate_completion(enrolment: Enrolment) -> None:
    from lms.certificates.services import evaluate  # certificates builds on courses
    evaluate(enrolment.user, enrolment.course)


def _completed_count(course_id: int, user_column):
    """A select() counting the learner's completed live lessons of a course."""
    return (select(func.count(LessonProgress.id))
            .join(Lesson, Lesson.id == LessonProgress.lesson_id)
            .join(Module, Module.id == Lesson.module_id)
            .where(LessonProgress.user_id == user_column, Module.course_id == course_id,
                   Lesson.archived.is_(False), Module.archived.is_(False)))


def _refresh_enrolment(enrolment: Enrolment, course: Course) -> None:
    done = db.session.scalar(_completed_count(course.id, enrolment.user_id))
    enrolment.lessons_completed = done
    enrolment.progress_percent = min(100, done * 100 // course.lesson_count) if course.lesson_count else 0
    db.session.flush()


def refresh_course_totals(course: Course) -> None:
    """Recount a course's stored totals and every enrolment's figures, after its content changed."""
    live = (select(func.count(Lesson.id), func.coalesce(func.sum(Lesson.minutes), 0))
            .join(Module).where(Module.course_id == course.id, Module.archived.is_(False),
                                Lesson.archived.is_(False)))
    lessons, minutes = db.session.execute(live).one()
    modules = db.session.execute(select(func.count(Module.id), func.coalesce(func.sum(Module.cpd_hours), 0))
                                 .where(Module.course_id == course.id, Module.archived.is_(False))).one()
    course.lesson_count, course.total_minutes = lessons, minutes
    course.module_count, course.cpd_hours = modules[0], Decimal(modules[1])
    done = _completed_count(course.id, Enrolment.user_id).scalar_subquery()
    db.session.execute(
        update(Enrolment).where(Enrolment.course_id == course.id).values(
            lessons_completed=done,
            progress_percent=case((lessons > 0, done * 100 // max(lessons, 1)), else_=0)),
        execution_options={"synchronize_session": False})
    db.session.flush()


def module_progress(module: Module, completed: set[int]) -> tuple[int, int]:
    lessons = module.live_lessons
    return sum(1 for lesson in lessons if lesson.id in completed), len(lessons)


def resume_lesson(course: Course, enrolment: Enrolment | None, completed: set[int]) -> Lesson | None:
    """Where to pick up: the last lesson opened if unfinished, else the next unfinished one."""
    lessons = ordered_lessons(course)
    if not lessons:
        return None
    last = enrolment.last_lesson_id if enrolment else None
    positions = {lesson.id: i for i, lesson in enumerate(lessons)}
    if last in positions:
        if last not in completed:
            return lessons[positions[last]]
        for lesson in lessons[positions[last] + 1:]:
            if lesson.id not in completed:
                return lesson
    for lesson in lessons:
        if lesson.id not in completed:
            return lesson
    return lessons[positions[last]] if last in positions else lessons[0]


def neighbours(course: Course, lesson: Lesson) -> tuple[Lesson | None, Lesson | None]:
    lessons = ordered_lessons(course)
    index = next(i for i, item in enumerate(lessons) if item.id == lesson.id)
    return (lessons[index - 1] if index else None, lessons[index + 1] if index + 1 < len(lessons) else None)


@dataclass
class DashboardItem:
    enrolment: Enrolment
    course: Course
    next_lesson: object | None  # a LessonEntry of the course's outline
    complete: bool          # the course is complete (lessons, quizzes and any assignment)
    lessons_done: bool


def dashboard(user: User) -> list[DashboardItem]:
    """The learner's current and finished courses, each with its next step, in a fixed number of queries
    (the outlines come from the cache)."""
    enrolments = db.session.scalars(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.status != EnrolmentStatus.LEFT)
        .options(joinedload(Enrolment.course))
        .order_by(Enrolment.last_activity_at.desc().nulls_last(), Enrolment.created_at.desc())).all()
    outlines = {e.course_id: outline_for(e.course) for e in enrolments}
    lesson_ids = [lesson.id for outline in outlines.values() for lesson in ordered_lessons(outline)]
    completed = completed_lesson_ids(user, lesson_ids=lesson_ids)
    items = []
    for enrolment in enrolments:
        course, outline = enrolment.course, outlines[enrolment.course_id]
        lessons_done = course.lesson_count > 0 and all(l.id in completed for l in ordered_lessons(outline))
        items.append(DashboardItem(enrolment, course, resume_lesson(outline, enrolment, completed),
                                   enrolment.completed_at is not None, lessons_done))
    return items


def find_lesson(course: Course, module_slug: str, lesson_slug: str) -> Lesson | None:
    for module in course.modules:
        if module.slug == module_slug and not module.archived:
            for lesson in module.lessons:
                if lesson.slug == lesson_slug and not lesson.archived:
                    return lesson
    return None



# Course team -----------------------------------------------------------------

def course_team(course: Course) -> list[User]:
    from lms.courses.models import CourseTrainer
    return list(db.session.scalars(select(User).join(CourseTrainer, CourseTrainer.user_id == User.id)
                                   .where(CourseTrainer.course_id == course.id).order_by(User.name)))


def add_trainer(course: Course, user: User) -> None:
    """Put a trainer on the course's team (they may then mark its work and see its reports)."""
    from lms.courses.models import CourseTrainer
    if not user.has_role(Role.TRAINER):
        raise CourseError(f"{user.name} does not hold the trainer role; grant it first.")
    if db.session.get(CourseTrainer, (course.id, user.id)) is not None:
        raise CourseError(f"{user.name} is already on this course's team.")
    db.session.add(CourseTrainer(course_id=course.id, user_id=user.id))
    db.session.flush()


def remove_trainer(course: Course, user: User) -> None:
    from lms.courses.models import CourseTrainer
    member = db.session.get(CourseTrainer, (course.id, user.id))
    if member is not None:
        db.session.delete(member)
        db.session.flush()
