"""Pathways as content files: ``content/pathways/<slug>.yaml``, checked before anything is written."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from lms.accreditation.models import AWARD_RULES
from lms.courses.content import SLUG_RE, ContentError, _Checker, _parse_yaml, _rel

PATHWAY_KEYS = {"title", "award", "university", "university_website", "framework", "level", "credits_required",
                "entry_requirements", "registration_opens", "registration_closes", "consent", "modules"}
MODULE_KEYS = {"course", "code", "credits"}


@dataclass
class PathwayModuleFile:
    course: str
    code: str
    credits: int


@dataclass
class PathwayFile:
    slug: str
    title: str
    award: str
    university: str
    university_website: str | None
    framework: str
    level: int
    credits_required: int
    entry_requirements: str
    consent: str
    registration_opens: date | None
    registration_closes: date | None
    modules: list[PathwayModuleFile] = field(default_factory=list)
    path: str = ""


def read_pathways(root: Path, course_levels: dict[str, str], errors: list[ContentError]) -> list[PathwayFile]:
    """Every ``pathways/*.yaml`` under root; ``course_levels`` maps known course slugs to their level."""
    folder = Path(root) / "pathways"
    if not folder.is_dir():
        return []
    return [p for p in (read_pathway(path, root, course_levels, errors)
                        for path in sorted(folder.glob("*.yaml"))) if p is not None]


def read_pathway(path: Path, root: Path, course_levels: dict[str, str],
                 errors: list[ContentError]) -> PathwayFile | None:
    rel = _rel(path, root)
    if not SLUG_RE.match(path.stem):
        errors.append(ContentError(rel, 0, f"the file name '{path.stem}' is not a valid slug"))
        return None
    doc = _parse_yaml(path.read_text(encoding="utf-8"), rel, errors)
    if doc is None:
        return None
    check = _Checker(doc, rel, errors)
    check.unknown_keys(PATHWAY_KEYS)
    award = check.text("award")
    if award and award not in AWARD_RULES:
        check.error(f"'award' must be one of {', '.join(AWARD_RULES)}", "award")
    framework = doc.data.get("framework", "CATS")
    if framework != "CATS":
        check.error("'framework' must be CATS (UK credits; ECTS is shown as half)", "framework")
    level = check.integer("level", default=7, minimum=4, maximum=8) or 7
    required = check.integer("credits_required", minimum=1, maximum=360)
    if required is None:
        check.error("'credits_required' is required")
    dates = {}
    for key in ("registration_opens", "registration_closes"):
        value = doc.data.get(key)
        if value is not None and not isinstance(value, date):
            check.error(f"'{key}' must be a date such as 2026-09-01", key)
        dates[key] = value if isinstance(value, date) else None
    if dates["registration_opens"] and dates["registration_closes"] and \
            dates["registration_closes"] < dates["registration_opens"]:
        check.error("registration must close after it opens", "registration_closes")
    modules = []
    codes = set()
    raw = doc.data.get("modules")
    if not isinstance(raw, list) or not raw:
        check.error("'modules' must list the modules that count, each with course, code and credits", "modules")
        raw = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) - MODULE_KEYS or not all(k in item for k in MODULE_KEYS):
            check.error("each module has exactly course, code and credits", "modules", index)
            continue
        course, code, credits = item["course"], str(item["code"]), item["credits"]
        if course not in course_levels:
            check.error(f"no course has the slug '{course}'", "modules", index)
        elif course_levels[course] == "cpd":
            check.error(f"'{course}' is a CPD course; pathway modules carry FHEQ credit", "modules", index)
        if code in codes:
            check.error(f"duplicate module code '{code}'", "modules", index)
        if not isinstance(credits, int) or isinstance(credits, bool) or credits <= 0:
            check.error("credits must be a positive whole number", "modules", index)
            continue
        codes.add(code)
        modules.append(PathwayModuleFile(course, code, credits))
    if award in AWARD_RULES and required is not None:
        minimum, at_level = AWARD_RULES[award]
        total = sum(m.credits for m in modules)
        at_award_level = sum(m.credits for m in modules if course_levels.get(m.course) == str(level))
        if required < minimum:
            check.error(f"a {award} needs at least {minimum} credits (QAA); this asks for {required}",
                        "credits_required")
        if total < required:
            check.error(f"the modules carry {total} credits, fewer than the {required} required", "modules")
        if at_award_level < at_level:
            check.error(f"a {award} needs at least {at_level} credits at level {level} (QAA); "
                        f"the modules give {at_award_level}", "modules")
    return PathwayFile(slug=path.stem, title=check.text("title", max_length=200), award=award,
                       university=check.text("university", max_length=200),
                       university_website=doc.data.get("university_website") or None, framework="CATS",
                       level=level, credits_required=required or 0,
                       entry_requirements=check.text("entry_requirements", required=False),
                       consent=check.text("consent"), registration_opens=dates["registration_opens"],
                       registration_closes=dates["registration_closes"], modules=modules, path=rel)
