"""Absolute links for mail, PDFs and credentials, always built on BASE_URL.

Links in mail never use the request's Host header, which a client chooses.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, render_template


def external_url(endpoint: str, **values) -> str:
    adapter = current_app.url_map.bind("localhost", url_scheme="https")
    path = adapter.build(endpoint, values, force_external=False)
    return current_app.config["BASE_URL"] + path


def is_safe_next(target: str | None) -> bool:
    """A redirect target that stays on this site: a path, never another host."""
    if not target or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//")


def form_page(template: str, form, **context):
    """Render a page holding ``form``; a submitted form with errors answers 422."""
    status = 422 if form.is_submitted() and form.errors else 200
    return render_template(template, form=form, **context), status
