"""xAPI 1.0.3 statements for credit records: the download, the LRS settings, and delivery to a real LRS (ralph)."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from lms.accounts.models import Organisation
from lms.accreditation.delivery import LrsEndpoint, XapiDelivery
from lms.accreditation.models import CreditAward, Pathway
from lms.database import utcnow
from tests.accreditation.conftest import _free_port
from tests.accreditation.test_credit import finish, setting  # noqa: F401  (fixture)
from tests.factories import credit_url, csrf_token, login, make_user, post_form



def base() -> str:
    """The site's BASE_URL (browser tests in the same run point it at their live server)."""
    from flask import current_app
    return current_app.config["BASE_URL"]


def ext(name: str) -> str:
    return f"{base()}/xapi/extensions/{name}"


def university(db):
    return db.session.scalar(select(Organisation).where(Organisation.name == "University of Castlebridge"))


def partner_client(app, partner):
    client = app.test_client()
    login(client, partner)
    return client


def set_lrs(client, university_id, endpoint, username="lms", secret="a-test-lrs-secret", enabled=True):
    data = {"endpoint": endpoint, "username": username, "secret": secret}
    if enabled:
        data["enabled"] = "y"
    return post_form(client, f"/partner/lrs/{university_id}", data)


def approve(client, db):
    """The partner confirms the mark and approves the credit: versions 2 and 3 of the record."""
    award = db.session.scalar(select(CreditAward).order_by(CreditAward.version.desc()))
    moderated = post_form(client, credit_url(award), {"action": "moderate", "mod-mark": str(award.mark)})
    post_form(client, moderated.headers["Location"], {"action": "decide", "dec-decision": "approve"})
    db.session.rollback()


def deliveries(db):
    db.session.rollback()
    return db.session.scalars(select(XapiDelivery).order_by(XapiDelivery.id)).all()


def download(client, query=""):
    response = client.get("/partner/export.xapi.json" + query)
    assert response.status_code == 200 and response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


# The statements ---------------------------------------------------------------------------

def test_download_holds_two_statements_per_record_version_for_the_own_university_only(app, db, setting):
    course, learner, partner, outsider = setting
    finish(db, course, learner, [1, 2])  # 80, passed
    client = partner_client(app, partner)
    approve(client, db)
    statements = download(client)
    assert len(statements) == 6  # three versions, each completed + passed
    assert [s["verb"]["id"].rsplit("/", 1)[1] for s in statements] == ["completed", "passed"] * 3
    first = statements[1]
    assert first["actor"] == {"objectType": "Agent", "account": {"homePage": f"{base()}/", "name": "CL0000001"}}
    assert "candidate@example.org" not in json.dumps(statements)
    assert first["object"]["id"] == f"{base()}/pathways/pgcert/modules/CCI701"
    assert first["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/module"
    assert first["object"]["definition"]["name"] == {"en-GB": course.title}
    assert first["object"]["definition"]["extensions"] == {ext("module-code"): "CCI701"}
    assert first["result"] == {"score": {"scaled": 0.8, "raw": 80, "min": 0, "max": 100}, "success": True,
                               "completion": True}
    assert first["context"]["contextActivities"]["parent"][0]["id"] == f"{base()}/pathways/pgcert/"
    extensions = first["context"]["extensions"]
    assert extensions[ext("credits")] == 20 and extensions[ext("level")] == 7
    assert extensions[ext("framework")] == "CATS" and extensions[ext("credit-record-version")] == 1
    assert extensions[ext("award-status")] == "requested" and extensions[ext("moderation-status")] == "pending"
    assert statements[-1]["context"]["extensions"][ext("award-status")] == "approved"
    assert first["timestamp"].endswith("Z") and "stored" not in first and "version" not in first
    ids = [s["id"] for s in statements]
    assert len(set(ids)) == 6 and ids == [s["id"] for s in download(client)]  # stable ids

    pathway = db.session.scalar(select(Pathway))
    approved = download(client, f"?status=approved&pathway={pathway.id}")
    assert len(approved) == 2 and {s["context"]["extensions"][ext("award-status")] for s in approved} == {"approved"}
    assert download(client, f"?date_from={(utcnow() + timedelta(days=1)).date()}") == []
    bad = client.get("/partner/export.xapi.json?status=nonsense")
    assert bad.status_code == 400 and "filters are not valid" in bad.get_data(as_text=True)
    elsewhere = client.get(f"/partner/export.xapi.json?pathway={pathway.id + 1}")
    assert elsewhere.status_code == 400 and "Pathway" in elsewhere.get_data(as_text=True)
    assert download(partner_client(app, outsider)) == []
    learner_client = app.test_client()
    login(learner_client, learner)
    assert learner_client.get("/partner/export.xapi.json").status_code == 403


def test_a_failed_module_says_failed(app, db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [0, 0])  # 20, failed
    statements = download(partner_client(app, partner))
    assert [s["verb"]["display"]["en-GB"] for s in statements] == ["completed", "failed"]
    assert statements[1]["result"]["success"] is False and statements[1]["result"]["score"]["raw"] == 20


# LRS settings -----------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint, message", [
    ("ftp://lrs.example.ac.uk/xAPI", "must be an http:// or https:// address"),
    ("lrs.example.ac.uk", "must be an http:// or https:// address"),
    ("https://user:pw@lrs.example.ac.uk/xAPI", "not in the address"),
    ("https://lrs.example.ac.uk/xAPI?x=1", "cannot have a query"),
    ("https://lrs.example.ac.uk:99999/xAPI", "web address"),
    ("", "Enter your LRS"),
])
def test_bad_lrs_settings_get_messages(app, db, setting, endpoint, message):
    course, learner, partner, _ = setting
    response = set_lrs(partner_client(app, partner), university(db).id, endpoint)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(LrsEndpoint)) is None


