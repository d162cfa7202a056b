"""Forms for pathway registration and a university's decisions."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from lms.accreditation.models import IDENTITY_METHODS


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
    """A decision on a registration: the first one, or a reversal of the last (a new decision with a reason).

    Posted twice: first to check it (``confirm`` empty: the page shows what will be recorded), then
    with ``confirm`` set to record it. ``seen`` is how many decisions the partner saw, so a decision
    someone else made in the meantime is never overwritten unseen.
    """

    from wtforms import HiddenField as _HiddenField
    from wtforms import IntegerField as _IntegerField
    decision = RadioField("Decision", choices=[SelectChoice("approve", "Approve"), SelectChoice("reject", "Reject")],
                          validators=[DataRequired("Choose approve or reject.")])
    identity_method = RadioField("How you checked the learner's identity", validators=[Optional()],
                                 choices=[SelectChoice(k, v) for k, v in IDENTITY_METHODS.items()],
                                 description="Required to approve: the credit record says the identity was checked.")
    identity_note = TextAreaField("Identity check: what you saw", filters=[strip],
                                  validators=[Optional(), Length(max=1000)],
                                  description="For example the document type and the last four characters of its "
                                              "number. Required for another check.")
    reason = TextAreaField("Reason (shown to the learner)", filters=[strip],
                           validators=[Optional(), Length(max=2000)],
                           description="Required when you reject or change an earlier decision.")
    seen = _IntegerField(widget=_HiddenField.widget, validators=[Optional()])
    confirm = _HiddenField()


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


class FilterDateField(DateField):
    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a real date, such as 2026-09-01.") from None


class PortalFilterForm(FlaskForm):
    """The filters over a partner's lists and exports, sent by GET (so no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Name or reference", filters=[strip], validators=[Optional(), Length(max=100)])
    pathway = SelectField("Pathway", choices=[], default="")
    status = SelectField("Status", choices=[])
    date_from = FilterDateField("From", validators=[Optional()])
    date_to = FilterDateField("To", validators=[Optional()])

    def __init__(self, formdata, *, pathways, statuses, default_status: str, dates: str):
        super().__init__(formdata, status=default_status)
        self.pathway.choices = [SelectChoice("", "All pathways")] + [SelectChoice(str(p.id), p.title)
                                                                     for p in pathways]
        self.status.choices = [SelectChoice(value, label) for value, label in statuses]
        self.date_from.label.text, self.date_to.label.text = f"{dates} from", f"{dates} to"

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date.")

    def filters(self):
        """The filters that were valid; a field with an error filters nothing."""
        from lms.accreditation.services import PortalFilters

        def good(field):
            return field.data if not field.errors else None
        pathway = good(self.pathway)
        return PortalFilters(pathway_id=int(pathway) if pathway and pathway.isdigit() else None,
                             status=good(self.status) or "", since=good(self.date_from),
                             until=good(self.date_to), q=good(self.q) or "")
