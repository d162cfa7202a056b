"""Register, confirm, log in and out, reset and change the password, edit the profile."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from lms.accounts import bp, forms, services
from lms.accounts.notifications import send_reset_email, send_verification_email
from lms.extensions import db, limiter
from lms.urls import form_page, is_safe_next


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def _register_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = forms.RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register(form.email.data, form.name.data, form.password.data)
        except services.EmailTakenError as error:
            form.email.errors.append(str(error))
        except services.WeakPasswordError as error:
            form.password.errors.append(str(error))
        else:
            send_verification_email(user)
            db.session.commit()
            return redirect(url_for("accounts.check_email", email=user.email))
    return form_page("accounts/register.html", form)


@bp.get("/register/check-email")
def check_email():
    return render_template("accounts/check_email.html", email=request.args.get("email", ""),
                           form=forms.ResendForm(email=request.args.get("email", "")))


@bp.post("/register/resend")
@limiter.limit(_reset_limit)
def resend_confirmation():
    form = forms.ResendForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        if user is not None and not user.is_verified and user.active:
            send_verification_email(user)
        flash("If that address belongs to an account still awaiting confirmation, we have sent a new link.",
              "info")
        return redirect(url_for("accounts.check_email", email=form.email.data))
    return form_page("accounts/check_email.html", form, email=form.email.data or "")


@bp.get("/register/confirm/<token>")
def confirm_email(token: str):
    try:
        user = services.confirm_email(token)
    except services.InvalidTokenError as error:
        return render_template("accounts/token_invalid.html", message=str(error)), 400
    db.session.commit()
    flash("Your email address is confirmed.", "success")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(url_for("accounts.account"))
    return redirect(url_for("accounts.login", email=user.email))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = forms.LoginForm(email=request.args.get("email"))
    next_url = request.values.get("next")
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("The email address or password is not correct.")
        elif not user.active:
            form.password.errors.append("This account has been deactivated. Contact the site administrator.")
        elif not user.is_verified:
            send_verification_email(user)
            db.session.commit()
            form.email.errors.append(
                "Confirm your email address before logging in. We have sent you a new link.")
        else:
            login_user(user, remember=form.remember.data)
            services.record_login(user)
            db.session.commit()
            flash(f"Welcome back, {user.name}.", "success")
            return redirect(next_url if is_safe_next(next_url) else url_for("courses.dashboard"))
    return form_page("accounts/login.html", form, next_url=next_url if is_safe_next(next_url) else None)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    form = forms.ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        logout_user()
        flash("You have logged out.", "info")
        return redirect(url_for("main.index"))
    if not current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return render_template("accounts/logout.html", form=form)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_request():
    form = forms.ResetRequestForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        if user is not None and user.active:
            send_reset_email(user)
        # The same answer whether or not the address has an account.
        return render_template("accounts/reset_sent.html", email=form.email.data)
    return form_page("accounts/reset_request.html", form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_password(token: str):
    try:
        user = services.user_for_reset_token(token)
    except services.InvalidTokenError as error:
        return render_template("accounts/token_invalid.html", message=str(error), reset=True), 400
    form = forms.ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except services.AccountError as error:
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            flash("Your password has been changed. Log in with your new password.", "success")
            return redirect(url_for("accounts.login", email=user.email))
    return form_page("accounts/reset_password.html", form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = forms.ProfileForm(obj=current_user if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            email_changed = services.update_profile(current_user, name=form.name.data, email=form.email.data)
        except services.AccountError as error:
            form.email.errors.append(str(error))
        else:
            if email_changed:
                send_verification_email(current_user)
                flash(f"Saved. Follow the link we sent to {current_user.pending_email} "
                      "to start using that address.", "info")
            else:
                flash("Your profile has been saved.", "success")
            db.session.commit()
            return redirect(url_for("accounts.account"))
    return form_page("accounts/account.html", form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = forms.ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.password.data)
        except services.AccountError as error:
            form.current.errors.append(str(error))
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # the session version moved on: renew this session
            flash("Your password has been changed. Other devices have been logged out.", "success")
            return redirect(url_for("accounts.account"))
    return form_page("accounts/password_change.html", form)
