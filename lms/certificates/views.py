"""The CPD record, certificates (PDF and Open Badge), public verification, issuer profile and keys."""
from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, time

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lms.accounts.models import Role
from lms.certificates import bp, cpd, credentials, forms, services
from lms.certificates.models import Certificate, CpdEntry
from lms.database import utcnow
from lms.extensions import db, limiter
from lms.forms import ConfirmForm
from lms.security import require
from lms.urls import external_url, form_page


# CPD record -----------------------------------------------------------------------------

@bp.get("/cpd/")
@login_required
def cpd_record():
    page = db.paginate(cpd.entries_query(current_user), page=request.args.get("page", 1, type=int),
                       per_page=current_app.config["PER_PAGE"], error_out=False)
    return render_template("certificates/cpd.html", years=cpd.summary(current_user), page=page,
                           target_form=forms.TargetForm(target=cpd.target(current_user)))


@bp.route("/cpd/new", methods=["GET", "POST"])
@login_required
def cpd_new():
    return _cpd_form(None)


def _own_entry(entry_id: int) -> CpdEntry:
    entry = db.session.get(CpdEntry, entry_id)
    require(entry is not None and entry.user_id == current_user.id)
    return entry


@bp.route("/cpd/<int:entry_id>/edit", methods=["GET", "POST"])
@login_required
def cpd_edit(entry_id: int):
    entry = _own_entry(entry_id)
    require(entry.source == "external")
    return _cpd_form(entry)


