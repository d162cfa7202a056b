"""One form per use case. Forms check input; they never write to the database."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.fields.choices import enum_choices
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, URLField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, URL, ValidationError

from lms.accounts import services
from lms.forms import ConfirmForm  # noqa: F401  (used by the account and admin views)
from lms.accounts.models import OrganisationKind, Role

EMAIL_MESSAGE = "Enter an email address like name@example.org."


def strip(value):
    return value.strip() if isinstance(value, str) else value


STRIP = [strip]


class _NewPasswordMixin:
    def validate_password(self, field):
        email = getattr(getattr(self, "email", None), "data", "") or ""
        name = getattr(getattr(self, "name", None), "data", "") or ""
        problems = services.password_problems(field.data or "", email=email, name=name)
        if problems:
            raise ValidationError(" ".join(problems))


class RegisterForm(_NewPasswordMixin, FlaskForm):
    name = StringField("Full name", filters=STRIP, validators=[
        DataRequired("Enter your name."), Length(max=120, message="Use at most 120 characters.")])
    email = EmailField("Email address", filters=STRIP, validators=[
        DataRequired("Enter your email address."), Email(EMAIL_MESSAGE),
        Length(max=254, message="Use at most 254 characters.")])
    password = PasswordField("Password", validators=[DataRequired("Choose a password.")],
                             description="At least 12 characters. A short sentence you will remember works well.")
    confirm = PasswordField("Repeat password", validators=[
        DataRequired("Repeat your password."), EqualTo("password", "The two passwords do not match.")])

    def validate_email(self, field):
        if services.email_in_use(field.data):
            raise ValidationError("An account with this email address already exists. Log in or reset your password.")


class LoginForm(FlaskForm):
    email = EmailField("Email address", filters=STRIP, validators=[DataRequired("Enter your email address."), Email(EMAIL_MESSAGE)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Remember me on this device")


class ResetRequestForm(FlaskForm):
    email = EmailField("Email address", filters=STRIP, validators=[DataRequired("Enter your email address."), Email(EMAIL_MESSAGE)])


class ResetPasswordForm(_NewPasswordMixin, FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Choose a new password.")],
                             description="At least 12 characters.")
    confirm = PasswordField("Repeat new password", validators=[
        DataRequired("Repeat your new password."), EqualTo("password", "The two passwords do not match.")])


class ChangePasswordForm(_NewPasswordMixin, FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    password = PasswordField("New password", validators=[DataRequired("Choose a new password.")],
                             description="At least 12 characters.")
    confirm = PasswordField("Repeat new password", validators=[
        DataRequired("Repeat your new password."), EqualTo("password", "The two passwords do not match.")])


class ProfileForm(FlaskForm):
    name = StringField("Full name", filters=STRIP, validators=[
        DataRequired("Enter your name."), Length(max=120, message="Use at most 120 characters.")],
        description="As it should appear on your certificates.")
    email = EmailField("Email address", filters=STRIP, validators=[
        DataRequired("Enter your email address."), Email(EMAIL_MESSAGE), Length(max=254)],
        description="A new address is used once you follow the link we send to it.")


class ResendForm(FlaskForm):
    email = EmailField("Email address", filters=STRIP, validators=[DataRequired("Enter your email address."), Email(EMAIL_MESSAGE)])


# Administration ------------------------------------------------------------

ROLE_CHOICES = enum_choices(Role, label=lambda r: r.value.capitalize())
KIND_CHOICES = enum_choices(OrganisationKind, label=lambda k: k.value.capitalize())


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class OrganisationForm(FlaskForm):
    name = StringField("Name", filters=STRIP, validators=[
        DataRequired("Enter the organisation's name."), Length(max=200, message="Use at most 200 characters.")])
    kind = SelectField("Kind", choices=KIND_CHOICES)
    website = URLField("Website", validators=[
        Optional(), URL(message="Enter a full web address, starting with https://."), Length(max=300)])


class MemberForm(FlaskForm):
    email = EmailField("Email address", filters=STRIP, validators=[
        DataRequired("Enter the member's email address."), Email(EMAIL_MESSAGE)])
