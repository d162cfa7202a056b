"""Forms for assignments, marking and question import."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms import DecimalField


class AssignmentForm(FlaskForm):
    text = TextAreaField("Your answer", validators=[Length(max=200_000, message="The text is too long.")],
                         description="Write in Markdown: ## for headings, *italics*, **bold**, - for lists.")


class FeedbackForm(FlaskForm):
    feedback = TextAreaField("Feedback for the learner", validators=[
        DataRequired("Write feedback for the learner."), Length(max=20_000)])
    note = TextAreaField("Why the mark is changing (kept in the history)", validators=[Length(max=2_000)])


class ModerationForm(FlaskForm):
    decision = RadioField("Your decision", choices=[SelectChoice("agree", "Agree with the mark"),
                                                   SelectChoice("change", "Change the mark")],
                          validators=[DataRequired("Choose whether you agree.")])
    note = TextAreaField("Moderation note", validators=[Length(max=2_000)],
                         description="Required when you change the mark: say why.")


class EssayMarkForm(FlaskForm):
    score = DecimalField("Mark", places=2, validators=[
        DataRequired("Give a mark."), NumberRange(min=0, message="The mark cannot be negative.")])
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=5_000)])


class GiftImportForm(FlaskForm):
    file = FileField("GIFT file", validators=[
        FileRequired("Choose a .gift or .txt file."),
        FileAllowed(["gift", "txt"], "Upload a GIFT file ending in .gift or .txt.")])
    category = StringField("Category for questions without one", validators=[Optional(), Length(max=200)],
                           description="Questions under a $CATEGORY line go to that category instead.")


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("Status", choices=[SelectChoice("", "All"), SelectChoice("submitted", "Waiting to be marked"),
                                            SelectChoice("marked", "Marked, not released"),
                                            SelectChoice("released", "Released")])
