"""Entry point for gunicorn (``wsgi:app``) and ``flask --app wsgi``."""
from config import config_from_env
from lms import create_app

app = create_app(config_from_env())
