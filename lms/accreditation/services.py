"""Pathway rules: loading pathways, registering, and a university's decisions on registrations.

A university only ever sees its own pathways: every query for a partner is filtered through
``partner_university_ids``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from lms.accounts.models import Organisation, OrganisationKind, OrganisationMember, Role, User
from lms.accreditation import delivery
from lms.accreditation.content import PathwayFile
from lms.accreditation.models import (IDENTITY_METHODS, Pathway, PathwayModule, PathwayRegistration,
                                     RegistrationDecision, RegistrationStatus)
from lms.audit import record
from lms.courses.models import Course
from lms.database import assign_changed, utcnow
from lms.exports import spreadsheet_safe
from lms.extensions import db


class PathwayError(Exception):
    """A pathway rule was broken; the message is fit to show the user, beside ``field`` when it names one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def load_pathways(files: list[PathwayFile]) -> list[str]:
    """Create or update pathways (and their universities) from checked files; returns what changed."""
    changed = []
    courses = {c.slug: c for c in db.session.scalars(select(Course).where(
        Course.slug.in_([m.course for f in files for m in f.modules] or [""])))}
    for pf in files:
        university = db.session.scalar(select(Organisation).where(Organisation.name == pf.university))
        if university is None:
            university = Organisation(name=pf.university, kind=OrganisationKind.UNIVERSITY.value,
                                      website=pf.university_website)
            db.session.add(university)
            db.session.flush()
        pathway = db.session.scalar(select(Pathway).where(Pathway.slug == pf.slug))
        created = pathway is None
        if created:
            pathway = Pathway(slug=pf.slug, university_id=university.id, credits_required=pf.credits_required,
                              title=pf.title, award=pf.award, consent_text=pf.consent)
            db.session.add(pathway)
        dirty = assign_changed(pathway, title=pf.title, award=pf.award, university_id=university.id,
                               framework=pf.framework, level=pf.level, credits_required=pf.credits_required,
                               entry_requirements=pf.entry_requirements, consent_text=pf.consent,
                               registration_opens=pf.registration_opens,
                               registration_closes=pf.registration_closes)
        existing = {m.course_id: m for m in pathway.modules}
        wanted = []
        for position, mf in enumerate(pf.modules):
            course = courses[mf.course]
            module = existing.pop(course.id, None) or PathwayModule(course_id=course.id)
            dirty |= assign_changed(module, code=mf.code, credits=mf.credits, level=int(course.level),
                                    position=position)
            wanted.append(module)
        if existing or [m.course_id for m in pathway.modules] != [m.course_id for m in wanted]:
            dirty = True
        pathway.modules = wanted
        if created or dirty:
            changed.append(f"{'created' if created else 'updated'} pathway {pf.slug}")
    db.session.flush()
    return changed


def published_pathways() -> list[Pathway]:
    return list(db.session.scalars(select(Pathway).where(Pathway.status == "published").order_by(Pathway.title)))


def pathway_by_slug(slug: str) -> Pathway | None:
    return db.session.scalar(select(Pathway).where(Pathway.slug == slug))


def registration_of(user: User, pathway: Pathway) -> PathwayRegistration | None:
    if not user.is_authenticated:
        return None
    return db.session.scalar(select(PathwayRegistration).where(PathwayRegistration.pathway_id == pathway.id,
                                                               PathwayRegistration.user_id == user.id))


def registration_open(pathway: Pathway, today: date | None = None) -> bool:
    today = today or utcnow().date()
    return (pathway.registration_opens is None or pathway.registration_opens <= today) and \
        (pathway.registration_closes is None or today <= pathway.registration_closes)


