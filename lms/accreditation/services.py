"""Pathway rules: loading pathways, registering, and a university's decisions on registrations.

A university only ever sees its own pathways: every query for a partner is filtered through
``partner_university_ids``.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lms.accounts.models import Organisation, OrganisationKind, OrganisationMember, Role, User
from lms.accreditation.content import PathwayFile
from lms.accreditation.models import Pathway, PathwayModule, PathwayRegistration, RegistrationStatus
from lms.audit import record
from lms.courses.models import Course
from lms.database import assign_changed, utcnow
from lms.extensions import db


class PathwayError(Exception):
    """A pathway rule was broken; the message is fit to show the user."""


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
    if not date(1900, 1, 1) <= date_of_birth <= today.replace(year=today.year - 16):
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
    try:
        with db.session.begin_nested():
            db.session.add(registration)
    except IntegrityError:
        raise PathwayError("You have already applied to this pathway.") from None
    registration.reference = f"CL{registration.id:07d}"
    db.session.flush()
    return registration


def partner_university_ids(user: User) -> list[int]:
    """The universities whose records ``user`` may see: partners see their own; nobody else any."""
    if not user.is_authenticated or not user.has_role(Role.PARTNER):
        return []
    return list(db.session.scalars(select(OrganisationMember.organisation_id).join(Organisation).where(
        OrganisationMember.user_id == user.id, Organisation.kind == OrganisationKind.UNIVERSITY)))


def registrations_for(user: User, *, status: str = ""):
    """A select() of registrations on the partner's own pathways, newest first."""
    stmt = (select(PathwayRegistration).join(Pathway).where(Pathway.university_id.in_(
        partner_university_ids(user) or [0])).order_by(PathwayRegistration.created_at.desc()))
    if status in {s.value for s in RegistrationStatus}:
        stmt = stmt.where(PathwayRegistration.status == status)
    return stmt


def decide(partner: User, registration: PathwayRegistration, *, approve: bool, reason: str,
           identity_checked: bool = False) -> None:
    if registration.pathway.university_id not in partner_university_ids(partner):
        raise PathwayError("This registration is not for your university.")
    if registration.status != RegistrationStatus.PENDING:
        raise PathwayError("This registration has already been decided.")
    if not approve and not reason.strip():
        raise PathwayError("Give the learner a reason for the rejection.")
    before = registration.status
    registration.status = (RegistrationStatus.APPROVED if approve else RegistrationStatus.REJECTED).value
    registration.reason, registration.identity_checked = reason.strip(), identity_checked and approve
    registration.decided_by_id, registration.decided_at = partner.id, utcnow()
    registration.updated_at = utcnow()
    record(partner, f"registration.{registration.status}", registration, summary=reason.strip(),
           before={"status": before}, after={"status": registration.status})
    db.session.flush()
