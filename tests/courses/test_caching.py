"""Outlines, quiz summaries and lesson HTML are built once per course version and cached; a new version
(publishing, or loading changed content) is seen at once, on every app server sharing the cache."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from config import TestingConfig
from lms import create_app
from lms.courses.importer import load_courses
from lms.courses.models import Course
from lms.extensions import cache, db
from tests.courses.test_query_counts import count_statements
from tests.factories import QUIZ_GIFT, course_file, enrol, login, make_user, post_form


def _load(cf) -> Course:
    load_courses([cf])
    db.session.commit()
    return db.session.scalar(select(Course).where(Course.slug == cf.slug))


def _reader(app, course):
    learner = make_user()
    enrol(learner, course)
    client = app.test_client()
    login(client, learner)
    return client


def test_a_second_page_view_reads_the_outline_and_lesson_from_the_cache(app):
    course = _load(course_file("cached-course", modules=3, lessons=3, quiz=QUIZ_GIFT))
    client = _reader(app, course)
    url = "/courses/cached-course/module-2/lesson-2-1/"
    with count_statements() as first:
        assert client.get(url).status_code == 200
    with count_statements() as second:
        html = client.get(url).get_data(as_text=True)
    assert "do thing 2.1" in html and "Lesson 3.3" in html  # the lesson's text, and the outline
    built_from = ("FROM modules", "FROM lesson_versions", "FROM quizzes")
    assert all(any(part in s for s in first) for part in built_from)
    assert not [s for s in second if any(part in s for part in built_from)]


def test_changed_content_is_shown_at_once_after_it_is_loaded(app):
    cf = course_file("changing-course", modules=1, lessons=2, quiz=QUIZ_GIFT)
    course = _load(cf)
    client = _reader(app, course)
    lesson_url = "/courses/changing-course/module-1/lesson-1-1/"
    assert "do thing 1.1" in client.get(lesson_url).get_data(as_text=True)
    questions = len(cf.modules[0].questions)
    assert f"{questions} questions" in client.get("/courses/changing-course/").get_data(as_text=True)

    changed = course_file("changing-course", modules=1, lessons=3, quiz=QUIZ_GIFT)
    changed.modules[0].lessons[0].source = "## Revised\n\nA new first lesson, rewritten after feedback.\n"
    changed.modules[0].questions = changed.modules[0].questions[:-1]
    version = course.version
    assert _load(changed).version == version + 1

    lesson = client.get(lesson_url).get_data(as_text=True)
    assert "rewritten after feedback" in lesson and "do thing 1.1" not in lesson
    assert "Lesson 1.3" in lesson  # the outline beside it has the new lesson
    page = client.get("/courses/changing-course/").get_data(as_text=True)
    assert "Lesson 1.3" in page and f"{questions - 1} questions" in page


def test_publishing_from_the_browser_shows_the_new_version_to_a_learner_at_once(app):
    from tests.courses.test_authoring import build_course
    trainer = make_user("trainer")
    author = app.test_client()
    login(author, trainer)
    build_course(author)
    post_form(author, "/author/new-course/publish", {})
    course = db.session.scalar(select(Course).where(Course.slug == "new-course"))
    reader = _reader(app, course)
    lesson_url = "/courses/new-course/part-1/why-listen/"
    assert "Because trust matters." in reader.get(lesson_url).get_data(as_text=True)  # now cached

    post_form(author, "/author/new-course/modules/part-1/lessons/why-listen/edit",
              {"title": "Why we listen", "source": "## Why\n\nBecause trust takes time.", "action": "save"})
    assert "Because trust matters." in reader.get(lesson_url).get_data(as_text=True)  # a draft: unchanged
    post_form(author, "/author/new-course/publish", {})
    html = reader.get(lesson_url).get_data(as_text=True)
    assert "Because trust takes time." in html and "Why we listen" in html


@pytest.fixture
def redis_url():
    import redis
    url = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    redis.Redis.from_url(url).flushdb()
    return url


def test_app_servers_share_the_cache_in_redis(app, redis_url, monkeypatch):
    """Two app servers with CACHE_REDIS_URL set: what one built, the other reads without building."""
    course = _load(course_file("shared-course", modules=2, lessons=2))
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    servers = [create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=uri, CACHE_TYPE="RedisCache",
                          CACHE_REDIS_URL=redis_url) for _ in range(2)]
    learner = make_user()
    enrol(learner, course)
    pages = []
    for server in servers:
        client = server.test_client()
        login(client, learner)
        with count_statements_on(server) as statements:
            pages.append(client.get("/courses/shared-course/").get_data(as_text=True))
        pages.append(statements)
    first_html, first_sql, second_html, second_sql = pages
    assert "Lesson 2.2" in first_html and "Lesson 2.2" in second_html
    assert any("FROM modules" in s for s in first_sql)
    assert not any("FROM modules" in s for s in second_sql)  # read from Redis, built by the other server
    import redis
    assert any(key.startswith(b"lms:outline:") for key in redis.Redis.from_url(redis_url).keys("*"))
    for server in servers:
        with server.app_context():
            cache.clear()
            db.engine.dispose()


def count_statements_on(server):
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting():
        statements: list[str] = []
        with server.app_context():
            engine = db.engine

        def before(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting()
