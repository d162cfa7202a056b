"""What every bench script needs: an app on an empty database of its own."""
from __future__ import annotations

import tempfile
from pathlib import Path

from config import TestingConfig
from lms import create_app
from lms.extensions import db


def fresh_app(database_url: str | None = None, **overrides):
    """The app on empty tables: a new SQLite file by default, or ``database_url`` emptied first.

    The caller runs inside ``app.app_context()``; this one is only for creating the tables.
    """
    url = database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, **overrides)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app
