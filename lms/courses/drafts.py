"""Drafts: a published course is never edited in place.

A draft is the whole course as content data (the CourseFile the loader reads), stored as JSON.
Trainers edit the draft; publishing runs it through the same loader as ``lms content load``,
so slugs keep every learner's progress, attempts and certificates, and removed items that
learners started are archived rather than deleted.
"""
from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal

from lms.assessment.gift import GiftAnswer, GiftQuestion, MatchPair, NumericAnswer
from lms.audit import record
from lms.courses.content import (AssignmentFile, ContentError, ContentInvalid, CourseFile, ImageFile, LessonFile,
                                 ModuleFile, QuizSettings)
from lms.courses.exporter import course_to_file
from lms.courses.models import Course, CourseDraft, CourseStatus
from lms.database import utcnow
from lms.extensions import db


# To and from JSON --------------------------------------------------------------------------

def _plain(value):
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _typed(value):
    if isinstance(value, dict) and set(value) == {"$decimal"}:
        return Decimal(value["$decimal"])
    if isinstance(value, dict) and set(value) == {"$bytes"}:
        return base64.b64decode(value["$bytes"])
    return value


def to_json(cf: CourseFile) -> dict:
    return _plain(cf)


def _question(data: dict) -> GiftQuestion:
    data = {k: _typed(v) for k, v in data.items()}
    data["answers"] = [GiftAnswer(**{k: _typed(v) for k, v in a.items()}) for a in data.get("answers", [])]
    data["numeric"] = [NumericAnswer(**{k: _typed(v) for k, v in n.items()}) for n in data.get("numeric", [])]
    data["pairs"] = [MatchPair(**p) for p in data.get("pairs", [])]
    return GiftQuestion(**data)


def from_json(data: dict) -> CourseFile:
    modules = []
    for m in data["modules"]:
        m = {k: _typed(v) for k, v in m.items()}
        m["lessons"] = [LessonFile(**lesson) for lesson in m["lessons"]]
        m["quiz"] = QuizSettings(**m["quiz"]) if m.get("quiz") else None
        m["questions"] = [_question(q) for q in m.get("questions", [])]
        m["assignment"] = AssignmentFile(**m["assignment"]) if m.get("assignment") else None
        modules.append(ModuleFile(**m))
    course = {k: _typed(v) for k, v in data.items() if k not in {"modules", "images"}}
    images = {name: ImageFile(i["name"], i["content_type"], _typed(i["data"]))
              for name, i in data.get("images", {}).items()}
    return CourseFile(**course, modules=modules, images=images)


# The draft --------------------------------------------------------------------------------

def current_draft(course: Course) -> CourseFile:
    """The course as it is being edited: the saved draft, or the published course."""
    row = db.session.get(CourseDraft, course.id)
    return from_json(row.data) if row else course_to_file(course)


def has_draft(course: Course) -> bool:
    return db.session.get(CourseDraft, course.id) is not None


def save_draft(course: Course, cf: CourseFile, user, *, what: str) -> None:
    """Keep the edited course as the draft, and note the edit in the audit log."""
    row = db.session.get(CourseDraft, course.id)
    if row is None:
        row = CourseDraft(course_id=course.id, data=to_json(cf))
        db.session.add(row)
    else:
        row.data = to_json(cf)
    row.updated_at, row.updated_by_id = utcnow(), user.id
    record(user, "course.edit", course, summary=what)
    db.session.flush()


def discard_draft(course: Course, user) -> None:
    row = db.session.get(CourseDraft, course.id)
    if row is not None:
        db.session.delete(row)
        record(user, "course.discard_draft", course, summary="Draft discarded")
        db.session.flush()


# What changed ------------------------------------------------------------------------------

@dataclass
class Changes:
    details: list[str] = field(default_factory=list)
    modules_added: list[str] = field(default_factory=list)
    modules_removed: list[str] = field(default_factory=list)
    modules_edited: list[str] = field(default_factory=list)
    lessons_added: list[str] = field(default_factory=list)
    lessons_removed: list[str] = field(default_factory=list)
    lessons_edited: list[str] = field(default_factory=list)
    questions_changed: list[str] = field(default_factory=list)
    reordered: bool = False

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f.name) for f in dataclasses.fields(self))


DETAIL_FIELDS = ["title", "summary", "level", "credits", "price", "currency", "validity_months", "outcomes",
                 "reading"]