def register(user: User, pathway: Pathway, *, legal_name: str, date_of_birth: date, prior_qualifications: str,
             consent: bool) -> PathwayRegistration:
    """Apply to a pathway; the consent text the learner agreed to is stored with the application."""
    if not registration_open(pathway):
        raise PathwayError("Registration for this pathway is not open.")
    if not consent:
        raise PathwayError("You must agree to share your records with the university to register.")
    today = utcnow().date()
    try:
        sixteen_years_ago = today.replace(year=today.year - 16)
    except ValueError:  # 29 February, and that year has none
        sixteen_years_ago = today.replace(year=today.year - 16, day=28)
    if not date(1900, 1, 1) <= date_of_birth <= sixteen_years_ago:
        raise PathwayError("Enter your real date of birth (you must be 16 or over).")
    existing = registration_of(user, pathway)
    if existing is not None and existing.status != RegistrationStatus.WITHDRAWN:
        raise PathwayError("You have already applied to this pathway.")
    registration = existing or PathwayRegistration(pathway_id=pathway.id, user_id=user.id,
                                                   reference=f"pending-{user.id}-{pathway.id}")
    registration.legal_name, registration.date_of_birth = legal_name.strip(), date_of_birth
    registration.prior_qualifications = prior_qualifications.strip()
    registration.consent_text, registration.consented_at = pathway.consent_text, utcnow()
    registration.status, registration.reason, registration.updated_at = RegistrationStatus.PENDING.value, "", utcnow()
    registration.identity_checked = False
    try:
        with db.session.begin_nested():
            db.session.add(registration)
    except IntegrityError:
        raise PathwayError("You have already applied to this pathway.") from None
    registration.reference = f"CL{registration.id:07d}"
    db.session.flush()
    return registration


def member_university_ids(user: User) -> list[int]:
    """The universities ``user`` is partner staff of: theirs to act for (API tokens, LRS settings)."""
    if not user.is_authenticated or not user.has_role(Role.PARTNER):
        return []
    return list(db.session.scalars(select(OrganisationMember.organisation_id).join(Organisation).where(
        OrganisationMember.user_id == user.id, Organisation.kind == OrganisationKind.UNIVERSITY)))


def partner_university_ids(user: User) -> list[int]:
    """The universities whose records ``user`` may see: partners their own, admins every one, nobody else any."""
    if user.is_authenticated and user.has_role(Role.ADMIN):
        return list(db.session.scalars(select(Organisation.id).where(
            Organisation.kind == OrganisationKind.UNIVERSITY)))
    return member_university_ids(user)


@dataclass(frozen=True)
class PortalFilters:
    """What a partner narrowed a list or an export to. Empty fields filter nothing."""
    pathway_id: int | None = None
    status: str = ""
    since: date | None = None     # inclusive: applied on (registrations), completed on (credit records)
    until: date | None = None     # inclusive
    q: str = ""                   # part of a legal name, or a learner reference


def _day_bounds(filters: PortalFilters) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(filters.since, time.min, UTC) if filters.since else None
    end = datetime.combine(filters.until + timedelta(days=1), time.min, UTC) if filters.until else None
    return start, end


def narrow(stmt, filters: PortalFilters, moment):
    """Apply the filters to a select() that already joins PathwayRegistration."""
    if filters.pathway_id:
        stmt = stmt.where(PathwayRegistration.pathway_id == filters.pathway_id)
    start, end = _day_bounds(filters)
    if start is not None:
        stmt = stmt.where(moment >= start)
    if end is not None:
        stmt = stmt.where(moment < end)
    if filters.q:
        needle = f"%{filters.q.lower()}%"
        stmt = stmt.where(or_(func.lower(PathwayRegistration.legal_name).like(needle),
                              func.lower(PathwayRegistration.reference).like(needle)))
    return stmt


def own_pathways(user: User) -> list[Pathway]:
    return list(db.session.scalars(select(Pathway).where(
        Pathway.university_id.in_(partner_university_ids(user) or [0])).order_by(Pathway.title)))


def registrations_for(user: User, filters: PortalFilters = PortalFilters()):
    """A select() of registrations on the partner's own pathways, newest first."""
    stmt = (select(PathwayRegistration).join(Pathway).options(contains_eager(PathwayRegistration.pathway))
            .where(Pathway.university_id.in_(partner_university_ids(user) or [0]))
            .order_by(PathwayRegistration.created_at.desc(), PathwayRegistration.id.desc()))
    if filters.status in {s.value for s in RegistrationStatus}:
        stmt = stmt.where(PathwayRegistration.status == filters.status)
    return narrow(stmt, filters, PathwayRegistration.created_at)


