"""Forms for redeeming an enrolment code and creating a batch of them."""
from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from lms.payments.services import CODE_GROUP_LENGTH, CODE_GROUPS, MAX_BATCH, normalise_code


def strip(value):
    return value.strip() if isinstance(value, str) else value


class RedeemCodeForm(FlaskForm):
    code = StringField("Enrolment code", filters=[strip],
                       validators=[DataRequired("Enter the code you were given."), Length(max=40)],
                       description="12 letters and digits, such as ABCD-EFGH-JKMN. Capitals and hyphens "
                                   "do not matter.")

    def validate_code(self, field):
        if len(normalise_code(field.data).replace("-", "")) != CODE_GROUPS * CODE_GROUP_LENGTH:
            raise ValidationError("A code has 12 letters and digits. Check it and try again.")


class CodeBatchForm(FlaskForm):
    organisation_id = SelectField("Organisation paying", coerce=int,
                                  validators=[InputRequired("Choose the organisation paying.")],
                                  description="The employer invoiced for these places.")
    size = IntegerField("Number of codes", validators=[
        InputRequired("Enter how many codes to make."),
        NumberRange(min=1, max=MAX_BATCH, message=f"Enter a number from 1 to {MAX_BATCH}.")])
    expires_on = DateField("Codes expire after", validators=[InputRequired("Enter an expiry date.")],
                           description="The last day a code can be used.")
    reference = StringField("Invoice or order reference", filters=[strip], validators=[Length(max=100)],
                            description="Optional; shown with the batch and in its CSV.")

    def validate_organisation_id(self, field):
        if not field.data or field.data not in {value for value, _ in self.organisation_id.choices}:
            raise ValidationError("Choose the organisation paying.")

    def validate_expires_on(self, field):
        if field.data and field.data < date.today():
            raise ValidationError("The expiry date must be today or later.")


class BatchExpiryForm(FlaskForm):
    expires_on = DateField("New expiry date", validators=[InputRequired("Enter the new expiry date.")],
                           description="The last day an unused code can be used. Codes already used keep "
                                       "their places.")

    def validate_expires_on(self, field):
        if field.data and field.data < date.today():
            raise ValidationError("The expiry date must be today or later. To stop the unused codes at once, "
                                  "end the batch now.")
