"""The form a university's partner staff use to set their Learning Record Store."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from lms.accreditation.delivery import LrsError, check_endpoint_url
from lms.accreditation.forms import strip


class LrsForm(FlaskForm):
    endpoint = StringField("xAPI endpoint", filters=[strip], validators=[
        DataRequired("Enter your LRS's xAPI endpoint, such as https://lrs.example.ac.uk/xAPI/."), Length(max=500)],
        description="The address your LRS gives for xAPI, such as https://lrs.example.ac.uk/xAPI/. "
                    "Statements are sent to its /statements resource.")
    username = StringField("Username or key", filters=[strip], validators=[
        DataRequired("Enter the LRS username or key."), Length(max=200)])
    secret = PasswordField("Password or secret", validators=[Optional(), Length(max=500)],
                           description="Stored encrypted and never shown again. Leave blank to keep the one saved.")
    enabled = BooleanField("Send statements to this LRS", default=True)

    def validate_endpoint(self, field):
        try:
            field.data = check_endpoint_url(field.data)
        except LrsError as error:
            raise ValidationError(str(error)) from None
