from flask import Blueprint

bp = Blueprint("payments", __name__, template_folder="templates")
