"""Pathways for learners, and the partner portal for a university's staff."""
from __future__ import annotations

from dataclasses import replace

from flask import (Response, abort, current_app, flash, redirect, render_template, request, stream_with_context,
                   url_for)
from flask_login import current_user
from sqlalchemy import select

from lms.accounts.models import Role
from lms.assessment.assignments import MARK_KINDS
from lms.accreditation import bp, forms, services
from lms.accreditation.models import PathwayRegistration
from lms.extensions import db
from lms.security import require, roles_required
from lms.urls import form_page


@bp.get("/pathways/")
def pathways():
    rows = services.published_pathways()
    mine = {r.pathway_id: r for r in db.session.scalars(select(PathwayRegistration).where(
        PathwayRegistration.user_id == current_user.id))} if current_user.is_authenticated else {}
    return render_template("accreditation/pathways.html", pathways=rows, mine=mine)


@bp.route("/pathways/<slug>/", methods=["GET", "POST"])
def pathway(slug: str):
    pathway_ = services.pathway_by_slug(slug)
    require(pathway_ is not None and pathway_.status == "published")
    registration = services.registration_of(current_user, pathway_)
    form = forms.RegistrationForm(legal_name=current_user.name if current_user.is_authenticated else None)
    if request.method == "POST":
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if form.validate_on_submit():
            try:
                services.register(current_user, pathway_, legal_name=form.legal_name.data,
                                  date_of_birth=form.date_of_birth.data,
                                  prior_qualifications=form.prior_qualifications.data, consent=form.consent.data)
            except services.PathwayError as error:
                form.date_of_birth.errors.append(str(error))
            else:
                db.session.commit()
                flash(f"Your application has gone to {pathway_.university.name}. You will see their decision here.",
                      "success")
                return redirect(url_for("accreditation.pathway", slug=slug))
    return form_page("accreditation/pathway.html", form, pathway=pathway_, registration=registration,
                     open=services.registration_open(pathway_),
                     total=sum(m.credits for m in pathway_.modules))


# Partner portal --------------------------------------------------------------------------

REGISTRATION_TABS = [("pending", "To decide"), ("approved", "Approved"), ("rejected", "Rejected"),
                     ("withdrawn", "Withdrawn"), ("", "All")]
CREDIT_TABS = [("requested", "To moderate and decide"), ("approved", "Awarded"), ("rejected", "Rejected"), ("", "All")]


def _filters(tabs, default_status: str, dates: str) -> tuple[forms.PortalFilterForm, services.PortalFilters, int]:
    """The filter form read from the query string, the filters it gives, and the status to answer with."""
    form = forms.PortalFilterForm(request.args, pathways=services.own_pathways(current_user), statuses=tabs,
                                  default_status=default_status, dates=dates)
    valid = form.validate()
    return form, form.filters(), 200 if valid else 400


def _args(**changes) -> dict:
    """The current query string with some values changed (for tabs, pages and export links)."""
    args = request.args.to_dict()
    args.pop("page", None)
    args.update(changes)
    return args


def export_filters() -> services.PortalFilters:
    """An export's filters (the credit records page's), or 400 naming what is wrong: never a partial file."""
    form, filters, code = _filters(CREDIT_TABS, "", "Completed")
    if code != 200:
        abort(400, "The export's filters are not valid: " + "; ".join(
            f"{form[name].label.text}: {' '.join(errors)}" for name, errors in form.errors.items()))
    return filters


