"""The universities' JSON API: tokens shown once and stored hashed, own records only, pages, updated_since."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import select

from lms.accreditation.models import ApiToken, CreditAward
from lms.database import utcnow
from tests.accreditation.test_credit import finish, setting  # noqa: F401  (fixture)
from tests.factories import login, post_form


def new_token(app, partner) -> str:
    client = app.test_client()
    login(client, partner)
    html = post_form(client, "/partner/tokens", {"name": "Records sync"}).get_data(as_text=True)
    return re.search(r'<code class="token">(clms_[\w-]+)</code>', html).group(1)


def get(app, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(path, headers=headers)


def test_token_is_shown_once_and_stored_hashed(app, db, setting):
    course, learner, partner, _ = setting
    token = new_token(app, partner)
    row = db.session.scalar(select(ApiToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.prefix + row.name
    client = app.test_client()
    login(client, partner)
    assert token not in client.get("/partner/tokens").get_data(as_text=True)


def test_api_returns_own_records_with_pages_and_updated_since(app, db, setting):
    course, learner, partner, outsider = setting
    finish(db, course, learner, [1, 2])
    token = new_token(app, partner)
    first = get(app, "/api/v1/credit-records", token)
    assert first.status_code == 200
    body = first.get_json()
    assert [r["result"] for r in body["data"]] == ["passed"] and body["next_cursor"] is None
    record = body["data"][0]
    assert record["learner_reference"] == "CL0000001" and record["credits_cats"] == 20
    assert record["credits_ects"] == 10 and record["fheq_level"] == 7 and record["record_version"] == 1
    award = db.session.scalar(select(CreditAward))
    for version in (2, 3):
        db.session.add(CreditAward(registration_id=award.registration_id, pathway_module_id=award.pathway_module_id,
                                   version=version, result="passed", mark=70 + version, credits=20, level=7,
                                   completed_at=award.completed_at, moderation="adjusted", status="requested",
                                   note=f"v{version}", created_at=utcnow() + timedelta(seconds=version)))
    db.session.commit()
    page1 = get(app, "/api/v1/credit-records?limit=2", token).get_json()
    assert [r["record_version"] for r in page1["data"]] == [1, 2] and page1["next_cursor"]
    page2 = get(app, f"/api/v1/credit-records?limit=2&cursor={page1['next_cursor']}", token).get_json()
    assert [r["record_version"] for r in page2["data"]] == [3] and page2["next_cursor"] is None
    since = (utcnow() + timedelta(seconds=2.5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    recent = get(app, f"/api/v1/credit-records?updated_since={since}", token).get_json()
    assert [r["record_version"] for r in recent["data"]] == [3]
    registrations = get(app, "/api/v1/registrations", token).get_json()
    assert registrations["data"][0]["status"] == "approved"

    other = new_token(app, outsider)
    assert get(app, "/api/v1/credit-records", other).get_json() == {"data": [], "next_cursor": None}
    assert get(app, "/api/v1/registrations", other).get_json()["data"] == []


def test_bad_requests_get_clear_4xx(app, db, setting):
    course, learner, partner, _ = setting
    token = new_token(app, partner)
    assert get(app, "/api/v1/credit-records").status_code == 401
    assert get(app, "/api/v1/credit-records", "clms_nonsense").status_code == 401
    for query in ("limit=0", "limit=abc", "limit=501", "cursor=!!!", "updated_since=yesterday"):
        response = get(app, f"/api/v1/credit-records?{query}", token)
        assert response.status_code == 400 and response.get_json()["error"], query


def test_revoked_token_stops_working(app, db, setting):
    course, learner, partner, _ = setting
    token = new_token(app, partner)
    row = db.session.scalar(select(ApiToken))
    client = app.test_client()
    login(client, partner)
    assert client.get(f"/partner/tokens/{row.id}/revoke").status_code == 200
    post_form(client, f"/partner/tokens/{row.id}/revoke", {})
    assert get(app, "/api/v1/credit-records", token).status_code == 401


def test_openapi_document(app):
    doc = app.test_client().get("/api/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {"/api/v1/credit-records", "/api/v1/registrations"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path in doc["paths"].values():
        assert {"200", "400", "401"} <= set(path["get"]["responses"])


def test_a_cursor_without_a_time_zone_is_read_as_utc(app, db, setting):
    import base64
    import json
    course, learner, partner, _ = setting
    token = new_token(app, partner)
    cursor = base64.urlsafe_b64encode(json.dumps({"t": "2026-01-01T00:00:00", "i": 1}).encode()).decode()
    response = get(app, f"/api/v1/credit-records?cursor={cursor.rstrip('=')}", token)
    assert response.status_code == 200 and response.get_json()["data"] == []
