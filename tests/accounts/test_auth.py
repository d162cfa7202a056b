"""Registration, confirmation, login, logout, password reset and change, profile."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from lms.accounts import services
from lms.accounts.models import Role, User
from tests.factories import PASSWORD, login, post_form

LINK_RE = re.compile(r"http://localhost(/\S+)")


def _link(mail) -> str:
    return LINK_RE.search(mail.body).group(1)


def _register(client, **overrides):
    data = {"name": "Amira Hussain", "email": "amira@example.org",
            "password": "cohesion takes patience", "confirm": "cohesion takes patience"}
    data.update(overrides)
    return post_form(client, "/register", data)


def test_register_creates_unverified_learner_and_sends_link(client, db, outbox):
    response = _register(client, email="  Amira@Example.org ")
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "amira@example.org"))
    assert user is not None and not user.is_verified
    assert user.role_names == {"learner"}
    assert user.password_hash.startswith("$argon2id$")
    assert len(outbox) == 1 and outbox[0].to == "amira@example.org"
    assert "/register/confirm/" in outbox[0].body


@pytest.mark.parametrize("overrides, message", [
    ({"password": "short pass", "confirm": "short pass"}, "at least 12 characters"),
    ({"password": "qwerty123456", "confirm": "qwerty123456"}, "too common"),
    ({"password": "passwordpassword", "confirm": "passwordpassword"}, "too common"),
    ({"password": "iloveyou1234", "confirm": "iloveyou1234"}, "too common"),
    ({"password": "abcdefghijklm", "confirm": "abcdefghijklm"}, "too common"),
    ({"password": "amira hussain", "confirm": "amira hussain"}, "your name"),
    ({"confirm": "something else entirely"}, "do not match"),
    ({"email": "not-an-email"}, "Enter an email address"),
    ({"name": ""}, "Enter your name"),
    ({"name": "x" * 200}, "at most 120"),
])
def test_register_rejects_bad_input_with_message_beside_field(client, db, overrides, message):
    response = _register(client, **overrides)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert 'class="error-summary"' in html
    assert db.session.scalar(select(User)) is None
    # What the user typed (other than passwords) is kept.
    if overrides.get("name", "x") and "name" not in overrides:
        assert 'value="Amira Hussain"' in html


def test_register_refuses_taken_email(client, make_user, db):
    make_user(email="taken@example.org")
    response = _register(client, email="TAKEN@example.org")
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(User)).all()) == 1


def test_confirmation_link_verifies_and_then_login_works(client, db, outbox):
    _register(client)
    response = client.get(_link(outbox[0]))
    assert response.status_code == 302
    assert db.session.scalar(select(User)).is_verified
    response = post_form(client, "/login", {"email": "amira@example.org", "password": "cohesion takes patience"})
    assert response.status_code == 302
    assert "Amira Hussain" in client.get("/").get_data(as_text=True)


def test_unverified_user_cannot_log_in_and_gets_a_new_link(client, outbox):
    _register(client)
    outbox.clear()
    response = post_form(client, "/login", {"email": "amira@example.org", "password": "cohesion takes patience"})
    assert response.status_code == 422
    assert "Confirm your email address" in response.get_data(as_text=True)
    assert len(outbox) == 1


def test_bad_confirmation_token_is_a_clear_400(client):
    response = client.get("/register/confirm/not-a-token")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_login_error_is_the_same_for_unknown_email_and_wrong_password(client, make_user):
    make_user(email="known@example.org")
    unknown = post_form(client, "/login", {"email": "nobody@example.org", "password": "whatever whatever"})
    wrong = post_form(client, "/login", {"email": "known@example.org", "password": "whatever whatever"})
    assert unknown.status_code == wrong.status_code == 422

    def error_text(response):
        return re.findall(r'class="field-error"[^>]*>(.*?)</p>', response.get_data(as_text=True), re.S)

    assert error_text(unknown) == error_text(wrong)
    assert "not correct" in error_text(unknown)[0]


def test_remember_me_keeps_the_user_logged_in_after_the_session_ends(app, client, make_user):
    user = make_user()
    post_form(client, "/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token")
    assert remember is not None and remember.http_only
    client.delete_cookie("session")  # the browser was closed
    assert client.get("/account").status_code == 200

    forgetful = app.test_client()
    post_form(forgetful, "/login", {"email": user.email, "password": PASSWORD})
    assert forgetful.get_cookie("remember_token") is None
    forgetful.delete_cookie("session")
    assert forgetful.get("/account").status_code == 302


def test_login_redirects_only_to_local_next(client, make_user):
    user = make_user()
    ok = post_form(client, "/login?next=/account", {"email": user.email, "password": PASSWORD}, page="/login")
    assert ok.headers["Location"] == "/account"
    post_form(client, "/logout", {}, page="/")
    evil = post_form(client, "/login?next=//evil.example/x", {"email": user.email, "password": PASSWORD},
                     page="/login")
    assert evil.headers["Location"] == "/learning/"


def test_deactivated_user_cannot_log_in(client, make_user):
    user = make_user(active=False)
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 422
    assert "deactivated" in response.get_data(as_text=True)


def test_logout_needs_post_and_ends_the_session(client, make_user):
    user = make_user()
    login(client, user)
    assert client.get("/logout").status_code == 200  # a page with a button, not an action
    assert client.get("/account").status_code == 200
    response = post_form(client, "/logout", {}, page="/")
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_sixth_rapid_failed_login_gets_429(client, make_user):
    user = make_user()
    for _ in range(5):
        response = post_form(client, "/login", {"email": user.email, "password": "wrong password!!"})
        assert response.status_code == 422
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


def test_successful_logins_do_not_use_up_the_limit(client, make_user):
    user = make_user()
    for _ in range(7):
        assert post_form(client, "/login", {"email": user.email, "password": PASSWORD}).status_code == 302
        post_form(client, "/logout", {}, page="/")


def test_form_post_without_csrf_token_is_rejected(client, make_user, db):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "form has expired" in response.get_data(as_text=True)
    response = client.post("/register", data={"name": "A", "email": "a@example.org",
                                               "password": "cohesion takes patience",
                                               "confirm": "cohesion takes patience"})
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "a@example.org")) is None


# Password reset --------------------------------------------------------------

def test_reset_request_answers_the_same_for_unknown_email(client, make_user, outbox):
    make_user(email="known@example.org")
    known = post_form(client, "/reset", {"email": "known@example.org"})
    unknown = post_form(client, "/reset", {"email": "unknown@example.org"})
    assert known.status_code == unknown.status_code == 200
    strip = lambda r: r.get_data(as_text=True).replace("unknown@example.org", "").replace("known@example.org", "")  # noqa: E731
    assert re.sub(r'value="[^"]+"', "", strip(known)) == re.sub(r'value="[^"]+"', "", strip(unknown))
    assert [m.to for m in outbox] == ["known@example.org"]


def test_reset_token_works_once(client, make_user, outbox, db):
    user = make_user()
    post_form(client, "/reset", {"email": user.email})
    link = _link(outbox[0])
    assert client.get(link).status_code == 200
    response = post_form(client, link, {"password": "a brand new passphrase", "confirm": "a brand new passphrase"})
    assert response.status_code == 302
    assert post_form(client, "/login", {"email": user.email, "password": "a brand new passphrase"}).status_code == 302
    post_form(client, "/logout", {}, page="/")
    # The same link again: refused, and the password stays.
    again = client.get(link)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)
    assert client.post(link, data={"password": "yet another passphrase"}).status_code == 400


def test_reset_token_expires(client, make_user, outbox, app):
    user = make_user()
    post_form(client, "/reset", {"email": user.email})
    link = _link(outbox[0])
    app.config["RESET_TOKEN_MAX_AGE"] = 1
    try:
        time.sleep(2.1)
        response = client.get(link)
    finally:
        app.config["RESET_TOKEN_MAX_AGE"] = 3600
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_reset_rejects_weak_password_with_message(client, make_user, outbox):
    user = make_user()
    post_form(client, "/reset", {"email": user.email})
    link = _link(outbox[0])
    response = post_form(client, link, {"password": "short", "confirm": "short"})
    assert response.status_code == 422
    assert "at least 12 characters" in response.get_data(as_text=True)


def test_reset_is_rate_limited(client, make_user):
    for _ in range(5):
        assert post_form(client, "/reset", {"email": "x@example.org"}).status_code == 200
    assert post_form(client, "/reset", {"email": "x@example.org"}).status_code == 429


# Account pages -----------------------------------------------------------------

def test_account_needs_login(client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_change_password_logs_out_other_sessions(app, client, make_user, db):
    user = make_user()
    other_device = app.test_client()
    login(client, user)
    login(other_device, user)
    response = post_form(client, "/account/password", {
        "current": PASSWORD, "password": "my new long passphrase", "confirm": "my new long passphrase"})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302
    db.session.rollback()
    assert services.check_password(db.session.get(User, user.id), "my new long passphrase")


def test_change_password_with_wrong_current_password(client, make_user):
    user = make_user()
    login(client, user)
    response = post_form(client, "/account/password", {
        "current": "not my password", "password": "my new long passphrase", "confirm": "my new long passphrase"})
    assert response.status_code == 422
    assert "current password is not correct" in response.get_data(as_text=True)


def test_edit_profile_name_and_email_change_needs_confirmation(client, make_user, outbox, db):
    user = make_user(email="old@example.org")
    login(client, user)
    response = post_form(client, "/account", {"name": "New Name", "email": "new@example.org"})
    assert response.status_code == 302
    db.session.rollback()
    user = db.session.get(User, user.id)
    assert user.name == "New Name" and user.email == "old@example.org" and user.pending_email == "new@example.org"
    assert outbox[-1].to == "new@example.org"
    client.get(_link(outbox[-1]))
    db.session.rollback()
    user = db.session.get(User, user.id)
    assert user.email == "new@example.org" and user.pending_email is None


def test_edit_profile_bad_input(client, make_user):
    user = make_user()
    other = make_user()
    login(client, user)
    response = post_form(client, "/account", {"name": "", "email": other.email})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter your name." in html


def test_roles_are_held_together(make_user):
    user = make_user([Role.TRAINER, Role.PARTNER])
    assert user.has_role("trainer") and user.has_role("partner") and not user.is_admin
