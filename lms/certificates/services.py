"""Completion rules, the CPD ledger and issuing certificates: one place for each.

``evaluate`` is called after anything that can complete a module or course (a lesson
completed, a quiz marked, an assignment mark released) and by ``lms completion recompute``.
Completions only ever accumulate: re-evaluating never takes an issued certificate away.
"""
from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms.accounts.models import User
from lms.assessment.models import Assignment, AttemptStatus, Quiz, QuizAttempt, Submission, SubmissionStatus
from lms.certificates.models import Certificate, CpdEntry, ModuleCompletion
from lms.courses.models import Course, Enrolment, EnrolmentStatus, LessonProgress, Module
from lms.database import utcnow
from lms.extensions import db

RENEWAL_WINDOW_DAYS = 90


class CertificateError(Exception):
    """A certificate rule was broken; the message is fit to show the user."""


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                           31, 31, 30, 31, 30, 31][month - 1])
    return moment.replace(year=year, month=month, day=day)


def level_label(course: Course) -> str:
    if course.level == "cpd":
        return "Continuing professional development"
    return f"FHEQ level {course.level}" + (f", {course.credits} UK credits" if course.credits else "")


# Completion ---------------------------------------------------------------------------

@dataclass
class Evaluation:
    modules_completed: list[Module] = field(default_factory=list)
    course_completed: bool = False
    certificate: Certificate | None = None


def _passed_quizzes(user: User, quizzes: list[Quiz], since: datetime | None = None) -> set[int]:
    """Quizzes whose counting attempt is a pass (with ``since``: a pass finished after that moment)."""
    from lms.assessment.services import counting_attempt
    if not quizzes:
        return set()
    attempts: dict[int, list[QuizAttempt]] = {}
    stmt = select(QuizAttempt).where(QuizAttempt.user_id == user.id,
                                     QuizAttempt.quiz_id.in_([q.id for q in quizzes]),
                                     QuizAttempt.status != AttemptStatus.IN_PROGRESS).order_by(QuizAttempt.number)
    if since is not None:
        stmt = stmt.where(QuizAttempt.finished_at >= since)
    for attempt in db.session.scalars(stmt):
        attempts.setdefault(attempt.quiz_id, []).append(attempt)
    passed = set()
    for quiz in quizzes:
        best = counting_attempt(quiz, attempts.get(quiz.id, []))
        if best is not None and best.passed:
            passed.add(quiz.id)
    return passed


def evaluate(user: User, course: Course, *, now: datetime | None = None) -> Evaluation:
    """Record what the learner has newly completed in ``course``; issue the certificate when it is done."""
    now = now or utcnow()
    result = Evaluation()
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == user.id,
                                                          Enrolment.course_id == course.id))
    if enrolment is None or enrolment.status == EnrolmentStatus.SUSPENDED:
        return result
    modules = db.session.scalars(select(Module).where(Module.course_id == course.id, Module.archived.is_(False))
                                 .options(selectinload(Module.lessons))).all()
    module_ids = [m.id for m in modules]
    done_lessons = set(db.session.scalars(select(LessonProgress.lesson_id).where(
        LessonProgress.user_id == user.id,
        LessonProgress.lesson_id.in_([lesson.id for m in modules for lesson in m.lessons] or [0]))))
    quizzes = {q.module_id: q for q in db.session.scalars(select(Quiz).where(Quiz.module_id.in_(module_ids or [0])))}
    passed = _passed_quizzes(user, list(quizzes.values()))
    completed = {c.module_id for c in db.session.scalars(
        select(ModuleCompletion).where(ModuleCompletion.user_id == user.id,
                                       ModuleCompletion.module_id.in_(module_ids or [0])))}
    for module in modules:
        if module.id in completed:
            continue
        lessons_done = all(lesson.id in done_lessons for lesson in module.live_lessons)
        quiz = quizzes.get(module.id)
        if lessons_done and (quiz is None or quiz.id in passed):
            if _record_module(user, module, course, now):
                result.modules_completed.append(module)
            completed.add(module.id)
    all_modules = bool(modules) and all(m.id in completed for m in modules)
    if all_modules and _assignments_passed(user, module_ids):
        if enrolment.completed_at is None:
            enrolment.completed_at = now
            result.course_completed = True
            result.certificate = issue_certificate(user, course, completed_at=now)
            from lms.accreditation.services import module_mark, request_credit  # accreditation builds on this
            request_credit(user, course, passed=True, mark=module_mark(user, course), completed_at=now)
        else:
            result.certificate = _renew_if_due(user, course, quizzes, now)
    db.session.flush()
    return result


