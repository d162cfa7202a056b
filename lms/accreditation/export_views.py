"""xAPI statements (download, and delivery to a university's LRS) and CLR 2.0 transcripts."""
from __future__ import annotations

from flask import (Response, abort, current_app, flash, redirect, render_template, request, stream_with_context,
                   url_for)
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lms.accounts.models import Organisation, Role
from lms.accreditation import bp, clr, delivery, services
from lms.accreditation.lrs_forms import LrsForm
from lms.accreditation.models import CreditAward, PathwayRegistration
from lms.accreditation.views import export_filters
from lms.accreditation.xapi import XAPI_VERSION, stream_statements
from lms.errors import render_error
from lms.extensions import db
from lms.forms import ConfirmForm
from lms.security import require, roles_required
from lms.urls import form_page


@bp.get("/pathways/<slug>/modules/<code>")
def pathway_module(slug: str, code: str):
    """A pathway module's stable address (the xAPI activity and CLR achievement id): its course page."""
    pathway = services.pathway_by_slug(slug)
    require(pathway is not None and pathway.status == "published")
    module = next((m for m in pathway.modules if m.code == code), None)
    require(module is not None)
    return redirect(url_for("courses.detail", slug=module.course.slug))


# xAPI download -----------------------------------------------------------------------------

@bp.get("/partner/export.xapi.json")
@roles_required(Role.PARTNER, Role.ADMIN)
def export_xapi():
    filters = export_filters()
    body = stream_statements(services.partner_university_ids(current_user), filters)
    return Response(stream_with_context(body), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="xapi-statements.json"',
                             "X-Experience-API-Version": XAPI_VERSION})


# LRS settings and deliveries --------------------------------------------------------------

def _own_university(university_id: int) -> Organisation:
    require(university_id in services.member_university_ids(current_user))
    return db.session.get(Organisation, university_id)


@bp.get("/partner/lrs/")
@roles_required(Role.PARTNER)
def lrs_index():
    universities = services.member_university_ids(current_user)
    require(bool(universities), 403)
    if len(universities) == 1:
        return redirect(url_for("accreditation.lrs", university_id=universities[0]))
    rows = db.session.scalars(select(Organisation).where(Organisation.id.in_(universities))
                              .order_by(Organisation.name)).all()
    endpoints = {e.organisation_id: e for e in db.session.scalars(select(delivery.LrsEndpoint).where(
        delivery.LrsEndpoint.organisation_id.in_(universities)))}
    return render_template("accreditation/lrs_index.html", universities=rows, endpoints=endpoints)


@bp.route("/partner/lrs/<int:university_id>", methods=["GET", "POST"])
@roles_required(Role.PARTNER)
def lrs(university_id: int):
    university = _own_university(university_id)
    endpoint = delivery.endpoint_for(university_id)
    form = LrsForm(obj=endpoint) if request.method == "GET" and endpoint else LrsForm()
    if form.validate_on_submit():
        try:
            delivery.save_endpoint(current_user, university_id, endpoint=form.endpoint.data,
                                   username=form.username.data, secret=form.secret.data or "",
                                   enabled=form.enabled.data)
        except delivery.LrsError as error:
            db.session.rollback()
            target = getattr(form, error.field)
            target.errors = [*target.errors, str(error)]
        else:
            db.session.commit()
            flash("LRS settings saved. New credit records are sent to it from now on; use “Queue every record” "
                  "to send the ones made before.", "success")
            return redirect(url_for("accreditation.lrs", university_id=university_id))
    return form_page("accreditation/lrs.html", form, university=university, endpoint=endpoint,
                     counts=delivery.status_counts(university_id), confirm=ConfirmForm())


