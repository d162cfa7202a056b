"""Reading and checking the content tree (``content/courses/...``), before anything is written.

Everything here is pure: files in, dataclasses or ``path:line: message`` errors out.
The format is documented in ``content/README.md``.
"""
from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from lms.courses.rendering import RENDERER_VERSION, markdown_problems, reading_minutes

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FHEQ_LEVELS = {3, 4, 5, 6, 7, 8}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp"}
MAX_IMAGE_BYTES = 2 * 1024 * 1024
COURSE_KEYS = {"title", "summary", "level", "credits", "price", "currency", "status", "validity_months",
               "outcomes", "modules", "reading"}
MODULE_KEYS = {"title", "summary", "cpd_hours", "lessons", "quiz"}
QUIZ_KEYS = {"title", "pass_mark", "attempts", "time_limit_minutes", "grading", "review"}
ASSIGNMENT_KEYS = {"title", "brief", "word_limit", "pass_mark", "due_days", "rubric"}
LESSON_KEYS = {"title", "minutes"}
# Files a module folder may hold besides its lessons; the assessment package reads them.
MODULE_EXTRAS = {"module.yaml", "quiz.gift", "assignment.yaml"}


@dataclass
class ContentError:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class ContentInvalid(Exception):
    """The tree has errors; nothing was written."""

    def __init__(self, errors: list[ContentError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass
class LessonFile:
    slug: str
    title: str
    minutes: int
    source: str
    path: str

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{RENDERER_VERSION}\n{self.source}".encode()).hexdigest()


@dataclass
class QuizSettings:
    title: str = "Check your understanding"
    pass_mark: int = 70
    attempts: int = 0
    time_limit_minutes: int | None = None
    grading: str = "highest"
    review: str = "full"


@dataclass
class AssignmentFile:
    title: str
    brief: str
    word_limit: int
    pass_mark: int
    due_days: int | None
    rubric: list[dict]
    path: str


@dataclass
class ModuleFile:
    slug: str
    title: str
    summary: str
    cpd_hours: Decimal
    lessons: list[LessonFile]
    path: str  # the module.yaml
    lessons_line: int
    quiz: QuizSettings | None = None
    quiz_path: str | None = None
    questions: list = field(default_factory=list)  # GiftQuestion, from quiz.gift
    assignment: AssignmentFile | None = None


@dataclass
class ImageFile:
    name: str  # as written in lessons: images/<file>
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class CourseFile:
    slug: str
    title: str
    summary: str
    level: str
    credits: int | None
    price: int
    currency: str
    status: str
    validity_months: int | None
    outcomes: list[str]
    reading: list[str]
    modules: list[ModuleFile]
    path: str  # the course.yaml
    modules_line: int
    images: dict[str, ImageFile] = field(default_factory=dict)


# YAML with line numbers ------------------------------------------------------

class _Doc:
    """A parsed YAML mapping and the line of each key and list item (1-based)."""

    def __init__(self, data: Any, lines: dict[tuple, int], line_offset: int = 0):
        self.data = data
        self.lines = lines
        self.offset = line_offset

    def line(self, *path, default: int = 1) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, default) + self.offset if path else default + self.offset


def _node_lines(node, path=(), lines=None) -> dict[tuple, int]:
    lines = {} if lines is None else lines
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = path + (key_node.value,)
            lines[key_path] = key_node.start_mark.line + 1
            _node_lines(value_node, key_path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _node_lines(item, path + (index,), lines)
    return lines


def _parse_yaml(text: str, path: str, errors: list[ContentError], line_offset: int = 0) -> _Doc | None:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = (mark.line + 1 if mark else 1) + line_offset
        errors.append(ContentError(path, line, f"invalid YAML: {error.problem or error.context}"))
        return None
    except yaml.YAMLError as error:
        errors.append(ContentError(path, 1 + line_offset, f"invalid YAML: {error}"))
        return None
    if not isinstance(data, dict):
        errors.append(ContentError(path, 1 + line_offset, "expected a mapping of keys to values"))
        return None
    return _Doc(data, _node_lines(node) if node is not None else {}, line_offset)


# Field checks ----------------------------------------------------------------

class _Checker:
    def __init__(self, doc: _Doc, path: str, errors: list[ContentError]):
        self.doc, self.path, self.errors = doc, path, errors

    def error(self, message: str, *key_path) -> None:
        self.errors.append(ContentError(self.path, self.doc.line(*key_path), message))

    def unknown_keys(self, allowed: set[str], data: dict | None = None, *prefix) -> None:
        for key in (data if data is not None else self.doc.data):
            if key not in allowed:
                self.error(f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))})", *prefix, key)

    def text(self, key: str, *, required: bool = True, max_length: int | None = None) -> str:
        value = self.doc.data.get(key)
        if value is None:
            if required:
                self.error(f"'{key}' is required")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.error(f"'{key}' must be non-empty text", key)
            return ""
        value = " ".join(value.split()) if "\n" not in value.strip() else value.strip()
        if max_length and len(value) > max_length:
            self.error(f"'{key}' is {len(value)} characters; the most is {max_length}", key)
        return value

    def integer(self, key: str, *, default: int | None = None, minimum: int = 0,
                maximum: int | None = None) -> int | None:
        value = self.doc.data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(f"'{key}' must be a whole number", key)
            return default
        if value < minimum or (maximum is not None and value > maximum):
            self.error(f"'{key}' must be between {minimum} and {maximum if maximum is not None else 'any'}", key)
            return default
        return value

    def text_list(self, key: str, *, required: bool = True) -> list[str]:
        value = self.doc.data.get(key)
        if value is None:
            if required:
                self.error(f"'{key}' is required")
            return []
        if not isinstance(value, list) or (required and not value):
            self.error(f"'{key}' must be a list{' with at least one item' if required else ''}", key)
            return []
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.error(f"item {index + 1} of '{key}' must be text (quote it if it contains ': ')", key, index)
            else:
                items.append(" ".join(item.split()))
        return items

    def slug_list(self, key: str) -> list[tuple[str, int]]:
        """The slugs listed under ``key``, each with its line; duplicates and bad slugs reported."""
        seen: set[str] = set()
        slugs = []
        for index, item in enumerate(self.text_list(key)):
            line = self.doc.line(key, index)
            if not SLUG_RE.match(item) or len(item) > 80:
                self.errors.append(ContentError(self.path, line, f"'{item}' is not a valid slug "
                                                                 "(lower-case letters, digits and hyphens)"))
            elif item in seen:
                self.errors.append(ContentError(self.path, line, f"duplicate slug '{item}' in '{key}'"))
            else:
                seen.add(item)
                slugs.append((item, line))
        return slugs


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent if root.name else root))
    except ValueError:
        return str(path)


