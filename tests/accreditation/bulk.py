"""Many credit records, written fast with Core inserts: for the streaming-export test and bench/exports.py."""
from __future__ import annotations

from sqlalchemy import func, insert, select

from lms.accounts.models import User
from lms.accreditation.models import CreditAward, Pathway, PathwayRegistration
from lms.database import utcnow
from lms.extensions import db

BATCH = 20_000


def add_credit_records(pathway: Pathway, count: int, *, learners: int = 2_000) -> None:
    """Add ``count`` credit record versions on ``pathway``, spread over ``learners`` registrations."""
    now = utcnow()
    existing = db.session.scalar(select(func.count(PathwayRegistration.id)).where(
        PathwayRegistration.pathway_id == pathway.id))
    if existing < learners:
        first = db.session.scalar(select(func.coalesce(func.max(User.id), 0)))
        db.session.execute(insert(User), [
            {"email": f"bulk{first + i}@example.org", "name": f"Bulk Learner {first + i}", "password_hash": "x",
             "active": True, "session_version": 1, "created_at": now} for i in range(1, learners - existing + 1)])
        ids = db.session.scalars(select(User.id).where(User.id > first).order_by(User.id)).all()
        db.session.execute(insert(PathwayRegistration), [
            {"reference": f"BK{user_id:08d}", "pathway_id": pathway.id, "user_id": user_id,
             "legal_name": f"Bulk Learner {user_id}", "date_of_birth": now.date().replace(year=1980),
             "prior_qualifications": "BA", "consent_text": "I agree.", "consented_at": now, "status": "approved",
             "reason": "", "identity_checked": True, "created_at": now, "updated_at": now} for user_id in ids])
    registrations = db.session.scalars(select(PathwayRegistration.id).where(
        PathwayRegistration.pathway_id == pathway.id).order_by(PathwayRegistration.id)).all()
    modules = [m.id for m in pathway.modules]
    slots = [(r, m) for r in registrations for m in modules]
    version = (db.session.scalar(select(func.max(CreditAward.version))) or 0) + 1
    rows = []
    for n in range(count):
        registration_id, module_id = slots[n % len(slots)]
        rows.append({"registration_id": registration_id, "pathway_module_id": module_id,
                     "version": version + n // len(slots), "result": "passed", "mark": 50 + n % 50, "credits": 20,
                     "level": 7, "completed_at": now, "identity_checked": True, "moderation": "confirmed",
                     "status": "approved", "note": "Bulk", "changed_by_id": None, "created_at": now})
        if len(rows) == BATCH:
            db.session.execute(insert(CreditAward), rows)
            rows = []
    if rows:
        db.session.execute(insert(CreditAward), rows)
    db.session.commit()