def test_settings_keep_the_secret_encrypted_and_never_show_it(app, db, setting):
    course, learner, partner, _ = setting
    client = partner_client(app, partner)
    uid = university(db).id
    first = set_lrs(client, uid, "https://lrs.example.ac.uk/xAPI/", secret="")
    assert first.status_code == 422 and "Enter the LRS password or secret" in first.get_data(as_text=True)
    assert set_lrs(client, uid, "https://lrs.example.ac.uk/xAPI/", secret="s3cret-value").status_code == 302
    row = db.session.scalar(select(LrsEndpoint))
    assert row.endpoint == "https://lrs.example.ac.uk/xAPI" and "s3cret-value" not in row.secret_encrypted
    page = client.get(f"/partner/lrs/{uid}").get_data(as_text=True)
    assert "s3cret-value" not in page and "https://lrs.example.ac.uk/xAPI" in page
    assert "A password or secret is saved" in page
    # A blank secret keeps the saved one.
    assert set_lrs(client, uid, "https://lrs2.example.ac.uk/xAPI", secret="").status_code == 302
    db.session.rollback()
    from lms.accreditation.delivery import decrypt_secret
    row = db.session.scalar(select(LrsEndpoint))
    assert row.endpoint == "https://lrs2.example.ac.uk/xAPI" and decrypt_secret(row) == "s3cret-value"
    assert client.get("/partner/lrs/", follow_redirects=False).headers["Location"].endswith(f"/partner/lrs/{uid}")


def test_private_addresses_are_refused_unless_allowed(app, db, setting):
    course, learner, partner, _ = setting
    app.config["XAPI_ALLOW_PRIVATE_LRS"] = False
    try:
        response = set_lrs(partner_client(app, partner), university(db).id, "http://127.0.0.1:8100/xAPI")
    finally:
        app.config["XAPI_ALLOW_PRIVATE_LRS"] = True
    assert response.status_code == 422 and "private or local network" in response.get_data(as_text=True)


def test_another_university_and_learners_reach_none_of_it(app, db, setting):
    course, learner, partner, outsider = setting
    uid = university(db).id
    assert set_lrs(partner_client(app, partner), uid, "https://records.castlebridge.example/xAPI").status_code == 302
    stranger = partner_client(app, outsider)
    assert stranger.get(f"/partner/lrs/{uid}").status_code == 404
    assert stranger.get(f"/partner/lrs/{uid}/deliveries").status_code == 404
    token = csrf_token(stranger, "/partner/")
    for action in ("send", "queue", "retry"):
        assert stranger.post(f"/partner/lrs/{uid}/{action}", data={"csrf_token": token}).status_code == 404
    assert set_lrs(stranger, uid, "https://evil.example/xAPI").status_code == 404
    own = stranger.get("/partner/lrs/", follow_redirects=True)
    assert own.status_code == 200 and "castlebridge.example" not in own.get_data(as_text=True)
    learner_client = app.test_client()
    login(learner_client, learner)
    assert learner_client.get(f"/partner/lrs/{uid}").status_code == 403
    no_csrf = partner_client(app, partner).post(f"/partner/lrs/{uid}/send")
    assert no_csrf.status_code == 400
    assert partner_client(app, partner).get(f"/partner/lrs/{uid}/deliveries?status=bogus").status_code == 400
    assert partner_client(app, make_user("partner")).get("/partner/lrs/").status_code == 403  # no university