def changes(old: CourseFile, new: CourseFile) -> Changes:
    result = Changes(details=[name.replace("_", " ") for name in DETAIL_FIELDS
                              if getattr(old, name) != getattr(new, name)])
    old_modules = {m.slug: m for m in old.modules}
    new_modules = {m.slug: m for m in new.modules}
    result.modules_added = [m.title for s, m in new_modules.items() if s not in old_modules]
    result.modules_removed = [m.title for s, m in old_modules.items() if s not in new_modules]
    result.reordered = [s for s in old_modules if s in new_modules] != [s for s in new_modules if s in old_modules]
    for slug, module in new_modules.items():
        before = old_modules.get(slug)
        if before is None:
            result.lessons_added += [f"{module.title}: {lesson.title}" for lesson in module.lessons]
            continue
        if (before.title, before.summary, before.cpd_hours) != (module.title, module.summary, module.cpd_hours):
            result.modules_edited.append(module.title)
        old_lessons = {lesson.slug: lesson for lesson in before.lessons}
        new_lessons = {lesson.slug: lesson for lesson in module.lessons}
        result.lessons_added += [f"{module.title}: {l.title}" for s, l in new_lessons.items() if s not in old_lessons]
        result.lessons_removed += [f"{module.title}: {l.title}" for s, l in old_lessons.items()
                                   if s not in new_lessons]
        result.lessons_edited += [f"{module.title}: {l.title}" for s, l in new_lessons.items()
                                  if s in old_lessons and (old_lessons[s].title, old_lessons[s].source,
                                                           old_lessons[s].minutes) != (l.title, l.source, l.minutes)]
        if [l.slug for l in before.lessons if l.slug in new_lessons] != \
                [l.slug for l in module.lessons if l.slug in old_lessons]:
            result.reordered = True
        if before.questions != module.questions or before.quiz != module.quiz:
            old_q = {q.title: q for q in before.questions}
            new_q = {q.title: q for q in module.questions}
            names = sorted(set(old_q) | set(new_q))
            changed = [t for t in names if old_q.get(t) != new_q.get(t)]
            result.questions_changed += [f"{module.title}: {t}" for t in changed] or [f"{module.title}: quiz settings"]
    return result


def draft_problems(cf: CourseFile) -> list[str]:
    """What stops the draft being published (the same checks as the content loader)."""
    from lms.assessment.questions import question_problems
    from lms.courses.rendering import markdown_problems
    problems = []
    if not cf.modules:
        problems.append("Add at least one module.")
    if not cf.outcomes:
        problems.append("Add at least one learning outcome.")
    for module in cf.modules:
        if not module.lessons:
            problems.append(f"Module “{module.title}” has no lessons.")
        for lesson in module.lessons:
            if not lesson.source.strip():
                problems.append(f"Lesson “{lesson.title}” has no text.")
            for line, message in markdown_problems(lesson.source, image_exists=lambda src: src in cf.images):
                problems.append(f"Lesson “{lesson.title}”, line {line}: {message}")
        if module.quiz is not None and not module.questions:
            problems.append(f"The quiz of “{module.title}” has no questions.")
        for question in module.questions:
            problems += [f"Question “{question.title}”: {p}" for p in question_problems(question)]
    return problems


def publish(course: Course, user) -> Changes:
    """Make the draft the new published version (one transaction; the caller commits)."""
    from lms.courses.importer import load_courses
    if course.status == CourseStatus.ARCHIVED:
        raise ContentInvalid([ContentError("draft", 0, "An archived course cannot be published again.")])
    draft = current_draft(course)
    problems = draft_problems(draft)
    if problems:
        raise ContentInvalid([ContentError("draft", 0, p) for p in problems])
    summary = changes(course_to_file(course), draft)
    draft.status = "published"
    load_courses([draft], archive=True)
    if course.published_at is None:
        course.published_at = utcnow()
    row = db.session.get(CourseDraft, course.id)
    if row is not None:
        db.session.delete(row)
    record(user, "course.publish", course, summary=f"Published version {course.version}",
           after=dataclasses.asdict(summary))
    db.session.flush()
    return summary


def archive(course: Course, user) -> None:
    """No new enrolments; learners already on the course keep access and records."""
    before = course.status
    course.status = CourseStatus.ARCHIVED.value
    record(user, "course.archive", course, summary="Archived", before={"status": before},
           after={"status": course.status})
    db.session.flush()


# Editing the draft (pure functions on the CourseFile) ------------------------------------------

