"""Written assignments: drafts, submission before a deadline, rubric marking, moderation and release.

Every mark given or changed is a new MarkRecord (who, when, why); none is ever edited.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from lms.accounts.models import User
from lms.assessment.models import Assignment, MarkRecord, Submission, SubmissionStatus
from lms.assessment.services import AssessmentError
from lms.audit import record as audit
from lms.courses.models import Enrolment, Module
from lms.courses.rendering import render_markdown, word_count
from lms.database import utcnow
from lms.extensions import db

MAX_TEXT = 200_000


def assignment_for_module(module: Module) -> Assignment | None:
    return db.session.scalar(select(Assignment).where(Assignment.module_id == module.id))


def submission_of(user: User, assignment: Assignment) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.assignment_id == assignment.id,
                                                      Submission.user_id == user.id))


def _due_at(assignment: Assignment, enrolment: Enrolment) -> datetime | None:
    return enrolment.created_at + timedelta(days=assignment.due_days) if assignment.due_days else None


def save_draft(user: User, assignment: Assignment, enrolment: Enrolment, text: str) -> Submission:
    """Keep the learner's text as a draft (created on first save)."""
    if len(text) > MAX_TEXT:
        raise AssessmentError("The text is too long to save.")
    submission = submission_of(user, assignment)
    if submission is None:
        submission = Submission(assignment_id=assignment.id, user_id=user.id, status=SubmissionStatus.DRAFT.value,
                                due_at=_due_at(assignment, enrolment))
        try:
            with db.session.begin_nested():
                db.session.add(submission)
        except IntegrityError:
            submission = submission_of(user, assignment)
    if submission.status != SubmissionStatus.DRAFT:
        raise AssessmentError("Your work has been submitted; it can no longer be changed.")
    submission.text = text
    submission.html = render_markdown(text)
    submission.word_count = word_count(text)
    submission.updated_at = utcnow()
    db.session.flush()
    return submission


