"""Account rules: registration, passwords, tokens, roles and organisations.

Services take the acting user as an argument, flush, and leave the commit to the caller.
"""
from __future__ import annotations

import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from lms.accounts.models import Organisation, OrganisationKind, OrganisationMember, Role, User, UserRole
from lms.database import utcnow
from lms.extensions import db


class AccountError(Exception):
    """A rule about accounts was broken; the message is fit to show the user."""


class EmailTakenError(AccountError):
    pass


class InvalidTokenError(AccountError):
    pass


class WeakPasswordError(AccountError):
    pass


# Passwords -----------------------------------------------------------------

@cache
def _hasher(fast: bool) -> PasswordHasher:
    if fast:  # the test suite: same algorithm, cheaper parameters
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()  # argon2id with the library's RFC 9106 defaults


def _password_hasher() -> PasswordHasher:
    return _hasher(bool(current_app.config.get("PASSWORD_HASHER_FAST")))


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


def check_password(user: User, password: str) -> bool:
    hasher = _password_hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


@cache
def common_passwords() -> frozenset[str]:
    """About 30,000 of the most used passwords (zxcvbn's list), lower-cased."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS
    return frozenset(FREQUENCY_LISTS["passwords"])


_SEQUENCES = ("0123456789012345678901234567890", "abcdefghijklmnopqrstuvwxyz",
              "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn7ujm")
_DECORATION = "0123456789!@#$%^&*?._-+= "


def is_common_password(password: str) -> bool:
    """In the common-password list, or a simple variation of one (repeats, runs, added digits)."""
    lowered = password.lower()
    common = common_passwords()
    if lowered in common:
        return True
    base = lowered.strip(_DECORATION)
    if len(base) >= 4 and base in common:
        return True
    for size in range(1, len(lowered) // 2 + 1):
        if len(lowered) % size == 0 and lowered == lowered[:size] * (len(lowered) // size):
            return True
    return any(lowered in seq or lowered in seq[::-1] for seq in _SEQUENCES)


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """What is wrong with a new password, as messages for the user (empty when fine)."""
    problems = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        problems.append(f"Use at least {minimum} characters.")
    lowered = password.lower()
    squashed = lowered.replace(" ", "")
    if is_common_password(password):
        problems.append("This password is too common or too easy to guess. Choose another.")
    elif (email and lowered.strip() == email.strip().lower()) or (name and squashed == name.lower().replace(" ", "")):
        problems.append("Do not use your email address or your name as your password.")
    return problems


def _require_good_password(password: str, *, email: str = "", name: str = "") -> None:
    problems = password_problems(password, email=email, name=name)
    if problems:
        raise WeakPasswordError(" ".join(problems))


# Registration and login ----------------------------------------------------

def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def email_in_use(email: str, *, except_user: User | None = None) -> bool:
    query = select(User.id).where(
        or_(User.email == normalise_email(email), User.pending_email == normalise_email(email)))
    if except_user is not None:
        query = query.where(User.id != except_user.id)
    return db.session.scalar(query.limit(1)) is not None


def create_user(email: str, name: str, password: str, *, roles=(Role.LEARNER,),
                verified: bool = False, check_password_strength: bool = True) -> User:
    email = normalise_email(email)
    if email_in_use(email):
        raise EmailTakenError("An account with this email address already exists.")
    if check_password_strength:
        _require_good_password(password, email=email, name=name)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password),
                email_verified_at=utcnow() if verified else None, active=True, session_version=1)
    user.roles = [UserRole(role=str(role)) for role in dict.fromkeys(roles)]
    db.session.add(user)
    db.session.flush()
    return user


def register(email: str, name: str, password: str) -> User:
    """A new learner account, unverified until the emailed link is followed."""
    return create_user(email, name, password, roles=(Role.LEARNER,))


_DUMMY_HASH: str | None = None


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None. Takes as long either way."""
    global _DUMMY_HASH
    user = find_user_by_email(email)
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hash_password(secrets.token_hex(16))
        try:  # spend the same time as a real check, so timing reveals nothing
            _password_hasher().verify(_DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            pass
        return None
    return user if check_password(user, password) else None


def record_login(user: User) -> None:
    user.last_login_at = utcnow()
    db.session.flush()


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the id carries the session version, so old sessions end."""
    try:
        raw_id, raw_version = user_id.split(".", 1)
        uid, version = int(raw_id), int(raw_version)
    except ValueError:
        return None
    # With its roles: every page's menu asks for them.
    user = db.session.get(User, uid, options=[joinedload(User.roles)])
    if user is None or user.session_version != version:
        return None
    return user


# Tokens --------------------------------------------------------------------

def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:20]


def make_verify_token(user: User) -> str:
    return _serializer("verify-email").dumps({"u": user.id, "e": user.pending_email or user.email})


def confirm_email(token: str) -> User:
    """Mark the address in the token as verified (and switch to it if it was pending)."""
    try:
        data = _serializer("verify-email").loads(token, max_age=current_app.config["VERIFY_TOKEN_MAX_AGE"])
    except SignatureExpired:
        raise InvalidTokenError("This confirmation link has expired. Log in to get a new one.") from None
    except BadSignature:
        raise InvalidTokenError("This confirmation link is not valid.") from None
    user = db.session.get(User, data.get("u"))
    if user is None:
        raise InvalidTokenError("This confirmation link is not valid.")
    if user.pending_email and data.get("e") == user.pending_email:
        taken = db.session.scalar(select(User.id).where(User.email == user.pending_email, User.id != user.id))
        if taken:
            raise InvalidTokenError("That address is now used by another account.")
        user.email, user.pending_email = user.pending_email, None
        user.email_verified_at = utcnow()
    elif data.get("e") != user.email:
        raise InvalidTokenError("This confirmation link is for an address no longer on the account.")
    elif user.email_verified_at is None:
        user.email_verified_at = utcnow()
    db.session.flush()
    return user


def make_reset_token(user: User) -> str:
    # The token is bound to the current password hash, so it works only once.
    return _serializer("reset-password").dumps({"u": user.id, "h": _fingerprint(user.password_hash)})


def user_for_reset_token(token: str) -> User:
    try:
        data = _serializer("reset-password").loads(token, max_age=current_app.config["RESET_TOKEN_MAX_AGE"])
    except SignatureExpired:
        raise InvalidTokenError("This reset link has expired. Ask for a new one.") from None
    except BadSignature:
        raise InvalidTokenError("This reset link is not valid. Ask for a new one.") from None
    user = db.session.get(User, data.get("u"))
    if user is None or not user.active or data.get("h") != _fingerprint(user.password_hash):
        raise InvalidTokenError("This reset link has already been used or is no longer valid. Ask for a new one.")
    return user


def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    _set_password(user, new_password)
    # Following the emailed link proves the address.
    user.email_verified_at = user.email_verified_at or utcnow()
    db.session.flush()
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not check_password(user, current_password):
        raise AccountError("Your current password is not correct.")
    _set_password(user, new_password)
    db.session.flush()


def _set_password(user: User, new_password: str) -> None:
    _require_good_password(new_password, email=user.email, name=user.name)
    user.password_hash = hash_password(new_password)
    user.session_version += 1


def update_profile(user: User, *, name: str, email: str) -> bool:
    """Save the profile. Returns True when a new email address awaits confirmation."""
    user.name = name.strip()
    email = normalise_email(email)
    email_changed = email != user.email
    if email_changed:
        if email_in_use(email, except_user=user):
            raise EmailTakenError("An account with this email address already exists.")
        user.pending_email = email
    db.session.flush()
    return email_changed


# Administration ------------------------------------------------------------

def search_users(query: str = "", role: str = "", status: str = ""):
    """A select() of users matching a name/email search, a role and a status, newest first."""
    stmt = select(User).order_by(User.created_at.desc(), User.id.desc())
    if query:
        pattern = f"%{query.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.email).like(pattern), func.lower(User.name).like(pattern)))
    if role:
        stmt = stmt.where(User.roles.any(UserRole.role == role))
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "inactive":
        stmt = stmt.where(User.active.is_(False))
    elif status == "unverified":
        stmt = stmt.where(User.email_verified_at.is_(None))
    return stmt


def grant_role(actor: User, user: User, role: str) -> None:
    role = Role(role)
    if not user.has_role(role):
        user.roles.append(UserRole(role=str(role)))
    db.session.flush()


def remove_role(actor: User, user: User, role: str) -> None:
    role = Role(role)
    if user.id == actor.id and role == Role.ADMIN:
        raise AccountError("You cannot remove your own admin role.")
    user.roles = [r for r in user.roles if r.role != role]
    db.session.flush()


def set_active(actor: User, user: User, active: bool) -> None:
    if user.id == actor.id and not active:
        raise AccountError("You cannot deactivate your own account.")
    if user.active != active:
        user.active = active
        user.session_version += 1  # a deactivated user is logged out everywhere
    db.session.flush()


def organisation_name_taken(name: str, *, except_org: Organisation | None = None) -> bool:
    stmt = select(Organisation.id).where(func.lower(Organisation.name) == name.strip().lower())
    if except_org is not None:
        stmt = stmt.where(Organisation.id != except_org.id)
    return db.session.scalar(stmt) is not None


def save_organisation(org: Organisation | None, *, name: str, kind: str, website: str = "") -> Organisation:
    if organisation_name_taken(name, except_org=org):
        raise AccountError("An organisation with this name already exists.")
    org = org or Organisation()
    org.name = name.strip()
    org.kind = OrganisationKind(kind).value
    org.website = website.strip() or None
    db.session.add(org)
    db.session.flush()
    return org


def add_member(org: Organisation, email: str) -> OrganisationMember:
    user = find_user_by_email(email)
    if user is None:
        raise AccountError("No account uses that email address.")
    if any(m.user_id == user.id for m in org.members):
        raise AccountError(f"{user.name} is already a member of {org.name}.")
    member = OrganisationMember(user=user)
    org.members.append(member)
    db.session.flush()
    return member


def remove_member(org: Organisation, member: OrganisationMember) -> None:
    org.members.remove(member)
    db.session.flush()