class DraftError(Exception):
    """An edit that cannot be made; the message is fit to show beside the field."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def _module(cf: CourseFile, slug: str) -> ModuleFile:
    for module in cf.modules:
        if module.slug == slug:
            return module
    raise DraftError("There is no such module.", "module")


def _lesson(module: ModuleFile, slug: str) -> LessonFile:
    for lesson in module.lessons:
        if lesson.slug == slug:
            return lesson
    raise DraftError("There is no such lesson.", "lesson")


def _check_slug(slug: str, taken: set[str]) -> str:
    from lms.courses.content import SLUG_RE
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug) or len(slug) > 80:
        raise DraftError("Use lower-case letters, digits and hyphens, such as “planning-the-event”.", "slug")
    if slug in taken:
        raise DraftError("That address is already used here; choose another.", "slug")
    return slug


def add_module(cf: CourseFile, *, slug: str, title: str, summary: str, cpd_hours: Decimal) -> ModuleFile:
    slug = _check_slug(slug, {m.slug for m in cf.modules})
    module = ModuleFile(slug=slug, title=title.strip(), summary=summary.strip(), cpd_hours=cpd_hours, lessons=[],
                        path=f"{cf.slug}/{slug}/module.yaml", lessons_line=0)
    cf.modules.append(module)
    return module


def update_module(cf: CourseFile, slug: str, *, title: str, summary: str, cpd_hours: Decimal) -> None:
    module = _module(cf, slug)
    module.title, module.summary, module.cpd_hours = title.strip(), summary.strip(), cpd_hours


def remove_module(cf: CourseFile, slug: str) -> None:
    cf.modules.remove(_module(cf, slug))


def add_lesson(cf: CourseFile, module_slug: str, *, slug: str, title: str, minutes: int | None,
               source: str) -> LessonFile:
    from lms.courses.rendering import reading_minutes
    module = _module(cf, module_slug)
    slug = _check_slug(slug, {lesson.slug for lesson in module.lessons})
    lesson = LessonFile(slug=slug, title=title.strip(), minutes=minutes or reading_minutes(source),
                        source=source.strip() + "\n", path=f"{cf.slug}/{module.slug}/{slug}.md")
    module.lessons.append(lesson)
    return lesson


def update_lesson(cf: CourseFile, module_slug: str, slug: str, *, title: str, minutes: int | None,
                  source: str) -> None:
    from lms.courses.rendering import reading_minutes
    lesson = _lesson(_module(cf, module_slug), slug)
    lesson.title, lesson.source = title.strip(), source.strip() + "\n"
    lesson.minutes = minutes or reading_minutes(source)


def remove_lesson(cf: CourseFile, module_slug: str, slug: str) -> None:
    module = _module(cf, module_slug)
    module.lessons.remove(_lesson(module, slug))


def move(cf: CourseFile, *, module_slug: str, lesson_slug: str = "", direction: str) -> None:
    """Move a module, or a lesson within its module, one place up or down."""
    items = _module(cf, module_slug).lessons if lesson_slug else cf.modules
    key = lesson_slug or module_slug
    index = next(i for i, item in enumerate(items) if item.slug == key)
    other = index - 1 if direction == "up" else index + 1
    if direction not in {"up", "down"} or not 0 <= other < len(items):
        raise DraftError("It cannot move further that way.")
    items[index], items[other] = items[other], items[index]


def set_quiz(cf: CourseFile, module_slug: str, settings: QuizSettings | None, gift_text: str) -> list:
    """Replace a module's quiz from GIFT text; raises DraftError naming the line of any problem."""
    from lms.assessment.gift import GiftError, parse_gift
    from lms.assessment.questions import question_problems
    module = _module(cf, module_slug)
    if settings is None:
        module.quiz, module.questions = None, []
        return []
    try:
        questions = parse_gift(gift_text)
    except GiftError as error:
        raise DraftError("; ".join(f"line {line}: {message}" for line, message in error.errors[:10]),
                         "questions") from None
    problems = [f"line {q.line}: {p}" for q in questions for p in question_problems(q)]
    titles = [q.title for q in questions]
    problems += [f"line {q.line}: two questions are titled “{q.title}”" for i, q in enumerate(questions)
                 if q.title in titles[:i]]
    problems += [f"line {q.line}: give the question a title (::Title::)" for q in questions if not q.title]
    if not questions:
        problems.append("Write at least one question.")
    if problems:
        raise DraftError("; ".join(problems[:10]), "questions")
    module.quiz, module.questions = settings, questions
    return questions


IMAGE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif",
                    b"GIF89a": "image/gif"}
MAX_IMAGE_BYTES = 2 * 1024 * 1024


def add_image(cf: CourseFile, filename: str, data: bytes) -> str:
    """Keep an uploaded image with the draft; returns the name lessons use (images/<file>)."""
    import re
    if len(data) > MAX_IMAGE_BYTES:
        raise DraftError("The image is larger than 2 MiB.", "file")
    content_type = next((t for sig, t in IMAGE_SIGNATURES.items() if data.startswith(sig)), None)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        content_type = "image/webp"
    if content_type is None:
        raise DraftError("Upload a PNG, JPEG, GIF or WebP image.", "file")
    stem = re.sub(r"[^a-z0-9-]+", "-", filename.rsplit(".", 1)[0].lower()).strip("-")[:60] or "image"
    extension = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}[content_type]
    name = f"images/{stem}.{extension}"
    number = 2
    while name in cf.images:
        name, number = f"images/{stem}-{number}.{extension}", number + 1
    cf.images[name] = ImageFile(name, content_type, data)
    return name
