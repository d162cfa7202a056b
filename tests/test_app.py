"""The application shell: configuration, headers, health, error pages, mail."""
from __future__ import annotations

import os
import stat
import smtplib

import pytest
from flask import abort

from config import DevelopmentConfig, ProductionConfig, TestingConfig
from lms import create_app
from lms.mail import send_mail
from tests.factories import login


def test_security_headers_on_every_page(client):
    for path in ["/", "/login", "/no-such-page"]:
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_load_nothing_from_another_host(client):
    html = client.get("/").get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html
    assert "http://" not in html.replace("http://localhost", "") and "https://" not in html


def test_session_cookie_is_httponly_and_lax(client, make_user):
    from tests.factories import post_form, PASSWORD
    user = make_user()
    response = post_form(client, "/login", {"email": user.email, "password": PASSWORD})
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_unreachable():
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none",
                     SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] != "ok"


@pytest.mark.parametrize("path, status, title", [
    ("/no-such-page", 404, "Page not found"),
    ("/healthz", 405, "Not allowed"),
])
def test_error_pages_use_the_site_layout(client, path, status, title):
    response = client.post(path) if status == 405 else client.get(path)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert title in html and 'class="site-header"' in html and 'id="main"' in html


def test_403_page_in_layout(client, make_user):
    login(client, make_user("learner"))
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True) and 'class="site-header"' in response.get_data(as_text=True)


def test_500_page_in_layout():
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://", PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    @app.get("/teapot-400")
    def bad():
        abort(400)

    client = app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html and 'class="site-header"' in html and "boom" not in html
    assert client.get("/teapot-400").status_code == 400


def test_production_refuses_to_start_without_a_secret():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig, SECRET_KEY=None, SQLALCHEMY_DATABASE_URI="sqlite://")
    with pytest.raises(RuntimeError, match="32 characters"):
        create_app(ProductionConfig, SECRET_KEY="short", SQLALCHEMY_DATABASE_URI="sqlite://")


def test_production_refuses_debug():
    with pytest.raises(RuntimeError, match="Debug"):
        create_app(ProductionConfig, SECRET_KEY="x" * 40, DEBUG=True, SQLALCHEMY_DATABASE_URI="sqlite://")


def test_production_cookies_are_secure_and_hsts_is_sent():
    app = create_app(ProductionConfig, SECRET_KEY="x" * 40, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert "max-age" in app.test_client().get("/healthz").headers["Strict-Transport-Security"]


def test_secret_key_is_generated_into_instance_once(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    first = create_app(DevelopmentConfig, SECRET_KEY=None, SQLALCHEMY_DATABASE_URI="sqlite://")
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    second = create_app(DevelopmentConfig, SECRET_KEY=None, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) >= 64


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(tmp_path):
    from sqlalchemy import text

    from lms.extensions import db
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]


def test_database_url_switches_to_psycopg():
    from config import database_url
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url(None).endswith("instance/lms.sqlite3")


def test_mail_goes_to_the_log_without_smtp(app, caplog):
    app.config["MAIL_BACKEND"] = ""
    try:
        with caplog.at_level("INFO", logger="lms.mail"):
            send_mail("a@example.org", "Hello", "Body text")
    finally:
        app.config["MAIL_BACKEND"] = "memory"
    assert "a@example.org" in caplog.text and "Body text" in caplog.text


def test_mail_uses_smtp_when_configured(app, monkeypatch):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            sent.append(("starttls",))

        def login(self, user, password):
            sent.append(("login", user))

        def send_message(self, message):
            sent.append(("send", message["To"], message["Subject"]))

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config.update(MAIL_BACKEND="", MAIL_SERVER="smtp.example.org", MAIL_USERNAME="lms")
    try:
        send_mail("b@example.org", "Subject line", "Body")
    finally:
        app.config.update(MAIL_BACKEND="memory", MAIL_SERVER=None, MAIL_USERNAME=None)
    assert sent == [("connect", "smtp.example.org", 587), ("starttls",), ("login", "lms"),
                    ("send", "b@example.org", "Subject line")]
