"""Forms for authoring courses in the browser."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from lms.courses.content import SLUG_RE

LEVELS = [SelectChoice("cpd", "CPD"), SelectChoice("7", "FHEQ level 7 (postgraduate)"),
          SelectChoice("6", "FHEQ level 6"), SelectChoice("5", "FHEQ level 5"), SelectChoice("4", "FHEQ level 4")]
CURRENCIES = [SelectChoice("GBP", "GBP (£)"), SelectChoice("EUR", "EUR (€)"), SelectChoice("USD", "USD ($)")]


def strip(value):
    return value.strip() if isinstance(value, str) else value


class _Slug:
    def __call__(self, form, field):
        if field.data and (not SLUG_RE.match(field.data) or len(field.data) > 80):
            raise ValidationError("Use lower-case letters, digits and hyphens, such as “planning-the-event”.")


class CourseDetailsForm(FlaskForm):
    title = StringField("Title", filters=[strip], validators=[DataRequired("Enter the course title."),
                                                              Length(max=200)])
    summary = TextAreaField("Summary", filters=[strip], validators=[DataRequired("Write a short summary."),
                                                                    Length(max=2000)],
                            description="What the course is, who it is for, what they come away with.")
    outcomes = TextAreaField("Learning outcomes", filters=[strip],
                             validators=[DataRequired("Give at least one learning outcome.")],
                             description="One outcome per line, each starting with a verb.")
    reading = TextAreaField("Reading list", filters=[strip], validators=[Optional()],
                            description="One citation per line; *asterisks* for italics.")
    level = SelectField("Level", choices=LEVELS)
    credits = IntegerField("UK credits", validators=[Optional(), NumberRange(min=1, max=360)],
                           description="For FHEQ-level courses only (20 for a standard module).")
    validity_months = IntegerField("Certificates valid for (months)",
                                   validators=[Optional(), NumberRange(min=1, max=240)],
                                   description="Leave empty if certificates do not expire.")
    price = DecimalField("Price", places=2, validators=[InputRequired("Enter a price (0 for free)."),
                                                        NumberRange(min=0, max=100000,
                                                                    message="Enter a price from 0 to 100,000.")],
                         description="0 for a free course.")
    currency = SelectField("Currency", choices=CURRENCIES)

    def validate_credits(self, field):
        if self.level.data != "cpd" and not field.data:
            raise ValidationError("Give the credits of an FHEQ-level course.")
        if self.level.data == "cpd" and field.data:
            raise ValidationError("A CPD course carries no credits; leave this empty.")


class NewCourseForm(CourseDetailsForm):
    slug = StringField("Web address", filters=[strip], validators=[DataRequired("Choose a web address."),
                                                                   _Slug()],
                       description="Part of the course's address: /courses/your-choice/. It cannot change later.")


class ModuleForm(FlaskForm):
    title = StringField("Title", filters=[strip], validators=[DataRequired("Enter the module title."),
                                                              Length(max=200)])
    summary = TextAreaField("Summary", filters=[strip], validators=[DataRequired("Write a one-line summary."),
                                                                    Length(max=2000)])
    cpd_hours = DecimalField("CPD hours", places=1, validators=[
        InputRequired("Enter the CPD hours (0 if none)."), NumberRange(min=0, max=200)])


class NewModuleForm(ModuleForm):
    slug = StringField("Web address", filters=[strip], validators=[DataRequired("Choose a web address."),
                                                                   _Slug()])


class LessonForm(FlaskForm):
    title = StringField("Title", filters=[strip], validators=[DataRequired("Enter the lesson title."),
                                                              Length(max=200)])
    minutes = IntegerField("Reading time (minutes)", validators=[Optional(), NumberRange(min=1, max=600)],
                           description="Leave empty to work it out from the text.")
    source = TextAreaField("Text (Markdown)", validators=[DataRequired("Write the lesson."),
                                                          Length(max=100_000)],
                           description="## for headings, ::: activity … ::: for callouts, "
                                       "![describe it](images/name.png) for an uploaded image.")


class NewLessonForm(LessonForm):
    slug = StringField("Web address", filters=[strip], validators=[DataRequired("Choose a web address."),
                                                                   _Slug()])


class QuizForm(FlaskForm):
    title = StringField("Quiz title", filters=[strip], default="Check your understanding",
                        validators=[DataRequired("Give the quiz a title."), Length(max=200)])
    pass_mark = IntegerField("Pass mark (%)", default=70, validators=[InputRequired(), NumberRange(min=0, max=100)])
    attempts = IntegerField("Attempts allowed (0 for unlimited)", default=0,
                            validators=[InputRequired(), NumberRange(min=0, max=100)])
    time_limit_minutes = IntegerField("Time limit (minutes)", validators=[Optional(), NumberRange(min=1, max=600)])
    grading = SelectField("Mark that counts", choices=[SelectChoice("highest", "Highest attempt"),
                                                       SelectChoice("last", "Last attempt")])
    review = SelectField("Afterwards learners see", choices=[
        SelectChoice("full", "Their mark, the right answers and feedback"), SelectChoice("marks", "Their mark only")])
    questions = TextAreaField("Questions (GIFT)", validators=[DataRequired("Write at least one question.")],
                              description="Moodle's GIFT format: one question per paragraph, ::Title:: first, "
                                          "answers in braces with #feedback.")


class ImageForm(FlaskForm):
    file = FileField("Image", validators=[FileRequired("Choose an image to upload.")],
                     description="PNG, JPEG, GIF or WebP, up to 2 MiB.")
