"""Forms for the CPD record and for certificates."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lms.certificates.models import CPD_CATEGORIES

EXTERNAL_CATEGORIES = [c for c in CPD_CATEGORIES if c != "Course on this platform"]


class CpdEntryForm(FlaskForm):
    title = StringField("Activity", validators=[DataRequired("Say what the activity was."),
                                                Length(max=300, message="Use at most 300 characters.")],
                        description="For example: “Regional cohesion officers' network meeting”.")
    activity_date = DateField("Date", validators=[DataRequired("Enter the date, for example 2026-03-14.")])
    hours = DecimalField("Hours", places=1, validators=[
        InputRequired("Enter the hours, for example 1.5."),
        NumberRange(min=0.5, max=100, message="Enter between 0.5 and 100 hours.")])
    category = SelectField("Category", choices=[SelectChoice(c, c) for c in EXTERNAL_CATEGORIES])
    learned = TextAreaField("What I learned", validators=[Optional(), Length(max=5000)])
    apply = TextAreaField("How I will use it", validators=[Optional(), Length(max=5000)])


class TargetForm(FlaskForm):
    target = DecimalField("Annual target (hours)", places=1, validators=[
        InputRequired("Enter a number of hours."), NumberRange(min=1, max=1000, message="Enter 1 to 1,000 hours.")])


class RevokeForm(FlaskForm):
    reason = TextAreaField("Reason for revoking", validators=[
        DataRequired("Give the reason: it is shown on the public verification page."), Length(max=1000)])


class DateRangeForm(FlaskForm):
    class Meta:
        csrf = False

    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])