# The tree ----------------------------------------------------------------------

def read_tree(root: Path | str) -> list[CourseFile]:
    """Read and check every course under ``root/courses``. Raises ContentInvalid with every error found."""
    errors: list[ContentError] = []
    courses = _read_courses(Path(root), errors)
    if errors:
        raise ContentInvalid(errors)
    return courses


def read_content(root: Path | str, known_courses: dict[str, str] | None = None):
    """Courses and pathways under ``root``, every error of both reported at once.

    ``known_courses`` maps the slugs of courses already in the database to their level, so a
    pathway may name a course that is not in this tree.
    """
    from lms.accreditation.content import read_pathways
    root = Path(root)
    errors: list[ContentError] = []
    courses = _read_courses(root, errors)
    levels = dict(known_courses or {})
    levels.update({c.slug: c.level for c in courses})
    pathways = read_pathways(root, levels, errors)
    if errors:
        raise ContentInvalid(errors)
    return courses, pathways


def _read_courses(root: Path, errors: list[ContentError]) -> list[CourseFile]:
    courses_dir = root / "courses"
    if not courses_dir.is_dir():
        errors.append(ContentError(str(courses_dir), 0, "no courses/ folder here"))
        return []
    courses = []
    for course_dir in sorted(p for p in courses_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        course = read_course(course_dir, root, errors)
        if course is not None:
            courses.append(course)
    return courses


def read_course(course_dir: Path, root: Path, errors: list[ContentError]) -> CourseFile | None:
    yaml_path = course_dir / "course.yaml"
    rel = _rel(yaml_path, root)
    if not SLUG_RE.match(course_dir.name) or len(course_dir.name) > 80:
        errors.append(ContentError(_rel(course_dir, root), 0, f"the folder name '{course_dir.name}' is not a valid "
                                                               "slug (lower-case letters, digits and hyphens)"))
        return None
    if not yaml_path.is_file():
        errors.append(ContentError(rel, 0, "course.yaml is missing"))
        return None
    doc = _parse_yaml(yaml_path.read_text(encoding="utf-8"), rel, errors)
    if doc is None:
        return None
    check = _Checker(doc, rel, errors)
    check.unknown_keys(COURSE_KEYS)
    title = check.text("title", max_length=200)
    summary = check.text("summary", max_length=2000)
    level = _course_level(check)
    credits = check.integer("credits", minimum=1, maximum=360)
    if level == "cpd" and credits is not None:
        check.error("'credits' is for FHEQ-level courses; a CPD course has none", "credits")
    if level != "cpd" and credits is None:
        check.error("'credits' is required for an FHEQ-level course")
    price = check.integer("price", default=0, minimum=0, maximum=10_000_000)
    currency = doc.data.get("currency", "GBP")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        check.error("'currency' must be a three-letter code such as GBP", "currency")
        currency = "GBP"
    status = doc.data.get("status", "published")
    if status not in {"draft", "published"}:
        check.error("'status' must be draft or published", "status")
        status = "draft"
    validity = check.integer("validity_months", minimum=1, maximum=240)
    outcomes = check.text_list("outcomes")
    reading = check.text_list("reading", required=False)

    images = _read_images(course_dir, root, errors)
    modules = []
    module_slugs = check.slug_list("modules")
    listed = {slug for slug, _ in module_slugs}
    for slug, line in module_slugs:
        module_dir = course_dir / slug
        if not module_dir.is_dir():
            errors.append(ContentError(rel, line, f"module folder '{slug}/' is missing"))
            continue
        module = read_module(module_dir, root, images, errors)
        if module is not None:
            modules.append(module)
    for extra in sorted(p for p in course_dir.iterdir() if p.is_dir() and p.name not in listed | {"images"}):
        errors.append(ContentError(_rel(extra, root), 0, f"folder '{extra.name}/' is not listed under 'modules' "
                                                         f"in {rel}"))
    return CourseFile(slug=course_dir.name, title=title, summary=summary, level=level, credits=credits,
                      price=price or 0, currency=currency, status=status, validity_months=validity,
                      outcomes=outcomes, reading=reading, modules=modules, path=rel,
                      modules_line=doc.line("modules"), images=images)


def _course_level(check: _Checker) -> str:
    value = check.doc.data.get("level")
    if value is None:
        check.error("'level' is required (cpd, or an FHEQ level such as 7)")
        return "cpd"
    if value == "cpd":
        return "cpd"
    if isinstance(value, int) and not isinstance(value, bool) and value in FHEQ_LEVELS:
        return str(value)
    check.error(f"'level' must be cpd or an FHEQ level from {min(FHEQ_LEVELS)} to {max(FHEQ_LEVELS)}", "level")
    return "cpd"


def _read_images(course_dir: Path, root: Path, errors: list[ContentError]) -> dict[str, ImageFile]:
    images: dict[str, ImageFile] = {}
    folder = course_dir / "images"
    if not folder.is_dir():
        return images
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        content_type = IMAGE_TYPES.get(path.suffix.lower())
        if content_type is None:
            errors.append(ContentError(_rel(path, root), 0, f"images must be {', '.join(sorted(IMAGE_TYPES))}; "
                                                            f"{mimetypes.guess_type(path.name)[0] or 'unknown type'} "
                                                            "is not allowed"))
            continue
        data = path.read_bytes()
        if len(data) > MAX_IMAGE_BYTES:
            errors.append(ContentError(_rel(path, root), 0, "image is larger than 2 MiB"))
            continue
        images[f"images/{path.name}"] = ImageFile(f"images/{path.name}", content_type, data)
    return images


def read_module(module_dir: Path, root: Path, images: dict[str, ImageFile],
                errors: list[ContentError]) -> ModuleFile | None:
    yaml_path = module_dir / "module.yaml"
    rel = _rel(yaml_path, root)
    if not yaml_path.is_file():
        errors.append(ContentError(rel, 0, "module.yaml is missing"))
        return None
    doc = _parse_yaml(yaml_path.read_text(encoding="utf-8"), rel, errors)
    if doc is None:
        return None
    check = _Checker(doc, rel, errors)
    check.unknown_keys(MODULE_KEYS)
    title = check.text("title", max_length=200)
    summary = check.text("summary", max_length=2000)
    hours = _cpd_hours(check)
    quiz = _quiz_settings(check, module_dir)

    lessons = []
    lesson_slugs = check.slug_list("lessons")
    listed = set()
    for slug, line in lesson_slugs:
        listed.add(f"{slug}.md")
        lesson_path = module_dir / f"{slug}.md"
        if not lesson_path.is_file():
            errors.append(ContentError(rel, line, f"lesson file '{slug}.md' is missing"))
            continue
        lesson = read_lesson(lesson_path, root, images, errors)
        if lesson is not None:
            lessons.append(lesson)
    for extra in sorted(module_dir.iterdir()):
        if extra.is_file() and extra.suffix == ".md" and extra.name not in listed:
            errors.append(ContentError(_rel(extra, root), 1, f"lesson '{extra.stem}' is not listed under 'lessons' "
                                                             f"in {rel}"))
        elif extra.is_file() and extra.suffix != ".md" and extra.name not in MODULE_EXTRAS:
            errors.append(ContentError(_rel(extra, root), 0, f"unexpected file '{extra.name}' "
                                                             f"(a module holds module.yaml, lessons as .md, "
                                                             "quiz.gift and assignment.yaml)"))
    quiz_file = module_dir / "quiz.gift"
    questions = []
    if quiz_file.is_file():
        if quiz is None:
            check.error("quiz.gift exists but module.yaml has no 'quiz' settings")
        questions = read_quiz(quiz_file, root, errors)
    assignment_file = module_dir / "assignment.yaml"
    assignment = read_assignment(assignment_file, root, errors) if assignment_file.is_file() else None
    return ModuleFile(slug=module_dir.name, title=title, summary=summary, cpd_hours=hours, lessons=lessons,
                      path=rel, lessons_line=doc.line("lessons"), quiz=quiz,
                      quiz_path=_rel(quiz_file, root) if quiz_file.is_file() else None,
                      questions=questions, assignment=assignment)


def read_quiz(path: Path, root: Path, errors: list[ContentError]) -> list:
    """The questions of a quiz.gift, checked as GIFT and as questions of their type."""
    from lms.assessment.gift import GiftError, parse_gift
    from lms.assessment.questions import question_problems
    rel = _rel(path, root)
    try:
        questions = parse_gift(path.read_text(encoding="utf-8"))
    except GiftError as error:
        errors.extend(ContentError(rel, line, message) for line, message in error.errors)
        return []
    titles: set[str] = set()
    for question in questions:
        if question.title in titles:
            errors.append(ContentError(rel, question.line, f"duplicate question title '{question.title}'"))
        titles.add(question.title)
        for problem in question_problems(question):
            errors.append(ContentError(rel, question.line, problem))
    if not questions:
        errors.append(ContentError(rel, 1, "the quiz has no questions"))
    return questions


def read_assignment(path: Path, root: Path, errors: list[ContentError]) -> AssignmentFile | None:
    rel = _rel(path, root)
    doc = _parse_yaml(path.read_text(encoding="utf-8"), rel, errors)
    if doc is None:
        return None
    check = _Checker(doc, rel, errors)
    check.unknown_keys(ASSIGNMENT_KEYS)
    title = check.text("title", max_length=200)
    brief = check.text("brief")
    for line, message in markdown_problems(brief):
        errors.append(ContentError(rel, doc.line("brief") + line, message))
    word_limit = check.integer("word_limit", minimum=100, maximum=20000)
    if word_limit is None:
        check.error("'word_limit' is required")
    pass_mark = check.integer("pass_mark", default=50, minimum=1, maximum=100)
    due_days = check.integer("due_days", minimum=1, maximum=730)
    rubric = _rubric(check)
    return AssignmentFile(title=title, brief=brief, word_limit=word_limit or 0, pass_mark=pass_mark or 50,
                          due_days=due_days, rubric=rubric, path=rel)


def _rubric(check: _Checker) -> list[dict]:
    value = check.doc.data.get("rubric")
    if not isinstance(value, list) or not value:
        check.error("'rubric' must be a list of criteria, each with levels", "rubric")
        return []
    rubric = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"criterion", "levels"} or not item.get("criterion"):
            check.error("each rubric item has a 'criterion' and its 'levels'", "rubric", index)
            continue
        levels = []
        for number, level in enumerate(item.get("levels") or []):
            if (not isinstance(level, dict) or set(level) - {"label", "marks", "descriptor"}
                    or not isinstance(level.get("marks"), int) or isinstance(level.get("marks"), bool)
                    or not str(level.get("label", "")).strip() or not str(level.get("descriptor", "")).strip()):
                check.error("each level has a label, whole-number marks and a descriptor",
                            "rubric", index, "levels", number)
                continue
            levels.append({"label": str(level["label"]).strip(), "marks": level["marks"],
                           "descriptor": " ".join(str(level["descriptor"]).split())})
        if len(levels) < 2:
            check.error("a criterion needs at least two levels", "rubric", index)
            continue
        if [lv["marks"] for lv in levels] != sorted(lv["marks"] for lv in levels):
            check.error("list a criterion's levels from lowest to highest marks", "rubric", index)
        rubric.append({"criterion": " ".join(str(item["criterion"]).split()), "levels": levels})
    if rubric and sum(max(lv["marks"] for lv in c["levels"]) for c in rubric) != 100:
        check.error("the criteria's top marks must add up to 100", "rubric")
    return rubric


