"""Helpers shared by every CSV download."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Text a person typed, made safe to open in a spreadsheet (never read as a formula)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def csv_response(filename: str, header: list[str], rows: Iterable[list]) -> Response:
    """A small CSV download, every cell spreadsheet-safe. Large exports stream their own rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
