"""Template globals and filters."""
from __future__ import annotations

from datetime import datetime

from flask import request, url_for
from flask_login import current_user

from lms.accounts.models import Role


def nav_items() -> list[dict]:
    """The main navigation: what the user's roles allow, in a fixed order."""
    items = [{"label": "Home", "endpoint": "main.index"}]
    if current_user.is_authenticated and current_user.has_role(Role.ADMIN):
        items.append({"label": "Admin", "endpoint": "admin.index"})
    for item in items:
        item["url"] = url_for(item["endpoint"])
        item["current"] = request.endpoint == item["endpoint"] or (
            request.blueprint and item["endpoint"].split(".")[0] == request.blueprint
            and item["endpoint"] != "main.index")
    return items


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    return value.strftime(fmt) if value else ""


def format_date(value, fmt: str = "%d %b %Y") -> str:
    return value.strftime(fmt) if value else ""


def page_url(page: int) -> str:
    """The current page's address with another page number, keeping the other filters."""
    args = request.args.to_dict()
    args["page"] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def register_template_helpers(app) -> None:
    app.jinja_env.globals.update(nav_items=nav_items, page_url=page_url, Role=Role)
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