def _record_module(user: User, module: Module, course: Course, now: datetime) -> bool:
    try:
        with db.session.begin_nested():
            db.session.add(ModuleCompletion(user_id=user.id, module_id=module.id, completed_at=now))
    except IntegrityError:
        return False  # recorded by a concurrent request
    if module.cpd_hours > 0:
        try:
            with db.session.begin_nested():
                db.session.add(CpdEntry(user_id=user.id, source="platform", module_id=module.id,
                                        title=f"{course.title}: {module.title}", activity_date=now.date(),
                                        hours=module.cpd_hours, category="Course on this platform",
                                        created_at=now, updated_at=now))
        except IntegrityError:
            pass  # the hours were added before: they count once
    return True


def _assignments_passed(user: User, module_ids: list[int]) -> bool:
    assignment_ids = list(db.session.scalars(select(Assignment.id).where(Assignment.module_id.in_(module_ids or [0]))))
    if not assignment_ids:
        return True
    passed = db.session.scalars(select(Submission.assignment_id).where(
        Submission.user_id == user.id, Submission.assignment_id.in_(assignment_ids),
        Submission.status == SubmissionStatus.RELEASED, Submission.passed.is_(True))).all()
    return set(passed) == set(assignment_ids)


def recompute(course: Course) -> tuple[int, int, int]:
    """Re-evaluate every learner of a course; returns (learners, modules newly completed, certificates issued)."""
    learners = modules = certificates = 0
    for enrolment in db.session.scalars(select(Enrolment).where(Enrolment.course_id == course.id)
                                        .options(selectinload(Enrolment.user))).all():
        outcome = evaluate(enrolment.user, course)
        learners += 1
        modules += len(outcome.modules_completed)
        certificates += outcome.certificate is not None
    return learners, modules, certificates


# Certificates ---------------------------------------------------------------------------

def new_code() -> str:
    """A public verification code: 100 random bits, as 20 base-32 characters."""
    return base64.b32encode(secrets.token_bytes(13)).decode().rstrip("=")[:20]


def current_certificate(user: User, course: Course) -> Certificate | None:
    """The learner's newest certificate for the course that is not revoked or superseded."""
    return db.session.scalar(select(Certificate).where(
        Certificate.user_id == user.id, Certificate.course_id == course.id, Certificate.revoked_at.is_(None),
        Certificate.superseded_by_id.is_(None)).order_by(Certificate.valid_from.desc(), Certificate.id.desc()))


def issue_certificate(user: User, course: Course, *, completed_at: datetime, valid_from: datetime | None = None,
                      renews: Certificate | None = None) -> Certificate:
    valid_from = valid_from or completed_at
    expires = _add_months(valid_from, course.validity_months) if course.validity_months else None
    certificate = Certificate(
        code=new_code(), number=f"pending-{uuid.uuid4().hex}", credential_id=f"urn:uuid:{uuid.uuid4()}",
        user_id=user.id, course_id=course.id, version=1, holder_name=user.name, course_title=course.title,
        level_label=level_label(course), cpd_hours=Decimal(course.cpd_hours), completed_at=completed_at,
        issued_at=utcnow(), valid_from=valid_from, expires_at=expires, renews_id=renews.id if renews else None)
    db.session.add(certificate)
    db.session.flush()
    certificate.number = f"CL-{certificate.issued_at.year}-{certificate.id:06d}"
    db.session.flush()
    return certificate


def renewal_window_opens(certificate: Certificate) -> datetime | None:
    if certificate.expires_at is None:
        return None
    return certificate.expires_at - timedelta(days=RENEWAL_WINDOW_DAYS)


def _renew_if_due(user: User, course: Course, quizzes: dict[int, Quiz], now: datetime) -> Certificate | None:
    """Recertification: within the renewal window, passing every module quiz again issues a new
    certificate whose validity runs on from the old expiry."""
    current = current_certificate(user, course)
    if current is None or current.expires_at is None:
        return None
    opens = renewal_window_opens(current)
    if not (opens <= now) or db.session.scalar(select(Certificate.id).where(Certificate.renews_id == current.id)):
        return None
    if now > current.expires_at:
        valid_from = now  # renewed after it lapsed: validity starts again from today
    else:
        valid_from = current.expires_at
    if quizzes and _passed_quizzes(user, list(quizzes.values()), since=opens) != {q.id for q in quizzes.values()}:
        return None
    return issue_certificate(user, course, completed_at=now, valid_from=valid_from, renews=current)


