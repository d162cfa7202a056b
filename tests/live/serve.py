"""The app as gunicorn serves it in the live-server tests: ``gunicorn tests.live.serve:app``."""
import os

from config import TestingConfig
from lms import create_app
from tests.fake_stripe import SECRET_KEY, WEBHOOK_SECRET

# Webhooks are signed with the fake's test secret; the API address is one nothing listens on, so a
# live test never reaches Stripe (the payment tests only post webhooks and forms).
app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=os.environ["LMS_LIVE_DATABASE_URL"], RATELIMIT_ENABLED=False,
                 STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                 STRIPE_API_BASE="http://127.0.0.1:9")
