"""The baseline for the page benches: a bare Flask app whose one route returns a small fixed HTML page.

gunicorn serves it with the same settings as ``wsgi:app`` (``bench.bare:app``), so a page's req/s over
this one's says how much the LMS costs on top of Flask, gunicorn and the machine, whatever the machine.
"""
from __future__ import annotations

from flask import Flask

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Bare page</title></head>
<body>
<main>
<h1>A bare page</h1>
<p>The same HTML on every request: no template, no database, no session.</p>
</main>
</body>
</html>
"""

app = Flask(__name__)


@app.get("/")
def index() -> tuple[str, int, dict[str, str]]:
    return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}