def _cpd_form(entry: CpdEntry | None):
    form = forms.CpdEntryForm(obj=entry if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            cpd.save_external(current_user, entry, title=form.title.data, activity_date=form.activity_date.data,
                              hours=form.hours.data, category=form.category.data, learned=form.learned.data or "",
                              apply=form.apply.data or "")
        except services.CertificateError as error:
            form.activity_date.errors.append(str(error))
        else:
            db.session.commit()
            flash("Your CPD record is updated.", "success")
            return redirect(url_for("certificates.cpd_record"))
    return form_page("certificates/cpd_form.html", form, entry=entry)


@bp.route("/cpd/<int:entry_id>/delete", methods=["GET", "POST"])
@login_required
def cpd_delete(entry_id: int):
    entry = _own_entry(entry_id)
    require(entry.source == "external")
    form = ConfirmForm()
    if form.validate_on_submit():
        cpd.delete_external(current_user, entry)
        db.session.commit()
        flash("The activity is removed from your record.", "success")
        return redirect(url_for("certificates.cpd_record"))
    return render_template("confirm.html", form=form, title=f"Remove “{entry.title}”?",
                           message=f"{entry.hours} hours on {entry.activity_date:%d %B %Y} will leave your record.",
                           action_label="Remove activity", cancel_url=url_for("certificates.cpd_record"))


@bp.post("/cpd/target")
@login_required
def cpd_target():
    form = forms.TargetForm()
    if form.validate_on_submit():
        cpd.set_target(current_user, form.target.data)
        db.session.commit()
        flash(f"Your annual target is now {form.target.data} hours.", "success")
    else:
        flash(" ".join(form.target.errors) or "Enter a number of hours.", "error")
    return redirect(url_for("certificates.cpd_record"), 303)


@bp.get("/cpd/record.csv")
@login_required
def cpd_csv():
    return Response(cpd.as_csv(current_user), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="cpd-record.csv"'})


@bp.get("/cpd/record.pdf")
@login_required
def cpd_pdf():
    return Response(cpd.as_pdf(current_user, current_app.config["SITE_NAME"]), mimetype="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="cpd-record.pdf"'})


# Certificates ---------------------------------------------------------------------------

def _viewable_certificate(code: str) -> Certificate:
    certificate = services.certificate_by_code(code)
    require(certificate is not None and (certificate.user_id == current_user.id
                                         or current_user.has_role(Role.ADMIN)))
    return certificate


def render_certificate_pdf(certificate: Certificate) -> bytes:
    from lms.certificates.pdf import certificate_pdf
    verify_url = external_url("certificates.verify", code=certificate.code)
    status = {"revoked": "REVOKED", "superseded": "SUPERSEDED"}.get(certificate.status)
    return certificate_pdf(
        holder=certificate.holder_name, course=certificate.course_title, level=certificate.level_label,
        hours=f"{certificate.cpd_hours.normalize():f}", completed=f"{certificate.completed_at:%d %B %Y}",
        number=certificate.number, issuer=current_app.config["SITE_NAME"], verify_url=verify_url,
        short_url=verify_url.split("://", 1)[-1], status_note=status,
        expires=f"{certificate.expires_at:%d %B %Y}" if certificate.expires_at else None)


@bp.get("/certificates/")
@login_required
def certificate_list():
    rows = db.session.scalars(select(Certificate).where(Certificate.user_id == current_user.id)
                              .order_by(Certificate.issued_at.desc())).all()
    return render_template("certificates/list.html", certificates=rows, window=services.renewal_window_opens,
                           now=utcnow())


@bp.get("/certificates/<code>/")
@login_required
def certificate_detail(code: str):
    certificate = _viewable_certificate(code)
    return render_template("certificates/detail.html", certificate=certificate, form=ConfirmForm(),
                           revoke_form=forms.RevokeForm(),
                           verify_url=external_url("certificates.verify", code=certificate.code))


@bp.get("/certificates/<code>.pdf")
@login_required
def certificate_pdf(code: str):
    certificate = _viewable_certificate(code)
    return Response(render_certificate_pdf(certificate), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="certificate-{certificate.number}.pdf"'})


@bp.get("/certificates/<code>/credential.jwt")
@login_required
def certificate_credential(code: str):
    certificate = _viewable_certificate(code)
    require(certificate.revoked_at is None, 410)
    return Response(credentials.signed_credential(certificate), mimetype="application/jwt",
                    headers={"Content-Disposition": f'attachment; filename="open-badge-{certificate.number}.jwt"'})


@bp.post("/certificates/<code>/reissue")
@login_required
def certificate_reissue(code: str):
    certificate = _viewable_certificate(code)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        new = services.reissue(certificate)
    except services.CertificateError as error:
        flash(str(error), "error")
        return redirect(url_for("certificates.certificate_detail", code=certificate.code), 303)
    db.session.commit()
    flash("A new certificate with your current name has been issued; the old one is marked as replaced.", "success")
    return redirect(url_for("certificates.certificate_detail", code=new.code))


@bp.post("/certificates/<code>/revoke")
@login_required
def certificate_revoke(code: str):
    require(current_user.has_role(Role.ADMIN), 403)
    certificate = _viewable_certificate(code)
    form = forms.RevokeForm()
    if form.validate_on_submit():
        try:
            services.revoke(current_user, certificate, form.reason.data)
        except services.CertificateError as error:
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(f"Certificate {certificate.number} is revoked.", "success")
    else:
        flash(" ".join(form.reason.errors) or "Give a reason.", "error")
    return redirect(url_for("certificates.certificate_detail", code=certificate.code), 303)


# Public verification, issuer and keys -----------------------------------------------------

def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


NOT_FOUND = ("No certificate has this code or number. Check it against the certificate: the code is under "
             "the QR code, the number (such as CL-2026-000042-1) beside it.")


@bp.get("/verify/")
@limiter.limit(_verify_limit)
def verify_lookup():
    """Check a certificate by typing its code or its printed number."""
    query = request.args.get("q", "").strip()[:60]
    if not query:
        return render_template("certificates/verify_lookup.html", query="", error=None)
    certificate = services.find_certificate(query)
    if certificate is None:
        return render_template("certificates/verify_lookup.html", query=query, error=NOT_FOUND), 404
    return redirect(url_for("certificates.verify", code=certificate.code))


@bp.get("/verify/<code>")
@limiter.limit(_verify_limit)
def verify(code: str):
    certificate = services.certificate_by_code(code)
    if certificate is None:
        return render_template("certificates/verify_lookup.html", query=code[:60], error=NOT_FOUND), 404
    return render_template("certificates/verify.html", certificate=certificate,
                           newer=certificate.superseded_by if certificate.superseded_by_id else None)


@bp.route("/verify/credential", methods=["GET", "POST"])
@limiter.limit(_verify_limit, methods=["POST"])
def verify_credential():
    result = None
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        token = (request.form.get("credential") or "").strip()
        if not token:
            upload = request.files.get("file")
            token = upload.read(200_000).decode("utf-8", "replace").strip() if upload else ""
        result = credentials.verify(token) if token else credentials.Verification(False, "Paste a credential.")
    return render_template("certificates/verify_credential.html", result=result, form=ConfirmForm()), \
        (422 if result is not None and not result.valid else 200)


@bp.get("/issuer")
def issuer():
    return jsonify({"@context": credentials.OB_CONTEXT,
                    **{k: v for k, v in credentials.issuer_profile().items() if v is not None}})


@bp.get("/.well-known/jwks.json")
def jwks():
    response = jsonify(credentials.jwks())
    response.mimetype = "application/jwk-set+json"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# Bulk download for a course's trainers ------------------------------------------------------

@bp.get("/teach/<slug>/certificates.zip")
@login_required
def certificates_zip(slug: str):
    from lms.assessment.services import teaches
    from lms.courses.services import get_course
    course = get_course(slug)
    require(course is not None and teaches(current_user, course))
    form = forms.DateRangeForm(request.args)
    stmt = select(Certificate).where(Certificate.course_id == course.id).order_by(Certificate.id)
    if not form.validate():  # never a zip of everything when the dates asked for were mistyped
        abort(400, "The dates are not valid: " + "; ".join(e for errors in form.errors.values() for e in errors))
    if form.start.data:
        stmt = stmt.where(Certificate.issued_at >= datetime.combine(form.start.data, time.min, UTC))
    if form.end.data:
        stmt = stmt.where(Certificate.issued_at <= datetime.combine(form.end.data, time.max, UTC))
    ids = list(db.session.scalars(stmt.with_only_columns(Certificate.id)))
    app = current_app._get_current_object()

    def generate():
        buffer = _ZipBuffer()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for start in range(0, len(ids), 50):
                with app.app_context():  # a batch at a time: memory stays flat however many there are
                    batch = [(c.number, render_certificate_pdf(c)) for c in db.session.scalars(
                        select(Certificate).where(Certificate.id.in_(ids[start:start + 50]))
                        .options(joinedload(Certificate.course)).order_by(Certificate.id))]
                for number, pdf in batch:
                    archive.writestr(f"{number}.pdf", pdf)
                    yield buffer.take()
        yield buffer.take()

    return Response(generate(), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{course.slug}-certificates.zip"'})


class _ZipBuffer(io.RawIOBase):
    """A write-only stream that hands over what was written so far: a zip streams as it is made."""

    def __init__(self):
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data
