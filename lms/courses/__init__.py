from flask import Blueprint

bp = Blueprint("courses", __name__, template_folder="templates")

from lms.courses import authoring, report_views, views  # noqa: E402,F401