def submit(submission: Submission, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    if submission.status != SubmissionStatus.DRAFT:
        raise AssessmentError("This work has already been submitted.")
    if not submission.text.strip():
        raise AssessmentError("Write your answer before submitting it.")
    submission.status = SubmissionStatus.SUBMITTED.value
    submission.submitted_at = now
    submission.late = submission.due_at is not None and now > submission.due_at
    db.session.flush()


def _total(assignment: Assignment, selections: list[int]) -> int:
    rubric = assignment.rubric
    if len(selections) != len(rubric):
        raise AssessmentError("Choose a level for every criterion.")
    total = 0
    for criterion, chosen in zip(rubric, selections):
        if not isinstance(chosen, int) or not 0 <= chosen < len(criterion["levels"]):
            raise AssessmentError(f"Choose one of the levels for “{criterion['criterion']}”.")
        total += criterion["levels"][chosen]["marks"]
    return total


def _record(submission: Submission, marker: User, kind: str, selections: list[int], total: int, feedback: str,
            note: str) -> MarkRecord:
    version = (submission.marks[-1].version if submission.marks else 0) + 1
    record = MarkRecord(version=version, kind=kind, marker_id=marker.id, selections=selections, total=total,
                        feedback=feedback.strip(), note=note.strip(), created_at=utcnow())
    before = {"mark": submission.mark}
    submission.marks.append(record)
    submission.mark = total
    submission.passed = total >= submission.assignment.pass_mark
    audit(marker, f"mark.{kind}", submission, summary=note.strip() or f"{kind} mark", before=before,
          after={"mark": total})
    db.session.flush()
    return record


def mark(marker: User, submission: Submission, selections: list[int], feedback: str, note: str = "") -> MarkRecord:
    """Mark against the rubric. Changing an existing mark needs a note saying why."""
    if submission.status == SubmissionStatus.DRAFT:
        raise AssessmentError("This work has not been submitted yet.")
    total = _total(submission.assignment, selections)
    if not feedback.strip():
        raise AssessmentError("Write feedback for the learner.")
    current = submission.marks[-1] if submission.marks else None
    if current is not None and not note.strip() and (current.selections != selections or
                                                     current.feedback != feedback.strip()):
        raise AssessmentError("Say why the mark or feedback is changing.")
    record = _record(submission, marker, "first" if current is None else "remark", selections, total, feedback,
                     note)
    if submission.status == SubmissionStatus.SUBMITTED:
        submission.status = SubmissionStatus.MARKED.value
    return record


def may_moderate(user: User, submission: Submission) -> bool:
    """A second marker moderates: anyone who may mark the work, except whoever gave the current mark."""
    current = submission.marks[-1] if submission.marks else None
    return current is not None and current.marker_id != user.id


def moderate(moderator: User, submission: Submission, *, agree: bool, selections: list[int] | None = None,
             note: str = "") -> MarkRecord:
    """A second marker agrees with the mark, or changes it with a note."""
    current = submission.marks[-1] if submission.marks else None
    if current is None:
        raise AssessmentError("There is no mark to moderate yet.")
    if current.marker_id == moderator.id:
        raise AssessmentError("A second marker moderates: you gave the current mark.")
    if agree:
        record = _record(submission, moderator, "moderation-agreed", current.selections, current.total,
                         current.feedback, note)
    else:
        if not note.strip():
            raise AssessmentError("Say why you are changing the mark.")
        total = _total(submission.assignment, selections or [])
        record = _record(submission, moderator, "moderation-changed", selections, total, current.feedback, note)
    submission.moderated = True
    return record


def record_university_moderation(moderator: User, submission: Submission, *, mark: int | None,
                                 note: str) -> MarkRecord:
    """The awarding university's moderation, recorded on the work itself so the learner sees one mark:
    confirmed (``mark`` None or unchanged) or changed, with the marker's criterion choices and feedback kept."""
    current = submission.marks[-1] if submission.marks else None
    if current is None:
        raise AssessmentError("There is no mark to moderate yet.")
    changed = mark is not None and mark != current.total
    return _record(submission, moderator, "university-changed" if changed else "university-agreed",
                   current.selections, mark if changed else current.total, current.feedback, note)


MARK_KINDS = {"first": "First mark", "remark": "Re-marked", "moderation-agreed": "Second marker agreed",
              "moderation-changed": "Second marker changed the mark", "university-agreed": "University confirmed",
              "university-changed": "University moderation changed the mark"}


def release(actor: User, submission: Submission) -> None:
    if not submission.marks:
        raise AssessmentError("Mark the work before releasing the mark.")
    if submission.status != SubmissionStatus.RELEASED:
        submission.status = SubmissionStatus.RELEASED.value
        submission.released_at = utcnow()
        audit(actor, "mark.release", submission, summary=f"Mark {submission.mark} released")
    db.session.flush()
    course = submission.assignment.module.course
    if submission.passed:
        from lms.certificates.services import evaluate  # certificates builds on assessment
        evaluate(submission.user, course)
    else:
        from lms.accreditation.services import request_credit  # a fail is reported too, explicitly
        request_credit(submission.user, course, passed=False, mark=submission.mark, completed_at=utcnow())


def marking_queue(course_ids: list[int] | None, status: str = ""):
    """A select() of submitted work in the given courses (None: all), oldest first."""
    stmt = (select(Submission).join(Assignment).join(Module, Module.id == Assignment.module_id)
            .where(Submission.status != SubmissionStatus.DRAFT)
            .options(joinedload(Submission.user), joinedload(Submission.assignment).joinedload(Assignment.module))
            .order_by(Submission.submitted_at))
    if course_ids is not None:
        stmt = stmt.where(Module.course_id.in_(course_ids or [0]))
    if status in {s.value for s in SubmissionStatus}:
        stmt = stmt.where(Submission.status == status)
    return stmt
