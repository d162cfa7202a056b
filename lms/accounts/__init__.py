from flask import Blueprint

bp = Blueprint("accounts", __name__, template_folder="templates")
admin_bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")

from lms.accounts import admin, views  # noqa: E402,F401  (routes attach to the blueprints)
