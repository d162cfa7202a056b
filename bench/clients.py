"""Learners as asyncio clients (aiohttp) for the mixed-load and quiz-spike benches.

Each ``Learner`` has its own cookie jar, logs in through the /login form and posts forms with the CSRF
token of the page it came from, as a browser does; redirects are not followed, so every status is seen.
Every request's latency and status go into a shared ``Tally``; a status that was not expected (any 5xx
among them) or a failed connection is an error.
"""
from __future__ import annotations

import math
import re
import statistics
import time
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urljoin

import aiohttp

from bench.seed import PASSWORD
from bench.server import USER_AGENT

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
SHOWN_RE = re.compile(r'name="shown(\d+)"')
OPTION_RE = re.compile(r'<input type="(?:radio|checkbox)" id="[^"]*" name="q(\d+)" value="([^"]*)"')
TIMEOUT = aiohttp.ClientTimeout(total=120)


@dataclass
class Reply:
    status: int
    text: str
    location: str


@dataclass
class Tally:
    """Latency (seconds) of each request by label, and the errors (unexpected statuses, failures)."""
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, label: str, seconds: float) -> None:
        self.latencies.setdefault(label, []).append(seconds)

    def all(self, *labels: str) -> list[float]:
        return [s for label, values in self.latencies.items() if not labels or label in labels for s in values]

    def count(self, *labels: str) -> int:
        return len(self.all(*labels))


def percentile(values: list[float], p: float) -> float:
    """The ``p``th percentile (0-100) of ``values``, by the nearest-rank method; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), math.ceil(p / 100 * len(ordered))) - 1)]


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


class Learner:
    """One learner's browser: a cookie jar, the last CSRF token seen, and the shared tally."""

    def __init__(self, base: str, email: str, tally: Tally, connector: aiohttp.BaseConnector):
        self.base, self.email, self.tally = base, email, tally
        self.session = aiohttp.ClientSession(
            connector=connector, connector_owner=False, timeout=TIMEOUT, headers={"User-Agent": USER_AGENT},
            cookie_jar=aiohttp.CookieJar(unsafe=True))  # unsafe: keep cookies from 127.0.0.1
        self.csrf = ""

    async def close(self) -> None:
        await self.session.close()

    async def request(self, label: str, method: str, path: str, *, expect: tuple[int, ...],
                      data: list[tuple[str, str]] | None = None) -> Reply | None:
        """One request, timed; None (and an error in the tally) when it failed or had an unexpected status."""
        started = time.perf_counter()
        try:
            async with self.session.request(method, urljoin(self.base, path), data=data,
                                            allow_redirects=False) as response:
                text = await response.text()
                reply = Reply(response.status, text, response.headers.get("Location", ""))
        except (aiohttp.ClientError, TimeoutError) as error:
            self.tally.errors.append(f"{label} {path}: {type(error).__name__} {error}")
            return None
        finally:
            self.tally.add(label, time.perf_counter() - started)
        if reply.status not in expect:
            self.tally.errors.append(f"{label} {method} {path}: {reply.status} {reply.location}".rstrip())
            return None
        match = CSRF_RE.search(reply.text)
        if match:
            self.csrf = unescape(match.group(1) or match.group(2))
        return reply

    async def get(self, label: str, path: str, *, expect: tuple[int, ...] = (200,)) -> Reply | None:
        return await self.request(label, "GET", path, expect=expect)

    async def post(self, label: str, path: str, fields: list[tuple[str, str]] | None = None, *,
                   expect: tuple[int, ...] = (302, 303)) -> Reply | None:
        return await self.request(label, "POST", path, expect=expect,
                                  data=[("csrf_token", self.csrf), *(fields or [])])

    async def log_in(self) -> bool:
        if await self.get("log-in form", "/login") is None:
            return False
        reply = await self.post("log in", "/login", [("email", self.email), ("password", PASSWORD)], expect=(302,))
        if reply is None or "/login" in reply.location:
            self.tally.errors.append(f"log in {self.email}: refused")
            return False
        return await self.get("after log-in", reply.location) is not None  # the welcome message, seen once


def answers_for(attempt_page: str) -> list[tuple[str, str]]:
    """Form fields answering every question on an attempt page: the first option each offers."""
    fields = [(f"shown{n}", "1") for n in SHOWN_RE.findall(attempt_page)]
    chosen: set[str] = set()
    for position, value in OPTION_RE.findall(attempt_page):
        if position not in chosen:
            chosen.add(position)
            fields.append((f"q{position}", unescape(value)))
    return fields
