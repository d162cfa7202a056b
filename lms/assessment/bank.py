"""The question bank in and out of GIFT: import (browser and CLI) and export."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lms.assessment import questions as qtypes
from lms.assessment.gift import GiftError, GiftQuestion, parse_gift, to_gift
from lms.assessment.importer import category_for, save_gift_question
from lms.assessment.models import Question, QuestionCategory
from lms.courses.models import Course
from lms.extensions import db


def import_gift(course: Course, text: str, *, default_category: str = "Imported") -> Counter:
    """Add (or update, by title within a category) every question in ``text``; counts by kind.

    Raises GiftError with every problem, before writing anything.
    """
    questions = parse_gift(text)
    problems = [(q.line, problem) for q in questions for problem in qtypes.question_problems(q)]
    if not questions:
        problems.append((1, "The file holds no questions."))
    if problems:
        raise GiftError(problems)
    counts: Counter = Counter()
    for gq in questions:
        category = category_for(course, (gq.category or default_category)[:200])
        save_gift_question(course, category, gq)
        counts[qtypes.GIFT_TO_KIND[gq.kind]] += 1
    db.session.flush()
    return counts


def to_gift_question(question: Question) -> GiftQuestion | None:
    qtype = qtypes.question_type(question.kind)
    if not qtype.gift_kinds:
        return None
    return GiftQuestion(kind=qtype.gift_kinds[0], title=question.title, text=question.text,
                        category=question.category.name, general_feedback=question.general_feedback,
                        text_format=question.text_format, **qtype.to_gift(question.data))


def export_gift(course: Course) -> str:
    rows = db.session.scalars(select(Question).join(QuestionCategory).where(Question.course_id == course.id)
                              .options(joinedload(Question.category))
                              .order_by(QuestionCategory.name, Question.id)).all()
    exported = [q for q in (to_gift_question(row) for row in rows) if q is not None]
    header = (f"// Questions of {course.title}, exported from Cohesion LMS.\n"
              "// Ordering questions ({>first >second >third}) are our extension: Moodle skips them.\n")
    return header + "\n" + to_gift(exported)