@bp.get("/partner/")
@roles_required(Role.PARTNER, Role.ADMIN)
def portal():
    university_ids = services.partner_university_ids(current_user)
    form, filters, code = _filters(REGISTRATION_TABS, "pending", "Applied")
    page = db.paginate(services.registrations_for(current_user, filters),
                       page=request.args.get("page", 1, type=int), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    counts = services.registration_counts(current_user, replace(filters, status=""))
    return render_template("accreditation/portal.html", pathways=services.own_pathways(current_user), page=page,
                           form=form, filters=filters, counts=counts, tabs=REGISTRATION_TABS, args=_args,
                           member=bool(university_ids),
                           staff=bool(services.member_university_ids(current_user))), code


@bp.get("/partner/candidates")
@roles_required(Role.PARTNER, Role.ADMIN)
def candidates():
    form, filters, code = _filters([("approved", "Approved")], "approved", "Applied")
    page = db.paginate(services.registrations_for(current_user, replace(filters, status="approved")),
                       page=request.args.get("page", 1, type=int), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    return render_template("accreditation/candidates.html", page=page, form=form, args=_args,
                           progress=services.candidate_progress(page.items)), code


@bp.route("/partner/registrations/<int:registration_id>", methods=["GET", "POST"])
@roles_required(Role.PARTNER, Role.ADMIN)
def registration(registration_id: int):
    registration_ = db.session.get(PathwayRegistration, registration_id)
    require(registration_ is not None and
            registration_.pathway.university_id in services.partner_university_ids(current_user))
    form = forms.DecisionForm(seen=len(registration_.decisions))
    confirming = False
    if form.validate_on_submit() and form.confirm.data != "edit":  # "edit": back from the check, to change it
        choice = dict(approve=form.decision.data == "approve", reason=form.reason.data or "",
                      identity_method=form.identity_method.data, identity_note=form.identity_note.data or "",
                      seen=form.seen.data)
        try:
            if form.confirm.data != "yes":
                services.check_decision(current_user, registration_, **choice)
                confirming = True
            else:
                services.decide(current_user, registration_, **choice)
        except services.PathwayError as error:
            db.session.rollback()
            form[error.field or "reason"].errors.append(str(error))
        else:
            if not confirming:
                db.session.commit()
                flash(f"{registration_.legal_name}: {registration_.status}.", "success")
                return redirect(url_for("accreditation.registration", registration_id=registration_.id), 303)
    return form_page("accreditation/registration.html", form, registration=registration_, confirming=confirming)


def _record(reference: str, code: str) -> list:
    versions = services.credit_record(current_user, reference, code)
    require(bool(versions))
    return versions


def record_url(award, **kwargs) -> str:
    return url_for("accreditation.credit", reference=award.registration.reference, code=award.pathway_module.code,
                   **kwargs)


@bp.get("/partner/credits/")
@roles_required(Role.PARTNER, Role.ADMIN)
def credits():
    form, filters, code = _filters(CREDIT_TABS, "requested", "Completed")
    page = db.paginate(services.current_credit_query(current_user, filters),
                       page=request.args.get("page", 1, type=int), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    return render_template("accreditation/credits.html", page=page, form=form, filters=filters, tabs=CREDIT_TABS,
                           args=_args, record_url=record_url), code


@bp.get("/partner/credits/<int:award_id>")
@roles_required(Role.PARTNER, Role.ADMIN)
def credit_version_by_id(award_id: int):
    """Links made before records had their own address: the record, or the old version asked for."""
    from lms.accreditation.models import CreditAward
    award = db.session.get(CreditAward, award_id)
    require(award is not None and
            award.registration.pathway.university_id in services.partner_university_ids(current_user))
    versions = _record(award.registration.reference, award.pathway_module.code)
    if versions[0].id == award.id:
        return redirect(record_url(award), 301)
    return redirect(url_for("accreditation.credit_version", reference=award.registration.reference,
                            code=award.pathway_module.code, version=award.version), 301)


@bp.route("/partner/credits/<reference>/<code>", methods=["GET", "POST"])
@roles_required(Role.PARTNER, Role.ADMIN)
def credit(reference: str, code: str):
    """A credit record: always its newest version, with the work behind it and every earlier version."""
    versions = _record(reference, code)
    award = versions[0]
    moderate_form = forms.ModerateCreditForm(prefix="mod", mark=award.mark)
    decide_form = forms.DecideCreditForm(prefix="dec")
    error = None
    if request.method == "POST":
        seen = request.form.get("version", type=int)
        try:
            if seen is not None and seen != award.version:
                raise services.PathwayError("This record has changed since you opened it: look at the newest "
                                            "version below before you act on it.")
            if request.form.get("action") == "moderate" and moderate_form.validate_on_submit():
                services.moderate_credit(current_user, award, mark=moderate_form.mark.data,
                                         note=moderate_form.note.data or "")
            elif request.form.get("action") == "decide" and decide_form.validate_on_submit():
                services.decide_credit(current_user, award, approve=decide_form.decision.data == "approve",
                                       note=decide_form.note.data or "")
            else:
                raise services.PathwayError("Check the form: " + "; ".join(
                    e for f in (moderate_form, decide_form) for errs in f.errors.values() for e in errs))
        except services.PathwayError as problem:
            db.session.rollback()
            error = str(problem)
        else:
            db.session.commit()
            flash("Recorded.", "success")
            return redirect(record_url(award), 303)
    return render_template("accreditation/credit.html", award=award, history=versions, error=error,
                           moderate_form=moderate_form, decide_form=decide_form, current=True,
                           work=services.work_behind(award), record_url=record_url,
                           mark_kinds=MARK_KINDS), (422 if error else 200)


@bp.get("/partner/credits/<reference>/<code>/v<int:version>")
@roles_required(Role.PARTNER, Role.ADMIN)
def credit_version(reference: str, code: str, version: int):
    """An earlier version of a credit record, read-only, with a link to the newest."""
    versions = _record(reference, code)
    award = next((v for v in versions if v.version == version), None)
    require(award is not None)
    if award is versions[0]:
        return redirect(record_url(award), 301)
    return render_template("accreditation/credit.html", award=award, history=versions, error=None,
                           current=False, newest=versions[0], work=None, record_url=record_url)


@bp.get("/partner/export.csv")
@roles_required(Role.PARTNER, Role.ADMIN)
def export_csv():
    return Response(stream_with_context(services.credit_csv(current_user, export_filters())), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="credit-records.csv"'})


@bp.get("/partner/export-history.csv")
@roles_required(Role.PARTNER, Role.ADMIN)
def export_history_csv():
    return Response(stream_with_context(services.credit_csv(current_user, export_filters(), history=True)),
                    mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="credit-record-history.csv"'})


@bp.get("/partner/board")
@roles_required(Role.PARTNER, Role.ADMIN)
def board():
    return render_template("accreditation/board.html", candidates=services.board_candidates(current_user))


@bp.route("/partner/tokens", methods=["GET", "POST"])
@roles_required(Role.PARTNER)
def tokens():
    from lms.accreditation.api import create_token
    from lms.accreditation.models import ApiToken
    from lms.forms import ConfirmForm
    universities = services.member_university_ids(current_user)
    require(bool(universities), 403)
    form = forms.TokenForm()
    plain = None
    if form.validate_on_submit():
        token, plain = create_token(universities[0], form.name.data, current_user)
        db.session.commit()
    rows = db.session.scalars(select(ApiToken).where(ApiToken.organisation_id.in_(universities))
                              .order_by(ApiToken.created_at.desc())).all()
    return form_page("accreditation/tokens.html", form, tokens=rows, plain=plain, confirm=ConfirmForm())


@bp.route("/partner/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@roles_required(Role.PARTNER)
def token_revoke(token_id: int):
    from lms.accreditation.api import revoke_token
    from lms.accreditation.models import ApiToken
    from lms.forms import ConfirmForm
    token = db.session.get(ApiToken, token_id)
    require(token is not None and token.organisation_id in services.member_university_ids(current_user))
    form = ConfirmForm()
    if form.validate_on_submit():
        revoke_token(token, current_user)
        db.session.commit()
        flash(f"Token {token.prefix}… is revoked: systems using it can no longer read records.", "success")
        return redirect(url_for("accreditation.tokens"))
    return render_template("confirm.html", form=form, title=f"Revoke token “{token.name}”?",
                           message="Any system using it stops receiving records at once.",
                           action_label="Revoke token", cancel_url=url_for("accreditation.tokens"))
