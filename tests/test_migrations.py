"""Alembic's migrations build exactly the schema the models describe, on this backend."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from config import TestingConfig
from lms import create_app
from lms.extensions import db


def _diff(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, db.metadata)


def test_migrations_match_models(fresh_database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url)
    with app.app_context():
        upgrade()
    assert _diff(app) == []


def test_migrations_go_down_and_up_again(fresh_database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
    assert _diff(app) == []