@bp.route("/partner/lrs/<int:university_id>/remove", methods=["GET", "POST"])
@roles_required(Role.PARTNER)
def lrs_remove(university_id: int):
    university = _own_university(university_id)
    require(delivery.endpoint_for(university_id) is not None)
    form = ConfirmForm()
    if form.validate_on_submit():
        delivery.remove_endpoint(current_user, university_id)
        db.session.commit()
        flash("The LRS and its credentials are removed. Statements not yet sent are kept, and go to the next "
              "LRS you set up.", "success")
        return redirect(url_for("accreditation.lrs", university_id=university_id))
    return render_template("confirm.html", form=form, title=f"Remove {university.name}'s LRS?",
                           message="Nothing more is sent to it, and its username and secret are deleted. "
                                   "Statements already sent stay in the LRS.",
                           action_label="Remove LRS", cancel_url=url_for("accreditation.lrs",
                                                                          university_id=university_id))


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.post("/partner/lrs/<int:university_id>/send")
@roles_required(Role.PARTNER)
def lrs_send(university_id: int):
    _own_university(university_id)
    _confirmed()
    endpoint = delivery.endpoint_for(university_id)
    if endpoint is None or not endpoint.enabled:
        flash("Set up the LRS, with sending switched on, before sending.", "error")
        return redirect(url_for("accreditation.lrs", university_id=university_id), 303)
    report = delivery.send_for(university_id, force=True, limit=500, budget=15)
    db.session.commit()
    message = report.line() + (f" {report.errors[0]}" if report.errors else "")
    waiting = delivery.status_counts(university_id)["pending"] - report.deferred
    if waiting > 0:
        message += f" {waiting} more waiting: press “Send now” again, or leave them for the scheduled run."
    flash(message, "error" if report.errors else "success")
    return redirect(url_for("accreditation.lrs_deliveries", university_id=university_id), 303)


@bp.post("/partner/lrs/<int:university_id>/queue")
@roles_required(Role.PARTNER)
def lrs_queue(university_id: int):
    _own_university(university_id)
    _confirmed()
    try:
        queued = delivery.queue_all(current_user, university_id)
    except delivery.LrsError as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"{queued} statement(s) queued; statements already queued or sent were left as they are.", "success")
    return redirect(url_for("accreditation.lrs", university_id=university_id), 303)


@bp.post("/partner/lrs/<int:university_id>/retry")
@roles_required(Role.PARTNER)
def lrs_retry(university_id: int):
    _own_university(university_id)
    _confirmed()
    count = delivery.requeue_failed(current_user, university_id)
    db.session.commit()
    flash(f"{count} refused statement(s) queued again.", "success")
    return redirect(url_for("accreditation.lrs_deliveries", university_id=university_id), 303)


@bp.get("/partner/lrs/<int:university_id>/deliveries")
@roles_required(Role.PARTNER)
def lrs_deliveries(university_id: int):
    university = _own_university(university_id)
    status = request.args.get("status", "")
    if status not in ("", *delivery.DELIVERY_STATUSES):
        return render_error(400, "status must be pending, sent or failed, or left out.")
    stmt = delivery.deliveries_query(university_id, status=status).options(
        joinedload(delivery.XapiDelivery.credit_award).joinedload(CreditAward.registration),
        joinedload(delivery.XapiDelivery.credit_award).joinedload(CreditAward.pathway_module))
    page = db.paginate(stmt, page=request.args.get("page", 1, type=int), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    return render_template("accreditation/lrs_deliveries.html", university=university, page=page, status=status,
                           counts=delivery.status_counts(university_id),
                           endpoint=delivery.endpoint_for(university_id), confirm=ConfirmForm())


# CLR transcripts ---------------------------------------------------------------------------

def _transcript_response(registration: PathwayRegistration, kind: str, back: str):
    try:
        if kind == "json":  # the same credential, readable: the JWT download carries its signature
            credential, _ = clr.build_transcript(registration)
        else:
            token = clr.signed_transcript(registration)
    except clr.EmptyTranscriptError as error:
        return render_template("accreditation/transcript_empty.html", registration=registration,
                               message=str(error), back=back), 404
    filename = f"transcript-{registration.reference}"
    if kind == "json":
        import json
        body = json.dumps(credential, indent=2, ensure_ascii=False)
        return Response(body, mimetype="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{filename}.clr.json"'})
    return Response(token, mimetype="application/jwt",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.clr.jwt"'})


@bp.get("/pathways/<slug>/transcript.clr.<any(jwt, json):kind>")
@login_required
def transcript(slug: str, kind: str):
    pathway = services.pathway_by_slug(slug)
    require(pathway is not None)
    registration = services.registration_of(current_user, pathway)
    require(registration is not None)
    return _transcript_response(registration, kind, url_for("accreditation.pathway", slug=slug))


@bp.get("/partner/registrations/<int:registration_id>/transcript.clr.<any(jwt, json):kind>")
@roles_required(Role.PARTNER, Role.ADMIN)
def partner_transcript(registration_id: int, kind: str):
    registration = db.session.get(PathwayRegistration, registration_id)
    require(registration is not None and
            registration.pathway.university_id in services.partner_university_ids(current_user))
    return _transcript_response(registration, kind,
                                url_for("accreditation.registration", registration_id=registration_id))

