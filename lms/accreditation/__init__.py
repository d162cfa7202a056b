from flask import Blueprint

bp = Blueprint("accreditation", __name__, template_folder="templates")

from lms.accreditation import views  # noqa: E402,F401
from lms.accreditation import export_views  # noqa: E402,F401