def test_statements_are_queued_only_once_an_lrs_is_set_up_and_queue_all_fills_the_gap(app, db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [1, 2])
    assert deliveries(db) == []  # no LRS yet: nothing queued
    client = partner_client(app, partner)
    uid = university(db).id
    set_lrs(client, uid, "https://lrs.example.ac.uk/xAPI")
    token = csrf_token(client, f"/partner/lrs/{uid}")
    client.post(f"/partner/lrs/{uid}/queue", data={"csrf_token": token})
    assert [(d.verb, d.status) for d in deliveries(db)] == [("completed", "pending"), ("passed", "pending")]
    client.post(f"/partner/lrs/{uid}/queue", data={"csrf_token": token})
    assert len(deliveries(db)) == 2  # queueing again adds nothing
    approve(client, db)  # two new versions, queued as they are made
    rows = deliveries(db)
    assert len(rows) == 6 and len({r.statement_id for r in rows}) == 6
    assert json.loads(rows[0].payload) == download(client)[0]  # the queued statement is the downloaded one
    page = client.get(f"/partner/lrs/{uid}/deliveries?status=pending").get_data(as_text=True)
    assert "CL0000001" in page and "Waiting (6)" in page


# Delivery to a real LRS -------------------------------------------------------------------

def test_statements_round_trip_through_a_real_lrs(app, db, setting, lrs, runner):
    course, learner, partner, _ = setting
    client = partner_client(app, partner)
    uid = university(db).id
    assert set_lrs(client, uid, lrs.endpoint, lrs.username, lrs.password).status_code == 302
    finish(db, course, learner, [1, 2])
    approve(client, db)
    result = runner.invoke(args=["lms", "xapi", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 6 statement(s)." in result.output
    rows = deliveries(db)
    assert {r.status for r in rows} == {"sent"} and all(r.sent_at and r.attempts == 1 for r in rows)

    ours = {s["id"]: s for s in download(client)}
    stored = lrs.statements(limit=100).json()["statements"]
    assert {s["id"] for s in stored} == set(ours)
    one = lrs.statements(statementId=rows[1].statement_id).json()
    one = one["statements"][0] if "statements" in one else one
    sent = ours[one["id"]]
    for key in ("actor", "verb", "result", "timestamp"):
        assert one[key] == sent[key], key
    assert one["object"]["id"] == sent["object"]["id"]
    assert one["context"]["extensions"] == sent["context"]["extensions"]
    assert one["actor"]["account"] == {"homePage": f"{base()}/", "name": "CL0000001"}
    assert one["result"]["score"] == {"scaled": 0.8, "raw": 80, "min": 0, "max": 100}
    assert "stored" in one  # the LRS's own

    # Sending the same statements again is harmless: the LRS keeps one of each.
    db.session.execute(update(XapiDelivery).values(status="pending"))
    db.session.commit()
    again = runner.invoke(args=["lms", "xapi", "send"])
    assert again.exit_code == 0 and "Sent 6" in again.output
    assert len(lrs.statements(limit=100).json()["statements"]) == 6
    assert "Sent 0" in runner.invoke(args=["lms", "xapi", "send"]).output


class FailingLrs:
    """An LRS that answers every request with HTTP 500."""

    def __init__(self):
        self.requests = 0
        self.server = make_server("127.0.0.1", 0, self)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}/xAPI"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __call__(self, environ, start_response):
        self.requests += 1
        return Response("database unavailable", status=500)(environ, start_response)


def test_failures_are_kept_with_their_error_and_sent_later(app, db, setting, lrs, runner):
    course, learner, partner, _ = setting
    client = partner_client(app, partner)
    uid = university(db).id
    down = f"http://127.0.0.1:{_free_port()}/xAPI"  # nothing listens there
    set_lrs(client, uid, down)
    finish(db, course, learner, [1, 2])
    result = runner.invoke(args=["lms", "xapi", "send"])
    assert result.exit_code == 1 and "2 statement(s) not delivered" in result.output
    rows = deliveries(db)
    assert [(r.status, r.attempts) for r in rows] == [("pending", 1), ("pending", 1)]
    assert "Could not reach the LRS" in rows[0].last_error and rows[0].next_attempt_at > utcnow()
    page = client.get(f"/partner/lrs/{uid}/deliveries").get_data(as_text=True)
    assert "Could not reach the LRS" in page and "Next try" in page

    # Not due yet: a plain run leaves them alone; the retry time backs off as attempts grow.
    runner.invoke(args=["lms", "xapi", "send"])
    assert [r.attempts for r in deliveries(db)] == [1, 1]
    failing = FailingLrs()
    set_lrs(client, uid, failing.endpoint, secret="")
    result = runner.invoke(args=["lms", "xapi", "send", "--all"])
    assert result.exit_code == 1 and failing.requests == 1
    rows = deliveries(db)
    assert [r.attempts for r in rows] == [2, 2] and rows[0].status == "pending"
    assert rows[0].last_error == "HTTP 500 from the LRS: database unavailable"
    assert rows[0].next_attempt_at > utcnow() + timedelta(seconds=90)  # 2 minutes after the second failure
    failing.server.shutdown()

    # The LRS is back: "Send now" in the portal delivers everything kept.
    set_lrs(client, uid, lrs.endpoint, lrs.username, lrs.password)
    response = client.post(f"/partner/lrs/{uid}/send", data={"csrf_token": csrf_token(client, f"/partner/lrs/{uid}")},
                           follow_redirects=True)
    assert "Sent 2 statement(s)." in response.get_data(as_text=True)
    assert {r.status for r in deliveries(db)} == {"sent"}
    assert {s["id"] for s in lrs.statements(limit=10).json()["statements"]} == {r.statement_id for r in rows}


def test_a_statement_the_lrs_refuses_is_shown_and_can_be_queued_again(app, db, setting, lrs, runner):
    course, learner, partner, _ = setting
    client = partner_client(app, partner)
    uid = university(db).id
    set_lrs(client, uid, lrs.endpoint, lrs.username, lrs.password)
    finish(db, course, learner, [1, 2])
    rows = deliveries(db)
    broken = json.loads(rows[0].payload)
    del broken["actor"]  # as if stored wrongly: ralph validates every statement
    rows[0].payload = json.dumps(broken)
    db.session.commit()
    result = runner.invoke(args=["lms", "xapi", "send"])
    assert result.exit_code == 1 and "1 refused by the LRS" in result.output
    rows = deliveries(db)
    assert [r.status for r in rows] == ["failed", "sent"]  # the batch was split: the good one went
    assert rows[0].last_error.startswith("HTTP 422 from the LRS") and "actor" in rows[0].last_error
    page = client.get(f"/partner/lrs/{uid}/deliveries?status=failed").get_data(as_text=True)
    assert "Refused (1)" in page and "HTTP 422" in page
    client.post(f"/partner/lrs/{uid}/retry", data={"csrf_token": csrf_token(client, f"/partner/lrs/{uid}/deliveries")})
    assert [r.status for r in deliveries(db)] == ["pending", "sent"]


def test_activity_ids_lead_to_the_course_and_the_cli_checks_its_input(app, db, setting, runner):
    course, learner, partner, _ = setting
    client = app.test_client()
    response = client.get("/pathways/pgcert/modules/CCI701")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/courses/{course.slug}/")
    assert client.get("/pathways/pgcert/modules/NOPE").status_code == 404
    uid = university(db).id
    missing = runner.invoke(args=["lms", "xapi", "send", "--university", str(uid)])
    assert missing.exit_code == 1 and "has no LRS" in missing.output
    assert "Set up the university's LRS first" in runner.invoke(args=["lms", "xapi", "queue-all", str(uid)]).output
    finish(db, course, learner, [1, 2])
    set_lrs(partner_client(app, partner), uid, "https://lrs.example.ac.uk/xAPI")
    queued = runner.invoke(args=["lms", "xapi", "queue-all", str(uid)])
    assert queued.exit_code == 0 and "Queued 2 statement(s)." in queued.output
    assert "Queued 0" in runner.invoke(args=["lms", "xapi", "queue-all", str(uid)]).output


def test_removing_the_lrs_forgets_its_credentials_and_keeps_what_is_unsent(app, db, setting):
    course, learner, partner, outsider = setting
    client = partner_client(app, partner)
    uid = university(db).id
    assert client.get(f"/partner/lrs/{uid}/remove").status_code == 404  # nothing to remove yet
    set_lrs(client, uid, "https://lrs.example.ac.uk/xAPI")
    finish(db, course, learner, [1, 2])
    stranger = partner_client(app, outsider)
    assert stranger.get(f"/partner/lrs/{uid}/remove").status_code == 404
    assert post_form(stranger, f"/partner/lrs/{uid}/remove", {}, page="/partner/").status_code == 404
    page = client.get(f"/partner/lrs/{uid}/remove")
    assert page.status_code == 200 and "Remove University of Castlebridge" in page.get_data(as_text=True)
    assert post_form(client, f"/partner/lrs/{uid}/remove", {}).status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(LrsEndpoint)) is None
    assert [d.status for d in deliveries(db)] == ["pending", "pending"]
    from lms.audit import AuditEvent
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "lrs.remove"))
