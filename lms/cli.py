"""The ``flask --app wsgi lms`` command group."""
from __future__ import annotations

import os
import secrets

import click
from flask.cli import AppGroup

from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.extensions import db

lms_cli = AppGroup("lms", help="Cohesion LMS administration.")

DEMO_ACCOUNTS = [
    ("learner@example.org", "Demo Learner", [Role.LEARNER]),
    ("trainer@example.org", "Demo Trainer", [Role.TRAINER]),
    ("partner@example.org", "Demo Partner", [Role.PARTNER]),
    ("admin@example.org", "Demo Admin", [Role.ADMIN]),
]


@lms_cli.command("init")
@click.option("--demo", is_flag=True, help="Also create one demo account per role.")
def init_command(demo: bool) -> None:
    """Migrate the database to the latest revision (and seed the demo accounts, with the demo
    trainer on the team of every course and the demo partner in every university loaded so far)."""
    from flask_migrate import upgrade
    upgrade()
    click.echo("Database is at the latest revision.")
    if demo:
        seed_demo_accounts()


def seed_demo_accounts() -> None:
    password = os.environ.get("LMS_DEMO_PASSWORD") or secrets.token_urlsafe(12)
    created = []
    for email, name, roles in DEMO_ACCOUNTS:
        if accounts.find_user_by_email(email) is None:
            accounts.create_user(email, name, password, roles=roles, verified=True,
                                 check_password_strength=False)
            created.append(email)
    _demo_trainer_on_every_team()
    db.session.commit()
    if created:
        click.echo("Demo accounts created (this password is shown once):")
        for email in created:
            click.echo(f"  {email:<24} {password}")
    else:
        click.echo("Demo accounts exist already (set LMS_DEMO_PASSWORD before the first run to choose "
                   "their password).")


def _demo_trainer_on_every_team() -> None:
    """The demo trainer joins every course's team, and the demo partner every university."""
    from sqlalchemy import select

    from lms.accounts.models import Organisation, OrganisationKind, OrganisationMember
    from lms.courses.models import Course, CourseTrainer
    trainer = accounts.find_user_by_email("trainer@example.org")
    if trainer is not None:
        for course in db.session.scalars(select(Course)):
            if db.session.get(CourseTrainer, (course.id, trainer.id)) is None:
                db.session.add(CourseTrainer(course_id=course.id, user_id=trainer.id))
    partner = accounts.find_user_by_email("partner@example.org")
    if partner is not None:
        member_of = set(db.session.scalars(select(OrganisationMember.organisation_id)
                                           .where(OrganisationMember.user_id == partner.id)))
        for university in db.session.scalars(select(Organisation).where(
                Organisation.kind == OrganisationKind.UNIVERSITY)):
            if university.id not in member_of:
                db.session.add(OrganisationMember(organisation_id=university.id, user_id=partner.id))


@lms_cli.command("create-user")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]), help="A role; repeat for several.")
@click.option("--name", prompt="Full name", help="The user's full name.")
@click.password_option(help="Asked for when not given.")
def create_user_command(email: str, roles: tuple[str, ...], name: str, password: str) -> None:
    """Create a verified account holding the given roles."""
    try:
        user = accounts.create_user(email, name, password, roles=[Role(r) for r in roles], verified=True)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.email} with role(s) {', '.join(sorted(user.role_names))}.")


content_cli = AppGroup("content", help="Course content kept as files (see content/README.md).")
lms_cli.add_command(content_cli)


@content_cli.command("load")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@click.option("--archive", is_flag=True,
              help="Hide removed modules and lessons that learners have progress in, instead of refusing.")
