"""The partner portal's filters (pathway, dates, status, name), candidates' progress, and filtered exports."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from lms.accreditation.models import CreditAward, Pathway, PathwayModule, PathwayRegistration
from lms.database import utcnow
from tests.accreditation.test_credit import finish, setting  # noqa: F401  (fixture)
from tests.factories import enrol, login, make_course, make_user


@pytest.fixture
def two_pathways(db, setting):
    """The setting's pathway plus a second one of the same university, with a candidate on each."""
    course, learner, partner, outsider = setting
    first = db.session.scalar(select(Pathway))
    second_course = make_course("evaluation-module", level="7", modules=1, lessons=2)
    second = Pathway(slug="pgcert-evaluation", title="PGCert in Evaluation", award="PGCert",
                     university_id=first.university_id, credits_required=60, consent_text="I agree.")
    second.modules = [PathwayModule(course_id=second_course.id, code="EVA701", credits=20, level=7)]
    db.session.add(second)
    db.session.flush()
    other = make_user(email="dara@example.org")
    old = utcnow() - timedelta(days=40)
    db.session.add(PathwayRegistration(pathway_id=second.id, user_id=other.id, reference="CL0000002",
                                       legal_name="Dara Evaluator", date_of_birth=old.date().replace(year=1975),
                                       prior_qualifications="MSc", consent_text="I agree.", consented_at=old,
                                       created_at=old, updated_at=old, status="pending"))
    db.session.commit()
    return first, second, course, second_course, learner, other, partner, outsider


def page(client, url):
    response = client.get(url)
    return response.status_code, response.get_data(as_text=True)


def test_registrations_filter_by_pathway_date_name_and_status(app, db, two_pathways):
    first, second, *_, partner, outsider = two_pathways
    client = app.test_client()
    login(client, partner)
    _, everything = page(client, "/partner/?status=")
    assert "Cerys Candidate" in everything and "Dara Evaluator" in everything
    _, by_pathway = page(client, f"/partner/?status=&pathway={second.id}")
    assert "Dara Evaluator" in by_pathway and "Cerys Candidate" not in by_pathway
    recent = (utcnow() - timedelta(days=7)).date().isoformat()
    _, by_date = page(client, f"/partner/?status=&date_from={recent}")
    assert "Cerys Candidate" in by_date and "Dara Evaluator" not in by_date
    _, by_name = page(client, "/partner/?status=&q=evaluat")
    assert "Dara Evaluator" in by_name and "Cerys Candidate" not in by_name
    _, by_reference = page(client, "/partner/?status=&q=cl0000001")
    assert "Cerys Candidate" in by_reference and "Dara Evaluator" not in by_reference
    _, pending = page(client, "/partner/")  # the default tab: registrations to decide
    assert "Dara Evaluator" in pending and "Cerys Candidate" not in pending
    assert "To decide (1)" in pending and "Approved (1)" in pending
    _, none = page(client, "/partner/?status=&q=nobody")
    assert "No registrations match these filters" in none


def test_bad_filters_get_a_message_and_400(app, db, two_pathways):
    *_, partner, outsider = two_pathways
    client = app.test_client()
    login(client, partner)
    code, html = page(client, "/partner/?status=&date_from=2026-02-30")
    assert code == 400 and "Enter a real date, such as 2026-09-01." in html and "Cerys Candidate" in html
    code, html = page(client, "/partner/credits/?date_from=2026-05-02&date_to=2026-05-01")
    assert code == 400 and "The end date must be on or after the start date." in html
    code, html = page(client, "/partner/?status=unheard-of")
    assert code == 400 and "Not a valid choice" in html
    code, html = page(client, "/partner/export.csv?date_to=yesterday")
    assert code == 400 and "filters are not valid" in html


def test_a_partner_cannot_filter_by_another_universitys_pathway(app, db, two_pathways):
    first, *_, partner, outsider = two_pathways
    client = app.test_client()
    login(client, outsider)
    code, html = page(client, f"/partner/?status=&pathway={first.id}")
    assert code == 400 and "Cerys Candidate" not in html


