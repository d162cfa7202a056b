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


def test_decided_registrations_get_their_decision_as_history(fresh_database_url):
    """0014 gives each decided registration its first decision, and never claims an identity check unrecorded."""
    from sqlalchemy import text
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url)
    with app.app_context():
        upgrade(revision="0014_registration_decisions-1")
        with db.engine.begin() as conn:
            for n in (1, 2, 3):
                conn.execute(text("INSERT INTO users (id, email, name, password_hash, active, session_version, "
                                  "created_at) VALUES (:n, :email, 'P', 'x', true, 1, CURRENT_TIMESTAMP)"),
                             {"n": n, "email": f"u{n}@example.org"})
            conn.execute(text("INSERT INTO organisations (id, name, kind, created_at) VALUES (1, 'U', 'university', CURRENT_TIMESTAMP)"))
            conn.execute(text("INSERT INTO pathways (id, slug, title, award, university_id, framework, level, "
                              "credits_required, entry_requirements, consent_text, status) "
                              "VALUES (1, 'p', 'P', 'PGCert', 1, 'CATS', 7, 60, '', 'c', 'published')"))
            for n, (status, checked) in enumerate([("approved", True), ("rejected", False), ("pending", False)], 1):
                conn.execute(text(
                    "INSERT INTO pathway_registrations (id, reference, pathway_id, user_id, legal_name, date_of_birth,"
                    " prior_qualifications, consent_text, consented_at, status, reason, identity_checked,"
                    " decided_by_id, decided_at, created_at, updated_at) VALUES (:n, :ref, 1, :n, 'L', '1980-01-01',"
                    " '', 'c', CURRENT_TIMESTAMP, :status, :reason, :checked, 1, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
                    {"n": n, "ref": f"CL{n}", "status": status, "reason": "no" if status == "rejected" else "",
                     "checked": checked})
        upgrade(revision="0014_registration_decisions")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT registration_id, sequence, status, identity_method, identity_note, "
                                     "decided_by_id FROM registration_decisions ORDER BY registration_id")).all()
    assert [tuple(r) for r in rows] == [(1, 1, "approved", "not-recorded", "Marked as checked; method not recorded", 1),
                                        (2, 1, "rejected", None, "", 1)]