def content_load_command(path: str, archive: bool) -> None:
    """Check the whole tree under PATH, then write it in one transaction (or nothing at all)."""
    from sqlalchemy import select

    from lms.accreditation.services import load_pathways
    from lms.courses.content import ContentInvalid, read_content
    from lms.courses.importer import load_courses
    from lms.courses.models import Course
    known = dict(db.session.execute(select(Course.slug, Course.level)).all())
    try:
        courses, pathways = read_content(path, known)
        report = load_courses(courses, archive=archive)
        pathway_lines = load_pathways(pathways)
    except ContentInvalid as invalid:
        db.session.rollback()
        for error in invalid.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(invalid.errors)} error(s); nothing was written.", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    for line in report.lines() + pathway_lines:
        click.echo(line)


questions_cli = AppGroup("questions", help="A course's question bank, in Moodle's GIFT format.")
lms_cli.add_command(questions_cli)


def _course_or_fail(slug: str):
    from lms.courses.services import get_course
    course = get_course(slug)
    if course is None:
        raise click.ClickException(f"No course has the slug '{slug}'.")
    return course


@questions_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--course", "slug", required=True, help="The course's slug.")
@click.option("--category", default="Imported", show_default=True,
              help="Category for questions with no $CATEGORY line.")
def questions_import_command(file: str, slug: str, category: str) -> None:
    """Import a GIFT file into a course's question bank (all or nothing)."""
    from lms.assessment.bank import import_gift
    from lms.assessment.gift import GiftError
    course = _course_or_fail(slug)
    try:
        counts = import_gift(course, open(file, encoding="utf-8-sig").read(), default_category=category)
    except GiftError as error:
        db.session.rollback()
        for line, message in error.errors:
            click.echo(f"{file}:{line}: {message}", err=True)
        click.echo(f"{len(error.errors)} error(s); nothing was imported.", err=True)
        raise SystemExit(1) from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text.") from None
    db.session.commit()
    for kind, count in sorted(counts.items()):
        click.echo(f"{kind}: {count}")
    click.echo(f"Imported {sum(counts.values())} question(s) into {course.slug}.")


@questions_cli.command("export")
@click.option("--course", "slug", required=True, help="The course's slug.")
@click.option("--to", "path", type=click.Path(dir_okay=False, writable=True), help="A file (default: print).")
def questions_export_command(slug: str, path: str | None) -> None:
    """Write a course's question bank as GIFT."""
    from lms.assessment.bank import export_gift
    text = export_gift(_course_or_fail(slug))
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"Wrote {path}.")
    else:
        click.echo(text, nl=False)


@lms_cli.command("close-expired-attempts")
def close_expired_command() -> None:
    """Close quiz attempts whose time limit has passed (safe to run from cron at any time)."""
    from lms.assessment.services import close_expired
    closed = close_expired()
    db.session.commit()
    click.echo(f"Closed {closed} attempt(s).")


completion_cli = AppGroup("completion", help="Module and course completion.")
lms_cli.add_command(completion_cli)


@completion_cli.command("recompute")
@click.option("--course", "slug", required=True, help="The course's slug.")
def completion_recompute_command(slug: str) -> None:
    """Re-evaluate every learner of a course (after its content changed); never takes a certificate away."""
    from lms.certificates.services import recompute
    learners, modules, certificates = recompute(_course_or_fail(slug))
    db.session.commit()
    click.echo(f"Checked {learners} learner(s): {modules} module completion(s) and {certificates} "
               "certificate(s) newly recorded.")


certificates_cli = AppGroup("certificates", help="Certificates and their credentials.")
lms_cli.add_command(certificates_cli)


