"""Builders for test data, and helpers to act as a user."""
from __future__ import annotations

import itertools
import re

from lms.accounts import services
from lms.accounts.models import Role, User
from lms.extensions import db

PASSWORD = "a sturdy test passphrase"
_counter = itertools.count(1)


def make_user(role: str | Role | list = Role.LEARNER, *, email: str | None = None, name: str | None = None,
              password: str = PASSWORD, verified: bool = True, active: bool = True) -> User:
    """A committed user holding ``role`` (or a list of roles)."""
    n = next(_counter)
    roles = [role] if isinstance(role, (str, Role)) else list(role)
    user = services.create_user(email or f"user{n}@example.org", name or f"Test User {n}", password,
                                roles=[Role(r) for r in roles], verified=verified)
    user.active = active
    db.session.commit()
    return user


def login(client, user: User) -> None:
    """Log ``user`` in on ``client`` without going through the form."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, page: str = "/login") -> str:
    html = client.get(page).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {page}"
    return match.group(1) or match.group(2)


def post_form(client, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
    """POST ``data`` to ``url`` with a valid CSRF token taken from ``page`` (default: ``url``)."""
    data = dict(data or {})
    data["csrf_token"] = csrf_token(client, page or url)
    return client.post(url, data=data, **kwargs)
