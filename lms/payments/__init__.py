from flask import Blueprint

bp = Blueprint("payments", __name__, template_folder="templates")

from lms.payments import views  # noqa: E402,F401
