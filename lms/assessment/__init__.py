from flask import Blueprint

bp = Blueprint("assessment", __name__, template_folder="templates")

from lms.assessment import marking, views  # noqa: E402,F401
