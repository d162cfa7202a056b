"""The app as gunicorn serves it in the live-server tests: ``gunicorn tests.live.serve:app``."""
import os

from config import TestingConfig
from lms import create_app

app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=os.environ["LMS_LIVE_DATABASE_URL"], RATELIMIT_ENABLED=False)