def registration_counts(user: User, filters: PortalFilters) -> dict[str, int]:
    """How many registrations of each status the other filters leave."""
    stmt = (select(PathwayRegistration.status, func.count(PathwayRegistration.id)).join(Pathway)
            .where(Pathway.university_id.in_(partner_university_ids(user) or [0]))
            .group_by(PathwayRegistration.status))
    return dict(db.session.execute(narrow(stmt, filters, PathwayRegistration.created_at)).all())


def check_decision(partner: User, registration: PathwayRegistration, *, approve: bool, reason: str,
                   identity_method: str | None = None, identity_note: str = "", seen: int | None = None) -> None:
    """Raise PathwayError if this decision may not be recorded; used to confirm it before ``decide``."""
    if registration.pathway.university_id not in partner_university_ids(partner):
        raise PathwayError("This registration is not for your university.")
    if registration.status == RegistrationStatus.WITHDRAWN:
        raise PathwayError("The learner has withdrawn this registration.")
    if seen is not None and seen != len(registration.decisions):
        raise PathwayError("This registration was decided by someone else while you had it open: "
                           "look at the decision below before you change it.")
    status = RegistrationStatus.APPROVED if approve else RegistrationStatus.REJECTED
    if registration.status != RegistrationStatus.PENDING:
        if registration.status == status:
            raise PathwayError(f"This registration is already {status.value}.", "decision")
        if not reason.strip():
            raise PathwayError("Say why the earlier decision is changed: the learner and the history show it.",
                               "reason")
        if not approve and _credit_awarded(registration):
            raise PathwayError("Credit has been awarded under this registration: reverse those credit "
                               "decisions before you reject it.", "decision")
    if approve:
        if identity_method not in IDENTITY_METHODS:
            raise PathwayError("Record how you checked the learner's identity before you approve.",
                               "identity_method")
        if identity_method == "other" and not identity_note.strip():
            raise PathwayError("Describe the identity check you made.", "identity_note")
    elif not reason.strip():
        raise PathwayError("Give the learner a reason for the rejection.", "reason")


def decide(partner: User, registration: PathwayRegistration, *, approve: bool, reason: str,
           identity_method: str | None = None, identity_note: str = "",
           seen: int | None = None) -> RegistrationDecision:
    """Approve or reject a registration, or reverse the last decision, as a new decision kept in the history."""
    # Hold the row while deciding (PostgreSQL; SQLite's writer lock does the same), and decide on what is
    # there now, not on what the page showed.
    db.session.refresh(registration, with_for_update=True)
    db.session.expire(registration, ["decisions"])
    check_decision(partner, registration, approve=approve, reason=reason, identity_method=identity_method,
                   identity_note=identity_note, seen=seen)
    before = registration.status
    status = RegistrationStatus.APPROVED if approve else RegistrationStatus.REJECTED
    now = utcnow()
    decision = RegistrationDecision(sequence=len(registration.decisions) + 1, status=status.value,
                                    reason=reason.strip(), identity_method=identity_method if approve else None,
                                    identity_note=identity_note.strip() if approve else "",
                                    decided_by_id=partner.id, decided_at=now)
    registration.decisions.append(decision)
    registration.status, registration.reason = status.value, reason.strip()
    registration.identity_checked = approve
    registration.decided_by_id, registration.decided_at, registration.updated_at = partner.id, now, now
    record(partner, f"registration.{status.value}", registration, summary=reason.strip(),
           before={"status": before},
           after={"status": status.value, "decision": decision.sequence,
                  **({"identity_method": identity_method} if approve else {})})
    db.session.flush()
    return decision


def _credit_awarded(registration: PathwayRegistration) -> bool:
    from lms.accreditation.models import CreditAward
    return any(_current(registration.id, module_id).status == "approved" for module_id in db.session.scalars(
        select(CreditAward.pathway_module_id).where(CreditAward.registration_id == registration.id).distinct()))


# Credit -----------------------------------------------------------------------------------


