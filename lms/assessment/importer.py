"""Writing a module's quiz questions and assignment from the content files (see lms.courses.importer)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from lms.assessment import questions as qtypes
from lms.assessment.gift import GiftQuestion
from lms.assessment.models import Assignment, Question, QuestionCategory, Quiz, QuizSlot
from lms.courses.content import ModuleFile
from lms.courses.models import Course, Module
from lms.courses.rendering import render_markdown
from lms.database import assign_changed, utcnow
from lms.extensions import db




def category_for(course: Course, name: str) -> QuestionCategory:
    category = db.session.scalar(select(QuestionCategory).where(QuestionCategory.course_id == course.id,
                                                                QuestionCategory.name == name))
    if category is None:
        category = QuestionCategory(course_id=course.id, name=name)
        db.session.add(category)
        db.session.flush()
    return category


def save_gift_question(course: Course, category: QuestionCategory, gq: GiftQuestion) -> tuple[Question, bool]:
    """Create or update the question titled ``gq.title`` in ``category``. Returns it and whether it changed."""
    question = db.session.scalar(select(Question).where(Question.category_id == category.id,
                                                        Question.title == gq.title))
    created = question is None
    if created:
        question = Question(course_id=course.id, category_id=category.id, title=gq.title, points=Decimal("1"))
        db.session.add(question)
    changed = assign_changed(question, kind=qtypes.GIFT_TO_KIND[gq.kind], text=gq.text, text_format=gq.text_format,
                      data=qtypes.data_from_gift(gq), general_feedback=gq.general_feedback)
    if changed and not created:
        question.updated_at = utcnow()
    return question, created or changed


def refused_removals(module: Module, mf: ModuleFile) -> list[str]:
    """What the files take away that learners have used: a quiz attempted, an assignment submitted.

    Deleting either would delete the learners' attempts or submissions with it, so the load is refused.
    """
    from lms.assessment.models import QuizAttempt, Submission
    if module.id is None:
        return []
    problems = []
    if mf.quiz is None and db.session.scalar(select(func.count(QuizAttempt.id)).join(
            Quiz, Quiz.id == QuizAttempt.quiz_id).where(Quiz.module_id == module.id)):
        problems.append(f"the quiz of module '{module.slug}' was removed, but learners have attempted it; "
                        "put it back to keep their attempts")
    if mf.assignment is None and db.session.scalar(select(func.count(Submission.id)).join(
            Assignment, Assignment.id == Submission.assignment_id).where(Assignment.module_id == module.id)):
        problems.append(f"the assignment of module '{module.slug}' was removed, but learners have started it; "
                        "put it back to keep their work and marks")
    return problems


def load_module_assessment(course: Course, module: Module, mf: ModuleFile) -> bool:
    """Bring the module's quiz and assignment in line with its files; True when anything changed."""
    db.session.flush()  # the module needs its id
    changed = _load_quiz(course, module, mf)
    changed |= _load_assignment(module, mf)
    return changed


def _load_quiz(course: Course, module: Module, mf: ModuleFile) -> bool:
    quiz = db.session.scalar(select(Quiz).where(Quiz.module_id == module.id))
    if mf.quiz is None:
        if quiz is not None:
            db.session.delete(quiz)  # nobody has attempted it: refused_removals() checked
            return True
        return False
    changed = False
    if quiz is None:
        quiz = Quiz(module_id=module.id)
        db.session.add(quiz)
        changed = True
    s = mf.quiz
    changed |= assign_changed(quiz, title=s.title, pass_mark=s.pass_mark, attempts_allowed=s.attempts,
                       time_limit_minutes=s.time_limit_minutes, grading=s.grading, review=s.review,
                       shuffle_questions=False)
    default_category = category_for(course, module.slug)
    question_ids = []
    for gq in mf.questions:
        category = category_for(course, gq.category) if gq.category else default_category
        question, question_changed = save_gift_question(course, category, gq)
        changed |= question_changed
        db.session.flush()
        question_ids.append(question.id)
    current = [slot.question_id for slot in quiz.slots]
    if current != question_ids or any(slot.category_id for slot in quiz.slots):
        quiz.slots = [QuizSlot(position=i, question_id=qid) for i, qid in enumerate(question_ids)]
        changed = True
    # Questions of the module's own category no longer in the file go (attempts keep their own copy).
    stale = db.session.scalars(select(Question).where(Question.category_id == default_category.id,
                                                      Question.id.not_in(question_ids or [0]))).all()
    for question in stale:
        db.session.delete(question)
        changed = True
    return changed


def _load_assignment(module: Module, mf: ModuleFile) -> bool:
    assignment = db.session.scalar(select(Assignment).where(Assignment.module_id == module.id))
    af = mf.assignment
    if af is None:
        if assignment is not None:
            db.session.delete(assignment)  # nobody has started it: refused_removals() checked
            return True
        return False
    changed = assignment is None
    if assignment is None:
        assignment = Assignment(module_id=module.id)
        db.session.add(assignment)
    if assignment.brief != af.brief:
        assignment.brief_html = render_markdown(af.brief)
    changed |= assign_changed(assignment, title=af.title, brief=af.brief, word_limit=af.word_limit,
                       pass_mark=af.pass_mark, due_days=af.due_days, rubric=af.rubric)
    return changed
