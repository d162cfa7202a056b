"""Users, their roles, and organisations (employers and universities)."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import UTCDateTime, utcnow
from lms.extensions import db


class Role(StrEnum):
    LEARNER = "learner"
    TRAINER = "trainer"
    PARTNER = "partner"
    ADMIN = "admin"


class OrganisationKind(StrEnum):
    EMPLOYER = "employer"
    UNIVERSITY = "university"


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pending_email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped when the password changes: every other session and remember-me cookie ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")
    memberships: Mapped[list[OrganisationMember]] = relationship(
        back_populates="user", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}

    def has_role(self, role: str) -> bool:
        return role in self.role_names

    def has_any_role(self, *roles: str) -> bool:
        return bool(self.role_names.intersection(roles))

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)


class UserRole(db.Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")

    __table_args__ = (CheckConstraint(f"role IN ({_in(Role)})", name="role_known"),)


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    website: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[OrganisationMember]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint(f"kind IN ({_in(OrganisationKind)})", name="kind_known"),)

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name}>"


class OrganisationMember(db.Model):
    __tablename__ = "organisation_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="memberships")

    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)