def _current(registration_id: int, pathway_module_id: int):
    from lms.accreditation.models import CreditAward
    return db.session.scalar(select(CreditAward).where(
        CreditAward.registration_id == registration_id, CreditAward.pathway_module_id == pathway_module_id)
        .order_by(CreditAward.version.desc()).limit(1))


def request_credit(user: User, course: Course, *, passed: bool, mark: int, completed_at) -> list:
    """When a registered learner finishes a pathway module, send the university a credit request.

    Called when the course completes (passed) or a failing assignment mark is released (failed).
    A request already made for the same result is not repeated.
    """
    from lms.accreditation.models import CreditAward
    created = []
    rows = db.session.execute(
        select(PathwayRegistration, PathwayModule).join(Pathway, Pathway.id == PathwayRegistration.pathway_id)
        .join(PathwayModule, PathwayModule.pathway_id == Pathway.id)
        .where(PathwayRegistration.user_id == user.id, PathwayRegistration.status == RegistrationStatus.APPROVED,
               PathwayModule.course_id == course.id)).all()
    for registration, module in rows:
        current = _current(registration.id, module.id)
        result = "passed" if passed else "failed"
        if current is not None and current.result == result and current.mark == mark:
            continue
        award = CreditAward(registration_id=registration.id, pathway_module_id=module.id,
                            version=(current.version + 1) if current else 1, result=result, mark=mark,
                            credits=module.credits if passed else 0, level=module.level, completed_at=completed_at,
                            identity_checked=registration.identity_checked, moderation="pending",
                            status="requested", note="Module completed" if current is None else "New result",
                            changed_by_id=None)
        db.session.add(award)
        created.append(award)
    db.session.flush()
    delivery.queue_statements(created)  # xAPI statements, for universities with an LRS
    return created


def _revise(partner: User, award, note: str, **changes):
    """A new version of the record carrying the changes, with who and why."""
    from lms.accreditation.models import CreditAward
    if award.registration.pathway.university_id not in partner_university_ids(partner):
        raise PathwayError("This record is not for your university.")
    if award.registration.status != RegistrationStatus.APPROVED:
        raise PathwayError("The learner's registration is no longer approved: decide the registration first.")
    current = _current(award.registration_id, award.pathway_module_id)
    if current.id != award.id:
        raise PathwayError("This record has changed since you opened it; look again.")
    fields = {c: getattr(current, c) for c in ("result", "mark", "credits", "level", "completed_at",
                                              "identity_checked", "moderation", "status")}
    fields.update(changes)
    new = CreditAward(registration_id=current.registration_id, pathway_module_id=current.pathway_module_id,
                      version=current.version + 1, note=note.strip(), changed_by_id=partner.id, **fields)
    db.session.add(new)
    record(partner, f"credit.{changes.get('status') or changes.get('moderation') or 'change'}", current,
           summary=note.strip(), before={k: str(getattr(current, k)) for k in changes},
           after={k: str(v) for k, v in changes.items()})
    db.session.flush()
    delivery.queue_statements([new])
    return new


def moderate_credit(partner: User, award, *, mark: int | None, note: str):
    """Confirm the mark, or adjust it (with a note saying why). The work the mark came from carries the
    same moderation, so the learner, the transcript and the export all show one mark."""
    if award.status != "requested":
        raise PathwayError("Only a requested credit can be moderated.")
    work = work_behind(award)
    if mark is None or mark == award.mark:
        new = _revise(partner, award, note or "Mark confirmed", moderation="confirmed")
    else:
        if not 0 <= mark <= 100:
            raise PathwayError("A mark runs from 0 to 100.")
        if not note.strip():
            raise PathwayError("Say why the mark is adjusted.")
        passed = mark >= work.pass_mark
        new = _revise(partner, award, note, moderation="adjusted", mark=mark, result="passed" if passed else "failed",
                      credits=award.pathway_module.credits if passed else 0)
    if work.marked_by_one_submission:
        from lms.assessment.assignments import record_university_moderation
        record_university_moderation(partner, work.submissions[0], mark=new.mark,
                                     note=note.strip() or f"Confirmed by {award.registration.pathway.university.name}")
    return new


