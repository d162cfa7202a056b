"""Forms shared by several packages."""
from flask_wtf import FlaskForm


class ConfirmForm(FlaskForm):
    """An empty form: its CSRF token is what a confirmation step or a one-button action posts."""
