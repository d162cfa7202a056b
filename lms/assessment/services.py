"""Quiz attempts (start, save, submit, mark, review) and who may do what with them.

Time limits and attempt limits are enforced here, on the server. A status moves only
through ``_close``, a compare-and-set in the database, so a double submit closes once.
"""
from __future__ import annotations

import random
import secrets
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lms.accounts.models import Role, User
from lms.assessment.models import (AttemptStatus, GradingMethod, Question, Quiz, QuizAttempt, QuizSlot,
                                   Response)
from lms.assessment.questions import AnswerError, OptionReview, question_type
from lms.courses.models import Course, CourseTrainer, Enrolment, EnrolmentStatus, Module
from lms.caching import for_course_version
from lms.courses.rendering import render_markdown
from lms.database import utcnow
from lms.extensions import db

GRACE = timedelta(seconds=5)  # network latency allowance on a time limit


class AssessmentError(Exception):
    """A rule about quizzes or assignments was broken; the message is fit to show the user."""


class NoAttemptsLeftError(AssessmentError):
    pass


class AttemptClosedError(AssessmentError):
    pass


class TimeUpError(AttemptClosedError):
    pass


# Who may do what ----------------------------------------------------------------------

def teaches(user: User, course: Course) -> bool:
    """A trainer on the course's team, or an admin."""
    if not user.is_authenticated:
        return False
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.TRAINER) and db.session.get(CourseTrainer, (course.id, user.id)) is not None


def taught_course_ids(user: User) -> list[int] | None:
    """The courses whose work ``user`` may mark; None means all (an admin)."""
    if user.has_role(Role.ADMIN):
        return None
    if not user.has_role(Role.TRAINER):
        return []
    return list(db.session.scalars(select(CourseTrainer.course_id).where(CourseTrainer.user_id == user.id)))


def active_enrolment(user: User, course: Course) -> Enrolment | None:
    return db.session.scalar(select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id,
                                                     Enrolment.status == EnrolmentStatus.ACTIVE))


# Quizzes -----------------------------------------------------------------------------

def quiz_for_module(module: Module) -> Quiz | None:
    return db.session.scalar(select(Quiz).where(Quiz.module_id == module.id)
                             .options(selectinload(Quiz.slots).selectinload(QuizSlot.question)))


def attempts_of(user: User, quiz: Quiz) -> list[QuizAttempt]:
    close_expired(quiz=quiz, user=user)
    return list(db.session.scalars(select(QuizAttempt).where(QuizAttempt.quiz_id == quiz.id,
                                                             QuizAttempt.user_id == user.id)
                                   .order_by(QuizAttempt.number)))


def open_attempt(attempts: list[QuizAttempt]) -> QuizAttempt | None:
    return next((a for a in attempts if a.is_open), None)


def attempts_left(quiz: Quiz, attempts: list[QuizAttempt]) -> int | None:
    return None if quiz.attempts_allowed == 0 else max(0, quiz.attempts_allowed - len(attempts))


def counting_attempt(quiz: Quiz | QuizEntry, attempts: list) -> QuizAttempt | AttemptStanding | None:
    """The attempt whose mark counts: the highest, or the last, of the marked ones."""
    marked = [a for a in attempts if not a.is_open and a.percent is not None and not a.needs_marking]
    if not marked:
        return None
    if quiz.grading == GradingMethod.LAST:
        return marked[-1]
    return max(marked, key=lambda a: (a.percent, -a.number))


def _layout(quiz: Quiz, rng: random.Random) -> list[dict]:
    questions: list[Question] = []
    for slot in quiz.slots:
        if slot.question is not None:
            questions.append(slot.question)
        else:
            pool = [q for q in db.session.scalars(select(Question).where(Question.category_id == slot.category_id)
                                                  .order_by(Question.id)) if q not in questions]
            questions.extend(rng.sample(pool, min(slot.draw_count, len(pool))))
    if quiz.shuffle_questions:
        rng.shuffle(questions)
    layout = []
    for position, question in enumerate(questions):
        qtype = question_type(question.kind)
        layout.append({
            "position": position, "question_id": question.id, "kind": question.kind, "title": question.title,
            "text_html": render_markdown(question.text), "points": str(question.points),
            "data": question.data, "general_feedback": question.general_feedback,
            "presented": qtype.present(question.data, rng),
        })
    return layout