@dataclass
class WorkBehind:
    """What a credit record's mark came from: the learner's submitted work for the module, with every mark."""

    submissions: list                 # Submission rows (not drafts), each with its marks, oldest assignment first
    pass_mark: int                    # the module's pass mark: its assignment's, or 50 (the level-7 pass)

    @property
    def marked_by_one_submission(self) -> bool:
        return len([s for s in self.submissions if s.status == "released"]) == 1 and len(self.submissions) == 1


def work_behind(award) -> WorkBehind:
    from lms.assessment.models import Assignment, MarkRecord, Submission
    from lms.courses.models import Module
    submissions = list(db.session.scalars(
        select(Submission).join(Assignment).join(Module, Module.id == Assignment.module_id)
        .where(Module.course_id == award.pathway_module.course_id, Submission.user_id == award.registration.user_id,
               Submission.status != "draft")
        .options(joinedload(Submission.assignment), joinedload(Submission.marks).joinedload(MarkRecord.marker))
        .order_by(Module.position)).unique())
    pass_mark = submissions[0].assignment.pass_mark if len(submissions) == 1 else 50
    return WorkBehind(submissions=submissions, pass_mark=pass_mark)


def decide_credit(partner: User, award, *, approve: bool, note: str):
    if award.status != "requested":
        raise PathwayError("This credit has already been decided.")
    if award.moderation == "pending":
        raise PathwayError("Moderate the mark before deciding the award.")
    if approve and award.result != "passed":
        raise PathwayError("Credit can only be awarded for a passed module.")
    if not approve and not note.strip():
        raise PathwayError("Give the reason for rejecting the award.")
    return _revise(partner, award, note or "Award approved", status="approved" if approve else "rejected")


def _newest_versions():
    """The newest version number of each credit record, as a subquery to join on."""
    from lms.accreditation.models import CreditAward
    return (select(CreditAward.registration_id, CreditAward.pathway_module_id,
                   func.max(CreditAward.version).label("version"))
            .group_by(CreditAward.registration_id, CreditAward.pathway_module_id).subquery())


def _is_newest(newest):
    from lms.accreditation.models import CreditAward
    return ((CreditAward.registration_id == newest.c.registration_id)
            & (CreditAward.pathway_module_id == newest.c.pathway_module_id)
            & (CreditAward.version == newest.c.version))


def credit_record(user: User, reference: str, code: str) -> list:
    """Every version of one credit record (a learner's registration and a module code), newest first;
    empty when there is no such record for the partner's university."""
    from lms.accreditation.models import CreditAward
    return list(db.session.scalars(
        select(CreditAward).join(PathwayRegistration, PathwayRegistration.id == CreditAward.registration_id)
        .join(Pathway, Pathway.id == PathwayRegistration.pathway_id)
        .join(PathwayModule, PathwayModule.id == CreditAward.pathway_module_id)
        .where(PathwayRegistration.reference == reference, PathwayModule.code == code,
               Pathway.university_id.in_(partner_university_ids(user) or [0]))
        .options(joinedload(CreditAward.changed_by))
        .order_by(CreditAward.version.desc())))


def current_credit_query(user: User, filters: PortalFilters = PortalFilters()):
    """The newest version of every credit record for the partner's university."""
    from lms.accreditation.models import CreditAward
    newest = _newest_versions()
    stmt = (select(CreditAward).join(newest, _is_newest(newest))
            .join(PathwayRegistration, PathwayRegistration.id == CreditAward.registration_id)
            .join(Pathway, Pathway.id == PathwayRegistration.pathway_id)
            .where(Pathway.university_id.in_(partner_university_ids(user) or [0]))
            .options(joinedload(CreditAward.registration).joinedload(PathwayRegistration.pathway),
                     joinedload(CreditAward.pathway_module).joinedload(PathwayModule.course))
            .order_by(CreditAward.created_at.desc(), CreditAward.id.desc()))
    if filters.status in CREDIT_STATUSES:
        stmt = stmt.where(CreditAward.status == filters.status)
    return narrow(stmt, filters, CreditAward.completed_at)