def _cpd_hours(check: _Checker) -> Decimal:
    value = check.doc.data.get("cpd_hours")
    if value is None:
        check.error("'cpd_hours' is required")
        return Decimal("0")
    try:
        hours = Decimal(str(value)) if not isinstance(value, bool) else None
    except InvalidOperation:
        hours = None
    if hours is None or hours < 0 or hours > 200 or (hours * 2) % 1 != 0:
        check.error("'cpd_hours' must be a number of hours from 0 to 200, in halves (1.5)", "cpd_hours")
        return Decimal("0")
    return hours


def _quiz_settings(check: _Checker, module_dir: Path) -> QuizSettings | None:
    value = check.doc.data.get("quiz")
    if value is None:
        return None
    if not isinstance(value, dict):
        check.error("'quiz' must be a mapping with title, pass_mark and attempts", "quiz")
        return None
    check.unknown_keys(QUIZ_KEYS, value, "quiz")
    settings = QuizSettings()
    title = value.get("title", settings.title)
    if not isinstance(title, str) or not title.strip():
        check.error("'quiz.title' must be non-empty text", "quiz", "title")
    else:
        settings.title = title.strip()
    for key, low, high in (("pass_mark", 0, 100), ("attempts", 0, 100), ("time_limit_minutes", 1, 600)):
        number = value.get(key, getattr(settings, key))
        if number is None:
            continue
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            check.error(f"'quiz.{key}' must be a whole number from {low} to {high}", "quiz", key)
        else:
            setattr(settings, key, number)
    for key, allowed in (("grading", {"highest", "last"}), ("review", {"marks", "full"})):
        choice = value.get(key, getattr(settings, key))
        if choice not in allowed:
            check.error(f"'quiz.{key}' must be one of {', '.join(sorted(allowed))}", "quiz", key)
        else:
            setattr(settings, key, choice)
    if not (module_dir / "quiz.gift").is_file():
        check.error("'quiz' is set but quiz.gift is missing", "quiz")
    return settings


FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)


def read_lesson(path: Path, root: Path, images: dict[str, ImageFile],
                errors: list[ContentError]) -> LessonFile | None:
    rel = _rel(path, root)
    text = path.read_text(encoding="utf-8")
    match = FRONT_MATTER_RE.match(text)
    if not match:
        errors.append(ContentError(rel, 1, "a lesson starts with front matter between --- lines (title: ...)"))
        return None
    doc = _parse_yaml(match.group(1), rel, errors, line_offset=1)
    if doc is None:
        return None
    check = _Checker(doc, rel, errors)
    check.unknown_keys(LESSON_KEYS)
    title = check.text("title", max_length=200)
    body = text[match.end():]
    body_offset = text[:match.end()].count("\n")
    if not body.strip():
        errors.append(ContentError(rel, body_offset + 1, "the lesson has no text"))
    for line, message in markdown_problems(body, image_exists=lambda src: src in images):
        errors.append(ContentError(rel, body_offset + line, message))
    minutes = check.integer("minutes", minimum=1, maximum=600)
    return LessonFile(slug=path.stem, title=title, minutes=minutes or reading_minutes(body), source=body.strip() + "\n",
                      path=rel)