@certificates_cli.command("issue")
@click.option("--course", "slug", required=True, help="The course's slug.")
def certificates_issue_command(slug: str) -> None:
    """Issue any missing certificates for learners who have completed the course.

    A learner who has ever had one for the course is left alone: a revoked certificate stays revoked.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from lms.certificates.models import Certificate
    from lms.certificates.services import issue_certificate
    from lms.courses.models import Enrolment
    course = _course_or_fail(slug)
    done = db.session.scalars(select(Enrolment).where(Enrolment.course_id == course.id,
                                                      Enrolment.completed_at.is_not(None))
                              .options(selectinload(Enrolment.user))).all()
    certified = set(db.session.scalars(select(Certificate.user_id).where(Certificate.course_id == course.id)))
    issued = 0
    with click.progressbar(done, label="Issuing certificates", show_pos=True) as bar:
        for enrolment in bar:
            if enrolment.user_id not in certified:
                issue_certificate(enrolment.user, course, completed_at=enrolment.completed_at)
                issued += 1
                if issued % 500 == 0:
                    db.session.commit()
    db.session.commit()
    click.echo(f"Issued {issued} certificate(s); {len(done) - issued} already had one.")


@certificates_cli.command("rotate-key")
def rotate_key_command() -> None:
    """Start signing credentials with a new key; earlier keys stay published in the JWKS."""
    from lms.certificates.credentials import all_keys, rotate
    key = rotate()
    click.echo(f"New signing key {key.kid}; {len(all_keys())} key(s) published.")


@lms_cli.group("reminders")
def reminders_cli() -> None:
    """Renewal reminders for certificates that expire."""


@reminders_cli.command("send")
def reminders_send_command() -> None:
    """Email learners whose renewal window has opened or whose certificate expires soon (idempotent; for cron)."""
    from flask import current_app, render_template

    from lms.certificates.services import due_reminders, record_reminder
    from lms.mail import send_mail
    from lms.urls import external_url
    sent = 0
    for certificate, kind in due_reminders():
        if not record_reminder(certificate, kind):
            continue
        subject = (f"Time to renew: {certificate.course_title}" if kind == "window"
                   else f"Your certificate for {certificate.course_title} expires soon")
        body = render_template("certificates/email/reminder.txt", certificate=certificate, kind=kind,
                               course_url=external_url("courses.detail", slug=certificate.course.slug),
                               site=current_app.config["SITE_NAME"])
        db.session.commit()  # noted before sending: a crash never sends twice
        send_mail(certificate.user.email, subject, body)
        sent += 1
    db.session.commit()
    click.echo(f"Sent {sent} reminder(s).")


@content_cli.command("export")
@click.argument("slug")
@click.option("--to", "target", required=True, type=click.Path(file_okay=False),
              help="The content folder to write into (the course goes to TARGET/courses/SLUG/).")
def content_export_command(slug: str, target: str) -> None:
    """Write a course (authored in the browser or loaded from files) back out as content files."""
    from lms.courses.exporter import export_to
    folder = export_to(_course_or_fail(slug), target)
    click.echo(f"Wrote {folder}.")


from lms.accreditation.commands import xapi_cli  # noqa: E402

lms_cli.add_command(xapi_cli)

payments_cli = AppGroup("payments", help="Stripe payments.")
lms_cli.add_command(payments_cli)


@payments_cli.command("reconcile")
@click.option("--since", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Check Checkout Sessions created on or after this day (YYYY-MM-DD, UTC).")
def payments_reconcile_command(since) -> None:
    """Enrol everyone Stripe says has paid but who is not enrolled (a missed webhook). Safe to repeat."""
    from datetime import UTC

    from lms.payments import services as payments
    try:
        report = payments.reconcile(since.replace(tzinfo=UTC), commit=db.session.commit)
    except payments.PaymentError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    except Exception as error:  # Stripe unreachable, say: one clear line, non-zero exit
        db.session.rollback()
        from lms.payments.stripe_api import StripeError
        if isinstance(error, StripeError):
            raise click.ClickException(f"Stripe could not be reached: {error.user_message or error}") from None
        raise
    db.session.commit()
    for line in report.fixed:
        click.echo(f"fixed   {line}")
    for line in report.problems:
        click.echo(f"problem {line}")
    click.echo(f"{report.checked} completed Checkout Session(s) checked since {since:%Y-%m-%d}; "
               f"{len(report.fixed)} fixed, {len(report.problems)} problem(s).")
