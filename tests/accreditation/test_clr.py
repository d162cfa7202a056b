"""A learner's pathway transcript as a signed CLR 2.0: structure, signatures, what is in it, and who may have it."""
from __future__ import annotations

import json

import jwt
from sqlalchemy import select

from lms.accreditation.models import CreditAward, PathwayRegistration
from lms.certificates.credentials import verify
from lms.database import utcnow
from tests.accreditation.test_credit import finish, setting  # noqa: F401  (fixture)
from tests.accreditation.test_xapi import approve, base, partner_client
from tests.factories import credit_url, login, make_user, post_form

LEARNER_URL = "/pathways/pgcert/transcript.clr.jwt"


def jwks_key(client, kid):
    keys = client.get("/.well-known/jwks.json").get_json()["keys"]
    return jwt.PyJWK(next(k for k in keys if k["kid"] == kid)).key


def decode(client, token):
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    return jwt.decode(token, jwks_key(client, header["kid"]), algorithms=["RS256"])


def learner_client(app, learner):
    client = app.test_client()
    login(client, learner)
    return client


def test_transcript_is_a_signed_clr_with_each_module_credential_signed_too(app, db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [1, 2])  # 80, passed
    approve(partner_client(app, partner), db)
    client = learner_client(app, learner)
    assert "transcript.clr.jwt" in client.get("/pathways/pgcert/").get_data(as_text=True)
    response = client.get(LEARNER_URL)
    assert response.status_code == 200 and response.mimetype == "application/jwt"
    token = response.get_data(as_text=True)
    clr = decode(client, token)  # verifies with nothing but the published JWKS

    assert clr["@context"] == ["https://www.w3.org/ns/credentials/v2",
                               "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
                               "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"]
    assert clr["iss"] == clr["issuer"]["id"] == base() + "/issuer" and clr["jti"] == clr["id"]
    assert clr["credentialSchema"][0]["id"].endswith("clr_v2p0_clrcredential_schema.json")
    subject = clr["credentialSubject"]
    assert subject["type"] == ["ClrSubject"] and clr["sub"] == subject["id"] and subject["id"].startswith("urn:uuid:")
    assert "candidate@example.org" not in json.dumps(clr)
    assert subject["identifier"][0]["identityType"] == "emailAddress" and subject["identifier"][0]["hashed"] is True

    program, module = subject["achievement"]
    assert program["id"] == base() + "/pathways/pgcert/" and program["achievementType"] == "LearningProgram"
    assert module["id"] == base() + "/pathways/pgcert/modules/CCI701" and module["type"] == ["Achievement"]
    assert module["achievementType"] == "Course" and module["humanCode"] == "CCI701"
    assert module["creditsAvailable"] == 20.0 and module["name"] == course.title and module["criteria"]["narrative"]
    assert module["fieldOfStudy"] == "Community cohesion and integration"
    alignment = module["alignment"][0]
    assert alignment["type"] == ["Alignment"] and alignment["targetFramework"] == "FHEQ"
    assert alignment["targetCode"] == "7" and alignment["targetName"].startswith("FHEQ level 7")
    assert alignment["targetUrl"]
    assert [r["resultType"] for r in module["resultDescription"]] == ["Percent", "Status"]
    assert subject["association"] == [{"type": "Association", "associationType": "isPartOf",
                                       "sourceId": module["id"], "targetId": program["id"]}]

    [embedded] = subject["verifiableCredential"]
    assert embedded["type"] == ["VerifiableCredential", "AchievementCredential"]
    inner_subject = embedded["credentialSubject"]
    assert inner_subject["type"] == ["AchievementSubject"] and inner_subject["id"] == subject["id"]
    assert inner_subject["creditsEarned"] == 20.0 and inner_subject["achievement"] == module
    assert [(r["resultDescription"], r["value"]) for r in inner_subject["result"]] == [
        (module["id"] + "#mark", "80"), (module["id"] + "#outcome", "passed")]
    [proof] = embedded["proof"]
    assert proof["type"] == "JwtProof2020"
    inner = decode(client, proof["jwt"])  # each module credential verifies on its own
    assert {k: v for k, v in inner.items() if k not in ("iss", "jti", "sub", "nbf")} == \
        {k: v for k, v in embedded.items() if k != "proof"}

    checked = verify(token)
    assert checked.valid and "1 module credential" in checked.reason
    page = post_form(client, "/verify/credential", {"credential": token})
    assert page.status_code == 200 and "transcript" in page.get_data(as_text=True)

    readable = client.get("/pathways/pgcert/transcript.clr.json")
    assert readable.status_code == 200 and readable.get_json()["type"] == ["VerifiableCredential", "ClrCredential"]
    assert "jti" not in readable.get_json()


