"""The JSON API for universities: bearer tokens, cursor pagination and an ``updated_since`` filter.

Every response holds only the records of the token's own university.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta

from flask import Blueprint, jsonify, request, url_for
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from lms.accreditation.models import ApiToken, CreditAward, Pathway, PathwayModule, PathwayRegistration
from lms.audit import record
from lms.database import utcnow, writing
from lms.extensions import csrf, db, limiter

api_bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(api_bp)
MAX_LIMIT = 500
# A token's "last used" is kept to this precision, so that reading the API does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@api_bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    response = jsonify(error=str(error))
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="Cohesion LMS"'
    return response


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(organisation_id: int, name: str, actor) -> tuple[ApiToken, str]:
    """A new token; the plain value is returned once and never stored."""
    plain = "clms_" + secrets.token_urlsafe(32)
    token = ApiToken(organisation_id=organisation_id, name=name.strip()[:100] or "API token",
                     token_hash=_hash(plain), prefix=plain[:12], created_by_id=actor.id)
    db.session.add(token)
    db.session.flush()
    record(actor, "api_token.create", token, summary=f"Token {token.prefix}… ({token.name})")
    return token, plain


def revoke_token(token: ApiToken, actor) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(actor, "api_token.revoke", token, summary=f"Token {token.prefix}… revoked")
    db.session.flush()


def _university_id() -> int:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise ApiError(401, "Send your university's API token as 'Authorization: Bearer <token>'.")
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(header[7:].strip())))
    if token is None or token.revoked_at is not None:
        raise ApiError(401, "This token is not valid, or has been revoked.")
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        with writing():  # once in a while, never on every call: concurrent calls must not queue on a lock
            token.last_used_at = now
    return token.organisation_id


def _since() -> datetime | None:
    raw = request.args.get("updated_since")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "updated_since must be an ISO 8601 date-time, such as 2026-01-31T00:00:00Z.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _limit() -> int:
    raw = request.args.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def _cursor() -> tuple[datetime, int] | None:
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
        moment = datetime.fromisoformat(data["t"])
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), int(data["i"])
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise ApiError(400, "cursor is not one this API gave out; start again without it.") from None


def _encode(moment: datetime, ident: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"t": moment.isoformat(), "i": ident}).encode()).decode().rstrip("=")


def _iso(moment) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _page(stmt, created, ident, serialise):
    limit, cursor, since = _limit(), _cursor(), _since()
    if since is not None:
        stmt = stmt.where(created >= since)
    if cursor is not None:
        stmt = stmt.where(or_(created > cursor[0], and_(created == cursor[0], ident > cursor[1])))
    rows = db.session.scalars(stmt.order_by(created, ident).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(getattr(rows[-1], created.key), rows[-1].id) if more else None
    return jsonify(data=[serialise(row) for row in rows], next_cursor=next_cursor)


@api_bp.get("/v1/credit-records")
@limiter.limit("120 per minute")
def credit_records():
    university = _university_id()
    stmt = (select(CreditAward).join(PathwayRegistration, PathwayRegistration.id == CreditAward.registration_id)
            .join(Pathway, Pathway.id == PathwayRegistration.pathway_id).where(Pathway.university_id == university)
            .options(joinedload(CreditAward.registration).joinedload(PathwayRegistration.pathway),
                     joinedload(CreditAward.registration).joinedload(PathwayRegistration.user),
                     joinedload(CreditAward.pathway_module).joinedload(PathwayModule.course)))
    return _page(stmt, CreditAward.created_at, CreditAward.id, _credit_json)


def _credit_json(award: CreditAward) -> dict:
    registration, module = award.registration, award.pathway_module
    return {"id": award.id, "learner_reference": registration.reference, "legal_name": registration.legal_name,
            "email": registration.user.email, "date_of_birth": registration.date_of_birth.isoformat(),
            "pathway": registration.pathway.slug, "module_code": module.code, "module_title": module.course.title,
            "credits_cats": award.credits, "credits_ects": award.credits / 2, "fheq_level": award.level,
            "mark": award.mark, "result": award.result, "completion_date": award.completed_at.date().isoformat(),
            "moderation_status": award.moderation, "award_status": award.status, "record_version": award.version,
            "identity_checked": award.identity_checked, "note": award.note, "updated_at": _iso(award.created_at)}


@api_bp.get("/v1/registrations")
@limiter.limit("120 per minute")
def registrations():
    university = _university_id()
    stmt = (select(PathwayRegistration).join(Pathway).where(Pathway.university_id == university)
            .options(joinedload(PathwayRegistration.pathway), joinedload(PathwayRegistration.user)))
    return _page(stmt, PathwayRegistration.updated_at, PathwayRegistration.id, _registration_json)


def _registration_json(r: PathwayRegistration) -> dict:
    return {"id": r.id, "learner_reference": r.reference, "legal_name": r.legal_name, "email": r.user.email,
            "date_of_birth": r.date_of_birth.isoformat(), "pathway": r.pathway.slug, "status": r.status,
            "reason": r.reason, "identity_checked": r.identity_checked, "consent_text": r.consent_text,
            "consented_at": _iso(r.consented_at), "updated_at": _iso(r.updated_at)}


def _list_schema(item: str) -> dict:
    return {"type": "object", "required": ["data", "next_cursor"], "properties": {
        "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
        "next_cursor": {"type": ["string", "null"]}}}


def _params() -> list[dict]:
    return [
        {"name": "updated_since", "in": "query", "schema": {"type": "string", "format": "date-time"},
         "description": "Only records created or changed at or after this moment."},
        {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
         "description": "The next_cursor of the previous page, as given (opaque). Any other value gets 400."},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                                    "default": 100}}]


def _responses(item: str) -> dict:
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {"200": {"description": "A page of records",
                    "content": {"application/json": {"schema": _list_schema(item)}}},
            "400": {"description": "A parameter is not valid", **error},
            "401": {"description": "Missing, unknown or revoked token", **error},
            "429": {"description": "Too many requests", **error}}


@api_bp.get("/openapi.json")
def openapi():
    string, nullable_string = {"type": "string"}, {"type": ["string", "null"]}
    credit = {"type": "object", "properties": {
        "id": {"type": "integer"}, "learner_reference": string, "legal_name": string, "email": string,
        "date_of_birth": {"type": "string", "format": "date"}, "pathway": string, "module_code": string,
        "module_title": string, "credits_cats": {"type": "integer"}, "credits_ects": {"type": "number"},
        "fheq_level": {"type": "integer"}, "mark": {"type": "integer", "minimum": 0, "maximum": 100},
        "result": {"type": "string", "enum": ["passed", "failed"]},
        "completion_date": {"type": "string", "format": "date"},
        "moderation_status": {"type": "string", "enum": ["pending", "confirmed", "adjusted"]},
        "award_status": {"type": "string", "enum": ["requested", "approved", "rejected"]},
        "record_version": {"type": "integer"}, "identity_checked": {"type": "boolean"}, "note": string,
        "updated_at": {"type": "string", "format": "date-time"}},
        "required": ["id", "learner_reference", "module_code", "credits_cats", "result", "record_version"]}
    registration = {"type": "object", "properties": {
        "id": {"type": "integer"}, "learner_reference": string, "legal_name": string, "email": string,
        "date_of_birth": {"type": "string", "format": "date"}, "pathway": string,
        "status": {"type": "string", "enum": ["pending", "approved", "rejected", "withdrawn"]}, "reason": string,
        "identity_checked": {"type": "boolean"}, "consent_text": string, "consented_at": nullable_string,
        "updated_at": nullable_string}, "required": ["id", "learner_reference", "status"]}
    security = [{"bearer": []}]
    return jsonify({
        "openapi": "3.1.0",
        "info": {"title": "Cohesion LMS completion records", "version": "1.0.0",
                 "description": "Registrations and credit records for a university's own pathways."},
        "servers": [{"url": url_for("main.index", _external=False).rstrip("/") or "/"}],
        "security": security,
        "paths": {
            "/api/v1/credit-records": {"get": {"summary": "Credit record versions, oldest first",
                                               "operationId": "listCreditRecords", "parameters": _params(),
                                               "responses": _responses("CreditRecord")}},
            "/api/v1/registrations": {"get": {"summary": "Pathway registrations, by last change",
                                              "operationId": "listRegistrations", "parameters": _params(),
                                              "responses": _responses("Registration")}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"CreditRecord": credit, "Registration": registration,
                        "Error": {"type": "object", "required": ["error"], "properties": {"error": string}}}},
    })
