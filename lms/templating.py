"""Template globals and filters."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask import request, url_for
from flask_login import current_user

from lms.accounts.models import Role


def nav_items() -> list[dict]:
    """The main navigation: what the user's roles allow, in a fixed order."""
    items = [{"label": "Home", "endpoint": "main.index"}, {"label": "Courses", "endpoint": "courses.catalogue"}]
    if current_user.is_authenticated:
        items.append({"label": "My learning", "endpoint": "courses.dashboard"})
        items.append({"label": "CPD", "endpoint": "certificates.cpd_record"})
    items.append({"label": "Pathways", "endpoint": "accreditation.pathways"})
    if current_user.is_authenticated and current_user.has_any_role(Role.TRAINER, Role.ADMIN):
        items.append({"label": "Teaching", "endpoint": "assessment.teach"})
    if current_user.is_authenticated and current_user.has_role(Role.PARTNER):
        items.append({"label": "Partner portal", "endpoint": "accreditation.portal"})
    if current_user.is_authenticated and current_user.has_role(Role.ADMIN):
        items.append({"label": "Admin", "endpoint": "admin.index"})
    for item in items:
        item["url"] = url_for(item["endpoint"])
        item["current"] = request.endpoint == item["endpoint"] or (
            item["endpoint"] == "courses.catalogue" and request.endpoint in COURSE_PAGES) or (
            item["endpoint"] == "admin.index" and (request.blueprint == "admin"
                                                   or (request.endpoint or "").startswith("payments.admin"))) or (
            item["endpoint"] == "assessment.teach" and ((request.endpoint or "") in TEACHING_PAGES
                                                        or (request.endpoint or "").startswith("courses.author")))
    return items


COURSE_PAGES = {"courses.detail", "courses.lesson", "courses.leave", "assessment.quiz", "assessment.attempt",
                "assessment.summary", "assessment.review", "assessment.assignment", "payments.redeem"}
TEACHING_PAGES = {"assessment.queue", "assessment.mark", "assessment.mark_essay", "assessment.statistics",
                  "assessment.bank", "assessment.import_questions", "courses.report", "payments.code_batches",
                  "payments.code_batch"}
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def format_money(amount: int, currency: str = "GBP") -> str:
    """Minor units as a price; 0 is "Free"."""
    if not amount:
        return "Free"
    symbol = CURRENCY_SYMBOLS.get(currency)
    value = f"{amount / 100:,.2f}"
    return f"{symbol}{value}" if symbol else f"{value} {currency}"


def format_hours(value) -> str:
    number = Decimal(value or 0).normalize()
    text = f"{number:f}"
    return f"{text} hour" if number == 1 else f"{text} hours"


def format_minutes(minutes: int) -> str:
    hours, rest = divmod(int(minutes or 0), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def level_label(course) -> str:
    if course.level == "cpd":
        return "CPD"
    credits = f", {course.credits} credits" if course.credits else ""
    return f"FHEQ level {course.level}{credits}"


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    return value.strftime(fmt) if value else ""


def format_date(value, fmt: str = "%d %b %Y") -> str:
    return value.strftime(fmt) if value else ""


def page_url(page: int) -> str:
    """The current page's address with another page number, keeping the other filters."""
    args = request.args.to_dict()
    args["page"] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def inline_markdown(text: str):
    """A line of trusted-format text (such as a citation) with *emphasis*, rendered and sanitised."""
    from markupsafe import Markup

    from lms.courses.rendering import render_inline
    return Markup(render_inline(text))


def nest_headings(html: str, top: int):
    """Safe rendered HTML with its headings renumbered to start at ``top``, for showing inside a section."""
    from markupsafe import Markup

    from lms.courses.rendering import nest_headings as renumber
    return Markup(renumber(str(html), top))


def register_template_helpers(app) -> None:
    from lms.payments.stripe_api import is_configured as payments_configured
    app.jinja_env.globals.update(nav_items=nav_items, page_url=page_url, Role=Role,
                                 payments_configured=payments_configured)
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["hours"] = format_hours
    app.jinja_env.filters["minutes"] = format_minutes
    app.jinja_env.filters["level_label"] = level_label
    app.jinja_env.filters["inline_markdown"] = inline_markdown
    app.jinja_env.filters["nest_headings"] = nest_headings
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
