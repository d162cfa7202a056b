"""A learner's pathway transcript as a 1EdTech Comprehensive Learner Record (CLR) 2.0, signed as a VC-JWT.

The transcript is a ``ClrCredential`` whose ``ClrSubject`` holds one Open Badges 3.0
``AchievementCredential`` per module whose credit the university has approved (the newest
version of the record is ``approved``; a failed module can never be approved, and a rejected or
later-withdrawn award is left out), the ``Achievement`` of each module and of the pathway, and
``isPartOf`` associations from each module to the pathway.

Each AchievementCredential is signed on its own, with the same keys and ``sign()`` as the
certificates' credentials. The CLR 2.0 schema requires ``verifiableCredential`` entries to be
credential objects, and a VC-JWT's proof is external to the credential, so each one is embedded
as the credential object with a ``JwtProof2020`` proof whose ``jwt`` is its compact VC-JWT:
readers and schema validators see the data, and anyone can verify each module credential on its
own as well as the transcript as a whole (``check_transcript``).
"""
from __future__ import annotations

import hashlib
import uuid

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from lms.accreditation.models import CreditAward, Pathway, PathwayModule, PathwayRegistration
from lms.accreditation.xapi import module_activity_id, pathway_activity_id
from lms.certificates.credentials import (OB_CONTEXT, OB_SCHEMA, Verification, current_key, hashed_email,
                                          issuer_profile, learner_uuid, sign, verify_signature)
from lms.extensions import db

CLR_CONTEXT = ["https://www.w3.org/ns/credentials/v2",
               "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
               "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
CLR_SCHEMA = "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
NAMESPACE = uuid.UUID("9d3e1f7a-52c4-5b0e-8f61-0a7c2d4e6b13")
FHEQ_URL = "https://www.qaa.ac.uk/the-quality-code/qualifications-frameworks"
FHEQ_NAMES = {4: "Certificate of Higher Education", 5: "Foundation degree / Diploma of Higher Education",
              6: "Bachelor's degree with honours", 7: "Master's degree", 8: "Doctoral degree"}
FIELD_OF_STUDY = "Community cohesion and integration"
REGISTERED_CLAIMS = ("iss", "jti", "sub", "nbf", "exp")


class EmptyTranscriptError(Exception):
    """The learner has no approved credit on this pathway yet: there is nothing to put in a CLR."""


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _urn(name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, current_app.config['BASE_URL'] + '|' + name)}"


def transcript_awards(registration: PathwayRegistration) -> list[CreditAward]:
    """The newest version of each of the registration's credit records, where it is an approved award."""
    newest = (select(CreditAward.pathway_module_id, func.max(CreditAward.version).label("version"))
              .where(CreditAward.registration_id == registration.id)
              .group_by(CreditAward.pathway_module_id).subquery())
    stmt = (select(CreditAward).join(newest, (CreditAward.pathway_module_id == newest.c.pathway_module_id)
                                     & (CreditAward.version == newest.c.version))
            .join(PathwayModule, PathwayModule.id == CreditAward.pathway_module_id)
            .where(CreditAward.registration_id == registration.id, CreditAward.status == "approved")
            .options(joinedload(CreditAward.pathway_module).joinedload(PathwayModule.course))
            .order_by(PathwayModule.position, PathwayModule.code))
    return list(db.session.scalars(stmt))


def _alignment(level: int) -> dict:
    return {"type": ["Alignment"], "targetName": f"FHEQ level {level}: {FHEQ_NAMES.get(level, 'level ' + str(level))}",
            "targetDescription": "The Framework for Higher Education Qualifications of degree-awarding bodies in "
                                 "England, Wales and Northern Ireland (QAA).",
            "targetUrl": FHEQ_URL, "targetFramework": "FHEQ", "targetCode": str(level), "targetType": "ext:FHEQLevel"}


