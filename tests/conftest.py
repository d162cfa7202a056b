"""Fixtures shared by the whole suite.

The suite runs on SQLite by default and on PostgreSQL when LMS_TEST_BACKEND=postgresql
(``make test`` does both when TEST_DATABASE_URL is set). Each test starts from empty tables.
"""
from __future__ import annotations

import os
import threading

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.serving import make_server

from config import TestingConfig
from lms import create_app
from lms.database import write_intent
from lms.extensions import db as _db
from lms.extensions import cache, limiter
from lms.mail import outbox as _outbox
from tests.factories import make_user as _make_user

BACKEND = os.environ.get("LMS_TEST_BACKEND", "sqlite")


def pytest_report_header(config):
    return f"database backend: {BACKEND}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if BACKEND == "postgresql":
        url = os.environ.get("TEST_DATABASE_URL")
        if not url:
            pytest.exit("LMS_TEST_BACKEND=postgresql needs TEST_DATABASE_URL", returncode=2)
        from config import database_url as normalise
        return normalise(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture
def fresh_database_url(database_url, tmp_path):
    """The URL of a new, empty database on this backend, dropped after the test."""
    if BACKEND != "postgresql":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    from uuid import uuid4

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    name = f"lms_fresh_{uuid4().hex[:12]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own app context, as in production.

    Without this, a request reuses the test's app context, and with it ``g`` (where
    Flask-Login caches the user) and the test's database session.
    """

    def open(self, *args, **kwargs):
        outer = _cv_app.get(None)
        if outer is not None:
            _db.session.commit()  # the request sees what the test wrote, and waits on no lock of ours
        token = _cv_app.set(None)
        intent = write_intent.set(False)  # the request's own, as a server thread's would be
        try:
            response = super().open(*args, **kwargs)
            response.get_data()  # a streamed body runs now, inside the request's own context
            response.close()
            return response
        finally:
            write_intent.reset(intent)  # a POST here must not make the test's own session take the write lock
            _cv_app.reset(token)
            if outer is not None:
                _db.session.commit()  # end the test's snapshot: it sees what the request wrote


@pytest.fixture(scope="session")
def app(database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    app.test_client_class = IsolatedClient
    with app.app_context():
        _drop_everything()
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _drop_everything() -> None:
    _db.drop_all()
    with _db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _empty_tables() -> None:
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE TABLE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(autouse=True)
def _isolated(app):
    """Every test runs in an app context and leaves empty tables, counters and outbox behind."""
    with app.app_context():
        limiter.reset()
        cache.clear()
        _outbox(app).clear()
        yield
        _db.session.remove()
        _empty_tables()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def outbox(app):
    return _outbox(app)


@pytest.fixture
def make_user(app):
    return _make_user


@pytest.fixture(scope="session")
def live_server(app):
    """The test app served from a thread on a free port of 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    old_base = app.config["BASE_URL"]
    app.config["BASE_URL"] = base_url  # links in mail point at this server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base_url
    server.shutdown()
    app.config["BASE_URL"] = old_base