def test_a_changed_module_credential_fails_verification(app, db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [1, 2])
    approve(partner_client(app, partner), db)
    from lms.accreditation.clr import build_transcript
    from lms.certificates.credentials import sign
    registration = db.session.scalar(select(PathwayRegistration))
    credential, _ = build_transcript(registration)
    credential["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]["creditsEarned"] = 60.0
    forged = sign(credential)  # even re-signed as a whole, the module credential no longer matches its proof
    result = verify(forged)
    assert not result.valid and "differs from what was signed" in result.reason


def test_only_approved_awards_are_in_it_and_an_empty_transcript_says_why(app, db, setting):
    course, learner, partner, _ = setting
    client = learner_client(app, learner)
    empty = client.get(LEARNER_URL)
    assert empty.status_code == 404 and "There is no transcript yet" in empty.get_data(as_text=True)
    assert "<h1>No transcript yet</h1>" in empty.get_data(as_text=True)
    finish(db, course, learner, [1, 2])
    assert client.get(LEARNER_URL).status_code == 404  # requested, not yet approved
    approve(partner_client(app, partner), db)
    token = client.get(LEARNER_URL).get_data(as_text=True)
    assert verify(token).valid
    # A later version takes the award back (a correction): it leaves the transcript.
    current = db.session.scalar(select(CreditAward).order_by(CreditAward.version.desc()))
    db.session.add(CreditAward(registration_id=current.registration_id, pathway_module_id=current.pathway_module_id,
                               version=current.version + 1, result="passed", mark=80, credits=20, level=7,
                               completed_at=current.completed_at, moderation="confirmed", status="rejected",
                               note="Academic misconduct found", created_at=utcnow()))
    db.session.commit()
    assert client.get(LEARNER_URL).status_code == 404
    withdrawn = verify(token)  # the transcript given out before no longer stands
    assert not withdrawn.valid and "CCI701" in withdrawn.reason and "changed or withdrawn" in withdrawn.reason


def test_a_failed_and_rejected_module_is_not_in_it(app, db, setting):
    course, learner, partner, _ = setting
    finish(db, course, learner, [0, 0])  # failed
    portal = partner_client(app, partner)
    award = db.session.scalar(select(CreditAward))
    moderated = post_form(portal, credit_url(award), {"action": "moderate", "mod-mark": "20"})
    post_form(portal, moderated.headers["Location"], {"action": "decide", "dec-decision": "reject",
                                                      "dec-note": "Module failed."})
    registration = db.session.scalar(select(PathwayRegistration))
    response = portal.get(f"/partner/registrations/{registration.id}/transcript.clr.jwt")
    assert response.status_code == 404 and "none has been approved" in response.get_data(as_text=True)


def test_only_the_learner_and_their_university_can_download_it(app, db, setting):
    course, learner, partner, outsider = setting
    finish(db, course, learner, [1, 2])
    approve(partner_client(app, partner), db)
    registration = db.session.scalar(select(PathwayRegistration))
    url = f"/partner/registrations/{registration.id}/transcript.clr.jwt"
    own = partner_client(app, partner)
    assert "transcript.clr.jwt" in own.get(f"/partner/registrations/{registration.id}").get_data(as_text=True)
    token = own.get(url).get_data(as_text=True)
    assert decode(own, token)["type"] == ["VerifiableCredential", "ClrCredential"]
    assert own.get(url.replace(".jwt", ".json")).status_code == 200
    stranger = partner_client(app, outsider)
    assert stranger.get(url).status_code == 404 and stranger.get(url.replace(".jwt", ".json")).status_code == 404
    assert partner_client(app, outsider).get("/partner/registrations/99999/transcript.clr.jwt").status_code == 404
    other_learner = learner_client(app, make_user())
    assert other_learner.get(LEARNER_URL).status_code == 404  # not registered: nothing of anyone else's
    assert other_learner.get(url).status_code == 403
    assert learner_client(app, learner).get("/pathways/nowhere/transcript.clr.jwt").status_code == 404
    guest = app.test_client().get(LEARNER_URL)
    assert guest.status_code == 302 and "/login" in guest.headers["Location"]