def module_achievement(pathway: Pathway, module: PathwayModule) -> dict:
    course = module.course
    achievement_id = module_activity_id(pathway, module)
    return {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": "Course",
        "name": course.title,
        "description": course.summary or course.title,
        "criteria": {"narrative": f"Complete every lesson and assessment of {course.title}, with the mark "
                                  f"moderated and the credit approved by {pathway.university.name}; "
                                  f"{module.credits} UK credits at FHEQ level {module.level} for a pass."},
        "humanCode": module.code,
        "creditsAvailable": float(module.credits),
        "fieldOfStudy": FIELD_OF_STUDY,
        "inLanguage": "en-GB",
        "alignment": [_alignment(module.level)],
        "resultDescription": [
            {"id": achievement_id + "#mark", "type": ["ResultDescription"], "name": "Mark (moderated)",
             "resultType": "Percent", "valueMin": "0", "valueMax": "100"},
            {"id": achievement_id + "#outcome", "type": ["ResultDescription"], "name": "Outcome",
             "resultType": "Status", "allowedValue": ["passed", "failed"], "requiredValue": "passed"},
        ],
    }


def pathway_achievement(pathway: Pathway) -> dict:
    return {
        "id": pathway_activity_id(pathway),
        "type": ["Achievement"],
        "achievementType": "LearningProgram",
        "name": pathway.title,
        "description": f"Modules counting towards a {pathway.award} awarded by {pathway.university.name}: "
                       f"{pathway.credits_required} UK credits ({pathway.credits_required / 2:g} ECTS) needed.",
        "criteria": {"narrative": f"{pathway.credits_required} approved UK credits at FHEQ level {pathway.level}, "
                                  f"and the decision of {pathway.university.name}'s board of examiners."},
        "creditsAvailable": float(pathway.credits_required),
        "fieldOfStudy": FIELD_OF_STUDY,
        "alignment": [_alignment(pathway.level)],
    }


