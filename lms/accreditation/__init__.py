from flask import Blueprint

bp = Blueprint("accreditation", __name__, template_folder="templates")
