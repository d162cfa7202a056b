"""Configuration classes. Every setting reads the environment; the README lists them all.

The embedded default needs no settings at all: SQLite in ``instance/``, mail to the log,
rate-limit counters in memory and a secret key generated into ``instance/`` on first run.
"""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("LMS_INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def database_url(url: str | None) -> str:
    """Normalise a database URL: plain ``postgresql://`` URLs use psycopg 3."""
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'lms.sqlite3'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False

    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = _int("SQLITE_BUSY_TIMEOUT_MS", 15000)

    SITE_NAME = os.environ.get("SITE_NAME", "Cohesion LMS")
    # The public address of the site, used in emails, certificates and credentials.
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * _int("REMEMBER_DAYS", 30)
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12
    WTF_CSRF_TIME_LIMIT = 60 * 60 * 8
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
    # Number of trusted proxies in front of the app (X-Forwarded-For/-Proto).
    PROXY_COUNT = _int("PROXY_COUNT", 0)

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "5 per minute; 30 per hour")
    RESET_RATE_LIMIT = os.environ.get("RESET_RATE_LIMIT", "5 per 15 minutes")
    REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "10 per hour")

    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = _int("MAIL_PORT", 587)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", True)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Cohesion LMS <no-reply@localhost>")
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "")  # smtp, log or memory; empty: smtp when MAIL_SERVER is set, else log

    PASSWORD_MIN_LENGTH = 12
    RESET_TOKEN_MAX_AGE = _int("RESET_TOKEN_MAX_AGE", 60 * 60)
    VERIFY_TOKEN_MAX_AGE = _int("VERIFY_TOKEN_MAX_AGE", 60 * 60 * 24 * 3)

    # What is the same for every learner (course outlines, lesson HTML), cached by course version:
    # in-process by default, in Redis (shared by every app server) when CACHE_REDIS_URL is set.
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL") or None
    CACHE_TYPE = "RedisCache" if CACHE_REDIS_URL else "SimpleCache"
    CACHE_DEFAULT_TIMEOUT = _int("CACHE_DEFAULT_TIMEOUT", 60 * 60 * 24)
    CACHE_THRESHOLD = 5000  # entries an in-process cache holds before it drops some
    CACHE_KEY_PREFIX = "lms:"

    PER_PAGE = 25
    SIGNING_KEYS_DIR = os.environ.get("SIGNING_KEYS_DIR") or None
    ISSUER_EMAIL = os.environ.get("ISSUER_EMAIL") or None
    VERIFY_RATE_LIMIT = os.environ.get("VERIFY_RATE_LIMIT", "30 per minute")
    # A university's LRS may be on a private or loopback address only where this is on.
    XAPI_ALLOW_PRIVATE_LRS = _bool("XAPI_ALLOW_PRIVATE_LRS", False)

    # Stripe. Both keys empty: payments are not configured, and paid courses say so.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    # Another address for Stripe's API (a local fake in tests); empty means Stripe itself.
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "").rstrip("/")
    # Where Checkout pages live; forms may post (and be redirected) there. Empty: derived.
    STRIPE_CHECKOUT_ORIGIN = os.environ.get("STRIPE_CHECKOUT_ORIGIN", "").rstrip("/")
    CODE_RATE_LIMIT = os.environ.get("CODE_RATE_LIMIT", "10 per 10 minutes")

    @classmethod
    def check(cls, app) -> None:
        """Refuse to start with an unsafe setting. Subclasses add their own rules."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = _bool("FLASK_DEBUG", False)
    XAPI_ALLOW_PRIVATE_LRS = _bool("XAPI_ALLOW_PRIVATE_LRS", True)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://")
    MAIL_BACKEND = "memory"
    RATELIMIT_STORAGE_URI = "memory://"
    SERVER_NAME = None
    BASE_URL = "http://localhost"
    PASSWORD_HASHER_FAST = True  # cheaper argon2 parameters keep the suite quick
    XAPI_ALLOW_PRIVATE_LRS = True  # the test LRS listens on 127.0.0.1
    STRIPE_SECRET_KEY = ""  # tests that pay point Stripe at tests/fake_stripe.py themselves
    STRIPE_WEBHOOK_SECRET = ""
    STRIPE_API_BASE = ""
    STRIPE_CHECKOUT_ORIGIN = ""


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True

    @classmethod
    def check(cls, app) -> None:
        if not app.config.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in production.")
        if len(app.config["SECRET_KEY"]) < 32:
            raise RuntimeError("SECRET_KEY must be at least 32 characters in production.")
        if app.debug or app.config.get("DEBUG"):
            raise RuntimeError("Debug must be off in production.")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The configuration class named by ``LMS_CONFIG`` (development by default)."""
    name = os.environ.get("LMS_CONFIG", "development").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"LMS_CONFIG must be one of {', '.join(CONFIGS)}, not {name!r}.") from None
