"""``flask --app wsgi lms xapi ...``: queue and send universities' xAPI statements."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from lms.extensions import db

xapi_cli = AppGroup("xapi", help="xAPI statements for universities' Learning Record Stores.")


@xapi_cli.command("send")
@click.option("--university", "university_id", type=int, help="Only this university (organisation id).")
@click.option("--all", "force", is_flag=True, help="Also send statements whose retry time has not come yet.")
@click.option("--batch-size", default=50, show_default=True, type=click.IntRange(1, 500),
              help="Statements per POST.")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.5, 300),
              help="Seconds to wait for the LRS.")
def send_command(university_id: int | None, force: bool, batch_size: int, timeout: float) -> None:
    """Send pending statements to each university's LRS (for cron; safe to repeat)."""
    from lms.accreditation.delivery import send_for, universities_with_lrs
    universities = universities_with_lrs()
    if university_id is not None:
        if university_id not in universities:
            raise click.ClickException(f"University {university_id} has no LRS with sending switched on.")
        universities = [university_id]
    problems = 0
    for university in universities:
        report = send_for(university, force=force, batch_size=batch_size, timeout=timeout)
        db.session.commit()
        click.echo(f"University {university}: {report.line()}")
        for error in report.errors[:5]:
            click.echo(f"  {error}", err=True)
        problems += report.deferred + report.failed
    if problems:
        raise click.ClickException(f"{problems} statement(s) not delivered; they are kept and shown in the portal.")


@xapi_cli.command("queue-all")
@click.argument("university_id", type=int)
def queue_all_command(university_id: int) -> None:
    """Queue every credit record of a university for its LRS (after setting one up); idempotent."""
    from lms.accreditation.delivery import LrsError, queue_all
    try:
        queued = queue_all(None, university_id)
    except LrsError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Queued {queued} statement(s).")