def _subject_identity(registration: PathwayRegistration, credential_id: str) -> dict:
    salt = hashlib.sha256(f"{credential_id}{current_app.config['SECRET_KEY']}".encode()).hexdigest()[:16]
    return {"id": f"urn:uuid:{learner_uuid(registration.user_id)}",
            "identifier": [{"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                            "identityHash": hashed_email(registration.user.email, salt), "salt": salt},
                           {"type": "IdentityObject", "identityType": "identifier", "hashed": False,
                            "identityHash": registration.reference}]}


def achievement_credential(award: CreditAward, profile: dict) -> dict:
    registration, module = award.registration, award.pathway_module
    pathway = registration.pathway
    credential_id = _urn(f"credit-award|{award.id}")
    achievement = module_achievement(pathway, module)
    subject = _subject_identity(registration, credential_id)
    return {
        "@context": OB_CONTEXT,
        "id": credential_id,
        "type": ["VerifiableCredential", "AchievementCredential"],
        "issuer": profile,
        "name": f"{module.code} {module.course.title}: {award.credits} UK credits at FHEQ level {award.level}",
        "validFrom": _iso(award.created_at),
        "awardedDate": _iso(award.created_at),
        "credentialSchema": [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
        "credentialSubject": {
            **subject,
            "type": ["AchievementSubject"],
            "achievement": achievement,
            "creditsEarned": float(award.credits),
            "result": [
                {"type": ["Result"], "resultDescription": achievement["id"] + "#mark", "value": str(award.mark)},
                {"type": ["Result"], "resultDescription": achievement["id"] + "#outcome", "value": award.result,
                 "status": "Completed"},
            ],
        },
    }


def build_transcript(registration: PathwayRegistration, key=None) -> tuple[dict, list[str]]:
    """The ClrCredential (unsigned) and the signed module credentials inside it."""
    awards = transcript_awards(registration)
    if not awards:
        raise EmptyTranscriptError("There is no transcript yet: it lists the modules whose credit "
                                   f"{registration.pathway.university.name} has approved, and none has been "
                                   "approved so far.")
    pathway = registration.pathway
    profile = {k: v for k, v in issuer_profile().items() if v is not None}
    embedded, tokens = [], []
    key = key or current_key()  # read from disk once, not once per module
    for award in awards:
        credential = achievement_credential(award, profile)
        token = sign(credential, key)
        tokens.append(token)
        embedded.append({**credential, "proof": [{"type": "JwtProof2020", "jwt": token}]})
    clr_id = _urn(f"clr|{registration.id}|" + ",".join(str(a.id) for a in awards))
    program = pathway_achievement(pathway)
    modules = [c["credentialSubject"]["achievement"] for c in embedded]
    total = sum(a.credits for a in awards)
    credential = {
        "@context": CLR_CONTEXT,
        "id": clr_id,
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": profile,
        "name": f"Transcript: {pathway.title}",
        "description": f"Approved credit towards {pathway.award} at {pathway.university.name} for learner "
                       f"{registration.reference}: {total} of {pathway.credits_required} UK credits.",
        "validFrom": _iso(max(a.created_at for a in awards)),
        "awardedDate": _iso(max(a.created_at for a in awards)),
        "credentialSchema": [{"id": CLR_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}],
        "credentialSubject": {
            **_subject_identity(registration, clr_id),
            "type": ["ClrSubject"],
            "verifiableCredential": embedded,
            "achievement": [program, *modules],
            "association": [{"type": "Association", "associationType": "isPartOf", "sourceId": m["id"],
                             "targetId": program["id"]} for m in modules],
        },
    }
    return credential, tokens


def signed_transcript(registration: PathwayRegistration) -> str:
    key = current_key()
    credential, _ = build_transcript(registration, key)
    return sign(credential, key)


def check_transcript(payload: dict) -> Verification:
    """A transcript whose own signature is valid: check every module credential inside it too."""
    subject = payload.get("credentialSubject") or {}
    embedded = subject.get("verifiableCredential")
    if not isinstance(embedded, list) or not embedded:
        return Verification(False, "The transcript holds no module credentials.", payload)
    for credential in embedded:
        proofs = credential.get("proof") if isinstance(credential, dict) else None
        token = next((p.get("jwt") for p in proofs or [] if isinstance(p, dict) and p.get("type") == "JwtProof2020"),
                     None)
        if not token:
            return Verification(False, "A module credential in the transcript has no signature.", payload)
        inner = verify_signature(token)
        if not inner.valid:
            return Verification(False, f"A module credential in the transcript is not valid: {inner.reason}",
                                payload)
        signed = {k: v for k, v in inner.credential.items() if k not in REGISTERED_CLAIMS}
        shown = {k: v for k, v in credential.items() if k != "proof"}
        if signed != shown:
            return Verification(False, "A module credential in the transcript differs from what was signed.",
                                payload)
        if inner.credential["sub"] != subject.get("id"):
            return Verification(False, "A module credential in the transcript is for another learner.", payload)
    return _standing(payload, embedded)


def _standing(payload: dict, embedded: list[dict]) -> Verification:
    """Signatures are good: is each module's credit still what the university approved?"""
    subject = payload["credentialSubject"]
    reference = next((i.get("identityHash") for i in subject.get("identifier") or []
                      if isinstance(i, dict) and i.get("identityType") == "identifier"), None)
    registration = db.session.scalar(select(PathwayRegistration).where(PathwayRegistration.reference == reference)) \
        if isinstance(reference, str) else None
    if registration is None:
        return Verification(False, "We have no record of this learner's registration.", payload)
    current = {_urn(f"credit-award|{award.id}") for award in transcript_awards(registration)}
    for credential in embedded:
        if credential.get("id") not in current:
            code = credential.get("credentialSubject", {}).get("achievement", {}).get("humanCode", "a module")
            return Verification(False, f"The credit for {code} in this transcript has since been changed or "
                                       "withdrawn by the university: ask for a new transcript.", payload)
    return Verification(True, f"The transcript's signature is valid, and so are the {len(embedded)} module "
                              "credential(s) in it, each still as the university approved it.", payload)