CREDIT_STATUSES = ("requested", "approved", "rejected")
CSV_COLUMNS = ["learner_reference", "legal_name", "email", "date_of_birth", "pathway", "module_code",
               "module_title", "credits_cats", "credits_ects", "fheq_level", "mark", "result", "completion_date",
               "moderation_status", "award_status", "record_version", "certificate_code"]
EXPORT_BATCH = 2000


def credit_rows(user: User, filters: PortalFilters = PortalFilters(), *, history: bool = False):
    """The partner's university's credit records as plain rows, oldest first: one row per record (its
    newest version), or with ``history`` one row per version.

    Streamed: a server-side cursor on PostgreSQL (SQLite reads row by row anyway), fetched in
    batches, and plain column tuples rather than ORM objects, so memory stays flat however many
    records there are. Each row is a list in CSV_COLUMNS order, the text people typed made
    spreadsheet-safe (built positionally: at a million rows, a dict per row was a tenth of the time).
    """
    from lms.accounts.models import User as Learner
    from lms.accreditation.models import CreditAward
    from lms.certificates.models import Certificate
    stmt = (select(PathwayRegistration.reference, PathwayRegistration.legal_name, Learner.email,
                   PathwayRegistration.date_of_birth, Pathway.title.label("pathway"), PathwayModule.code,
                   Course.title.label("module_title"), CreditAward.credits, CreditAward.level, CreditAward.mark,
                   CreditAward.result, CreditAward.completed_at, CreditAward.moderation, CreditAward.status,
                   CreditAward.version, PathwayRegistration.user_id, PathwayModule.course_id)
            .select_from(CreditAward)
            .join(PathwayRegistration, PathwayRegistration.id == CreditAward.registration_id)
            .join(Pathway, Pathway.id == PathwayRegistration.pathway_id)
            .join(PathwayModule, PathwayModule.id == CreditAward.pathway_module_id)
            .join(Course, Course.id == PathwayModule.course_id)
            .join(Learner, Learner.id == PathwayRegistration.user_id)
            .where(Pathway.university_id.in_(partner_university_ids(user) or [0]))
            .order_by(CreditAward.id))
    if not history:
        newest = _newest_versions()
        stmt = stmt.join(newest, _is_newest(newest))
    if filters.status in CREDIT_STATUSES:
        stmt = stmt.where(CreditAward.status == filters.status)
    stmt = narrow(stmt, filters, CreditAward.completed_at)
    result = db.session.execute(stmt, execution_options={"stream_results": True, "yield_per": EXPORT_BATCH})
    for batch in result.partitions():
        pairs = {(row.user_id, row.course_id) for row in batch}
        codes = dict(((c.user_id, c.course_id), c.code) for c in db.session.execute(
            select(Certificate.user_id, Certificate.course_id, Certificate.code).where(
                Certificate.user_id.in_({u for u, _ in pairs}), Certificate.course_id.in_({c for _, c in pairs}),
                Certificate.revoked_at.is_(None), Certificate.superseded_by_id.is_(None))))
        safe = spreadsheet_safe
        for (reference, legal_name, email, date_of_birth, pathway, code, module_title, credits, level, mark, result_,
             completed_at, moderation, status, version, user_id, course_id) in batch:
            yield [reference, safe(legal_name), safe(email), date_of_birth.isoformat(), safe(pathway), safe(code),
                   safe(module_title), credits, f"{credits / 2:g}", level, mark, result_,
                   completed_at.date().isoformat(), moderation, status, version, codes.get((user_id, course_id), "")]


def credit_csv(user: User, filters: PortalFilters = PortalFilters(), *, history: bool = False):
    """The CSV export, streamed in batches: a header line, then one line per record (``history``: per version)."""
    import csv
    import io
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    pending = 0
    for row in credit_rows(user, filters, history=history):
        writer.writerow(row)
        pending += 1
        if pending == EXPORT_BATCH:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue()


