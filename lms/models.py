"""Every model, imported in one place so the metadata is complete (Alembic, create_all)."""
from lms.accounts.models import Organisation, OrganisationMember, Role, User, UserRole  # noqa: F401
from lms.courses.models import (Course, CourseMedia, CourseTrainer, Enrolment, Lesson,  # noqa: F401
                                LessonProgress, LessonVersion, Module)
from lms.assessment.models import (Assignment, MarkRecord, Question, QuestionCategory, Quiz,  # noqa: F401
                                   QuizAttempt, QuizSlot, Response, Submission)
from lms.certificates.models import (Certificate, CertificateReminder, CpdEntry, CpdTarget,  # noqa: F401
                                     ModuleCompletion)
from lms.courses.models import CourseDraft  # noqa: F401,E402
from lms.audit import AuditEvent  # noqa: F401,E402
from lms.accreditation.models import (ApiToken, CreditAward, Pathway, PathwayModule,  # noqa: F401,E402
                                      PathwayRegistration)
from lms.accreditation.delivery import LrsEndpoint, XapiDelivery  # noqa: F401,E402
from lms.payments.models import CodeBatch, EnrolmentCode, Payment, StripeEvent  # noqa: F401,E402
