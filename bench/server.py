"""gunicorn for the benches: one set of settings for the LMS (``wsgi:app``) and the bare app alike.

``serve(...)`` starts gunicorn on a free port of 127.0.0.1, waits until it answers, yields its base URL
and always stops it (and its workers) on the way out. The settings come from the environment:
BENCH_WORKERS (default 2 × cores), BENCH_WORKER_CLASS (sync) and BENCH_THREADS (for gthread).
"""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"
USER_AGENT = "lms-bench"  # sent by every client, wrk too: the session's "basic" protection sees one agent


@dataclass(frozen=True)
class Settings:
    workers: int
    worker_class: str = "sync"
    threads: int = 1
    timeout: int = 60

    @classmethod
    def from_env(cls) -> Settings:
        return cls(workers=int(os.environ.get("BENCH_WORKERS") or 2 * (os.cpu_count() or 1)),
                   worker_class=os.environ.get("BENCH_WORKER_CLASS") or "sync",
                   threads=int(os.environ.get("BENCH_THREADS") or 1))

    def args(self) -> list[str]:
        args = ["--workers", str(self.workers), "--worker-class", self.worker_class, "--timeout", str(self.timeout)]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads)]
        return args

    def describe(self) -> str:
        return f"gunicorn {' '.join(self.args())} --bind 127.0.0.1:<free port> (no access log)"


def app_env(database_url: str, instance: Path) -> dict[str, str]:
    """The LMS's environment under the bench: the development configuration (debug off), its own
    instance folder and secret key, rate limits off (hundreds of log-ins come from one address)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BENCH_", "TEST_DATABASE"))}
    env.update({"LMS_CONFIG": "development", "FLASK_DEBUG": "0", "DATABASE_URL": database_url,
                "LMS_INSTANCE_PATH": str(instance), "SECRET_KEY": secrets.token_hex(32),
                "RATELIMIT_ENABLED": "0", "MAIL_BACKEND": "log"})
    return env


def app_env_description() -> str:
    return "LMS_CONFIG=development FLASK_DEBUG=0 RATELIMIT_ENABLED=0 MAIL_BACKEND=log, DATABASE_URL and " \
           "LMS_INSTANCE_PATH per run"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerError(RuntimeError):
    """gunicorn did not start; the message ends with the tail of its log."""


@contextmanager
def serve(app: str, settings: Settings, env: dict[str, str] | None = None, *, ready_path: str = "/healthz",
          start_timeout: float = 60) -> Iterator[str]:
    """gunicorn serving ``app`` (``module:variable``) until the block ends; yields ``http://127.0.0.1:PORT``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = Path(tempfile.mkdtemp(prefix="lms-bench-gunicorn-")) / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(GUNICORN), "--bind", f"127.0.0.1:{port}", *settings.args(), app],
                                   cwd=ROOT, env=env or dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            _wait_until_ready(process, base + ready_path, start_timeout, log_path)
            yield base
        finally:
            _stop(process)
    if process.returncode not in (0, -signal.SIGTERM):
        print(f"gunicorn ({app}) exited with {process.returncode}; log: {log_path}", file=sys.stderr)


def log_tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _wait_until_ready(process: subprocess.Popen, url: str, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerError(f"gunicorn exited with {process.returncode}:\n{log_tail(log_path)}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"gunicorn did not answer {url} within {timeout:.0f} s:\n{log_tail(log_path)}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to gunicorn's master (it stops its workers), then SIGKILL to its process group if need be."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
