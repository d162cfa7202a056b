"""Completion rules, the CPD ledger, and certificates issued on completion."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.assessment import services as quizzes
from lms.assessment.models import Quiz
from lms.certificates import services
from lms.certificates.models import Certificate, CpdEntry, ModuleCompletion
from lms.courses import services as courses
from lms.courses.models import Lesson, Module
from lms.database import utcnow
from tests.factories import QUIZ_GIFT, enrol, make_course


def lessons_of(db, course, module_slug=None):
    stmt = select(Lesson).join(Module).where(Module.course_id == course.id).order_by(Module.position, Lesson.position)
    if module_slug:
        stmt = stmt.where(Module.slug == module_slug)
    return db.session.scalars(stmt).all()


def pass_quiz(db, user, quiz, *, right=True):
    attempt = quizzes.start_attempt(user, quiz)
    for item in attempt.layout:
        if not right:
            continue
        if item["kind"] == "truefalse":
            values = ["true"]
        elif item["kind"] == "single":
            values = [next(o["id"] for o in item["presented"]["options"] if o["text"] == "September 2007")]
        else:
            values = [o["id"] for o in item["presented"]["options"] if "meals" not in o["text"]]
        quizzes.save_answer(attempt, item["position"], values)
    quizzes.submit_attempt(attempt)
    db.session.commit()
    return attempt


def complete_all_lessons(db, enrolment, course):
    for lesson in lessons_of(db, course):
        courses.complete_lesson(enrolment, lesson)
    db.session.commit()


def test_module_needs_lessons_and_quiz_and_adds_hours_once(db, make_user):
    course = make_course(modules=2, lessons=2, quiz=QUIZ_GIFT, hours="1.5")
    learner = make_user()
    enrolment = enrol(learner, course)
    complete_all_lessons(db, enrolment, course)
    done = {m for m, in db.session.execute(select(ModuleCompletion.module_id))}
    module_1, module_2 = db.session.scalars(select(Module).order_by(Module.position)).all()
    assert done == {module_2.id}  # module 1 still needs its quiz
    quiz = db.session.scalar(select(Quiz))
    pass_quiz(db, learner, quiz, right=False)
    assert db.session.scalar(select(func.count(ModuleCompletion.id))) == 1
    pass_quiz(db, learner, quiz)
    assert db.session.scalar(select(func.count(ModuleCompletion.id))) == 2
    assert db.session.scalar(select(func.sum(CpdEntry.hours))) == Decimal("3.0")
    # Retakes, reloads and recomputes add nothing more.
    pass_quiz(db, learner, quiz)
    services.recompute(course)
    services.evaluate(learner, course)
    db.session.commit()
    assert db.session.scalar(select(func.sum(CpdEntry.hours))) == Decimal("3.0")
    assert db.session.scalar(select(func.count(CpdEntry.id))) == 2


def test_course_completion_issues_one_certificate(db, make_user):
    course = make_course(modules=2, lessons=1)
    learner = make_user(name="Aled Jones")
    enrolment = enrol(learner, course)
    first, second = lessons_of(db, course)
    courses.complete_lesson(enrolment, first)
    db.session.commit()
    assert db.session.scalar(select(Certificate)) is None and enrolment.completed_at is None
    courses.complete_lesson(enrolment, second)
    db.session.commit()
    certificate = db.session.scalar(select(Certificate))
    assert certificate.holder_name == "Aled Jones" and certificate.cpd_hours == Decimal("3.0")
    assert certificate.number.startswith(f"CL-{utcnow().year}-") and len(certificate.code) == 20
    assert certificate.credential_id.startswith("urn:uuid:")
    db.session.refresh(enrolment)
    assert enrolment.completed_at is not None
    services.evaluate(learner, course)
    db.session.commit()
    assert db.session.scalar(select(func.count(Certificate.id))) == 1


def test_assignment_must_be_passed_and_released(db, make_user):
    from lms.assessment import assignments
    course = make_course(modules=1, lessons=1, level="7", assignment={})
    learner, marker = make_user(), make_user("trainer")
    enrolment = enrol(learner, course)
    complete_all_lessons(db, enrolment, course)
    assert db.session.scalar(select(Certificate)) is None
    assignment = db.session.scalar(select(__import__("lms.assessment.models", fromlist=["Assignment"]).Assignment))
    submission = assignments.save_draft(learner, assignment, enrolment, "My work.")
    assignments.submit(submission)
    assignments.mark(marker, submission, [1, 1], "Sound.")
    db.session.commit()
    assert db.session.scalar(select(Certificate)) is None  # marked but not released
    assignments.release(marker, submission)
    db.session.commit()
    assert db.session.scalar(select(Certificate)) is not None


def test_recompute_after_content_change_never_takes_a_certificate_away(db, make_user, runner):
    from lms.courses.importer import load_courses
    from tests.factories import course_file
    course = make_course("changing-course", modules=1, lessons=1)
    learner = make_user()
    enrolment = enrol(learner, course)
    complete_all_lessons(db, enrolment, course)
    assert db.session.scalar(select(Certificate)) is not None
    load_courses([course_file("changing-course", modules=1, lessons=3)])  # two lessons added
    db.session.commit()
    result = runner.invoke(args=["lms", "completion", "recompute", "--course", "changing-course"])
    assert result.exit_code == 0 and "Checked 1 learner(s)" in result.output
    certificate = db.session.scalar(select(Certificate))
    assert certificate.status == "valid"
    assert runner.invoke(args=["lms", "completion", "recompute", "--course", "nope"]).exit_code == 1


def test_revoke_and_reissue(db, make_user):
    course = make_course(modules=1, lessons=1)
    learner, admin = make_user(name="Sian Evns"), make_user("admin")
    enrolment = enrol(learner, course)
    complete_all_lessons(db, enrolment, course)
    certificate = db.session.scalar(select(Certificate))
    with pytest.raises(services.CertificateError):
        services.reissue(certificate)  # name unchanged
    learner.name = "Sian Evans"
    new = services.reissue(certificate)
    db.session.commit()
    assert new.version == 2 and new.holder_name == "Sian Evans" and new.number == f"{certificate.number}-v2"
    assert certificate.status == "superseded" and new.status == "valid"
    assert new.completed_at == certificate.completed_at and new.code != certificate.code
    with pytest.raises(services.CertificateError):
        services.revoke(admin, new, "  ")
    services.revoke(admin, new, "Issued in error.")
    db.session.commit()
    assert new.status == "revoked" and new.revoked_by_id == admin.id
    with pytest.raises(services.CertificateError):
        services.reissue(new)


def test_expiry_window_and_renewal(db, make_user):
    from lms.courses.importer import load_courses
    from tests.factories import course_file
    cf = course_file("renewable", modules=1, lessons=1, quiz=QUIZ_GIFT)
    cf.validity_months = 36
    load_courses([cf])
    db.session.commit()
    course = courses.get_course("renewable")
    learner = make_user()
    enrolment = enrol(learner, course)
    complete_all_lessons(db, enrolment, course)
    quiz = db.session.scalar(select(Quiz))
    pass_quiz(db, learner, quiz)
    first = db.session.scalar(select(Certificate))
    assert first.expires_at.date() == (first.valid_from.replace(year=first.valid_from.year + 3)).date()
    # Passing the quiz again before the window opens renews nothing.
    pass_quiz(db, learner, quiz)
    assert db.session.scalar(select(func.count(Certificate.id))) == 1
    # Move into the renewal window: passing again issues a certificate running on from the old expiry.
    first.expires_at = utcnow() + timedelta(days=30)
    first.valid_from = first.expires_at - timedelta(days=3 * 365)
    db.session.commit()
    pass_quiz(db, learner, quiz)
    renewed = db.session.scalar(select(Certificate).where(Certificate.renews_id == first.id))
    assert renewed is not None and renewed.valid_from == first.expires_at
    assert renewed.expires_at.year == first.expires_at.year + 3
    pass_quiz(db, learner, quiz)
    assert db.session.scalar(select(func.count(Certificate.id))) == 2


def test_reminders_are_sent_once(db, make_user, runner, outbox):
    course = make_course("expiring", modules=1, lessons=1)
    learner = make_user()
    enrolment = enrol(learner, course)
    complete_all_lessons(db, enrolment, course)
    certificate = db.session.scalar(select(Certificate))
    certificate.expires_at = utcnow() + timedelta(days=60)
    db.session.commit()
    first = runner.invoke(args=["lms", "reminders", "send"])
    assert first.exit_code == 0 and "Sent 1 reminder(s)" in first.output
    assert outbox[-1].to == learner.email and "Time to renew" in outbox[-1].subject
    assert "Sent 0 reminder(s)" in runner.invoke(args=["lms", "reminders", "send"]).output
    certificate.expires_at = utcnow() + timedelta(days=5)
    db.session.commit()
    assert "Sent 1 reminder(s)" in runner.invoke(args=["lms", "reminders", "send"]).output
    assert "expires soon" in outbox[-1].subject
    assert "Sent 0 reminder(s)" in runner.invoke(args=["lms", "reminders", "send"]).output


def test_bulk_issue_command(db, make_user, runner):
    from lms.courses.models import Enrolment
    course = make_course("bulk-course", modules=1, lessons=1)
    for _ in range(3):
        learner = make_user()
        enrolment = enrol(learner, course)
        enrolment.completed_at = utcnow()
    db.session.commit()
    result = runner.invoke(args=["lms", "certificates", "issue", "--course", "bulk-course"])
    assert result.exit_code == 0 and "Issued 3 certificate(s)" in result.output
    again = runner.invoke(args=["lms", "certificates", "issue", "--course", "bulk-course"])
    assert "Issued 0 certificate(s); 3 already had one" in again.output
    assert len(db.session.scalars(select(Enrolment)).all()) == 3


def test_bulk_issue_leaves_a_revoked_certificate_revoked(db, make_user, runner):
    from lms.certificates.models import Certificate
    from lms.certificates.services import revoke
    course = make_course("bulk-course", modules=1, lessons=1)
    learner = make_user()
    enrol(learner, course).completed_at = utcnow()
    db.session.commit()
    runner.invoke(args=["lms", "certificates", "issue", "--course", "bulk-course"])
    revoke(make_user("admin"), db.session.scalar(select(Certificate)), "Issued in error.")
    db.session.commit()
    again = runner.invoke(args=["lms", "certificates", "issue", "--course", "bulk-course"])
    assert "Issued 0 certificate(s)" in again.output
    assert [c.revoked_at is not None for c in db.session.scalars(select(Certificate))] == [True]
