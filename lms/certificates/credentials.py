"""Open Badges 3.0 credentials, signed as VC-JWT (RS256), and the keys that sign them.

Keys live in ``instance/keys/`` (or SIGNING_KEYS_DIR): generated on first use, rotated
with ``lms keys rotate``; old public keys stay in the JWKS so earlier credentials verify.
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from jwt.algorithms import RSAAlgorithm

from lms.certificates.models import Certificate
from lms.database import utcnow
from lms.urls import external_url

OB_CONTEXT = ["https://www.w3.org/ns/credentials/v2",
              "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
OB_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
ALGORITHM = "RS256"


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_jwk(self) -> dict:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}


def _keys_dir() -> Path:
    return Path(current_app.config.get("SIGNING_KEYS_DIR") or Path(current_app.instance_path) / "keys")


def _kid(private_key) -> str:
    der = private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def _load(path: Path) -> SigningKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    return SigningKey(_kid(key), key)


def _generate(folder: Path) -> SigningKey:
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"signing-{stamp}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return SigningKey(_kid(key), key)


def all_keys() -> list[SigningKey]:
    """Every signing key, newest last (generating the first on first use)."""
    folder = _keys_dir()
    paths = sorted(folder.glob("signing-*.pem")) if folder.is_dir() else []
    if not paths:
        return [_generate(folder)]
    return [_load(path) for path in paths]


def current_key() -> SigningKey:
    return all_keys()[-1]


def rotate() -> SigningKey:
    """A new signing key; the old ones stay published so what they signed still verifies."""
    return _generate(_keys_dir())


def jwks() -> dict:
    return {"keys": [key.public_jwk for key in all_keys()]}


def issuer_profile() -> dict:
    config = current_app.config
    return {"id": external_url("certificates.issuer"), "type": ["Profile"], "name": config["SITE_NAME"],
            "url": config["BASE_URL"] + "/", "email": config.get("ISSUER_EMAIL") or None,
            "description": "Accredited training in community cohesion and integration."}


def hashed_email(email: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_credential(certificate: Certificate) -> dict:
    """The OpenBadgeCredential for a certificate (1EdTech Open Badges 3.0 on W3C VC 2.0)."""
    profile = {k: v for k, v in issuer_profile().items() if v is not None}
    course = certificate.course
    salt = hashlib.sha256(f"{certificate.credential_id}{current_app.config['SECRET_KEY']}".encode()).hexdigest()[:16]
    credential = {
        "@context": OB_CONTEXT,
        "id": certificate.credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": profile,
        "name": f"{certificate.course_title}: certificate of completion",
        "validFrom": _iso(certificate.valid_from),
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
        "credentialSubject": {
            "id": f"urn:uuid:{_subject_uuid(certificate)}",
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityHash": hashed_email(certificate.user.email, salt),
                            "identityType": "emailAddress", "hashed": True, "salt": salt}],
            "achievement": {
                "id": external_url("courses.detail", slug=course.slug) + "#achievement",
                "type": ["Achievement"],
                "name": certificate.course_title,
                "description": course.summary,
                "criteria": {"narrative": _criteria(certificate)},
                "achievementType": "Certificate",
                "creditsAvailable": float(certificate.cpd_hours),
                "fieldOfStudy": "Community cohesion and integration",
            },
            "creditsEarned": float(certificate.cpd_hours),
        },
        "evidence": [{"id": external_url("certificates.verify", code=certificate.code), "type": ["Evidence"],
                      "name": "Public verification page",
                      "narrative": f"{certificate.cpd_hours} CPD hours, certificate {certificate.number}."}],
    }
    if certificate.expires_at is not None:
        credential["validUntil"] = _iso(certificate.expires_at)
    return credential


def _subject_uuid(certificate: Certificate) -> str:
    return learner_uuid(certificate.user_id)


def learner_uuid(user_id: int) -> str:
    """The learner's stable subject id in every credential we sign (certificates and transcripts)."""
    namespace = uuid.UUID("6f1c4c1e-3f0a-4b8e-9d6a-2b1d5c7e9a10")
    return str(uuid.uuid5(namespace, f"user:{user_id}"))


def _criteria(certificate: Certificate) -> str:
    return (f"Completed every module of {certificate.course_title} ({certificate.level_label}): all lessons read "
            f"and every module quiz passed, and any assessed assignment passed, for {certificate.cpd_hours} hours "
            "of CPD.")


def sign(credential: dict, key: SigningKey | None = None) -> str:
    """The credential as a VC-JWT: the payload is the credential plus the registered claims."""
    key = key or current_key()
    payload = dict(credential)
    payload.update(iss=credential["issuer"]["id"], jti=credential["id"], sub=credential["credentialSubject"]["id"],
                   nbf=int(_parse(credential["validFrom"]).timestamp()))
    if "validUntil" in credential:
        payload["exp"] = int(_parse(credential["validUntil"]).timestamp())
    return jwt.encode(payload, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"})


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def signed_credential(certificate: Certificate) -> str:
    return sign(build_credential(certificate))


@dataclass
class Verification:
    valid: bool
    reason: str
    credential: dict | None = None


def verify(token: str) -> Verification:
    """Check a VC-JWT's signature against our JWKS and the certificate's standing now.

    A CLR transcript (ClrCredential) is checked as a whole, with each credential inside it.
    """
    from sqlalchemy import select

    from lms.extensions import db
    checked = verify_signature(token)
    if not checked.valid:
        return checked
    payload = checked.credential
    if "ClrCredential" in payload.get("type", []):
        from lms.accreditation.clr import check_transcript
        return check_transcript(payload)
    certificate = db.session.scalar(select(Certificate).where(Certificate.credential_id == payload["jti"]))
    if certificate is None:
        return Verification(False, "We have no record of this credential.", payload)
    if certificate.revoked_at is not None:
        return Verification(False, "The certificate behind this credential has been revoked.", payload)
    if certificate.superseded_by_id is not None:
        return Verification(False, "This credential has been replaced by a newer version.", payload)
    return Verification(True, "The signature is valid and the certificate is in good standing.", payload)


def verify_signature(token: str) -> Verification:
    """Check a VC-JWT's signature against our JWKS, and its registered claims against its contents."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return Verification(False, "This is not a signed credential (not a JWT).")
    keys = {key.kid: key for key in all_keys()}
    key = keys.get(header.get("kid"))
    if key is None or header.get("alg") != ALGORITHM:
        return Verification(False, "The credential was not signed with one of our keys.")
    try:
        payload = jwt.decode(token, key.private_key.public_key(), algorithms=[ALGORITHM],
                             options={"verify_aud": False, "require": ["iss", "jti", "nbf", "sub"]},
                             leeway=60)
    except jwt.ExpiredSignatureError:
        return Verification(False, "The credential has expired.")
    except jwt.PyJWTError:
        return Verification(False, "The signature does not match: the credential has been changed.")
    if not isinstance(payload.get("issuer"), dict) or not isinstance(payload.get("credentialSubject"), dict) or \
            payload["jti"] != payload.get("id") or payload["iss"] != payload["issuer"].get("id") or \
            payload["sub"] != payload["credentialSubject"].get("id"):
        return Verification(False, "The credential's claims do not match its contents.")
    return Verification(True, "The signature is valid.", payload)
