"""The admin area: access, user search, roles, deactivation, organisations."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.accounts.models import Organisation, OrganisationMember, Role, User
from tests.factories import PASSWORD, login, post_form


@pytest.mark.parametrize("who, expected", [
    ("guest", 302), ("learner", 403), ("trainer", 403), ("partner", 403), ("admin", 200),
])
@pytest.mark.parametrize("path", ["/admin/", "/admin/users", "/admin/organisations", "/admin/organisations/new"])
def test_admin_area_access(client, make_user, who, expected, path):
    if who != "guest":
        login(client, make_user(who))
    assert client.get(path).status_code == expected


def test_learner_gets_403_on_admin_posts_too(client, make_user):
    learner = make_user("learner")
    target = make_user("learner")
    login(client, learner)
    response = post_form(client, f"/admin/users/{target.id}/roles", {"role": "admin"}, page="/account")
    assert response.status_code == 403
    assert not target.has_role("admin")


def test_user_list_search_filters_and_paginates(client, make_user, app):
    admin = make_user("admin", name="Ada Admin")
    for i in range(30):
        make_user("learner", name=f"Learner {i:02d}", email=f"learner{i:02d}@example.org")
    make_user("trainer", name="Tom Trainer", email="tom@trainers.example")
    login(client, admin)
    first = client.get("/admin/users").get_data(as_text=True)
    assert "Showing 1–25 of 32" in first
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert "Showing 26–32 of 32" in second
    found = client.get("/admin/users?q=TRAINERS.example").get_data(as_text=True)
    assert "Tom Trainer" in found and "Learner 01" not in found
    trainers = client.get("/admin/users?role=trainer").get_data(as_text=True)
    assert "Tom Trainer" in trainers and "Learner 01" not in trainers
    empty = client.get("/admin/users?q=zzzz-nobody")
    assert empty.status_code == 200 and "No users found" in empty.get_data(as_text=True)
    assert client.get("/admin/users?page=99&role=bogus").status_code == 200


def test_grant_and_remove_role(client, make_user, db):
    admin = make_user("admin")
    user = make_user("learner")
    login(client, admin)
    page = f"/admin/users/{user.id}"
    response = post_form(client, f"/admin/users/{user.id}/roles", {"role": "trainer"}, page=page)
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(User, user.id).role_names == {"learner", "trainer"}
    post_form(client, f"/admin/users/{user.id}/roles/trainer/remove", {}, page=page)
    db.session.rollback()
    assert db.session.get(User, user.id).role_names == {"learner"}
    # An unknown role is refused without a change.
    post_form(client, f"/admin/users/{user.id}/roles", {"role": "emperor"}, page=page)
    assert client.get(f"/admin/users/{user.id}/roles/emperor/remove").status_code == 405
    db.session.rollback()
    assert db.session.get(User, user.id).role_names == {"learner"}


def test_admin_cannot_remove_own_admin_role_or_deactivate_self(client, make_user, db):
    admin = make_user("admin")
    login(client, admin)
    page = f"/admin/users/{admin.id}"
    response = post_form(client, f"/admin/users/{admin.id}/roles/admin/remove", {}, page=page,
                         follow_redirects=True)
    assert "cannot remove your own admin role" in response.get_data(as_text=True)
    response = post_form(client, f"/admin/users/{admin.id}/deactivate", {}, follow_redirects=True)
    assert "cannot deactivate your own account" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(User, admin.id).is_admin and db.session.get(User, admin.id).active


def test_deactivate_asks_first_then_logs_the_user_out(app, client, make_user, db):
    admin = make_user("admin")
    user = make_user("learner")
    their_client = app.test_client()
    login(their_client, user)
    login(client, admin)
    confirm = client.get(f"/admin/users/{user.id}/deactivate")
    assert confirm.status_code == 200 and "Deactivate" in confirm.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(User, user.id).active  # asking changes nothing
    post_form(client, f"/admin/users/{user.id}/deactivate", {})
    db.session.rollback()
    assert not db.session.get(User, user.id).active
    assert their_client.get("/account").status_code == 302
    assert post_form(app.test_client(), "/login", {"email": user.email, "password": PASSWORD}).status_code == 422
    post_form(client, f"/admin/users/{user.id}/reactivate", {})
    db.session.rollback()
    assert db.session.get(User, user.id).active


def test_unknown_user_is_404(client, make_user):
    login(client, make_user("admin"))
    assert client.get("/admin/users/999999").status_code == 404


def test_organisations_create_edit_members(client, make_user, db):
    admin = make_user("admin")
    member = make_user("partner", email="partner@uni.example")
    login(client, admin)
    empty = client.get("/admin/organisations").get_data(as_text=True)
    assert "No organisations yet" in empty
    response = post_form(client, "/admin/organisations/new",
                         {"name": "University of Castlebridge", "kind": "university", "website": ""})
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation))
    assert org.kind == "university"
    detail = f"/admin/organisations/{org.id}"
    duplicate = post_form(client, "/admin/organisations/new",
                          {"name": "university of castlebridge", "kind": "employer"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    bad = post_form(client, "/admin/organisations/new", {"name": "", "kind": "palace", "website": "nope"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Enter the organisation" in html and "Not a valid choice" in html and "full web address" in html

    post_form(client, f"{detail}/members", {"member-email": "partner@uni.example"}, page=detail)
    assert db.session.scalar(select(OrganisationMember)).user_id == member.id
    again = post_form(client, f"{detail}/members", {"member-email": "partner@uni.example"}, page=detail,
                      follow_redirects=True)
    assert "already a member" in again.get_data(as_text=True)
    nobody = post_form(client, f"{detail}/members", {"member-email": "ghost@example.org"}, page=detail,
                       follow_redirects=True)
    assert "No account uses that email" in nobody.get_data(as_text=True)

    membership = db.session.scalar(select(OrganisationMember))
    remove_url = f"{detail}/members/{membership.id}/remove"
    assert client.get(remove_url).status_code == 200
    post_form(client, remove_url, {})
    assert db.session.scalar(select(OrganisationMember)) is None
    assert db.session.get(User, member.id) is not None

    response = post_form(client, detail, {"name": "University of Castlebridge", "kind": "university",
                                          "website": "https://castlebridge.example"})
    assert response.status_code == 302
    db.session.rollback()
    assert db.session.get(Organisation, org.id).website == "https://castlebridge.example"


def test_member_of_another_organisation_cannot_be_removed_through_this_one(client, make_user, db):
    admin = make_user("admin")
    login(client, admin)
    a = Organisation(name="A", kind="employer")
    b = Organisation(name="B", kind="employer")
    db.session.add_all([a, b])
    db.session.flush()
    m = OrganisationMember(organisation_id=b.id, user_id=admin.id)
    db.session.add(m)
    db.session.commit()
    assert client.get(f"/admin/organisations/{a.id}/members/{m.id}/remove").status_code == 404


def test_navigation_shows_admin_only_to_admins(client, make_user):
    login(client, make_user(Role.LEARNER))
    assert 'href="/admin/"' not in client.get("/").get_data(as_text=True)
    client2 = client.application.test_client()
    login(client2, make_user(Role.ADMIN))
    assert 'href="/admin/"' in client2.get("/").get_data(as_text=True)


def test_course_team_is_managed_by_admins(client, make_user, db):
    from tests.factories import make_course
    from lms.courses.models import CourseTrainer
    course = make_course(title="Team course")
    admin = make_user("admin")
    trainer = make_user("trainer", email="tess@example.org", name="Tess Trainer")
    make_user("learner", email="lou@example.org")
    login(client, admin)
    assert "No trainers yet" in client.get("/admin/courses").get_data(as_text=True)
    page = f"/admin/courses/{course.slug}"
    not_trainer = post_form(client, page, {"member-email": "lou@example.org"})
    assert not_trainer.status_code == 422 and "does not hold the trainer role" in not_trainer.get_data(as_text=True)
    post_form(client, page, {"member-email": "tess@example.org"})
    assert "Tess Trainer" in client.get("/admin/courses").get_data(as_text=True)
    twice = post_form(client, page, {"member-email": "tess@example.org"})
    assert "already on this course" in twice.get_data(as_text=True)
    remove = f"{page}/team/{trainer.id}/remove"
    assert client.get(remove).status_code == 200
    post_form(client, remove, {})
    assert db.session.scalar(select(CourseTrainer)) is None


def test_audit_log_is_browsed_and_filtered_by_admins(client, make_user, db):
    from lms.audit import record
    admin = make_user("admin", name="Ada Admin")
    trainer = make_user("trainer", name="Tess Trainer")
    record(trainer, "course.publish", None, object_type="Course", summary="Published version 2")
    record(trainer, "mark.remark", None, object_type="Submission", summary="Re-read", before={"mark": 55},
           after={"mark": 62})
    db.session.commit()
    login(client, admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "course.publish" in html and "Re-read" in html and "Tess Trainer" in html
    marks = client.get("/admin/audit?action=mark").get_data(as_text=True)
    assert "Re-read" in marks and "Published version 2" not in marks
    nobody = client.get("/admin/audit?actor=zzz").get_data(as_text=True)
    assert "No events match" in nobody
    learner_client = client.application.test_client()
    login(learner_client, make_user("learner"))
    assert learner_client.get("/admin/audit").status_code == 403