def reissue(certificate: Certificate) -> Certificate:
    """A new version carrying the holder's current name; the old one is marked superseded."""
    if certificate.revoked_at is not None:
        raise CertificateError("A revoked certificate cannot be re-issued.")
    if certificate.superseded_by_id is not None:
        raise CertificateError("This certificate has already been replaced by a newer version.")
    user = certificate.user
    if user.name == certificate.holder_name:
        raise CertificateError("The name on the certificate already matches your profile.")
    new = Certificate(
        code=new_code(), number=f"pending-{uuid.uuid4().hex}", credential_id=f"urn:uuid:{uuid.uuid4()}",
        user_id=user.id, course_id=certificate.course_id, version=certificate.version + 1, holder_name=user.name,
        course_title=certificate.course_title, level_label=certificate.level_label, cpd_hours=certificate.cpd_hours,
        completed_at=certificate.completed_at, issued_at=utcnow(), valid_from=certificate.valid_from,
        expires_at=certificate.expires_at, renews_id=certificate.renews_id)
    db.session.add(new)
    db.session.flush()
    new.number = f"{certificate.number.rsplit('-v', 1)[0]}-v{new.version}"
    certificate.superseded_by_id = new.id
    db.session.flush()
    return new


def revoke(actor: User, certificate: Certificate, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise CertificateError("Give the reason for revoking the certificate.")
    if certificate.revoked_at is not None:
        raise CertificateError("This certificate is already revoked.")
    certificate.revoked_at = utcnow()
    certificate.revoked_reason = reason
    certificate.revoked_by_id = actor.id
    db.session.flush()


def certificate_by_code(code: str) -> Certificate | None:
    code = code.strip().upper().replace("-", "").replace(" ", "")
    if not code.isalnum() or len(code) > 40:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.code == code))


def find_certificate(text: str) -> Certificate | None:
    """The certificate whose verification code or printed number (CL-2026-000042-1) is ``text``,
    as someone would type either: any case, with or without spaces and hyphens."""
    text = text.strip()
    if not text or len(text) > 60:
        return None
    number = text.upper().replace(" ", "")
    return (db.session.scalar(select(Certificate).where(func.upper(Certificate.number) == number))
            or certificate_by_code(text))


# Reminders ------------------------------------------------------------------------------

EXPIRY_NOTICE_DAYS = 14


def due_reminders(now: datetime | None = None) -> list[tuple[Certificate, str]]:
    """Certificates whose renewal window has opened, or that expire within two weeks, not yet reminded."""
    from lms.certificates.models import CertificateReminder
    now = now or utcnow()
    candidates = db.session.scalars(select(Certificate).where(
        Certificate.expires_at.is_not(None), Certificate.expires_at > now, Certificate.revoked_at.is_(None),
        Certificate.superseded_by_id.is_(None),
        Certificate.expires_at <= now + timedelta(days=RENEWAL_WINDOW_DAYS))
        .options(selectinload(Certificate.user))).all()
    renewed = set(db.session.scalars(select(Certificate.renews_id).where(
        Certificate.renews_id.in_([c.id for c in candidates] or [0]))))
    sent = {(r.certificate_id, r.kind) for r in db.session.scalars(select(CertificateReminder).where(
        CertificateReminder.certificate_id.in_([c.id for c in candidates] or [0])))}
    due = []
    for certificate in candidates:
        if certificate.id in renewed:
            continue
        kind = "expiry" if certificate.expires_at <= now + timedelta(days=EXPIRY_NOTICE_DAYS) else "window"
        if (certificate.id, kind) not in sent:
            due.append((certificate, kind))
    return due


def record_reminder(certificate: Certificate, kind: str) -> bool:
    """Note that a reminder went; False if another run noted it first (so it is sent once)."""
    from lms.certificates.models import CertificateReminder
    try:
        with db.session.begin_nested():
            db.session.add(CertificateReminder(certificate_id=certificate.id, kind=kind))
    except IntegrityError:
        return False
    return True


@dataclass
class CertificateStanding:
    certificate: Certificate
    renewal_open: bool
    expires_soon: bool


def standing_for(user: User) -> dict[int, CertificateStanding]:
    """The learner's current certificate per course (by course id), with what is due (one query)."""
    now = utcnow()
    rows = db.session.scalars(select(Certificate).where(
        Certificate.user_id == user.id, Certificate.revoked_at.is_(None), Certificate.superseded_by_id.is_(None))
        .order_by(Certificate.valid_from)).all()
    result: dict[int, CertificateStanding] = {}
    for certificate in rows:  # the newest per course wins
        opens = renewal_window_opens(certificate)
        result[certificate.course_id] = CertificateStanding(
            certificate, renewal_open=bool(opens and opens <= now),
            expires_soon=bool(certificate.expires_at and certificate.expires_at <= now + timedelta(
                days=EXPIRY_NOTICE_DAYS)))
    return result
