"""Pathways for learners, and the partner portal for a university's staff."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from lms.accounts.models import Role
from lms.accreditation import bp, forms, services
from lms.accreditation.models import Pathway, PathwayRegistration
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

@bp.get("/partner/")
@roles_required(Role.PARTNER, Role.ADMIN)
def portal():
    university_ids = services.partner_university_ids(current_user)
    own = db.session.scalars(select(Pathway).where(Pathway.university_id.in_(university_ids or [0]))
                             .order_by(Pathway.title)).all()
    status = request.args.get("status", "pending")
    page = db.paginate(services.registrations_for(current_user, status=status),
                       page=request.args.get("page", 1, type=int), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    counts = dict(db.session.execute(select(PathwayRegistration.status, func.count(PathwayRegistration.id))
                                     .join(Pathway).where(Pathway.university_id.in_(university_ids or [0]))
                                     .group_by(PathwayRegistration.status)).all())
    return render_template("accreditation/portal.html", pathways=own, page=page, status=status, counts=counts,
                           member=bool(university_ids))


@bp.route("/partner/registrations/<int:registration_id>", methods=["GET", "POST"])
@roles_required(Role.PARTNER, Role.ADMIN)
def registration(registration_id: int):
    registration_ = db.session.get(PathwayRegistration, registration_id)
    require(registration_ is not None and
            registration_.pathway.university_id in services.partner_university_ids(current_user))
    form = forms.DecisionForm()
    if form.validate_on_submit():
        try:
            services.decide(current_user, registration_, approve=form.decision.data == "approve",
                            reason=form.reason.data or "", identity_checked=form.identity_checked.data)
        except services.PathwayError as error:
            form.reason.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"{registration_.legal_name}: {registration_.status}.", "success")
            return redirect(url_for("accreditation.portal"))
    return form_page("accreditation/registration.html", form, registration=registration_)
