"""A course comes back out of the database as files that load into an equal course."""
from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

from sqlalchemy import func, select

from lms.assessment.models import Question
from lms.courses.content import read_tree
from lms.courses.importer import load_courses
from tests.factories import add_trainer, login, make_user

SHIPPED = Path(__file__).resolve().parents[2] / "content"


def normalised(course_file) -> dict:
    """A CourseFile as plain data, without the file paths and line numbers."""
    def strip(value):
        if dataclasses.is_dataclass(value):
            return {f.name: strip(getattr(value, f.name)) for f in dataclasses.fields(value)
                    if f.name not in {"path", "modules_line", "lessons_line", "quiz_path", "line"}}
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()}
        return value
    return strip(course_file)


def test_export_then_load_gives_an_equal_course(runner, db, tmp_path):
    originals = {c.slug: c for c in read_tree(SHIPPED)}
    load_courses(list(originals.values()))
    db.session.commit()
    questions_before = db.session.scalar(select(func.count(Question.id)))
    for slug in originals:
        result = runner.invoke(args=["lms", "content", "export", slug, "--to", str(tmp_path)])
        assert result.exit_code == 0, result.output
    exported = {c.slug: c for c in read_tree(tmp_path)}
    assert set(exported) == set(originals)
    for slug, original in originals.items():
        assert normalised(exported[slug]) == normalised(original), slug
    again = runner.invoke(args=["lms", "content", "load", str(tmp_path)])
    assert again.exit_code == 0 and f"0 created, 0 updated, {len(originals)} unchanged; 0 new lesson version(s)" in again.output
    assert db.session.scalar(select(func.count(Question.id))) == questions_before >= 190


def test_export_zip_for_the_course_team(app, db):
    course_file = next(c for c in read_tree(SHIPPED) if c.slug == "evaluating-integration-programmes")
    load_courses([course_file])
    db.session.commit()
    from lms.courses.services import get_course
    course = get_course(course_file.slug)
    trainer = make_user("trainer")
    add_trainer(course, trainer)
    client = app.test_client()
    login(client, trainer)
    response = client.get(f"/teach/{course.slug}/export.zip")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert f"courses/{course.slug}/course.yaml" in names
    assert f"courses/{course.slug}/theories-of-change/quiz.gift" in names
    stranger = app.test_client()
    login(stranger, make_user("trainer"))
    assert stranger.get(f"/teach/{course.slug}/export.zip").status_code == 404
