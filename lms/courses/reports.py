"""Reports for a course's team: learner progress, completion by module, certificates. All read the stored
figures (enrolment progress, module completions), never recount lessons, so they stay fast at 10,000 learners."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager

from lms.accounts.models import User
from lms.certificates.models import Certificate, ModuleCompletion
from lms.courses.models import Course, Enrolment, EnrolmentStatus, Module
from lms.database import utcnow
from lms.exports import spreadsheet_safe
from lms.extensions import db

STATUS_FILTERS = {"": "Everyone", "completed": "Completed", "in_progress": "In progress",
                  "not_started": "Not started", "left": "Left", "suspended": "Suspended"}
SORTS = {"name": User.name, "email": User.email, "progress": Enrolment.progress_percent,
         "activity": Enrolment.last_activity_at, "enrolled": Enrolment.created_at,
         "completed": Enrolment.completed_at}
PROGRESS_COLUMNS = ["name", "email", "status", "enrolled", "progress_percent", "lessons_completed",
                    "last_activity", "completed"]


def progress_query(course: Course, *, q: str = "", status: str = "", sort: str = "name", descending: bool = False):
    stmt = (select(Enrolment).join(Enrolment.user).options(contains_eager(Enrolment.user))
            .where(Enrolment.course_id == course.id))
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.name).like(pattern), func.lower(User.email).like(pattern)))
    if status == "completed":
        stmt = stmt.where(Enrolment.completed_at.is_not(None))
    elif status == "in_progress":
        stmt = stmt.where(Enrolment.completed_at.is_(None), Enrolment.lessons_completed > 0,
                          Enrolment.status == EnrolmentStatus.ACTIVE)
    elif status == "not_started":
        stmt = stmt.where(Enrolment.lessons_completed == 0, Enrolment.status == EnrolmentStatus.ACTIVE)
    elif status in {"left", "suspended"}:
        stmt = stmt.where(Enrolment.status == status)
    column = SORTS.get(sort, User.name)
    order = column.desc().nulls_last() if descending else column.asc().nulls_last()
    return stmt.order_by(order, Enrolment.id)


def status_label(enrolment: Enrolment) -> str:
    if enrolment.completed_at is not None:
        return "Completed"
    if enrolment.status != EnrolmentStatus.ACTIVE:
        return enrolment.status.capitalize()
    return "In progress" if enrolment.lessons_completed else "Not started"


def _date(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def progress_csv(stmt) -> Iterator[str]:
    """The whole table as CSV, streamed in chunks of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(PROGRESS_COLUMNS)
    yield buffer.getvalue()
    for chunk in db.session.scalars(stmt.execution_options(yield_per=1000)).partitions(1000):
        buffer.seek(0)
        buffer.truncate()
        for enrolment in chunk:
            user = enrolment.user
            writer.writerow([spreadsheet_safe(user.name), spreadsheet_safe(user.email), status_label(enrolment),
                             _date(enrolment.created_at), enrolment.progress_percent, enrolment.lessons_completed,
                             _date(enrolment.last_activity_at), _date(enrolment.completed_at)])
        yield buffer.getvalue()


@dataclass
class ModuleBar:
    title: str
    completed: int
    percent: int


def completion_by_module(course: Course) -> tuple[int, list[ModuleBar]]:
    learners = db.session.scalar(select(func.count(Enrolment.id)).where(Enrolment.course_id == course.id)) or 0
    counts = dict(db.session.execute(
        select(ModuleCompletion.module_id, func.count(ModuleCompletion.id)).join(Module)
        .where(Module.course_id == course.id).group_by(ModuleCompletion.module_id)).all())
    bars = []
    for module in db.session.scalars(select(Module).where(Module.course_id == course.id, Module.archived.is_(False))
                                     .order_by(Module.position)):
        done = counts.get(module.id, 0)
        bars.append(ModuleBar(module.title, done, round(100 * done / learners) if learners else 0))
    return learners, bars


def certificates_query(course: Course, *, expiring: bool = False):
    stmt = select(Certificate).where(Certificate.course_id == course.id, Certificate.revoked_at.is_(None),
                                     Certificate.superseded_by_id.is_(None))
    if expiring:
        from datetime import timedelta
        now = utcnow()
        stmt = stmt.where(Certificate.expires_at.is_not(None), Certificate.expires_at > now,
                          Certificate.expires_at <= now + timedelta(days=90)).order_by(Certificate.expires_at)
    else:
        stmt = stmt.order_by(Certificate.issued_at.desc())
    return stmt


def certificates_csv(stmt) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["number", "holder", "issued", "completed", "cpd_hours", "expires", "code"])
    yield buffer.getvalue()
    for chunk in db.session.scalars(stmt.execution_options(yield_per=1000)).partitions(1000):
        buffer.seek(0)
        buffer.truncate()
        for c in chunk:
            writer.writerow([c.number, spreadsheet_safe(c.holder_name), _date(c.issued_at), _date(c.completed_at),
                             f"{c.cpd_hours}", _date(c.expires_at), c.code])
        yield buffer.getvalue()
