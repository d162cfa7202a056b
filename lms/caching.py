"""What is the same for every learner, built once per course version and kept in the cache.

The cache is Flask-Caching's: in-process (SimpleCache) on the embedded default, Redis when
``CACHE_REDIS_URL`` is set, so every app server shares it. A key names the course's id, its
version and its creation time, and publishing or loading content raises the version: a new
version is a new key, so nothing is ever served from a version that has been replaced, on any
server, and the old entries expire. Values are plain data (dataclasses), never ORM objects.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from lms.extensions import cache

T = TypeVar("T")


def course_version_key(course, part: str) -> str:
    stamp = int(course.created_at.timestamp() * 1_000_000) if course.created_at else 0
    return f"{part}:{course.id}:{course.version}:{stamp}"


def for_course_version(course, part: str, build: Callable[[], T]) -> T:
    """``build()``'s value for this version of ``course``, built on the first call and then cached."""
    key = course_version_key(course, part)
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value)
    return value


def cached(key: str, build: Callable[[], T]) -> T:
    """``build()``'s value under a key that names an immutable thing (a lesson version and its hash)."""
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value)
    return value
