"""A real server: gunicorn in a subprocess on a free port of 127.0.0.1, against the test database."""
from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gunicorn_server(database_url):
    port = _free_port()
    env = dict(os.environ, LMS_LIVE_DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "16",
         "--worker-class", "gthread", "--timeout", "60", "--log-level", "warning", "tests.live.serve:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except OSError:  # not listening yet, or workers still booting
            if process.poll() is not None:
                raise RuntimeError(process.stdout.read().decode())
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("gunicorn did not start")
    yield base
    process.terminate()
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    errors = [line for line in output.decode().splitlines() if "Traceback" in line or "ERROR" in line]
    assert not errors, output.decode()[-4000:]


CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class Browser:
    """A minimal HTTP client with cookies, for many concurrent users without a real browser."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def token(self, path: str) -> str:
        status, html = self.request(path)
        match = CSRF_RE.search(html)
        assert match, (path, status, html[:500])
        return match.group(1)

    def post(self, path: str, data: dict, *, page: str) -> tuple[int, str]:
        return self.request(path, {**data, "csrf_token": self.token(page)})
