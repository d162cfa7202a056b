"""Every model, imported in one place so the metadata is complete (Alembic, create_all)."""
from lms.accounts.models import Organisation, OrganisationMember, Role, User, UserRole  # noqa: F401
from lms.courses.models import (Course, CourseMedia, Enrolment, Lesson, LessonProgress,  # noqa: F401
                                LessonVersion, Module)
