"""The `flask --app wsgi lms` commands."""
from __future__ import annotations

from sqlalchemy import func, select

from config import TestingConfig
from lms import create_app
from lms.accounts import services
from lms.accounts.models import User
from lms.extensions import db


def test_init_demo_migrates_and_seeds_one_account_per_role(fresh_database_url, monkeypatch):
    monkeypatch.delenv("LMS_DEMO_PASSWORD", raising=False)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url)
    runner = app.test_cli_runner()
    with app.app_context():
        result = runner.invoke(args=["lms", "init", "--demo"])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines() if "@example.org" in line]
    assert {email for email, _ in lines} == {"learner@example.org", "trainer@example.org",
                                            "partner@example.org", "admin@example.org"}
    password = lines[0][1]
    with app.app_context():
        for email, _ in lines:
            user = services.find_user_by_email(email)
            assert user.is_verified and user.role_names == {email.split("@")[0]}
            assert services.check_password(user, password)
    with app.app_context():
        again = runner.invoke(args=["lms", "init", "--demo"])
    assert again.exit_code == 0 and "exist already" in again.output and password not in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 4
        db.engine.dispose()


def test_init_demo_uses_the_password_from_the_environment(fresh_database_url, monkeypatch):
    monkeypatch.setenv("LMS_DEMO_PASSWORD", "a chosen demo passphrase")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url)
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["lms", "init", "--demo"]).exit_code == 0
        assert services.check_password(services.find_user_by_email("admin@example.org"), "a chosen demo passphrase")
        db.engine.dispose()


def test_create_user(runner, db):
    result = runner.invoke(args=["lms", "create-user", "Trainer@Example.org", "--role", "trainer", "--role",
                                 "learner", "--name", "Tess Trainer"], input="a trainer passphrase\n" * 2)
    assert result.exit_code == 0, result.output
    user = services.find_user_by_email("trainer@example.org")
    assert user.role_names == {"trainer", "learner"} and user.is_verified


def test_create_user_errors_exit_non_zero(runner, make_user):
    make_user(email="taken@example.org")
    result = runner.invoke(args=["lms", "create-user", "taken@example.org", "--role", "admin", "--name", "X",
                                 "--password", "a perfectly fine passphrase"])
    assert result.exit_code != 0 and "already exists" in result.output
    weak = runner.invoke(args=["lms", "create-user", "new@example.org", "--role", "admin", "--name", "X",
                               "--password", "password"])
    assert weak.exit_code != 0 and "12 characters" in weak.output
    bad_role = runner.invoke(args=["lms", "create-user", "new@example.org", "--role", "king", "--name", "X",
                                   "--password", "a perfectly fine passphrase"])
    assert bad_role.exit_code == 2


def test_demo_trainer_joins_every_course_team(fresh_database_url, monkeypatch):
    from lms.courses.content import read_tree
    from lms.courses.importer import load_courses
    from lms.courses.models import CourseTrainer
    monkeypatch.setenv("LMS_DEMO_PASSWORD", "a chosen demo passphrase")
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh_database_url)
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["lms", "init"]).exit_code == 0
        load_courses(read_tree("content"))
        db.session.commit()
        assert app.test_cli_runner().invoke(args=["lms", "init", "--demo"]).exit_code == 0
        assert db.session.scalar(select(func.count()).select_from(CourseTrainer)) == len(read_tree("content"))
        from lms.accounts.models import Organisation, OrganisationMember
        db.session.add(Organisation(name="University of Testing", kind="university"))
        db.session.commit()
        assert app.test_cli_runner().invoke(args=["lms", "init", "--demo"]).exit_code == 0
        partner = services.find_user_by_email("partner@example.org")
        assert db.session.scalar(select(func.count()).select_from(OrganisationMember)
                                 .where(OrganisationMember.user_id == partner.id)) == 1
        db.engine.dispose()
