"""Certificate pages, the PDF, public verification, the Open Badge credential and the CPD record."""
from __future__ import annotations

import base64
import csv
import io
import json
import re
import zipfile
from datetime import date

import jwt
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from lms.certificates import services
from lms.certificates.models import Certificate, CpdEntry
from lms.courses import services as courses
from lms.courses.models import Lesson
from tests.factories import add_trainer, enrol, login, make_course, make_user, post_form


@pytest.fixture
def certified(db):
    course = make_course("certified-course", modules=1, lessons=1, title="Facilitating cohesion workshops")
    learner = make_user(name="Gwen Williams", email="gwen@example.org")
    enrolment = enrol(learner, course)
    courses.complete_lesson(enrolment, db.session.scalar(select(Lesson)))
    db.session.commit()
    return learner, db.session.scalar(select(Certificate)), course


def test_certificate_pdf_has_name_code_and_is_the_same_each_time(app, client, certified):
    learner, certificate, _ = certified
    login(client, learner)
    first = client.get(f"/certificates/{certificate.code}.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert client.get(f"/certificates/{certificate.code}.pdf").data == first.data
    reader = PdfReader(io.BytesIO(first.data))
    page = reader.pages[0]
    assert page.mediabox.width > page.mediabox.height  # landscape
    text = page.extract_text()
    assert "Gwen Williams" in text and certificate.number in text and "Facilitating cohesion workshops" in text
    assert app.config["BASE_URL"].split("://")[1] + f"/verify/{certificate.code}" in text
    fonts = [f.get_object() for f in page["/Resources"]["/Font"].values()]
    embedded = [f for f in fonts if "BitstreamVera" in f["/BaseFont"]]
    assert embedded and all("/FontFile2" in f["/FontDescriptor"].get_object() for f in embedded)


def test_certificates_of_others_are_404(app, certified):
    learner, certificate, _ = certified
    other = app.test_client()
    login(other, make_user())
    for url in (f"/certificates/{certificate.code}/", f"/certificates/{certificate.code}.pdf",
                f"/certificates/{certificate.code}/credential.jwt"):
        assert other.get(url).status_code == 404


def test_public_verification(client, certified, db):
    learner, certificate, _ = certified
    page = client.get(f"/verify/{certificate.code}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Valid certificate" in html and "Gwen Williams" in html
    assert client.get(f"/verify/{certificate.code.lower()}").status_code == 200
    assert client.get("/verify/AAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert client.get("/verify/../../etc").status_code == 404
    services.revoke(make_user("admin"), certificate, "Awarded in error.")
    db.session.commit()
    revoked = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "Revoked certificate" in revoked and "Awarded in error." in revoked


def test_verification_codes_carry_at_least_80_bits():
    codes = {services.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(re.fullmatch(r"[A-Z2-7]{20}", code) for code in codes)  # 20 base-32 characters = 100 bits


def test_verification_is_rate_limited(client, certified):
    _, certificate, _ = certified
    statuses = [client.get(f"/verify/{certificate.code}").status_code for _ in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


def _jwks_key(client, kid):
    response = client.get("/.well-known/jwks.json")
    assert response.mimetype == "application/jwk-set+json"
    keys = {k["kid"]: k for k in response.get_json()["keys"]}
    return jwt.PyJWK(keys[kid]).key


def test_open_badge_verifies_with_only_the_published_jwks(client, certified):
    learner, certificate, course = certified
    login(client, learner)
    token = client.get(f"/certificates/{certificate.code}/credential.jwt").get_data(as_text=True)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"]
    payload = jwt.decode(token, _jwks_key(client, header["kid"]), algorithms=["RS256"],
                         options={"verify_aud": False})
    assert payload["@context"] == ["https://www.w3.org/ns/credentials/v2",
                                   "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert payload["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert payload["id"] == payload["jti"] == certificate.credential_id and payload["id"].startswith("urn:uuid:")
    issuer = payload["issuer"]
    assert issuer["type"] == ["Profile"] and issuer["name"] and issuer["url"] and payload["iss"] == issuer["id"]
    assert client.get("/issuer").get_json()["id"] == issuer["id"]
    assert payload["validFrom"] and payload["nbf"] and "validUntil" not in payload and "exp" not in payload
    assert payload["credentialSchema"][0]["id"].endswith("ob_v3p0_achievementcredential_schema.json")
    subject = payload["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"] and payload["sub"] == subject["id"]
    identity = subject["identifier"][0]
    assert identity["identityType"] == "emailAddress" and identity["identityHash"].startswith("sha256$")
    assert "gwen@example.org" not in token and "gwen@example.org" not in json.dumps(payload)
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"] and achievement["name"] == "Facilitating cohesion workshops"
    assert achievement["description"] and achievement["criteria"]["narrative"]
    assert achievement["creditsAvailable"] == 1.5 and subject["creditsEarned"] == 1.5


def test_tampered_credential_fails(client, certified):
    learner, certificate, _ = certified
    login(client, learner)
    token = client.get(f"/certificates/{certificate.code}/credential.jwt").get_data(as_text=True)
    head, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["credentialSubject"]["achievement"]["name"] = "A course never taken"
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    forged = f"{head}.{forged_body}.{signature}"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, _jwks_key(client, jwt.get_unverified_header(token)["kid"]), algorithms=["RS256"])
    page = post_form(client, "/verify/credential", {"credential": forged})
    assert page.status_code == 422 and "changed" in page.get_data(as_text=True)
    good = post_form(client, "/verify/credential", {"credential": token})
    assert good.status_code == 200 and "signature is valid" in good.get_data(as_text=True)


def test_revoked_certificate_credential_no_longer_verifies(client, certified, db):
    learner, certificate, _ = certified
    login(client, learner)
    token = client.get(f"/certificates/{certificate.code}/credential.jwt").get_data(as_text=True)
    services.revoke(make_user("admin"), certificate, "Withdrawn.")
    db.session.commit()
    page = post_form(client, "/verify/credential", {"credential": token})
    assert page.status_code == 422 and "revoked" in page.get_data(as_text=True)
    assert client.get(f"/certificates/{certificate.code}/credential.jwt").status_code == 410


def test_key_rotation_keeps_old_credentials_verifiable(client, certified, runner):
    learner, certificate, _ = certified
    login(client, learner)
    old = client.get(f"/certificates/{certificate.code}/credential.jwt").get_data(as_text=True)
    result = runner.invoke(args=["lms", "certificates", "rotate-key"])
    assert result.exit_code == 0 and "key(s) published" in result.output
    new = client.get(f"/certificates/{certificate.code}/credential.jwt").get_data(as_text=True)
    assert jwt.get_unverified_header(old)["kid"] != jwt.get_unverified_header(new)["kid"]
    for token in (old, new):
        assert "signature is valid" in post_form(client, "/verify/credential", {"credential": token}).get_data(
            as_text=True)


def test_expiring_credential_carries_valid_until_and_exp(db, certified, client):
    from datetime import timedelta
    learner, certificate, _ = certified
    certificate.expires_at = certificate.valid_from + timedelta(days=365 * 3)
    db.session.commit()
    login(client, learner)
    token = client.get(f"/certificates/{certificate.code}/credential.jwt").get_data(as_text=True)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["validUntil"] and payload["exp"] > payload["nbf"]


def test_reissue_through_the_page(client, certified, db):
    learner, certificate, _ = certified
    learner.name = "Gwen Williams-Price"
    db.session.commit()
    login(client, learner)
    page = client.get(f"/certificates/{certificate.code}/").get_data(as_text=True)
    assert "Re-issue with my current name" in page
    post_form(client, f"/certificates/{certificate.code}/reissue", {}, page=f"/certificates/{certificate.code}/")
    db.session.rollback()
    rows = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
    assert [c.status for c in rows] == ["superseded", "valid"] and rows[1].holder_name == "Gwen Williams-Price"
    superseded = client.get(f"/verify/{rows[0].code}").get_data(as_text=True)
    assert "Replaced certificate" in superseded


def test_only_admins_revoke(client, certified, db, app):
    learner, certificate, _ = certified
    login(client, learner)
    assert post_form(client, f"/certificates/{certificate.code}/revoke", {"reason": "x"},
                     page="/learning/").status_code == 403
    admin = app.test_client()
    login(admin, make_user("admin"))
    empty = post_form(admin, f"/certificates/{certificate.code}/revoke", {"reason": ""}, page="/learning/",
                      follow_redirects=True)
    assert "Give the reason" in empty.get_data(as_text=True)
    post_form(admin, f"/certificates/{certificate.code}/revoke", {"reason": "Duplicate record."}, page="/learning/")
    db.session.rollback()
    assert db.session.get(Certificate, certificate.id).status == "revoked"


def test_trainer_downloads_all_certificates_as_a_zip(app, certified, db):
    _, certificate, course = certified
    trainer = make_user("trainer")
    add_trainer(course, trainer)
    client = app.test_client()
    login(client, trainer)
    response = client.get(f"/teach/{course.slug}/certificates.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == [f"{certificate.number}.pdf"]
    empty = zipfile.ZipFile(io.BytesIO(client.get(f"/teach/{course.slug}/certificates.zip?start=2999-01-01").data))
    assert empty.namelist() == []
    outsider = app.test_client()
    login(outsider, make_user("trainer"))
    assert outsider.get(f"/teach/{course.slug}/certificates.zip").status_code == 404


# CPD record ------------------------------------------------------------------------------

def test_cpd_page_totals_by_year_and_category_against_target(client, certified, db):
    learner, _, _ = certified
    login(client, learner)
    html = client.get("/cpd/").get_data(as_text=True)
    assert "Course on this platform" in html and "1.5 of 30.0 hours" in html
    post_form(client, "/cpd/target", {"target": "40"}, page="/cpd/")
    assert "1.5 of 40.0 hours" in client.get("/cpd/").get_data(as_text=True)
    bad = post_form(client, "/cpd/target", {"target": "0"}, page="/cpd/", follow_redirects=True)
    assert "Enter 1 to 1,000 hours" in bad.get_data(as_text=True)


def test_log_edit_and_remove_outside_activity(client, certified, db):
    learner, _, _ = certified
    login(client, learner)
    data = {"title": "Regional cohesion network", "activity_date": "2026-03-14", "hours": "2.5",
            "category": "Workshop, seminar or conference", "learned": "How others run tension monitoring.",
            "apply": "Propose a shared template."}
    assert post_form(client, "/cpd/new", data).status_code == 302
    entry = db.session.scalar(select(CpdEntry).where(CpdEntry.source == "external"))
    assert entry.hours == 2.5 and entry.activity_date == date(2026, 3, 14)
    post_form(client, f"/cpd/{entry.id}/edit", {**data, "hours": "3"})
    db.session.rollback()
    assert db.session.get(CpdEntry, entry.id).hours == 3
    assert client.get(f"/cpd/{entry.id}/delete").status_code == 200
    post_form(client, f"/cpd/{entry.id}/delete", {})
    db.session.rollback()
    assert db.session.scalar(select(CpdEntry).where(CpdEntry.source == "external")) is None
    platform = db.session.scalar(select(CpdEntry))
    assert client.get(f"/cpd/{platform.id}/edit").status_code == 404  # earned hours cannot be edited


@pytest.mark.parametrize("change, message", [
    ({"title": ""}, "Say what the activity was"), ({"hours": "0"}, "between 0.5 and 100"),
    ({"hours": "lots"}, "Not a valid decimal"), ({"activity_date": "14/03/2026"}, "Enter the date"),
    ({"activity_date": "2999-01-01"}, "cannot be in the future"), ({"category": "Holiday"}, "Not a valid choice"),
])
def test_bad_cpd_input_gets_messages(client, certified, db, change, message):
    learner, _, _ = certified
    login(client, learner)
    data = {"title": "Reading", "activity_date": "2026-03-14", "hours": "1", "category": "Reading and research"}
    response = post_form(client, "/cpd/new", {**data, **change})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(CpdEntry).where(CpdEntry.source == "external")) is None


def test_cpd_record_as_csv_and_pdf(client, certified, db):
    learner, _, _ = certified
    login(client, learner)
    post_form(client, "/cpd/new", {"title": "=HYPERLINK(\"x\")", "activity_date": "2026-02-01", "hours": "1",
                                   "category": "Reading and research", "learned": "<b>markup</b> & more"})
    rows = list(csv.reader(io.StringIO(client.get("/cpd/record.csv").get_data(as_text=True))))
    assert rows[0] == ["date", "title", "category", "hours", "source", "what_i_learned", "how_i_will_use_it"]
    assert any(row[1].startswith("'=HYPERLINK") for row in rows[1:])
    assert any(row[2] == "Course on this platform" and row[3] == "1.5" for row in rows[1:])
    pdf = client.get("/cpd/record.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Gwen Williams" in text and "<b>markup</b> & more" in text and "Course on this platform" in text


@pytest.mark.parametrize("path", ["/cpd/", "/cpd/new", "/certificates/", "/cpd/record.csv"])
def test_cpd_needs_login(client, path):
    assert client.get(path).status_code == 302


def test_certificates_zip_with_mistyped_dates_is_400_not_everything(client, make_user):
    from tests.factories import add_trainer, login, make_course
    course = make_course("zip-dates", modules=1, lessons=1)
    trainer = make_user("trainer")
    add_trainer(course, trainer)
    login(client, trainer)
    response = client.get(f"/teach/{course.slug}/certificates.zip?start=2026-02-30")
    assert response.status_code == 400 and "The dates are not valid" in response.get_data(as_text=True)


def test_a_completed_course_page_links_to_its_certificate_and_counts_in_the_singular(app, client, certified):
    learner, certificate, course = certified
    login(client, learner)
    html = client.get(f"/courses/{course.slug}/").get_data(as_text=True)
    assert f'href="/certificates/{certificate.code}/">See your certificate</a>' in html
    assert "1 in 1 module</dd>" in html and "(1 of 1 lesson)" in html
    other = make_user()
    enrol(other, course)
    login(client, other)
    html = client.get(f"/courses/{course.slug}/").get_data(as_text=True)
    assert "See your certificate" not in html and "(0 of 1 lesson)" in html


def test_anyone_can_check_a_certificate_by_its_code_or_printed_number(app, client, certified):
    _, certificate, _ = certified
    form = client.get("/verify/")
    assert form.status_code == 200 and 'name="q"' in form.get_data(as_text=True)
    assert 'href="/verify/">Check a certificate</a>' in client.get("/").get_data(as_text=True)
    spaced = " ".join(certificate.code[i:i + 4] for i in range(0, len(certificate.code), 4)).lower()
    for typed in (certificate.code, spaced, certificate.number.lower(), f" {certificate.number} "):
        response = client.get("/verify/", query_string={"q": typed})
        assert response.status_code == 302, typed
        assert response.headers["Location"].endswith(f"/verify/{certificate.code}")
    page = client.get(f"/verify/{certificate.code}").get_data(as_text=True)
    assert "Gwen Williams" in page and "Issued by" in page and certificate.number in page
    assert certificate.issued_at.strftime("%d %b %Y") in page


def test_an_unknown_certificate_gets_a_clear_404_with_the_form_to_try_again(app, client, certified):
    for response in (client.get("/verify/", query_string={"q": "CL-1999-000001-1"}),
                     client.get("/verify/AAAAAAAAAAAAAAAAAAAA")):
        html = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "No certificate has this code or number" in html and 'aria-invalid="true"' in html
    assert 'value="CL-1999-000001-1"' in client.get("/verify/", query_string={"q": "CL-1999-000001-1"}).get_data(
        as_text=True)
    assert client.get("/verify/", query_string={"q": "x" * 500}).status_code == 404
