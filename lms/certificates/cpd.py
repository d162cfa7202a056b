"""The CPD record: platform hours (added by completion, once per module) and logged outside activity."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from lms.accounts.models import User
from lms.certificates.models import CPD_CATEGORIES, CpdEntry, CpdTarget
from lms.certificates.services import CertificateError
from lms.database import utcnow
from lms.exports import spreadsheet_safe
from lms.extensions import db

DEFAULT_TARGET = Decimal("30")
CSV_COLUMNS = ["date", "title", "category", "hours", "source", "what_i_learned", "how_i_will_use_it"]


def target(user: User) -> Decimal:
    row = db.session.get(CpdTarget, user.id)
    return row.hours if row else DEFAULT_TARGET


def set_target(user: User, hours: Decimal) -> None:
    if not Decimal("1") <= hours <= Decimal("1000"):
        raise CertificateError("Set a target between 1 and 1,000 hours a year.")
    row = db.session.get(CpdTarget, user.id)
    if row is None:
        db.session.add(CpdTarget(user_id=user.id, hours=hours))
    else:
        row.hours = hours
    db.session.flush()


def entries_query(user: User):
    return select(CpdEntry).where(CpdEntry.user_id == user.id).order_by(CpdEntry.activity_date.desc(),
                                                                       CpdEntry.id.desc())


@dataclass
class YearSummary:
    year: int
    total: Decimal
    target: Decimal
    categories: list[tuple[str, Decimal]]

    @property
    def percent(self) -> int:
        return min(100, int(self.total * 100 / self.target)) if self.target else 0


def summary(user: User) -> list[YearSummary]:
    """Totals per year (newest first) and per category within each year, against the annual target."""
    goal = target(user)
    years: dict[int, dict[str, Decimal]] = {}
    for activity_date, category, hours in db.session.execute(
            select(CpdEntry.activity_date, CpdEntry.category, CpdEntry.hours).where(CpdEntry.user_id == user.id)):
        by_category = years.setdefault(activity_date.year, {})
        by_category[category] = by_category.get(category, Decimal(0)) + hours
    this_year = utcnow().year
    years.setdefault(this_year, {})
    return [YearSummary(year, sum(cats.values(), Decimal(0)), goal,
                        sorted(cats.items(), key=lambda kv: (-kv[1], kv[0])))
            for year, cats in sorted(years.items(), reverse=True)]


def save_external(user: User, entry: CpdEntry | None, *, title: str, activity_date: date, hours: Decimal,
                  category: str, learned: str, apply: str) -> CpdEntry:
    if entry is not None and (entry.user_id != user.id or entry.source != "external"):
        raise CertificateError("Only activity you logged yourself can be changed.")
    if category not in CPD_CATEGORIES:
        raise CertificateError("Choose a category from the list.")
    if activity_date > utcnow().date():
        raise CertificateError("The date cannot be in the future.")
    entry = entry or CpdEntry(user_id=user.id, source="external", created_at=utcnow())
    entry.title, entry.activity_date, entry.hours, entry.category = title.strip(), activity_date, hours, category
    entry.learned, entry.apply, entry.updated_at = learned.strip(), apply.strip(), utcnow()
    db.session.add(entry)
    db.session.flush()
    return entry


def delete_external(user: User, entry: CpdEntry) -> None:
    if entry.user_id != user.id or entry.source != "external":
        raise CertificateError("Hours earned on the platform stay in your record.")
    db.session.delete(entry)
    db.session.flush()


def _row(entry: CpdEntry) -> list[str]:
    return [entry.activity_date.isoformat(), entry.title, entry.category, f"{entry.hours}", entry.source,
            entry.learned, entry.apply]


def as_csv(user: User) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in db.session.scalars(entries_query(user)):
        writer.writerow([spreadsheet_safe(value) for value in _row(entry)])
    return buffer.getvalue()


def as_pdf(user: User, issuer: str) -> bytes:
    from lms.certificates.pdf import cpd_record_pdf
    years = [{"year": y.year, "total": f"{y.total}", "target": f"{y.target}",
              "categories": [(c, f"{h}") for c, h in y.categories]} for y in summary(user)]
    entries = [{"date": e.activity_date.strftime("%d %b %Y"), "title": e.title, "category": e.category,
                "hours": f"{e.hours}", "learned": e.learned, "apply": e.apply}
               for e in db.session.scalars(entries_query(user))]
    return cpd_record_pdf(name=user.name, email=user.email, issuer=issuer,
                          generated=utcnow().strftime("%d %B %Y"), years=years, entries=entries)
