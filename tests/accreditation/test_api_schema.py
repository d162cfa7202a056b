"""Schemathesis against the live app: every operation of /api/openapi.json, generated requests, every check.

The server runs on 127.0.0.1 with real records of two universities in it; the token is one
university's. Any 5xx, any response that breaks the documented schema, status codes or content
types, or an API that answers without a valid token, fails the test.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from schemathesis.checks import positive_data_acceptance
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select

from lms.accreditation.models import CreditAward
from lms.database import utcnow
from lms.extensions import limiter
from tests.accreditation.test_api import new_token
from tests.accreditation.test_credit import finish, setting  # noqa: F401  (fixture)


OPERATIONS = ["GET /api/v1/credit-records", "GET /api/v1/registrations"]


def operations(live_server) -> dict:
    loaded = schemathesis.openapi.from_url(f"{live_server}/api/openapi.json")
    return {f"{op.method.upper()} {op.path}": op for op in (result.ok() for result in loaded.get_all_operations())}


@pytest.fixture
def token(app, db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [1, 2])
    award = db.session.scalar(select(CreditAward))
    for version in range(2, 6):  # enough versions for the cursor to page through
        db.session.add(CreditAward(registration_id=award.registration_id, pathway_module_id=award.pathway_module_id,
                                   version=version, result="passed", mark=60 + version, credits=20, level=7,
                                   completed_at=award.completed_at, moderation="adjusted", status="requested",
                                   note=f"Version {version}", created_at=utcnow() + timedelta(seconds=version)))
    db.session.commit()
    plain = new_token(app, partner)
    limiter.enabled = False  # the 429 answer is documented, but it would hide the rest
    yield plain
    limiter.enabled = True


def test_the_document_describes_every_operation(live_server):
    assert sorted(operations(live_server)) == OPERATIONS


@pytest.mark.parametrize("name", OPERATIONS)
def test_api_conforms_to_its_openapi_document(live_server, token, name):
    operation = operations(live_server)[name]
    calls = []

    @given(case=operation.as_strategy())
    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def conforms(case):
        # A cursor is opaque: only one the API gave out is valid, and no schema can say which those are,
        # so a made-up one may be refused (400) although it matches the documented pattern.
        excluded = [positive_data_acceptance] if (case.query or {}).get("cursor") else []
        response = case.call_and_validate(base_url=live_server, headers={"Authorization": f"Bearer {token}"},
                                          excluded_checks=excluded)
        calls.append(response.status_code)

    conforms()
    assert 200 in calls, f"no request was answered with records: {sorted(set(calls))}"