def test_credit_records_filter_and_filtered_export(app, db, two_pathways):
    first, second, course, second_course, learner, other, partner, outsider = two_pathways
    finish(db, course, learner, [1, 2])
    award = db.session.scalar(select(CreditAward))
    db.session.execute(update(CreditAward).values(completed_at=utcnow() - timedelta(days=100)))
    db.session.commit()
    client = app.test_client()
    login(client, partner)
    _, listed = page(client, "/partner/credits/")
    assert "Cerys Candidate" in listed
    _, later = page(client, f"/partner/credits/?date_from={(utcnow() - timedelta(days=30)).date()}")
    assert "Cerys Candidate" not in later and "No credit records here" in later
    _, other_pathway = page(client, f"/partner/credits/?status=&pathway={second.id}")
    assert "Cerys Candidate" not in other_pathway
    rows = list(csv.reader(io.StringIO(client.get(f"/partner/export.csv?pathway={first.id}").get_data(as_text=True))))
    assert len(rows) == 2 and rows[1][0] == "CL0000001"
    rows = list(csv.reader(io.StringIO(client.get(f"/partner/export.csv?pathway={second.id}").get_data(as_text=True))))
    assert len(rows) == 1  # the header alone
    rows = list(csv.reader(io.StringIO(client.get("/partner/export.csv?status=approved").get_data(as_text=True))))
    assert len(rows) == 1 and award.status == "requested"


def test_candidates_progress_shows_modules_and_credit(app, db, two_pathways):
    first, second, course, second_course, learner, other, partner, outsider = two_pathways
    finish(db, course, learner, [1, 2])
    client = app.test_client()
    login(client, partner)
    _, html = page(client, "/partner/candidates")
    assert "Cerys Candidate" in html and "CCI701" in html and "100% of lessons" in html
    assert "credit requested (passed, mark 80)" in html
    assert 'aria-label="Cerys Candidate: 0 of 60 credits approved"' in html
    assert "Dara Evaluator" not in html  # pending, not yet a candidate
    award = db.session.scalar(select(CreditAward))
    db.session.add(CreditAward(registration_id=award.registration_id, pathway_module_id=award.pathway_module_id,
                               version=2, result="passed", mark=80, credits=20, level=7,
                               completed_at=award.completed_at, moderation="confirmed", status="approved",
                               note="Approved", changed_by_id=partner.id))
    db.session.commit()
    _, html = page(client, "/partner/candidates")
    assert 'aria-label="Cerys Candidate: 20 of 60 credits approved"' in html and 'value="33"' in html
    login(client, outsider)
    _, html = page(client, "/partner/candidates")
    assert "Cerys Candidate" not in html and "No approved candidates yet" in html


def test_candidates_page_queries_do_not_grow_with_candidates(app, db, two_pathways):
    from tests.courses.test_query_counts import statements_for
    first, second, course, *_, partner, outsider = two_pathways
    client = app.test_client()
    login(client, partner)
    few = statements_for(client, "/partner/candidates")
    for n in range(12):
        user = make_user(email=f"extra{n}@example.org")
        enrol(user, course)
        db.session.add(PathwayRegistration(pathway_id=first.id, user_id=user.id, reference=f"CL10{n:05d}",
                                           legal_name=f"Extra {n}", date_of_birth=utcnow().date(),
                                           prior_qualifications="BA", consent_text="I agree.",
                                           consented_at=utcnow(), status="approved"))
    db.session.commit()
    many = statements_for(client, "/partner/candidates")
    assert "Extra 11" in client.get("/partner/candidates").get_data(as_text=True) and many == few


def test_credit_records_page_queries_do_not_grow_with_records(app, db, two_pathways):
    from tests.accreditation.bulk import add_credit_records
    from tests.courses.test_query_counts import statements_for
    first, *_, partner, outsider = two_pathways
    client = app.test_client()
    login(client, partner)
    add_credit_records(first, 1, learners=1)
    few = statements_for(client, "/partner/credits/?status=")
    add_credit_records(first, 15, learners=15)
    many = statements_for(client, "/partner/credits/?status=")
    assert "Bulk Learner" in client.get("/partner/credits/?status=").get_data(as_text=True) and many == few
