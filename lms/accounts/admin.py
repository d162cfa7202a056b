"""The admin area: users, their roles and status, and organisations."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from lms.accounts import admin_bp as bp
from lms.accounts import forms, services
from lms.accounts.models import Organisation, OrganisationMember, Role, User
from lms.extensions import db
from lms.security import require, roles_required
from lms.urls import form_page


@bp.before_request
@roles_required(Role.ADMIN)
def _admins_only():
    """Every page of the admin area is for admins only."""


def _page() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.get("/")
def index():
    counts = {
        "users": db.session.scalar(select(func.count(User.id))),
        "inactive": db.session.scalar(select(func.count(User.id)).where(User.active.is_(False))),
        "unverified": db.session.scalar(select(func.count(User.id)).where(User.email_verified_at.is_(None))),
        "organisations": db.session.scalar(select(func.count(Organisation.id))),
    }
    return render_template("accounts/admin/index.html", counts=counts)


@bp.get("/users")
def users():
    q = request.args.get("q", "").strip()[:200]
    role = request.args.get("role", "")
    status = request.args.get("status", "")
    if role not in {r.value for r in Role}:
        role = ""
    if status not in {"active", "inactive", "unverified"}:
        status = ""
    page = db.paginate(services.search_users(q, role, status), page=_page(),
                       per_page=current_app.config["PER_PAGE"], error_out=False)
    return render_template("accounts/admin/users.html", page=page, q=q, role=role, status=status,
                           roles=list(Role))


def _load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    require(user is not None)
    return user


@bp.get("/users/<int:user_id>")
def user_detail(user_id: int):
    user = _load_user(user_id)
    memberships = db.session.scalars(
        select(OrganisationMember).where(OrganisationMember.user_id == user.id)
        .options(selectinload(OrganisationMember.organisation))).all()
    return render_template("accounts/admin/user_detail.html", user=user, memberships=memberships,
                           role_form=forms.RoleForm(), confirm_form=forms.ConfirmForm(), roles=list(Role))


@bp.post("/users/<int:user_id>/roles")
def grant_role(user_id: int):
    user = _load_user(user_id)
    form = forms.RoleForm()
    if form.validate_on_submit():
        services.grant_role(current_user, user, form.role.data)
        db.session.commit()
        flash(f"{user.name} now holds the {form.role.data} role.", "success")
    else:
        flash("Choose a role from the list.", "error")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/roles/<role>/remove")
def remove_role(user_id: int, role: str):
    user = _load_user(user_id)
    require(role in {r.value for r in Role})
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        try:
            services.remove_role(current_user, user, role)
        except services.AccountError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(f"The {role} role was removed from {user.name}.", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/<any(deactivate, reactivate):action>", methods=["GET", "POST"])
def set_active(user_id: int, action: str):
    user = _load_user(user_id)
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        try:
            services.set_active(current_user, user, action == "reactivate")
        except services.AccountError as error:
            flash(str(error), "error")
            return redirect(url_for("admin.user_detail", user_id=user.id))
        db.session.commit()
        flash(f"{user.name}'s account has been {action}d.", "success")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template("confirm.html", form=form,
                           title=f"{action.capitalize()} {user.name}?",
                           message=(f"{user.name} will be logged out and will not be able to log in until an "
                                    "admin reactivates the account. Their records are kept."
                                    if action == "deactivate" else
                                    f"{user.name} will be able to log in again."),
                           action_label=f"{action.capitalize()} account",
                           cancel_url=url_for("admin.user_detail", user_id=user.id))


# Organisations ---------------------------------------------------------------

@bp.get("/organisations")
def organisations():
    q = request.args.get("q", "").strip()[:200]
    stmt = select(Organisation).order_by(Organisation.name)
    if q:
        stmt = stmt.where(func.lower(Organisation.name).like(f"%{q.lower()}%"))
    page = db.paginate(stmt, page=_page(), per_page=current_app.config["PER_PAGE"], error_out=False)
    ids = [org.id for org in page.items]
    counts = dict(db.session.execute(
        select(OrganisationMember.organisation_id, func.count(OrganisationMember.id))
        .where(OrganisationMember.organisation_id.in_(ids))
        .group_by(OrganisationMember.organisation_id)).all()) if ids else {}
    return render_template("accounts/admin/organisations.html", page=page, counts=counts, q=q)


@bp.route("/organisations/new", methods=["GET", "POST"])
def organisation_new():
    form = forms.OrganisationForm()
    if form.validate_on_submit():
        try:
            org = services.save_organisation(None, name=form.name.data, kind=form.kind.data,
                                             website=form.website.data or "")
        except services.AccountError as error:
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"{org.name} has been created.", "success")
            return redirect(url_for("admin.organisation_detail", org_id=org.id))
    return form_page("accounts/admin/organisation_form.html", form, org=None)


def _load_org(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id)
    require(org is not None)
    return org


@bp.route("/organisations/<int:org_id>", methods=["GET", "POST"])
def organisation_detail(org_id: int):
    org = _load_org(org_id)
    form = forms.OrganisationForm(obj=org if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.save_organisation(org, name=form.name.data, kind=form.kind.data,
                                       website=form.website.data or "")
        except services.AccountError as error:
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash("The organisation has been saved.", "success")
            return redirect(url_for("admin.organisation_detail", org_id=org.id))
    members = db.session.scalars(
        select(OrganisationMember).where(OrganisationMember.organisation_id == org.id)
        .options(selectinload(OrganisationMember.user)).join(OrganisationMember.user)
        .order_by(User.name)).all()
    return form_page("accounts/admin/organisation_form.html", form, org=org, members=members,
                     member_form=forms.MemberForm(prefix="member"), confirm_form=forms.ConfirmForm())


@bp.post("/organisations/<int:org_id>/members")
def member_add(org_id: int):
    org = _load_org(org_id)
    form = forms.MemberForm(prefix="member")
    if form.validate_on_submit():
        try:
            member = services.add_member(org, form.email.data)
        except services.AccountError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(f"{member.user.name} has been added to {org.name}.", "success")
    else:
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
    return redirect(url_for("admin.organisation_detail", org_id=org.id) + "#members")


@bp.route("/organisations/<int:org_id>/members/<int:member_id>/remove", methods=["GET", "POST"])
def member_remove(org_id: int, member_id: int):
    org = _load_org(org_id)
    member = db.session.get(OrganisationMember, member_id)
    require(member is not None and member.organisation_id == org.id)
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        name = member.user.name
        services.remove_member(org, member)
        db.session.commit()
        flash(f"{name} has been removed from {org.name}.", "success")
        return redirect(url_for("admin.organisation_detail", org_id=org.id) + "#members")
    return render_template("confirm.html", form=form,
                           title=f"Remove {member.user.name} from {org.name}?",
                           message="Their account stays; only the membership ends.",
                           action_label="Remove member",
                           cancel_url=url_for("admin.organisation_detail", org_id=org.id))


# Course teams ----------------------------------------------------------------

@bp.get("/courses")
def courses():
    from lms.courses.models import Course, CourseTrainer
    page = db.paginate(select(Course).order_by(Course.title), page=_page(),
                       per_page=current_app.config["PER_PAGE"], error_out=False)
    ids = [c.id for c in page.items]
    teams: dict[int, list[str]] = {}
    for course_id, name in db.session.execute(
            select(CourseTrainer.course_id, User.name).join(User, User.id == CourseTrainer.user_id)
            .where(CourseTrainer.course_id.in_(ids or [0])).order_by(User.name)):
        teams.setdefault(course_id, []).append(name)
    return render_template("accounts/admin/courses.html", page=page, teams=teams)


def _load_course(slug: str):
    from lms.courses.services import get_course
    course = get_course(slug)
    require(course is not None)
    return course


@bp.route("/courses/<slug>", methods=["GET", "POST"])
def course_team(slug: str):
    from lms.courses import services as course_services
    course = _load_course(slug)
    form = forms.MemberForm(prefix="member")
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        try:
            if user is None:
                raise course_services.CourseError("No account uses that email address.")
            course_services.add_trainer(course, user)
        except course_services.CourseError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"{user.name} is now on the team of {course.title}.", "success")
            return redirect(url_for("admin.course_team", slug=course.slug))
    return form_page("accounts/admin/course_team.html", form, course=course,
                     team=course_services.course_team(course), confirm_form=forms.ConfirmForm())


@bp.route("/courses/<slug>/team/<int:user_id>/remove", methods=["GET", "POST"])
def course_team_remove(slug: str, user_id: int):
    from lms.courses import services as course_services
    course = _load_course(slug)
    user = _load_user(user_id)
    form = forms.ConfirmForm()
    if form.validate_on_submit():
        course_services.remove_trainer(course, user)
        db.session.commit()
        flash(f"{user.name} has left the team of {course.title}.", "success")
        return redirect(url_for("admin.course_team", slug=course.slug))
    return render_template("confirm.html", form=form, title=f"Remove {user.name} from the team?",
                           message=f"{user.name} will no longer mark or see reports for {course.title}. "
                                   "Marks they gave are kept.",
                           action_label="Remove from team", cancel_url=url_for("admin.course_team", slug=course.slug))


# Audit log -------------------------------------------------------------------

@bp.get("/audit")
def audit_log():
    from lms.audit import AuditEvent
    action = request.args.get("action", "").strip()[:60]
    actor = request.args.get("actor", "").strip()[:200]
    object_type = request.args.get("type", "").strip()[:40]
    stmt = select(AuditEvent).options(selectinload(AuditEvent.actor)).order_by(AuditEvent.created_at.desc(),
                                                                               AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action.like(f"{action}%"))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if actor:
        stmt = stmt.join(User, User.id == AuditEvent.actor_id).where(
            func.lower(User.email).like(f"%{actor.lower()}%") | func.lower(User.name).like(f"%{actor.lower()}%"))
    page = db.paginate(stmt, page=_page(), per_page=50, error_out=False)
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    types = db.session.scalars(select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)).all()
    return render_template("accounts/admin/audit.html", page=page, action=action, actor=actor,
                           object_type=object_type, actions=actions, types=types)
