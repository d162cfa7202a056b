"""Loading course content from files: validation, idempotence, versions, and what is kept."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.courses.content import ContentInvalid, read_tree
from lms.courses.models import Course, Lesson, LessonProgress, LessonVersion, Module
from lms.courses.rendering import word_count
from tests.factories import enrol

SHIPPED = Path(__file__).resolve().parents[2] / "content"
LESSON = textwrap.dedent("""\
    ---
    title: {title}
    minutes: 6
    ---

    By the end of this lesson you will be able to {title_lower}.

    ## A section

    Text of the lesson, long enough to read.

    ::: activity A small task
    Try it.
    :::
    """)


def write_course(root: Path, slug: str = "sample-course", modules: dict | None = None) -> Path:
    """A small valid tree: one course with the given {module: [lessons]}."""
    modules = modules or {"first-module": ["intro", "second-lesson"], "second-module": ["more"]}
    course_dir = root / "courses" / slug
    course_dir.mkdir(parents=True, exist_ok=True)
    (course_dir / "course.yaml").write_text(textwrap.dedent(f"""\
        title: Sample course
        summary: A short course used by the tests.
        level: cpd
        outcomes:
          - Do something useful.
        modules:
        """) + "".join(f"  - {m}\n" for m in modules))
    for module, lessons in modules.items():
        module_dir = course_dir / module
        module_dir.mkdir(exist_ok=True)
        (module_dir / "module.yaml").write_text(
            f"title: {module.replace('-', ' ').capitalize()}\nsummary: About it.\ncpd_hours: 1\nlessons:\n"
            + "".join(f"  - {lesson}\n" for lesson in lessons))
        for lesson in lessons:
            title = lesson.replace("-", " ").capitalize()
            (module_dir / f"{lesson}.md").write_text(LESSON.format(title=title, title_lower=title.lower()))
    return course_dir


def load(runner, root: Path, *args):
    return runner.invoke(args=["lms", "content", "load", str(root), *args])


def snapshot(db):
    db.session.rollback()
    return {
        "courses": db.session.execute(select(Course.slug, Course.version, Course.updated_at, Course.lesson_count,
                                             Course.title)).all(),
        "modules": db.session.execute(select(Module.id, Module.slug, Module.position, Module.archived,
                                             Module.title)).all(),
        "lessons": db.session.execute(select(Lesson.id, Lesson.slug, Lesson.archived, Lesson.current_version_id,
                                             Lesson.title)).all(),
        "versions": db.session.scalar(select(func.count(LessonVersion.id))),
    }


def test_shipped_content_is_valid_and_substantial():
    courses = read_tree(SHIPPED)
    titles = {c.title for c in courses}
    assert {"Promoting community cohesion in schools", "Facilitating cohesion workshops and visioning events",
            "Evaluating integration programmes", "Cohesion and integration: policy and evidence",
            "Designing and evaluating local integration strategies"} <= titles
    for course in courses:
        assert course.outcomes and course.summary
        assert sum(m.cpd_hours for m in course.modules) > 0
        if course.level == "7":
            assert course.credits == 20 and len(course.modules) >= 4 and len(course.reading) >= 8
        for module in course.modules:
            assert 2 <= len(module.lessons) <= 4, module.path
            sources = " ".join(lesson.source for lesson in module.lessons)
            assert "::: activity" in sources or "::: case-study" in sources, module.path
            for lesson in module.lessons:
                assert 300 <= word_count(lesson.source) <= 900, (lesson.path, word_count(lesson.source))


def test_load_shipped_content_twice_changes_nothing(runner, db):
    first = load(runner, SHIPPED)
    assert first.exit_code == 0, first.output
    shipped = len(read_tree(SHIPPED))
    assert f"{shipped} created" in first.output
    before = snapshot(db)
    second = load(runner, SHIPPED)
    assert second.exit_code == 0 and f"0 created, 0 updated, {shipped} unchanged; 0 new lesson version(s)" in second.output
    assert snapshot(db) == before
    assert before["versions"] == len(before["lessons"]) >= 75


def test_rendered_html_is_stored_per_version(runner, db, tmp_path):
    write_course(tmp_path)
    assert load(runner, tmp_path).exit_code == 0
    lesson = db.session.scalar(select(Lesson).where(Lesson.slug == "intro"))
    html = lesson.current_version.html
    assert '<h2 id="a-section">A section</h2>' in html
    assert '<div class="callout callout-activity">' in html and "A small task" in html


@pytest.mark.parametrize("breakage, expected", [
    ("bad_yaml", "sample-course/course.yaml:3: invalid YAML"),
    ("missing_lesson", "sample-course/first-module/module.yaml:6: lesson file 'second-lesson.md' is missing"),
    ("duplicate_slug", "sample-course/course.yaml:9: duplicate slug 'first-module' in 'modules'"),
    ("unknown_key", "sample-course/first-module/module.yaml:7: unknown key 'colour'"),
    ("unlisted_lesson", "sample-course/second-module/stray.md:1: lesson 'stray' is not listed"),
    ("h1_heading", "sample-course/first-module/intro.md:6: lessons start at level-2 headings"),
    ("bad_front_matter", "sample-course/first-module/intro.md:3: unknown key 'author'"),
    ("missing_title", "sample-course/course.yaml:1: 'title' is required"),
    ("bad_level", "sample-course/course.yaml:3: 'level' must be cpd or an FHEQ level"),
    ("bad_hours", "sample-course/first-module/module.yaml:3: 'cpd_hours' must be a number of hours"),
    ("unknown_callout", "sample-course/first-module/intro.md:12: unknown callout 'exercise'"),
    ("image_without_alt", "sample-course/first-module/intro.md:16: the image images/map.png needs alt text"),
])
def test_broken_trees_report_path_and_line_and_write_nothing(runner, db, tmp_path, breakage, expected):
    course_dir = write_course(tmp_path)
    assert load(runner, tmp_path).exit_code == 0  # a good load first: a bad one must not change it
    before = snapshot(db)
    module = course_dir / "first-module"
    intro = module / "intro.md"
    if breakage == "bad_yaml":
        text = (course_dir / "course.yaml").read_text().replace("level: cpd", "level: cpd: extra")
        (course_dir / "course.yaml").write_text(text)
    elif breakage == "missing_lesson":
        (module / "second-lesson.md").unlink()
    elif breakage == "duplicate_slug":
        with open(course_dir / "course.yaml", "a") as handle:
            handle.write("  - first-module\n")
    elif breakage == "unknown_key":
        with open(module / "module.yaml", "a") as handle:
            handle.write("colour: blue\n")
    elif breakage == "unlisted_lesson":
        (course_dir / "second-module" / "stray.md").write_text(LESSON.format(title="Stray", title_lower="stray"))
    elif breakage == "h1_heading":
        intro.write_text(intro.read_text().replace("By the end", "# A big title\n\nBy the end"))
    elif breakage == "bad_front_matter":
        intro.write_text(intro.read_text().replace("minutes: 6", "author: Someone"))
    elif breakage == "missing_title":
        text = (course_dir / "course.yaml").read_text().replace("title: Sample course\n", "")
        (course_dir / "course.yaml").write_text(text)
    elif breakage == "bad_level":
        text = (course_dir / "course.yaml").read_text().replace("level: cpd", "level: 12")
        (course_dir / "course.yaml").write_text(text)
    elif breakage == "bad_hours":
        text = (module / "module.yaml").read_text().replace("cpd_hours: 1", "cpd_hours: 1.25")
        (module / "module.yaml").write_text(text)
    elif breakage == "unknown_callout":
        intro.write_text(intro.read_text().replace("::: activity A small task", "::: exercise A small task"))
    elif breakage == "image_without_alt":
        (course_dir / "images").mkdir()
        (course_dir / "images" / "map.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 20)
        intro.write_text(intro.read_text() + "\n![](images/map.png)\n")
    # Another valid change in the same load must not be written either.
    with open(course_dir / "second-module" / "more.md", "a") as handle:
        handle.write("\nAn extra paragraph.\n")
    result = load(runner, tmp_path)
    assert result.exit_code == 1
    assert expected in result.output, result.output
    assert "nothing was written" in result.output
    assert snapshot(db) == before


def test_editing_a_lesson_keeps_progress_and_makes_a_new_version(runner, db, tmp_path, make_user):
    course_dir = write_course(tmp_path)
    load(runner, tmp_path)
    course = db.session.scalar(select(Course))
    learner = make_user()
    enrolment = enrol(learner, course)
    intro = db.session.scalar(select(Lesson).where(Lesson.slug == "intro"))
    from lms.courses import services
    services.complete_lesson(enrolment, intro)
    db.session.commit()
    lesson_id, old_version = intro.id, intro.current_version_id

    path = course_dir / "first-module" / "intro.md"
    path.write_text(path.read_text().replace("Text of the lesson", "Rewritten text of the lesson").replace(
        "title: Intro", "title: Introduction"))
    result = load(runner, tmp_path)
    assert result.exit_code == 0 and "updated sample-course" in result.output and "1 new lesson version" in result.output
    db.session.rollback()
    lesson = db.session.get(Lesson, lesson_id)
    assert lesson.title == "Introduction" and lesson.current_version_id != old_version
    assert "Rewritten text" in lesson.current_version.html
    assert [v.number for v in lesson.versions] == [1, 2]
    assert db.session.scalar(select(func.count(LessonProgress.id)).where(LessonProgress.lesson_id == lesson_id)) == 1
    assert db.session.scalar(select(Course)).version == 2


def test_removing_a_lesson_with_progress_is_refused_unless_archived(runner, db, tmp_path, make_user):
    course_dir = write_course(tmp_path)
    load(runner, tmp_path)
    course = db.session.scalar(select(Course))
    enrolment = enrol(make_user(), course)
    from lms.courses import services
    services.complete_lesson(enrolment, db.session.scalar(select(Lesson).where(Lesson.slug == "second-lesson")))
    db.session.commit()
    before = snapshot(db)

    module_yaml = course_dir / "first-module" / "module.yaml"
    module_yaml.write_text(module_yaml.read_text().replace("  - second-lesson\n", ""))
    (course_dir / "first-module" / "second-lesson.md").unlink()
    refused = load(runner, tmp_path)
    assert refused.exit_code == 1
    assert ("sample-course/first-module/module.yaml:4: lesson 'second-lesson' was removed, but 1 learner(s) have "
            "progress in it") in refused.output
    assert snapshot(db) == before

    archived = load(runner, tmp_path, "--archive")
    assert archived.exit_code == 0 and "archived sample-course/first-module/second-lesson" in archived.output
    db.session.rollback()
    lesson = db.session.scalar(select(Lesson).where(Lesson.slug == "second-lesson"))
    assert lesson.archived
    assert db.session.scalar(select(func.count(LessonProgress.id))) == 1
    course = db.session.scalar(select(Course))
    assert course.lesson_count == 2
    enrolment = services.enrolment_for(enrolment.user, course)
    assert enrolment.lessons_completed == 0 and enrolment.progress_percent == 0
    # Loading again with the lesson still gone changes nothing more.
    again = load(runner, tmp_path)
    assert again.exit_code == 0 and "1 unchanged" in again.output


def test_removing_a_module_with_progress_is_refused_unless_archived(runner, db, tmp_path, make_user):
    course_dir = write_course(tmp_path)
    load(runner, tmp_path)
    enrolment = enrol(make_user(), db.session.scalar(select(Course)))
    from lms.courses import services
    services.complete_lesson(enrolment, db.session.scalar(select(Lesson).where(Lesson.slug == "more")))
    db.session.commit()
    course_yaml = course_dir / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace("  - second-module\n", ""))
    shutil.rmtree(course_dir / "second-module")
    refused = load(runner, tmp_path)
    assert refused.exit_code == 1
    assert "sample-course/course.yaml:6: module 'second-module' was removed, but learners have progress" in refused.output
    assert load(runner, tmp_path, "--archive").exit_code == 0
    db.session.rollback()
    assert db.session.scalar(select(Module).where(Module.slug == "second-module")).archived


def test_removing_a_lesson_nobody_started_deletes_it(runner, db, tmp_path):
    course_dir = write_course(tmp_path)
    load(runner, tmp_path)
    module_yaml = course_dir / "first-module" / "module.yaml"
    module_yaml.write_text(module_yaml.read_text().replace("  - second-lesson\n", ""))
    (course_dir / "first-module" / "second-lesson.md").unlink()
    result = load(runner, tmp_path)
    assert result.exit_code == 0 and "deleted sample-course/first-module/second-lesson" in result.output
    db.session.rollback()
    assert db.session.scalar(select(Lesson).where(Lesson.slug == "second-lesson")) is None
    assert db.session.scalar(select(Course)).lesson_count == 2


def test_reordering_modules_keeps_ids(runner, db, tmp_path):
    course_dir = write_course(tmp_path)
    load(runner, tmp_path)
    ids = dict(db.session.execute(select(Module.slug, Module.id)).all())
    course_yaml = course_dir / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace("  - first-module\n  - second-module\n",
                                                           "  - second-module\n  - first-module\n"))
    assert load(runner, tmp_path).exit_code == 0
    db.session.rollback()
    rows = db.session.execute(select(Module.slug, Module.id, Module.position).order_by(Module.position)).all()
    assert [(slug, id_) for slug, id_, _ in rows] == [("second-module", ids["second-module"]),
                                                     ("first-module", ids["first-module"])]


def test_images_are_checked_stored_and_served(runner, db, tmp_path, client, make_user):
    course_dir = write_course(tmp_path)
    (course_dir / "images").mkdir()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    (course_dir / "images" / "map.png").write_bytes(png)
    intro = course_dir / "first-module" / "intro.md"
    intro.write_text(intro.read_text() + "\n![A map of the town](images/map.png)\n")
    (course_dir / "images" / "notes.txt").write_text("not an image")
    bad = load(runner, tmp_path)
    assert bad.exit_code == 1 and "sample-course/images/notes.txt:0: images must be" in bad.output
    (course_dir / "images" / "notes.txt").unlink()
    assert load(runner, tmp_path).exit_code == 0, load(runner, tmp_path).output
    lesson = db.session.scalar(select(Lesson).where(Lesson.slug == "intro"))
    assert '<img src="/courses/sample-course/media/map.png" alt="A map of the town">' in lesson.current_version.html
    response = client.get("/courses/sample-course/media/map.png")
    assert response.status_code == 200 and response.data == png and response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/courses/sample-course/media/missing.png").status_code == 404


def test_read_tree_reports_every_error_at_once(tmp_path):
    course_dir = write_course(tmp_path)
    (course_dir / "first-module" / "intro.md").write_text("no front matter here")
    with open(course_dir / "second-module" / "module.yaml", "a") as handle:
        handle.write("colour: blue\n")
    with pytest.raises(ContentInvalid) as raised:
        read_tree(tmp_path)
    messages = [str(e) for e in raised.value.errors]
    assert len(messages) == 2
    assert any("intro.md:1: a lesson starts with front matter" in m for m in messages)


def test_removing_a_module_with_quiz_attempts_is_refused(runner, db, tmp_path, make_user):
    from lms.assessment import services as quizzes
    from lms.assessment.models import Quiz
    course_dir = write_course(tmp_path)
    second = course_dir / "second-module"
    with open(second / "module.yaml", "a") as handle:
        handle.write("quiz:\n  title: Check\n  pass_mark: 50\n  attempts: 0\n")
    (second / "quiz.gift").write_text("::Q::Pick {=a#Yes ~b#No}\n")
    assert load(runner, tmp_path).exit_code == 0
    learner = make_user()
    enrol(learner, db.session.scalar(select(Course)))
    quizzes.start_attempt(learner, db.session.scalar(select(Quiz)))
    db.session.commit()
    course_yaml = course_dir / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace("  - second-module\n", ""))
    shutil.rmtree(second)
    refused = load(runner, tmp_path)
    assert refused.exit_code == 1 and "module 'second-module' was removed, but learners have progress" in refused.output


def test_removing_an_attempted_quiz_or_started_assignment_is_refused(db, make_user):
    from lms.assessment import assignments
    from lms.assessment import services as quizzes
    from lms.assessment.models import Assignment, Quiz, QuizAttempt, Submission
    from lms.courses.content import ContentInvalid
    from lms.courses.importer import load_courses
    from tests.factories import QUIZ_GIFT, course_file, make_course
    course = make_course("kept-work", quiz=QUIZ_GIFT, assignment={}, level="7")
    learner = make_user()
    enrolment = enrol(learner, course)
    quizzes.start_attempt(learner, db.session.scalar(select(Quiz)))
    assignments.save_draft(learner, db.session.scalar(select(Assignment)), enrolment, "My draft.")
    db.session.commit()
    with pytest.raises(ContentInvalid) as raised:
        load_courses([course_file("kept-work", level="7")])  # the same course without its quiz and assignment
    db.session.rollback()
    messages = " ".join(str(e) for e in raised.value.errors)
    assert "the quiz of module 'module-1' was removed, but learners have attempted it" in messages
    assert "the assignment of module 'module-1' was removed, but learners have started it" in messages
    assert db.session.scalar(select(func.count(QuizAttempt.id))) == 1
    assert db.session.scalar(select(func.count(Submission.id))) == 1
