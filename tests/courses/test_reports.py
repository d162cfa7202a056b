"""The course team's reports: progress table (search, filter, sort, paginate, CSV), module chart, certificates."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from lms.courses import services
from lms.courses.models import Lesson
from tests.factories import add_trainer, enrol, login, make_course, make_user


@pytest.fixture
def cohort(app, db):
    course = make_course("cohort-course", modules=2, lessons=1)
    trainer = make_user("trainer")
    add_trainer(course, trainer)
    lessons = db.session.scalars(select(Lesson).order_by(Lesson.id)).all()
    people = []
    for i, done in enumerate([0, 1, 2, 0, 1] * 12):  # 60 learners
        learner = make_user(name=f"Learner {i:02d}", email=f"l{i:02d}@{'council' if i % 2 else 'school'}.example")
        enrolment = enrol(learner, course)
        for lesson in lessons[:done]:
            services.complete_lesson(enrolment, lesson)
        people.append(learner)
    db.session.commit()
    client = app.test_client()
    login(client, trainer)
    return course, client


def test_progress_table_filters_sorts_and_paginates(cohort):
    course, client = cohort
    html = client.get(f"/teach/{course.slug}/reports").get_data(as_text=True)
    assert "Showing 1–50 of 60" in html and "60</span><span class=\"stat-label\">learners enrolled" in html
    found = client.get(f"/teach/{course.slug}/reports?q=L07").get_data(as_text=True)
    assert "Learner 07" in found and "Learner 08" not in found
    done = client.get(f"/teach/{course.slug}/reports?status=completed").get_data(as_text=True)
    assert "of 12" not in done and done.count("<td>Completed</td>") == 12
    top = client.get(f"/teach/{course.slug}/reports?sort=progress&dir=desc").get_data(as_text=True)
    first_row = top.split("<tbody>")[1].split("</tr>")[0]
    assert "100%" in first_row
    assert client.get(f"/teach/{course.slug}/reports?sort=nonsense&status=bogus&page=9").status_code == 200


def test_progress_csv_has_every_filtered_row(cohort):
    course, client = cohort
    rows = list(csv.reader(io.StringIO(client.get(f"/teach/{course.slug}/reports/progress.csv?status=not_started")
                                       .get_data(as_text=True))))
    assert rows[0][:3] == ["name", "email", "status"] and len(rows) == 1 + 24
    assert all(row[2] == "Not started" for row in rows[1:])


def test_completion_chart_and_certificates(cohort):
    course, client = cohort
    html = client.get(f"/teach/{course.slug}/reports").get_data(as_text=True)
    assert "<svg" in html and "36 of 60 (60%)" in html  # module 1: learners with 1 or 2 lessons
    assert "12 in force" in html
    rows = list(csv.reader(io.StringIO(client.get(f"/teach/{course.slug}/reports/certificates.csv")
                                       .get_data(as_text=True))))
    assert len(rows) == 13 and rows[0][0] == "number"


def test_reports_are_for_the_team_only(app, cohort):
    course, _ = cohort
    other = app.test_client()
    login(other, make_user("trainer"))
    for path in ("/reports", "/reports/progress.csv", "/reports/certificates.csv"):
        assert other.get(f"/teach/{course.slug}{path}").status_code == 404


def test_every_table_downloads_as_csv(cohort, db):
    course, client = cohort
    modules = list(csv.reader(io.StringIO(client.get(f"/teach/{course.slug}/reports/modules.csv")
                                          .get_data(as_text=True))))
    assert modules[0] == ["module", "completed", "learners", "percent"] and modules[1][1:] == ["36", "60", "60"]
    marking = client.get(f"/teach/{course.slug}/marking.csv")
    assert marking.status_code == 200 and marking.get_data(as_text=True).startswith("learner,email,assignment")


def test_progress_csv_cells_people_typed_cannot_become_formulas(app, db):
    course = make_course("formula-course", modules=1, lessons=1)
    trainer = make_user("trainer")
    add_trainer(course, trainer)
    enrol(make_user(name="=SUM(A1:A9)", email="+44@example.org"), course)
    db.session.commit()
    client = app.test_client()
    login(client, trainer)
    rows = list(csv.reader(io.StringIO(client.get(f"/teach/{course.slug}/reports/progress.csv")
                                       .get_data(as_text=True))))
    assert rows[1][:2] == ["'=SUM(A1:A9)", "'+44@example.org"]
