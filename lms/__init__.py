"""Cohesion LMS: the application factory."""
from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, DevelopmentConfig


class LmsFlask(Flask):
    """Flask, with every view run through the app's one retry for lock contention (lms.database)."""

    def dispatch_request(self):
        from lms.database import retry_on_contention
        return retry_on_contention(super().dispatch_request)


def create_app(config_class: type[Config] = DevelopmentConfig, **overrides) -> Flask:
    """Build the app: configuration, extensions, blueprints, error pages and the CLI.

    It never migrates, seeds or calls the network.
    """
    app = LmsFlask(__name__, instance_path=os.environ.get("LMS_INSTANCE_PATH") or None)
    app.config.from_object(config_class)
    app.config.update(overrides)
    _ensure_secret_key(app)
    config_class.check(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    _init_extensions(app)
    _register_blueprints(app)

    from lms.database import note_write_intent
    app.before_request(note_write_intent)

    from lms.errors import register_error_handlers
    register_error_handlers(app)

    from lms.security import set_hsts, set_security_headers
    app.after_request(set_security_headers)
    if app.config.get("SESSION_COOKIE_SECURE"):
        app.after_request(set_hsts)

    from lms.templating import register_template_helpers
    register_template_helpers(app)

    from lms.cli import lms_cli
    app.cli.add_command(lms_cli)
    return app


def _ensure_secret_key(app: Flask) -> None:
    """Use SECRET_KEY from the environment, or one generated once into instance/."""
    if app.config.get("SECRET_KEY") or app.config.get("ENV_NAME") == "production":
        return
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    app.config["SECRET_KEY"] = path.read_text().strip()


def _init_extensions(app: Flask) -> None:
    from lms.database import configure_sqlite
    from lms.extensions import cache, csrf, db, limiter, login_manager, migrate

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and uri != "sqlite://":
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if uri.startswith("sqlite"):  # a file on this machine never drops a connection: no ping per request
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.pop("pool_pre_ping", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    cache.init_app(app)
    limiter.init_app(app)

    from lms.accounts.services import load_user
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    # Import every model so the metadata is whole for Alembic and create_all.
    import lms.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from lms import accounts, accreditation, assessment, certificates, courses, main, payments

    app.register_blueprint(main.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(accounts.admin_bp)
    app.register_blueprint(courses.bp)
    app.register_blueprint(assessment.bp)
    app.register_blueprint(certificates.bp)
    app.register_blueprint(accreditation.bp)
    from lms.accreditation.api import api_bp
    app.register_blueprint(api_bp)
    app.register_blueprint(payments.bp)
