"""xAPI 1.0.3 statements for a university's credit records.

Every version of a credit record (a ``CreditAward`` row) yields two statements:

* ``completed``: the learner completed the module (every record is about a completed module);
* ``passed`` or ``failed``: the module's explicit result.

Each statement's ``id`` is a UUID 5 over the site, the record's identity (registration and
pathway module), its version and the verb: sending the same version twice is a no-op at the
LRS, and a new version (moderation, decision, correction) makes new statements. The actor is
the learner reference as an ``account`` on this site, never an email address.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lms.accreditation.models import CreditAward, Pathway, PathwayModule, PathwayRegistration
from lms.extensions import db
from lms.urls import external_url

XAPI_VERSION = "1.0.3"
NAMESPACE = uuid.UUID("3b0c1a52-7f7e-5d54-9b39-1c6e0e4d8a21")
VERBS = {
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "passed": "http://adlnet.gov/expapi/verbs/passed",
    "failed": "http://adlnet.gov/expapi/verbs/failed",
}
MODULE_TYPE = "http://adlnet.gov/expapi/activities/module"
LANGUAGE = "en-GB"
# The context and activity extensions, each an IRI under the site: <BASE_URL>/xapi/extensions/<name>.
EXTENSIONS = ("credits", "credits-ects", "level", "framework", "credit-record-version", "moderation-status",
              "award-status", "identity-checked", "module-code")


def extension(name: str) -> str:
    return f"{current_app.config['BASE_URL']}/xapi/extensions/{name}"


def home_page() -> str:
    return current_app.config["BASE_URL"] + "/"


def statement_id(award: CreditAward, verb: str) -> str:
    """Stable for one version of one record and one verb, on this site."""
    name = (f"{current_app.config['BASE_URL']}|credit-record|{award.registration_id}|{award.pathway_module_id}"
            f"|v{award.version}|{verb}")
    return str(uuid.uuid5(NAMESPACE, name))


def verbs_for(award: CreditAward) -> list[str]:
    return ["completed", award.result]


def pathway_activity_id(pathway: Pathway) -> str:
    return external_url("accreditation.pathway", slug=pathway.slug)


def module_activity_id(pathway: Pathway, module: PathwayModule) -> str:
    """The module within its pathway; the same IRI is the CLR achievement's id."""
    return external_url("accreditation.pathway_module", slug=pathway.slug, code=module.code)


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def statements_for(award: CreditAward) -> list[dict]:
    """The statements of one credit record version (needs its registration, pathway, module and course)."""
    registration, module = award.registration, award.pathway_module
    pathway, course = registration.pathway, module.course
    actor = {"objectType": "Agent", "account": {"homePage": home_page(), "name": registration.reference}}
    activity = {
        "objectType": "Activity",
        "id": module_activity_id(pathway, module),
        "definition": {
            "name": {LANGUAGE: course.title},
            "description": {LANGUAGE: course.summary or course.title},
            "type": MODULE_TYPE,
            "moreInfo": external_url("courses.detail", slug=course.slug),
            "extensions": {extension("module-code"): module.code},
        },
    }
    context = {
        "registration": str(uuid.uuid5(NAMESPACE, f"{current_app.config['BASE_URL']}|registration|"
                                                  f"{registration.id}")),
        "contextActivities": {"parent": [{
            "objectType": "Activity", "id": pathway_activity_id(pathway),
            "definition": {"name": {LANGUAGE: pathway.title},
                           "description": {LANGUAGE: f"{pathway.award} awarded by {pathway.university.name}"}}}]},
        "platform": current_app.config["SITE_NAME"],
        "language": LANGUAGE,
        "extensions": {
            extension("credits"): award.credits,
            extension("credits-ects"): award.credits / 2,
            extension("level"): award.level,
            extension("framework"): pathway.framework,
            extension("credit-record-version"): award.version,
            extension("moderation-status"): award.moderation,
            extension("award-status"): award.status,
            extension("identity-checked"): award.identity_checked,
        },
    }
    result = {"score": {"scaled": round(award.mark / 100, 4), "raw": award.mark, "min": 0, "max": 100},
              "success": award.result == "passed", "completion": True}
    return [{"id": statement_id(award, verb), "actor": actor,
             "verb": {"id": VERBS[verb], "display": {LANGUAGE: verb}},
             "object": activity, "result": result, "context": context,
             "timestamp": _iso(award.completed_at)} for verb in verbs_for(award)]


def records_query(university_ids: list[int], filters=None):
    """Every credit record version of these universities, oldest first, loaded for statements.

    ``filters`` (services.PortalFilters) narrows it as the partner's lists and CSV export are narrowed.
    """
    from lms.accreditation.services import CREDIT_STATUSES, narrow
    stmt = (select(CreditAward).join(PathwayRegistration, PathwayRegistration.id == CreditAward.registration_id)
            .join(Pathway, Pathway.id == PathwayRegistration.pathway_id)
            .where(Pathway.university_id.in_(university_ids or [0]))
            .options(joinedload(CreditAward.registration).joinedload(PathwayRegistration.pathway)
                     .joinedload(Pathway.university),
                     joinedload(CreditAward.pathway_module).joinedload(PathwayModule.course))
            .order_by(CreditAward.id))
    if filters is None:
        return stmt
    if filters.status in CREDIT_STATUSES:
        stmt = stmt.where(CreditAward.status == filters.status)
    return narrow(stmt, filters, CreditAward.completed_at)


def stream_statements(university_ids: list[int], filters=None, *, chunk: int = 500) -> Iterator[str]:
    """A JSON array of statements, written a chunk of records at a time (flat memory)."""
    yield "["
    first = True
    stmt = records_query(university_ids, filters).execution_options(yield_per=chunk)
    for rows in db.session.scalars(stmt).partitions(chunk):
        parts = []
        for award in rows:
            for statement in statements_for(award):
                parts.append(("" if first else ",") + "\n" + json.dumps(statement, ensure_ascii=False))
                first = False
        yield "".join(parts)
    yield "\n]\n"
