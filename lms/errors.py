"""Error pages in the site layout (JSON for API paths)."""
from __future__ import annotations

from flask import jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from lms.database import ContentionError
from lms.extensions import db

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Go back, check what you entered and try again."),
    403: ("Not allowed", "Your account does not have access to this page. "
                         "If you think it should, contact the site administrator."),
    404: ("Page not found", "We could not find that page. It may have moved, or the address may be mistyped."),
    405: ("Not allowed", "That action is not available on this page."),
    413: ("Too large", "What you sent is larger than we accept."),
    422: ("Check your input", "Some of what you entered could not be used."),
    429: ("Too many attempts", "You have tried this too often in a short time. Wait a few minutes and try again."),
    500: ("Something went wrong", "An error on our side stopped this page. It has been logged; "
                                  "please try again in a moment."),
    503: ("Unavailable", "The service is unavailable for a moment. Please try again shortly."),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/stripe/")


def render_error(status: int, detail: str | None = None):
    title, message = MESSAGES.get(status, ("Error", "Something went wrong."))
    if _wants_json():
        return jsonify(error=title, detail=detail or message), status
    return render_template("errors/error.html", status=status, title=title,
                           message=detail or message), status


def handle_http_exception(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    custom = error.description if error.description != type(error).description else None
    return render_error(error.code, custom)


def handle_csrf_error(error: CSRFError):
    return render_error(400, "This form has expired or was not sent from this site. "
                             "Reload the page and try again; what you typed may need entering again.")


def handle_server_error(error: Exception):
    db.session.rollback()
    return render_error(500)


def handle_contention(error: ContentionError):
    response = make_response(render_error(503, "The site is very busy for a moment and could not save that. "
                                               "Nothing was changed: please try again."))
    response.headers["Retry-After"] = "1"
    return response


def register_error_handlers(app) -> None:
    app.register_error_handler(ContentionError, handle_contention)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InternalServerError, handle_server_error)
