"""A real Learning Record Store for the xAPI tests: ralph, run from its own virtualenv (.venv-lrs).

ralph's pins (fastapi, click, uvicorn) stay out of the app's environment. When .venv-lrs is missing
the fixture creates it (``python3 -m venv`` and pip from the registry). Where that cannot be done
the tests that need an LRS are skipped with the reason, except when LMS_REQUIRE_LRS is set (CI
sets it): then a missing LRS fails the run.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
LRS_VENV = Path(os.environ.get("LMS_LRS_VENV", ROOT / ".venv-lrs"))
RALPH = LRS_VENV / "bin" / "ralph"
RALPH_REQUIREMENT = "ralph-malph[cli,lrs]==5.1.0"


@dataclass
class Lrs:
    endpoint: str      # the xAPI endpoint, as a university would give it
    username: str
    password: str

    def statements(self, **params) -> requests.Response:
        return requests.get(f"{self.endpoint}/statements", params=params, auth=(self.username, self.password),
                            headers={"X-Experience-API-Version": "1.0.3"}, timeout=10)


def _ensure_ralph() -> str | None:
    """None when ralph is ready to run, else why it is not."""
    if RALPH.exists():
        return None
    python = shutil.which("python3")
    if python is None:
        return "no python3 to create .venv-lrs with"
    try:
        subprocess.run([python, "-m", "venv", str(LRS_VENV)], check=True, capture_output=True, timeout=300)
        subprocess.run([str(LRS_VENV / "bin" / "pip"), "install", "--quiet", RALPH_REQUIREMENT, "requests"],
                       check=True, capture_output=True, timeout=1200)
    except (subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", b"") or b""
        return f"could not install {RALPH_REQUIREMENT} into {LRS_VENV}: {error} {detail.decode()[-500:]}"
    return None if RALPH.exists() else f"{RALPH} is missing after installing ralph"


def _unavailable(reason: str):
    if os.environ.get("LMS_REQUIRE_LRS"):
        pytest.fail(f"an LRS is required (LMS_REQUIRE_LRS is set): {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lrs(tmp_path):
    """ralph serving xAPI on a free port of 127.0.0.1, with an empty store; yields an Lrs."""
    reason = _ensure_ralph()
    if reason:
        _unavailable(reason)
    app_dir = tmp_path / "ralph"
    app_dir.mkdir()
    # RALPH_* only for ralph's own processes, never this one's environment.
    env = {**os.environ, "RALPH_APP_DIR": str(app_dir), "RALPH_AUTH_FILE": str(app_dir / "auth.json"),
           "RALPH_RUNSERVER_BACKEND": "fs"}
    username, password = "lms", "a-test-lrs-secret"
    subprocess.run([str(RALPH), "auth", "-u", username, "-p", password, "-s", "all", "-M", "mailto:lms@example.org",
                    "-w"], env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    log = open(app_dir / "server.log", "wb")
    process = subprocess.Popen([str(RALPH), "runserver", "-b", "fs", "-h", "127.0.0.1", "-p", str(port),
                                "--fs-default-directory-path", str(app_dir / "store")],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/__heartbeat__", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                _unavailable("ralph did not start: " + (app_dir / "server.log").read_text()[-1000:])
            time.sleep(0.2)
        yield Lrs(f"{base}/xAPI", username, password)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
