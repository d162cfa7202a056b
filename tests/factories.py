"""Builders for test data, and helpers to act as a user."""
from __future__ import annotations

import itertools
import re

from lms.accounts import services
from lms.accounts.models import Role, User
from lms.extensions import db

PASSWORD = "a sturdy test passphrase"
_counter = itertools.count(1)


def make_user(role: str | Role | list = Role.LEARNER, *, email: str | None = None, name: str | None = None,
              password: str = PASSWORD, verified: bool = True, active: bool = True) -> User:
    """A committed user holding ``role`` (or a list of roles)."""
    n = next(_counter)
    roles = [role] if isinstance(role, (str, Role)) else list(role)
    user = services.create_user(email or f"user{n}@example.org", name or f"Test User {n}", password,
                                roles=[Role(r) for r in roles], verified=verified)
    user.active = active
    db.session.commit()
    return user


def login(client, user: User) -> None:
    """Log ``user`` in on ``client`` without going through the form."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, page: str = "/login") -> str:
    html = client.get(page).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {page}"
    return match.group(1) or match.group(2)


def post_form(client, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
    """POST ``data`` to ``url`` with a valid CSRF token taken from ``page`` (default: ``url``)."""
    data = dict(data or {})
    data["csrf_token"] = csrf_token(client, page or url)
    return client.post(url, data=data, **kwargs)


# Courses ---------------------------------------------------------------------

_course_counter = itertools.count(1)
LESSON_TEXT = ("By the end of this lesson you will be able to {what}.\n\n## Why it matters\n\n"
               + "Cohesion work starts with knowing the people you serve. " * 20
               + "\n\n::: key-points\n- Know your community.\n:::\n")


QUIZ_GIFT = """
::Duty start::When did the duty to promote community cohesion come into force? {
  =September 2007 #Right: a year before inspection began.
  ~September 2008 #No: that is when Ofsted began reporting on it.
  ~September 2011 #No: by then the separate judgement was going.
}

::Strands::Which are strands of the duty? {
  ~%50%Teaching, learning and curriculum #Yes, a strand.
  ~%50%Equity and excellence #Yes, a strand.
  ~%-100%School meals #No, not a strand.
}

::Duty remains::The duty on governing bodies remained after the Education Act 2011. {T#Wrong: it remained.#Right: only the judgement went.}
"""


def course_file(slug: str | None = None, *, modules: int = 2, lessons: int = 2, price: int = 0,
                status: str = "published", level: str = "cpd", title: str | None = None,
                summary: str | None = None, hours: str = "1.5", quiz: str | None = None,
                quiz_settings: dict | None = None, assignment: dict | None = None):
    """An in-memory course, as the content loader would read it from files."""
    from decimal import Decimal

    from lms.courses.content import CourseFile, LessonFile, ModuleFile
    n = next(_course_counter)
    slug = slug or f"course-{n}"
    module_files = []
    for m in range(1, modules + 1):
        lesson_files = [LessonFile(slug=f"lesson-{m}-{i}", title=f"Lesson {m}.{i}", minutes=5,
                                   source=LESSON_TEXT.format(what=f"do thing {m}.{i}"),
                                   path=f"content/courses/{slug}/module-{m}/lesson-{m}-{i}.md")
                        for i in range(1, lessons + 1)]
        module_file = ModuleFile(slug=f"module-{m}", title=f"Module {m}", summary=f"About module {m}.",
                                 cpd_hours=Decimal(hours), lessons=lesson_files,
                                 path=f"content/courses/{slug}/module-{m}/module.yaml", lessons_line=4)
        if m == 1 and quiz is not None:
            from lms.assessment.gift import parse_gift
            from lms.courses.content import QuizSettings
            module_file.quiz = QuizSettings(**(quiz_settings or {}))
            module_file.questions = parse_gift(quiz)
        if m == 1 and assignment is not None:
            from lms.courses.content import AssignmentFile
            module_file.assignment = AssignmentFile(**{**ASSIGNMENT, **assignment})
        module_files.append(module_file)
    return CourseFile(slug=slug, title=title or f"Course {n}", summary=summary or f"A course numbered {n}.",
                      level=level, credits=20 if level != "cpd" else None, price=price, currency="GBP",
                      status=status, validity_months=None, outcomes=["Do the thing."], reading=[],
                      modules=module_files, path=f"content/courses/{slug}/course.yaml", modules_line=9)


ASSIGNMENT = {
    "title": "Critical policy review", "brief": "Review a local cohesion policy.\n\n## What to do\n\nWrite it.",
    "word_limit": 3000, "pass_mark": 50, "due_days": 30, "path": "content/x/assignment.yaml",
    "rubric": [
        {"criterion": "Knowledge", "levels": [{"label": "Fail", "marks": 10, "descriptor": "Thin."},
                                              {"label": "Pass", "marks": 30, "descriptor": "Sound."},
                                              {"label": "Distinction", "marks": 50, "descriptor": "Deep."}]},
        {"criterion": "Analysis", "levels": [{"label": "Fail", "marks": 10, "descriptor": "Descriptive."},
                                             {"label": "Pass", "marks": 30, "descriptor": "Some critique."},
                                             {"label": "Distinction", "marks": 50, "descriptor": "Incisive."}]},
    ],
}


def make_course(slug: str | None = None, **kwargs):
    """A committed course built through the content loader."""
    from sqlalchemy import select

    from lms.courses.importer import load_courses
    from lms.courses.models import Course
    cf = course_file(slug, **kwargs)
    load_courses([cf])
    db.session.commit()
    return db.session.scalar(select(Course).where(Course.slug == cf.slug))


def enrol(user: User, course):
    from lms.courses import services as course_services
    enrolment = course_services.enrol(user, course)
    db.session.commit()
    return enrolment


def add_trainer(course, user) -> None:
    from lms.courses.models import CourseTrainer
    db.session.add(CourseTrainer(course_id=course.id, user_id=user.id))
    db.session.commit()


def credit_url(award) -> str:
    """The partner's page for the credit record ``award`` is a version of."""
    return f"/partner/credits/{award.registration.reference}/{award.pathway_module.code}"