def module_mark(user: User, course: Course) -> int:
    """The mark that goes to the university: the released assignment mark (the mean if several),
    or else the mean of the module quizzes' counting marks."""
    from lms.assessment.models import Assignment, Submission
    from lms.courses.models import Module
    marks = list(db.session.scalars(select(Submission.mark).join(Assignment).join(
        Module, Module.id == Assignment.module_id).where(Module.course_id == course.id, Submission.user_id == user.id,
                                                        Submission.status == "released")))
    marks = [m for m in marks if m is not None]
    if marks:
        return round(sum(marks) / len(marks))
    from lms.assessment.services import attempts_of, counting_attempt
    from lms.assessment.models import Quiz
    percents = []
    for quiz in db.session.scalars(select(Quiz).join(Module, Module.id == Quiz.module_id)
                                   .where(Module.course_id == course.id)):
        best = counting_attempt(quiz, attempts_of(user, quiz))
        if best is not None:
            percents.append(float(best.percent))
    return round(sum(percents) / len(percents)) if percents else 100


@dataclass(frozen=True)
class ModuleProgress:
    module: PathwayModule
    percent: int                  # of the course's lessons completed
    enrolled: bool
    record: object | None         # the current CreditAward, if a credit request has been made


@dataclass(frozen=True)
class CandidateProgress:
    modules: list[ModuleProgress]
    credits_approved: int
    credits_required: int

    @property
    def percent(self) -> int:
        return min(100, self.credits_approved * 100 // self.credits_required) if self.credits_required else 0


def candidate_progress(registrations: list[PathwayRegistration]) -> dict[int, CandidateProgress]:
    """Where each candidate stands on each module of their pathway: course progress and credit record.

    Three queries whatever the number of candidates or modules.
    """
    from lms.accreditation.models import CreditAward
    from lms.courses.models import Enrolment
    if not registrations:
        return {}
    pathway_ids = {r.pathway_id for r in registrations}
    modules: dict[int, list[PathwayModule]] = {}
    for module in db.session.scalars(select(PathwayModule).where(PathwayModule.pathway_id.in_(pathway_ids))
                                     .options(joinedload(PathwayModule.course)).order_by(PathwayModule.position)):
        modules.setdefault(module.pathway_id, []).append(module)
    course_ids = {m.course_id for group in modules.values() for m in group}
    enrolments = {(e.user_id, e.course_id): e for e in db.session.scalars(select(Enrolment).where(
        Enrolment.user_id.in_({r.user_id for r in registrations}), Enrolment.course_id.in_(course_ids or [0])))}
    newest = (select(CreditAward.registration_id, CreditAward.pathway_module_id,
                     func.max(CreditAward.version).label("version"))
              .where(CreditAward.registration_id.in_([r.id for r in registrations]))
              .group_by(CreditAward.registration_id, CreditAward.pathway_module_id).subquery())
    records = {(a.registration_id, a.pathway_module_id): a for a in db.session.scalars(select(CreditAward).join(
        newest, (CreditAward.registration_id == newest.c.registration_id)
        & (CreditAward.pathway_module_id == newest.c.pathway_module_id) & (CreditAward.version == newest.c.version)))}
    result = {}
    for registration in registrations:
        rows, approved = [], 0
        for module in modules.get(registration.pathway_id, []):
            enrolment = enrolments.get((registration.user_id, module.course_id))
            record_ = records.get((registration.id, module.id))
            if record_ is not None and record_.status == "approved" and record_.result == "passed":
                approved += record_.credits
            rows.append(ModuleProgress(module=module, percent=enrolment.progress_percent if enrolment else 0,
                                       enrolled=enrolment is not None, record=record_))
        result[registration.id] = CandidateProgress(rows, approved, registration.pathway.credits_required)
    return result


def board_candidates(user: User) -> list[tuple[PathwayRegistration, int]]:
    """Registrations whose approved credit has reached the pathway's total: ready for the award."""
    totals: dict[int, int] = {}
    registrations: dict[int, PathwayRegistration] = {}
    for award in db.session.scalars(current_credit_query(user, PortalFilters(status="approved"))):
        if award.result == "passed":
            totals[award.registration_id] = totals.get(award.registration_id, 0) + award.credits
            registrations[award.registration_id] = award.registration
    ready = [(registrations[rid], credits) for rid, credits in totals.items()
             if credits >= registrations[rid].pathway.credits_required]
    return sorted(ready, key=lambda pair: pair[0].legal_name)
