"""The pages learners, trainers and partners use most: a fixed number of SQL statements whatever the data
size, no lazy load from a template, and no write when a page is only read.

Two worlds of different sizes are built side by side, each with its own learner, trainer and partner:
a small course with few learners, records and CPD entries, and a large one with many. Each page is
asked for in both, and must issue the same statements in number.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, raiseload

from lms.accounts.models import Organisation, OrganisationMember
from lms.accreditation.models import Pathway, PathwayModule, PathwayRegistration
from lms.assessment import services as assessment
from lms.assessment.models import Quiz
from lms.certificates.models import CpdEntry
from lms.courses import services as courses
from lms.courses.models import Lesson, Module
from lms.database import utcnow
from lms.extensions import db
from tests.courses.test_query_counts import count_statements
from tests.factories import QUIZ_GIFT, add_trainer, enrol, login, make_course, make_user


@dataclass
class World:
    slug: str
    learner: object
    trainer: object
    partner: object
    attempt_id: int

    def pages(self) -> dict[str, tuple[object, str]]:
        """Page name: (who asks, address)."""
        return {
            "home": (self.learner, "/"),
            "catalogue": (self.learner, "/courses/"),
            "course": (self.learner, f"/courses/{self.slug}/"),
            "lesson": (self.learner, f"/courses/{self.slug}/module-2/lesson-2-2/"),
            "dashboard": (self.learner, "/learning/"),
            "quiz": (self.learner, f"/courses/{self.slug}/module-1/quiz/"),
            "quiz attempt": (self.learner, f"/attempts/{self.attempt_id}/"),
            "CPD record": (self.learner, "/cpd/"),
            "progress report": (self.trainer, f"/teach/{self.slug}/reports"),
            "partner portal": (self.partner, "/partner/"),
            "candidates": (self.partner, "/partner/candidates"),
        }


def _world(name: str, *, modules: int, lessons: int, others: int, cpd: int) -> World:
    course = make_course(f"{name}-course", level="7", modules=modules, lessons=lessons, quiz=QUIZ_GIFT)
    learner, trainer, partner = make_user(), make_user("trainer"), make_user("partner")
    add_trainer(course, trainer)
    university = Organisation(name=f"University of {name.title()}", kind="university")
    db.session.add(university)
    db.session.flush()
    db.session.add(OrganisationMember(organisation_id=university.id, user_id=partner.id))
    pathway = Pathway(slug=f"{name}-pgcert", title=f"PGCert {name}", award="PGCert", university_id=university.id,
                      credits_required=60, consent_text="I agree.")
    pathway.modules = [PathwayModule(course_id=course.id, code=f"{name[:3].upper()}701", credits=20, level=7)]
    db.session.add(pathway)
    db.session.flush()
    first_lessons = list(db.session.scalars(select(Lesson).join(Module).where(Module.course_id == course.id)
                                            .order_by(Module.position, Lesson.position).limit(3)))
    for n, user in enumerate([learner] + [make_user() for _ in range(others)]):
        enrolment = enrol(user, course)
        for lesson in first_lessons[: 1 + n % 3]:
            courses.complete_lesson(enrolment, lesson)
        db.session.add(PathwayRegistration(pathway_id=pathway.id, user_id=user.id, reference=f"{name[:2]}{n:07d}",
                                           legal_name=f"{name.title()} Candidate {n}",
                                           date_of_birth=date(1980, 1, 1), prior_qualifications="BA",
                                           consent_text="I agree.", consented_at=utcnow(), status="approved",
                                           identity_checked=True))
    for n in range(cpd):
        db.session.add(CpdEntry(user_id=learner.id, source="external", title=f"Workshop {n}",
                                activity_date=date(2026, 1 + n % 12, 1), hours=Decimal("1.5"),
                                category="Training course", learned="Listening.", apply="Use it."))
    quiz = db.session.scalar(select(Quiz).join(Module).where(Module.course_id == course.id, Module.slug == "module-1"))
    attempt = assessment.start_attempt(learner, quiz)
    db.session.commit()
    return World(course.slug, learner, trainer, partner, attempt.id)


@pytest.fixture
def worlds(app):
    small = _world("small", modules=2, lessons=2, others=2, cpd=1)
    large = _world("large", modules=8, lessons=5, others=30, cpd=12)
    return small, large


def _client(app, user):
    client = app.test_client()
    login(client, user)
    return client


@contextmanager
def no_lazy_loads():
    """Every ORM query in the block leaves what it was not told to load as raise-on-access: a template
    or a loop that reaches for a relationship the view did not load fails, instead of querying."""
    def strict(state):
        if state.is_select and not state.is_relationship_load:
            state.statement = state.statement.options(raiseload("*", sql_only=True))

    event.listen(Session, "do_orm_execute", strict)
    try:
        yield
    finally:
        event.remove(Session, "do_orm_execute", strict)


PAGES = list(World("x", None, None, None, 0).pages())


@pytest.mark.parametrize("page", PAGES)
def test_page_issues_the_same_statements_at_small_and_large_sizes(app, worlds, page):
    counts = []
    for world in worlds:
        user, url = world.pages()[page]
        client = _client(app, user)
        assert client.get(url).status_code == 200, url  # warm up: first-visit work and the cache fill
        with count_statements() as statements:
            response = client.get(url)
        assert response.status_code == 200, url
        counts.append(len(statements))
    assert counts[0] == counts[1], f"{page}: {counts[0]} statements when small, {counts[1]} when large"


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_what_its_template_needs_in_the_view(app, worlds, page):
    _, large = worlds
    user, url = large.pages()[page]
    client = _client(app, user)
    client.get(url)
    with no_lazy_loads():
        response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]


def test_the_strict_mode_does_catch_a_lazy_load(app, worlds):
    """The check above can fail: a relationship nobody loaded raises inside it."""
    from sqlalchemy.exc import InvalidRequestError

    from lms.courses.models import Enrolment
    db.session.expunge_all()  # nothing already at hand: reaching the course would need SQL
    with no_lazy_loads():
        enrolment = db.session.scalars(select(Enrolment)).first()
        with pytest.raises(InvalidRequestError):
            enrolment.course.title


@pytest.mark.parametrize("page", PAGES)
def test_reading_a_page_again_writes_nothing(app, worlds, page):
    _, large = worlds
    user, url = large.pages()[page]
    client = _client(app, user)
    client.get(url)
    with count_statements() as statements:
        assert client.get(url).status_code == 200
    writes = [s for s in statements if s.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}
              or "IMMEDIATE" in s.upper()]
    assert writes == [], f"{page} wrote: {writes}"


def test_opening_another_lesson_records_it_once(app, worlds):
    small, _ = worlds
    client = _client(app, small.learner)
    first, second = (f"/courses/{small.slug}/module-1/lesson-1-1/", f"/courses/{small.slug}/module-2/lesson-2-1/")
    client.get(first)
    with count_statements() as statements:
        assert client.get(second).status_code == 200
    assert [s for s in statements if s.startswith("UPDATE enrolments")], "the new lesson was not recorded"
    assert any("BEGIN IMMEDIATE" in s for s in statements) or db.engine.dialect.name != "sqlite"
    db.session.rollback()
    from lms.courses.models import Enrolment
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == small.learner.id))
    lesson = db.session.get(Lesson, enrolment.last_lesson_id)
    assert lesson.slug == "lesson-2-1"
    assert client.get(f"/courses/{small.slug}/resume").headers["Location"].endswith("/module-2/lesson-2-1/")


def test_a_guest_reading_public_pages_is_given_no_session_cookie(app, worlds):
    """Home, the catalogue and a course page answer a cookieless guest without Set-Cookie, so a proxy
    may cache them and no guest session is written per request."""
    small, _ = worlds
    client = app.test_client(use_cookies=False)
    for url in ("/", "/courses/", f"/courses/{small.slug}/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, url
