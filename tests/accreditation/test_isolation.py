"""A partner of another university: 404 on every object of ours, and nothing of ours in any list or export.

Every partner URL that names an object, and every list and export, is here in one place. A new
object page or export must be added to these lists.
"""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from lms.accreditation.models import ApiToken, CreditAward, Pathway, PathwayRegistration
from tests.accreditation.test_api import get, new_token
from tests.accreditation.test_credit import finish, setting  # noqa: F401  (fixture)
from tests.factories import credit_url, csrf_token, login

NAME = "Cerys Candidate"


@pytest.fixture
def ours(app, db, setting):
    """A registration with an approved credit award and an API token, all of the first university."""
    course, learner, partner, outsider = setting
    db.session.scalar(select(Pathway)).credits_required = 20  # one module completes it: the board lists them
    finish(db, course, learner, [1, 2])
    award = db.session.scalar(select(CreditAward))
    for version, changes in ((2, {"moderation": "confirmed"}), (3, {"moderation": "confirmed", "status": "approved"})):
        fields = {c: getattr(award, c) for c in ("registration_id", "pathway_module_id", "result", "mark",
                                                 "credits", "level", "completed_at", "identity_checked",
                                                 "moderation", "status")}
        db.session.add(CreditAward(**{**fields, **changes}, version=version, note="", changed_by_id=partner.id))
    db.session.commit()
    new_token(app, partner)
    return {"registration": db.session.scalar(select(PathwayRegistration)).id,
            "award": credit_url(db.session.scalar(select(CreditAward).order_by(CreditAward.version.desc()))),
            "token": db.session.scalar(select(ApiToken)).id,
            "university": db.session.scalar(select(Pathway)).university_id, "partner": partner, "outsider": outsider}


def object_urls(ids) -> list[str]:
    university, registration = f"/partner/lrs/{ids['university']}", f"/partner/registrations/{ids['registration']}"
    return [registration, ids["award"], f"/partner/tokens/{ids['token']}/revoke",
            f"{registration}/transcript.clr.jwt", f"{registration}/transcript.clr.json", university,
            f"{university}/remove",
            f"{university}/deliveries", f"{university}/send", f"{university}/queue", f"{university}/retry"]


POST_ONLY = ("/send", "/queue", "/retry")


LISTS = ["/partner/?status=", "/partner/credits/?status=", "/partner/candidates", "/partner/board",
         "/partner/tokens"]


def test_every_object_of_another_university_is_404(app, ours):
    client = app.test_client()
    login(client, ours["outsider"])
    token = csrf_token(client, "/partner/")
    for url in object_urls(ours):
        if not url.endswith(POST_ONLY):
            assert client.get(url).status_code == 404, url
        if "transcript" not in url and not url.endswith("/deliveries"):
            assert client.post(url, data={"csrf_token": token, "action": "decide", "dec-decision": "approve",
                                          "decision": "reject", "reason": "x", "endpoint": "https://lrs.example/"}
                               ).status_code == 404, url
    owner = app.test_client()
    login(owner, ours["partner"])
    for url in object_urls(ours):
        if not url.endswith(POST_ONLY) and not url.endswith("/remove"):
            assert owner.get(url).status_code in {200, 302}, url  # the same URLs work for the university itself


def test_every_list_and_export_of_another_university_is_empty(app, ours):
    owner, client = app.test_client(), app.test_client()
    login(owner, ours["partner"])
    login(client, ours["outsider"])
    for url in LISTS:
        assert NAME in owner.get(url).get_data(as_text=True) or url == "/partner/tokens", url
        assert NAME not in client.get(url).get_data(as_text=True), url
    for export, lines in (("/partner/export.csv", 2), ("/partner/export-history.csv", 4)):
        mine = list(csv.reader(io.StringIO(owner.get(export).get_data(as_text=True))))
        theirs = list(csv.reader(io.StringIO(client.get(export).get_data(as_text=True))))
        assert len(mine) == lines and theirs == mine[:1], export  # the header alone for them
    assert len(owner.get("/partner/export.xapi.json").get_json()) == 6
    assert client.get("/partner/export.xapi.json").get_json() == []
    other_token = new_token(app, ours["outsider"])
    for path in ("/api/v1/credit-records", "/api/v1/registrations"):
        body = get(app, path, other_token).get_json()
        assert body == {"data": [], "next_cursor": None}, path


def test_an_admin_sees_every_universitys_records_but_acts_for_none(app, ours):
    from tests.factories import make_user
    admin = app.test_client()
    login(admin, make_user("admin"))
    for url in LISTS[:-1]:
        assert NAME in admin.get(url).get_data(as_text=True), url
    assert admin.get(f"/partner/registrations/{ours['registration']}").status_code == 200
    assert len(list(csv.reader(io.StringIO(admin.get("/partner/export-history.csv").get_data(as_text=True))))) == 4
    portal = admin.get("/partner/?status=").get_data(as_text=True)
    assert "API tokens" not in portal  # tokens and LRS settings belong to a university's own staff
    assert admin.get("/partner/tokens").status_code == 403
