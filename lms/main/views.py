"""The home page and the health check."""
from __future__ import annotations

from flask import jsonify, render_template
from sqlalchemy import text

from lms.extensions import db, limiter
from lms.main import bp


@bp.get("/")
def index():
    return render_template("main/index.html")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "unavailable"
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
