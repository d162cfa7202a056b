"""Forms for pathway registration and a university's decisions."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


def strip(value):
    return value.strip() if isinstance(value, str) else value


class RegistrationForm(FlaskForm):
    legal_name = StringField("Legal name", filters=[strip],
                             validators=[DataRequired("Enter your name as on your passport or ID."),
                                         Length(max=200)],
                             description="As on your passport or other ID: the university records it.")
    date_of_birth = DateField("Date of birth", validators=[DataRequired("Enter your date of birth, "
                                                                        "for example 1985-04-23.")])
    prior_qualifications = TextAreaField("Your qualifications so far", filters=[strip], validators=[
        DataRequired("Summarise your qualifications and relevant experience."), Length(max=5000)],
        description="Degrees and professional qualifications, with years, and relevant work experience.")
    consent = BooleanField("I agree to share my records with the university, as set out above",
                           validators=[DataRequired("You must agree to share your records to register.")])


class DecisionForm(FlaskForm):
    decision = RadioField("Decision", choices=[SelectChoice("approve", "Approve"), SelectChoice("reject", "Reject")],
                          validators=[DataRequired("Choose approve or reject.")])
    identity_checked = BooleanField("We have checked the learner's identity")
    reason = TextAreaField("Reason (shown to the learner)", filters=[strip],
                           validators=[Optional(), Length(max=2000)],
                           description="Required when you reject.")


class ModerateCreditForm(FlaskForm):
    from wtforms import IntegerField as _IntegerField
    from wtforms.validators import NumberRange as _NumberRange
    mark = _IntegerField("Moderated mark", validators=[Optional(), _NumberRange(min=0, max=100,
                                                                                message="A mark runs from 0 to 100.")],
                         description="Leave as it is to confirm the mark.")
    note = TextAreaField("Moderation note", filters=[strip], validators=[Optional(), Length(max=2000)],
                         description="Required when you adjust the mark.")


class DecideCreditForm(FlaskForm):
    decision = RadioField("Award", choices=[SelectChoice("approve", "Approve the credit"),
                                            SelectChoice("reject", "Reject")],
                          validators=[DataRequired("Choose approve or reject.")])
    note = TextAreaField("Note", filters=[strip], validators=[Optional(), Length(max=2000)],
                         description="Required when you reject.")


class TokenForm(FlaskForm):
    name = StringField("What the token is for", filters=[strip],
                       validators=[DataRequired("Name the token, for example “Student records sync”."),
                                   Length(max=100)])