def start_attempt(user: User, quiz: Quiz, *, now: datetime | None = None) -> QuizAttempt:
    """A new attempt, or the one already open. Refused past the attempt limit."""
    now = now or utcnow()
    attempts = attempts_of(user, quiz)
    current = open_attempt(attempts)
    if current is not None:
        return current
    if attempts_left(quiz, attempts) == 0:
        raise NoAttemptsLeftError("You have used all your attempts at this quiz.")
    if not quiz.slots:
        raise AssessmentError("This quiz has no questions yet.")
    seed = secrets.randbelow(2**31)
    attempt = QuizAttempt(quiz_id=quiz.id, user_id=user.id, number=len(attempts) + 1, seed=seed,
                          status=AttemptStatus.IN_PROGRESS.value, started_at=now,
                          deadline_at=now + timedelta(minutes=quiz.time_limit_minutes)
                          if quiz.time_limit_minutes else None,
                          layout=_layout(quiz, random.Random(seed)), needs_marking=False)
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:  # another request started it at the same moment
        return open_attempt(attempts_of(user, quiz))
    return attempt


def _past_deadline(attempt: QuizAttempt, now: datetime) -> bool:
    return attempt.deadline_at is not None and now > attempt.deadline_at + GRACE


def save_answer(attempt: QuizAttempt, position: int, values: list[str], *, now: datetime | None = None) -> Response:
    """Save one answer as the learner goes. Refused once the attempt is closed or its time is up."""
    now = now or utcnow()
    if not attempt.is_open:
        raise AttemptClosedError("This attempt has been submitted; answers can no longer change.")
    if _past_deadline(attempt, now):
        _close(attempt, AttemptStatus.EXPIRED, now)
        raise TimeUpError("Time is up: this answer was not saved, and the attempt has been closed.")
    if not 0 <= position < len(attempt.layout):
        raise AnswerError("There is no such question in this attempt.")
    item = attempt.layout[position]
    answer = question_type(item["kind"]).parse_answer(values, item["presented"])
    response = db.session.scalar(select(Response).where(Response.attempt_id == attempt.id,
                                                        Response.position == position))
    if response is None:
        response = Response(attempt_id=attempt.id, position=position, answer=answer, saved_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(response)
            return response
        except IntegrityError:
            response = db.session.scalar(select(Response).where(Response.attempt_id == attempt.id,
                                                                Response.position == position))
    response.answer = answer
    response.saved_at = now
    db.session.flush()
    return response


def save_answers(attempt: QuizAttempt, answers: dict[int, list[str]], *, now: datetime | None = None) -> list[str]:
    """Save several answers; returns the problems found (each answer that could not be read)."""
    problems = []
    for position, values in sorted(answers.items()):
        try:
            save_answer(attempt, position, values, now=now)
        except AnswerError as error:
            problems.append(f"Question {position + 1}: {error}")
    return problems


def submit_attempt(attempt: QuizAttempt, *, now: datetime | None = None) -> bool:
    """Close and mark the attempt. True if this call closed it (a second submit does nothing)."""
    now = now or utcnow()
    status = AttemptStatus.EXPIRED if _past_deadline(attempt, now) else AttemptStatus.SUBMITTED
    return _close(attempt, status, now)


def _close(attempt: QuizAttempt, status: AttemptStatus, now: datetime) -> bool:
    result = db.session.execute(
        update(QuizAttempt).where(QuizAttempt.id == attempt.id, QuizAttempt.status == AttemptStatus.IN_PROGRESS)
        .values(status=status.value, finished_at=now), execution_options={"synchronize_session": False})
    db.session.refresh(attempt)
    if result.rowcount != 1:
        return False
    _mark(attempt)
    _evaluate_completion(attempt)
    return True


def _evaluate_completion(attempt: QuizAttempt) -> None:
    from lms.certificates.services import evaluate  # certificates builds on assessment
    if attempt.passed:
        evaluate(db.session.get(User, attempt.user_id), attempt.quiz.module.course)


def _q2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _mark(attempt: QuizAttempt) -> None:
    responses = {r.position: r for r in db.session.scalars(
        select(Response).where(Response.attempt_id == attempt.id))}
    score = Decimal(0)
    maximum = Decimal(0)
    needs_marking = False
    for item in attempt.layout:
        points = Decimal(item["points"])
        maximum += points
        response = responses.get(item["position"])
        if response is None:
            response = Response(attempt_id=attempt.id, position=item["position"], answer=None,
                                saved_at=attempt.finished_at)
            db.session.add(response)
        if response.score is not None and not question_type(item["kind"]).auto_marked:
            score += response.score  # marked by a person already
            continue
        grade = question_type(item["kind"]).grade(item["data"], response.answer)
        response.fraction = grade.fraction.quantize(Decimal("0.00001"))
        response.needs_marking = grade.needs_marking
        response.score = None if grade.needs_marking else _q2(points * grade.fraction)
        needs_marking |= grade.needs_marking
        score += response.score or Decimal(0)
    _set_result(attempt, score, maximum, needs_marking)


def _set_result(attempt: QuizAttempt, score: Decimal, maximum: Decimal, needs_marking: bool) -> None:
    attempt.score, attempt.max_score = _q2(score), _q2(maximum)
    attempt.percent = _q2(score * 100 / maximum) if maximum else Decimal(0)
    attempt.needs_marking = needs_marking
    attempt.passed = None if needs_marking else attempt.percent >= attempt.quiz.pass_mark
    db.session.flush()


def marked_by_hand(response: Response) -> bool:
    """Whether a person marks this answer (an essay); the others are marked by their question type."""
    item = response.attempt.layout[response.position]
    return not question_type(item["kind"]).auto_marked


def mark_response(marker: User, response: Response, fraction: Decimal, comment: str) -> None:
    """A person marks an essay answer (fraction of its points, 0 to 1). Auto-marked answers are refused."""
    if not marked_by_hand(response):
        raise AssessmentError("This answer is marked automatically; only written answers are marked by hand.")
    if not Decimal(0) <= fraction <= Decimal(1):
        raise AssessmentError("Give a mark between 0 and the question's points.")
    attempt = response.attempt
    if attempt.is_open:
        raise AssessmentError("The attempt is still in progress.")
    item = attempt.layout[response.position]
    points = Decimal(item["points"])
    from lms.audit import record as audit
    audit(marker, "mark.essay", attempt, summary=f"{item['title']}: {_q2(points * fraction)} of {points}",
          before={"score": str(response.score) if response.score is not None else None},
          after={"score": str(_q2(points * fraction))})
    response.fraction, response.score = fraction, _q2(points * fraction)
    response.needs_marking, response.marker_comment, response.marked_by_id = False, comment.strip(), marker.id
    db.session.flush()
    rows = db.session.scalars(select(Response).where(Response.attempt_id == attempt.id)).all()
    score = sum((r.score or Decimal(0)) for r in rows)
    maximum = sum(Decimal(i["points"]) for i in attempt.layout)
    _set_result(attempt, score, maximum, any(r.needs_marking for r in rows))
    _evaluate_completion(attempt)


def close_expired(*, quiz: Quiz | None = None, user: User | None = None, now: datetime | None = None) -> int:
    """Close every attempt whose time ran out, marking what was saved in time. Safe to run at any time."""
    now = now or utcnow()
    stmt = select(QuizAttempt).where(QuizAttempt.status == AttemptStatus.IN_PROGRESS,
                                     QuizAttempt.deadline_at.is_not(None),
                                     QuizAttempt.deadline_at < now - GRACE)
    if quiz is not None:
        stmt = stmt.where(QuizAttempt.quiz_id == quiz.id)
    if user is not None:
        stmt = stmt.where(QuizAttempt.user_id == user.id)
    closed = 0
    for attempt in db.session.scalars(stmt).all():
        closed += _close(attempt, AttemptStatus.EXPIRED, now)
    return closed


@dataclass
class ReviewItem:
    position: int
    title: str
    text_html: str
    kind: str
    presented: dict
    answer: object
    score: Decimal | None
    points: Decimal
    needs_marking: bool
    right_answer: str | None = None
    feedback: list[str] | None = None
    general_feedback: str | None = None
    marker_comment: str = ""
    options: list[OptionReview] | None = None    # choice questions: each option marked right, wrong or missed
    explanation: str = ""                         # how partial credit and penalties gave the mark


def review(attempt: QuizAttempt, *, full: bool) -> list[ReviewItem]:
    """What the learner sees after submitting: marks, and with ``full`` the right answers and feedback."""
    if attempt.is_open:
        raise AttemptClosedError("Submit the attempt to see how you did.")
    responses = {r.position: r for r in attempt.responses}
    items = []
    for item in attempt.layout:
        response = responses.get(item["position"])
        answer = response.answer if response else None
        qtype = question_type(item["kind"])
        entry = ReviewItem(position=item["position"], title=item["title"], text_html=item["text_html"],
                           kind=item["kind"], presented=item["presented"], answer=answer,
                           score=response.score if response else None, points=Decimal(item["points"]),
                           needs_marking=bool(response and response.needs_marking),
                           marker_comment=response.marker_comment if response else "")
        if full:
            entry.right_answer = qtype.correct_answer(item["data"], item["presented"])
            entry.options = qtype.review_options(item["data"], item["presented"], answer)
            entry.explanation = qtype.explain(item["data"], answer)
            entry.feedback = [] if entry.options is not None else qtype.grade(item["data"], answer).feedback
            entry.general_feedback = item["general_feedback"]
        items.append(entry)
    return items


def attempt_progress(attempt: QuizAttempt) -> tuple[int, int]:
    answered = db.session.scalar(select(func.count(Response.id)).where(Response.attempt_id == attempt.id,
                                                                       Response.answer.is_not(None)))
    return answered or 0, len(attempt.layout)


# Statistics --------------------------------------------------------------------------

@dataclass
class QuestionStats:
    question_id: int
    title: str
    attempts: int
    facility: float | None        # mean score as % of the question's points
    discrimination: float | None  # correlation (x100) between this question's score and the rest of the test


@dataclass
class QuizStats:
    attempts: int
    mean: float | None
    median: float | None
    pass_rate: float | None
    questions: list[QuestionStats]


def _correlation(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return statistics.correlation(xs, ys)


def quiz_statistics(quiz: Quiz) -> QuizStats:
    """Over every finished attempt: mean, median and pass rate; per question facility and discrimination."""
    close_expired(quiz=quiz)
    attempts = db.session.scalars(select(QuizAttempt).where(QuizAttempt.quiz_id == quiz.id,
                                                            QuizAttempt.status != AttemptStatus.IN_PROGRESS,
                                                            QuizAttempt.percent.is_not(None))
                                  .options(selectinload(QuizAttempt.responses))).all()
    percents = [float(a.percent) for a in attempts]
    per_question: dict[int, dict] = {}
    for attempt in attempts:
        total = float(attempt.score or 0)
        scores = {r.position: r for r in attempt.responses}
        for item in attempt.layout:
            response = scores.get(item["position"])
            if response is None or response.fraction is None or response.needs_marking:
                continue
            stats = per_question.setdefault(item["question_id"], {"title": item["title"], "fractions": [],
                                                                  "rest": []})
            stats["fractions"].append(float(response.fraction))
            stats["rest"].append(total - float(response.score or 0))
    questions = []
    for question_id, stats in per_question.items():
        fractions = stats["fractions"]
        correlation = _correlation(fractions, stats["rest"])
        questions.append(QuestionStats(
            question_id=question_id, title=stats["title"], attempts=len(fractions),
            facility=round(100 * sum(fractions) / len(fractions), 1) if fractions else None,
            discrimination=round(100 * correlation, 1) if correlation is not None else None))
    order = {slot.question_id: slot.position for slot in quiz.slots if slot.question_id}
    questions.sort(key=lambda q: (order.get(q.question_id, 10**6), q.title))
    passed = [a for a in attempts if a.passed is not None]
    return QuizStats(
        attempts=len(attempts),
        mean=round(statistics.fmean(percents), 1) if percents else None,
        median=round(statistics.median(percents), 1) if percents else None,
        pass_rate=round(100 * sum(1 for a in passed if a.passed) / len(passed), 1) if passed else None,
        questions=questions)


@dataclass(frozen=True)
class QuizEntry:
    """What every learner's course page shows of a quiz (cached per course version)."""
    id: int
    title: str
    question_count: int
    grading: str
    pass_mark: int


@dataclass(frozen=True)
class AssignmentEntry:
    id: int
    title: str
    word_limit: int


@dataclass(frozen=True)
class AttemptStanding:
    """What ``counting_attempt`` reads of an attempt, without its question snapshot."""
    number: int
    status: str
    percent: Decimal | None
    passed: bool | None
    needs_marking: bool

    @property
    def is_open(self) -> bool:
        return self.status == AttemptStatus.IN_PROGRESS


@dataclass
class ModuleAssessment:
    quiz: QuizEntry | None = None
    best_percent: Decimal | None = None
    quiz_passed: bool = False
    assignment: AssignmentEntry | None = None
    submission_status: str | None = None


def _assessment_outline(module_ids: list[int]) -> dict[int, tuple[QuizEntry | None, AssignmentEntry | None]]:
    from lms.assessment.models import Assignment
    result: dict[int, tuple[QuizEntry | None, AssignmentEntry | None]] = {}
    for row in db.session.execute(
            select(Quiz.id, Quiz.module_id, Quiz.title, Quiz.grading, Quiz.pass_mark, func.count(QuizSlot.id))
            .outerjoin(QuizSlot, QuizSlot.quiz_id == Quiz.id).where(Quiz.module_id.in_(module_ids or [0]))
            .group_by(Quiz.id, Quiz.module_id, Quiz.title, Quiz.grading, Quiz.pass_mark)):
        result[row.module_id] = (QuizEntry(row.id, row.title, row[5], row.grading, row.pass_mark), None)
    for row in db.session.execute(select(Assignment.id, Assignment.module_id, Assignment.title, Assignment.word_limit)
                                  .where(Assignment.module_id.in_(module_ids or [0]))):
        quiz, _ = result.get(row.module_id, (None, None))
        result[row.module_id] = (quiz, AssignmentEntry(row.id, row.title, row.word_limit))
    return result


def module_assessments(course: Course, outline, user: User) -> dict[int, ModuleAssessment]:
    """The quiz and assignment of each module of a course (cached per version), with the learner's
    standing (two queries, none for a course without quizzes or assignments)."""
    from lms.assessment.models import Submission
    structure = for_course_version(course, "assessments", lambda: _assessment_outline(outline.module_ids))
    result = {module_id: ModuleAssessment(quiz=quiz, assignment=assignment)
              for module_id, (quiz, assignment) in structure.items()}
    if not user.is_authenticated or not result:
        return result
    quizzes = {e.quiz.id: e for e in result.values() if e.quiz}
    attempts: dict[int, list[AttemptStanding]] = {}
    if quizzes:
        # Plain rows of the columns the standing needs: an attempt's question snapshot (layout) is large.
        for row in db.session.execute(
                select(QuizAttempt.quiz_id, QuizAttempt.number, QuizAttempt.status, QuizAttempt.percent,
                       QuizAttempt.passed, QuizAttempt.needs_marking)
                .where(QuizAttempt.user_id == user.id, QuizAttempt.quiz_id.in_(list(quizzes)))
                .order_by(QuizAttempt.number)):
            attempts.setdefault(row.quiz_id, []).append(AttemptStanding(*row[1:]))
    for quiz_id, entry in quizzes.items():
        best = counting_attempt(entry.quiz, attempts.get(quiz_id, []))
        entry.best_percent = best.percent if best else None
        entry.quiz_passed = bool(best and best.passed)
    assignment_ids = {e.assignment.id: e for e in result.values() if e.assignment}
    if assignment_ids:
        for status, assignment_id in db.session.execute(
                select(Submission.status, Submission.assignment_id)
                .where(Submission.user_id == user.id, Submission.assignment_id.in_(list(assignment_ids)))):
            assignment_ids[assignment_id].submission_status = status
    return result
    quizzes = {e.quiz.id: e for e in result.values() if e.quiz}
    attempts: dict[int, list[QuizAttempt]] = {}
    for attempt in db.session.scalars(select(QuizAttempt).where(QuizAttempt.user_id == user.id,
                                                                QuizAttempt.quiz_id.in_(list(quizzes) or [0]))
                                      .order_by(QuizAttempt.number)):
        attempts.setdefault(attempt.quiz_id, []).append(attempt)
    for quiz_id, entry in quizzes.items():
        best = counting_attempt(entry.quiz, attempts.get(quiz_id, []))
        entry.best_percent = best.percent if best else None
        entry.quiz_passed = bool(best and best.passed)
    assignment_ids = {e.assignment.id: e for e in result.values() if e.assignment}
    for submission in db.session.scalars(select(Submission).where(Submission.user_id == user.id,
                                                                  Submission.assignment_id.in_(
                                                                      list(assignment_ids) or [0]))):
        assignment_ids[submission.assignment_id].submission_status = submission.status
    return result
