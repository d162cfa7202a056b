"""The data set the page, mixed-load and quiz-spike benches run over, written fast with bulk inserts.

By default: 2,000 learners; 20 courses of 8 modules × 5 lessons with a quiz per module (the last
course's quizzes are timed, for the spike); each learner on 3 courses; 60,000 lesson-progress rows and
10,000 quiz attempts, with the module completions and CPD hours they earn; a trainer on the first
course's team; a university with a pathway over two level-7 courses, registrations and credit records,
and one of its partner staff. Learner 0 (``learner0000@bench.example.org``) is the one the pages log in
as: an in-progress course with an open quiz attempt, a finished course with its certificate, and a
CPD record with outside activity. BENCH_QUICK=1 makes it smaller.

Run alone: .venv/bin/python bench/seed.py [--database-url URL]  (prints what it wrote)
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bench.common import fresh_app, size, temp_sqlite_url  # noqa: E402
from lms.extensions import db  # noqa: E402

PASSWORD = "a bench passphrase for every account"
DOMAIN = "bench.example.org"


def enrolment_offsets(courses: int) -> tuple[int, int, int]:
    """Learner i is on courses i, i + a third and i + two thirds of the way round (mod the count)."""
    if courses < 3:
        raise SystemExit("the bench's data set needs at least 3 courses")
    return 0, courses // 3, 2 * courses // 3


def learner_email(index: int) -> str:
    return f"learner{index:04d}@{DOMAIN}"


@dataclass
class Sizes:
    learners: int = 2_000
    courses: int = 20
    modules: int = 8
    lessons: int = 5  # per module
    progress: int = 60_000
    attempts: int = 10_000
    registrations: int = 400
    mixed: int = 50    # learners 1 to 50 are the mixed load's
    spike: int = 200   # the next 200 the quiz spike's

    @classmethod
    def from_env(cls) -> Sizes:
        learners = size("BENCH_LEARNERS", 2_000, 400)
        return cls(learners=learners, courses=size("BENCH_COURSES", 20, 6),
                   progress=size("BENCH_PROGRESS", 30 * learners, 30 * learners),
                   attempts=size("BENCH_ATTEMPTS", 5 * learners, 5 * learners),
                   registrations=min(400, learners // 5), mixed=size("BENCH_MIXED_LEARNERS", 50, 10),
                   spike=size("BENCH_SPIKE_LEARNERS", 200, 50))


@dataclass
class CourseInfo:
    slug: str
    title: str
    lesson_paths: list[str]  # "/courses/<slug>/<module>/<lesson>/" in course order
    module_slugs: list[str]


@dataclass
class DataSet:
    """What the benches need to know about the seeded data: who to log in as and where to go."""
    database_url: str
    sizes: Sizes
    courses: list[CourseInfo]
    learner: str                 # the pages' learner (learner 0)
    trainer: str
    partner: str
    report_course: str           # the trainer's course (the first)
    learner_course: str          # learner 0's course in progress (the first)
    lesson_path: str             # a lesson of it
    attempt_id: int              # learner 0's open attempt
    timed_course: str            # the spike's course and module (a timed quiz no seeded learner has tried)
    timed_module: str
    counts: dict[str, int] = field(default_factory=dict)

    def course(self, slug: str) -> CourseInfo:
        return next(c for c in self.courses if c.slug == slug)

    @property
    def mixed_learners(self) -> range:
        return range(1, 1 + self.sizes.mixed)

    @property
    def spike_learners(self) -> range:
        return range(1 + self.sizes.mixed, 1 + self.sizes.mixed + self.sizes.spike)

    def courses_of(self, index: int) -> list[str]:
        """The slugs of the courses learner ``index`` is on, the first being where they have most to do."""
        count = len(self.courses)
        return [self.courses[(index + offset) % count].slug for offset in enrolment_offsets(count)]


def _spread(count: int, total: int, cap: int) -> list[int]:
    """``count`` whole numbers between 0 and ``cap`` adding up to ``total``: pairs around the mean."""
    mean = min(cap, total // max(count, 1))
    reach = min(mean, cap - mean)
    values = []
    for k in range(count):
        offset = (k // 2) % (reach + 1)
        values.append(mean - offset if k % 2 == 0 else mean + offset)
    missing = total - sum(values)
    k = 0
    while missing and k < 10 * count:  # odd counts, a remainder, or overrides: even it out, one at a time
        i = k % count
        if missing > 0 and values[i] < cap:
            values[i] += 1
            missing -= 1
        elif missing < 0 and values[i] > 0:
            values[i] -= 1
            missing += 1
        k += 1
    return values


def seed(database_url: str | None = None, sizes: Sizes | None = None, *, verbose: bool = True) -> DataSet:
    """Write the data set into an emptied database (a new SQLite file by default) and describe it."""
    sizes = sizes or Sizes.from_env()
    url = database_url or temp_sqlite_url()
    started = time.perf_counter()
    app = fresh_app(url)
    with app.app_context():
        data = _seed(url, sizes)
        if url.startswith("postgresql"):
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    with app.app_context():
        db.engine.dispose()
    if verbose:
        figures = ", ".join(f"{n:,} {name}" for name, n in data.counts.items())
        print(f"seeded in {time.perf_counter() - started:.1f} s: {figures}", flush=True)
    return data


def _insert(model, rows: list[dict], batch: int = 10_000) -> None:
    for start in range(0, len(rows), batch):
        db.session.execute(insert(model), rows[start:start + batch])


def _load_courses(sizes: Sizes) -> None:
    from lms.assessment.gift import parse_gift
    from lms.courses.content import QuizSettings
    from lms.courses.importer import load_courses
    from tests.factories import QUIZ_GIFT, course_file
    level7 = {sizes.courses - 3, sizes.courses - 2}  # as _Plan.level7
    files = []
    for c in range(sizes.courses):
        timed = c == sizes.courses - 1
        course = course_file(f"bench-{c + 1:02d}", modules=sizes.modules, lessons=sizes.lessons,
                             level="7" if c in level7 else "cpd",
                             title=f"Community cohesion in practice, part {c + 1}",
                             summary=f"Part {c + 1} of the bench's courses: {sizes.modules} modules of "
                                     f"{sizes.lessons} lessons, each module with a quiz.")
        for module in course.modules:
            module.quiz = QuizSettings(title=f"{module.title} check", time_limit_minutes=30 if timed else None)
            module.questions = parse_gift(QUIZ_GIFT)
        files.append(course)
    load_courses(files)
    db.session.commit()


@dataclass
class _Plan:
    """What the steps of the seed share: the courses' ids in order, the accounts, and every enrolment
    as (learner index, course index) with the number of lessons done there."""
    sizes: Sizes
    now: datetime
    courses: list[CourseInfo] = field(default_factory=list)
    course_ids: list[int] = field(default_factory=list)
    module_ids: list[list[int]] = field(default_factory=list)
    lesson_ids: list[list[int]] = field(default_factory=list)
    learners: list[int] = field(default_factory=list)  # user id of learner i
    staff: dict[str, int] = field(default_factory=dict)  # email: user id
    places: list[tuple[int, int]] = field(default_factory=list)
    done: list[int] = field(default_factory=list)

    @property
    def per_course(self) -> int:
        return self.sizes.modules * self.sizes.lessons

    @property
    def timed(self) -> int:
        """The course whose quizzes are timed: the last."""
        return self.sizes.courses - 1

    @property
    def level7(self) -> list[int]:
        return [self.sizes.courses - 3, self.sizes.courses - 2]

    def when(self, k: int) -> datetime:
        """When enrolment ``k`` was last active: spread over the last 60 days."""
        return self.now - timedelta(hours=k % 1440)


# Learner 0's three courses: the first under way (an open attempt on the next module's quiz), the
# second finished (with its certificate), the third half done.
LEARNER0_IN_PROGRESS, LEARNER0_FINISHED = 0, 1


def _structure(plan: _Plan) -> None:
    from lms.courses.models import Course, Lesson, Module
    rows = db.session.execute(
        select(Course.id, Course.slug, Course.title, Module.id, Module.slug, Lesson.id, Lesson.slug)
        .join(Module, Module.course_id == Course.id).join(Lesson, Lesson.module_id == Module.id)
        .order_by(Course.slug, Module.position, Lesson.position)).all()
    for course_id, slug, title, module_id, module_slug, lesson_id, lesson_slug in rows:
        if not plan.course_ids or plan.course_ids[-1] != course_id:
            plan.course_ids.append(course_id)
            plan.courses.append(CourseInfo(slug, title, [], []))
            plan.module_ids.append([])
            plan.lesson_ids.append([])
        info = plan.courses[-1]
        info.lesson_paths.append(f"/courses/{slug}/{module_slug}/{lesson_slug}/")
        plan.lesson_ids[-1].append(lesson_id)
        if not plan.module_ids[-1] or plan.module_ids[-1][-1] != module_id:
            plan.module_ids[-1].append(module_id)
            info.module_slugs.append(module_slug)


def _accounts(plan: _Plan) -> None:
    """The learners, a trainer on the first course's team and a partner, all with one password (hashed
    once, with the app's real parameters: a log-in checks it as in production)."""
    from argon2 import PasswordHasher

    from lms.accounts.models import User, UserRole
    from lms.courses.models import CourseTrainer
    now, password_hash = plan.now, PasswordHasher().hash(PASSWORD)
    staff = {f"trainer@{DOMAIN}": "trainer", f"partner@{DOMAIN}": "partner"}
    people = [(learner_email(i), f"Learner {i:04d}") for i in range(plan.sizes.learners)]
    people += [(email, f"Bench {role.title()}") for email, role in staff.items()]
    _insert(User, [{"email": email, "name": name, "password_hash": password_hash, "active": True,
                    "session_version": 1, "created_at": now, "email_verified_at": now} for email, name in people])
    ids = dict(db.session.execute(select(User.email, User.id)).all())
    plan.learners = [ids[learner_email(i)] for i in range(plan.sizes.learners)]
    plan.staff = {email: ids[email] for email in staff}
    _insert(UserRole, [{"user_id": uid, "role": "learner", "granted_at": now} for uid in plan.learners]
            + [{"user_id": ids[email], "role": role, "granted_at": now} for email, role in staff.items()])
    db.session.add(CourseTrainer(course_id=plan.course_ids[0], user_id=plan.staff[f"trainer@{DOMAIN}"]))


def _progress(plan: _Plan) -> None:
    """Enrolments and lesson progress: the first n lessons of each course, n spread around the mean so
    the rows add up to the size asked for; the spike's learners also on the timed course, nothing done."""
    from lms.courses.models import Enrolment, LessonProgress
    sizes, per_course = plan.sizes, plan.per_course
    offsets = enrolment_offsets(sizes.courses)
    plan.places = [(i, (i + offset) % sizes.courses) for i in range(sizes.learners) for offset in offsets]
    learner0 = [12 if per_course >= 16 else per_course // 2, per_course, min(20, per_course)]
    plan.done = learner0 + _spread(len(plan.places) - 3, sizes.progress - sum(learner0), per_course)
    on_timed = {i for i, c in plan.places if c == plan.timed}
    spike = range(1 + sizes.mixed, 1 + sizes.mixed + sizes.spike)
    plan.places += [(i, plan.timed) for i in spike if i not in on_timed]
    plan.done += [0] * (len(plan.places) - len(plan.done))
    enrolments, progress = [], []
    for k, ((i, c), n) in enumerate(zip(plan.places, plan.done)):
        when = plan.when(k)
        enrolments.append({"user_id": plan.learners[i], "course_id": plan.course_ids[c], "source": "free",
                           "status": "active", "lessons_completed": n, "progress_percent": n * 100 // per_course,
                           "last_lesson_id": plan.lesson_ids[c][n - 1] if n else None, "created_at": when,
                           "last_activity_at": when if n else None,
                           "completed_at": when if k == LEARNER0_FINISHED else None})
        progress += [{"user_id": plan.learners[i], "lesson_id": lesson_id, "completed_at": when}
                     for lesson_id in plan.lesson_ids[c][:n]]
    _insert(Enrolment, enrolments)
    _insert(LessonProgress, progress)


def _attempts(plan: _Plan) -> None:
    """A passed attempt at the quiz of every module whose lessons are done, some after a failed one, so
    that there are as many attempts as asked for (the last being learner 0's open one); and the module
    completions and CPD hours the passes earn."""
    from lms.assessment.models import Quiz, QuizAttempt
    from lms.assessment.services import _layout, quiz_for_module  # an attempt's layout is the app's own format
    from lms.certificates.models import CpdEntry, ModuleCompletion
    from lms.courses.models import Course, Module
    quizzes = {q.module_id: q for q in db.session.scalars(select(Quiz))}
    layouts = {q.id: _layout(quiz_for_module(db.session.get(Module, q.module_id)), random.Random(q.id))
               for q in quizzes.values()}
    modules = {m.id: (f"{c.title}: {m.title}", m.cpd_hours) for c in db.session.scalars(select(Course))
               for m in c.modules}
    passes = [(plan.learners[i], plan.module_ids[c][m], plan.when(k))
              for k, ((i, c), n) in enumerate(zip(plan.places, plan.done)) for m in range(n // plan.sizes.lessons)]
    wanted = plan.sizes.attempts - 1
    del passes[wanted:]
    failures: dict[tuple[int, int], int] = {}
    for j in range(max(0, wanted - len(passes)) if passes else 0):
        user_id, module_id, _ = passes[j % len(passes)]
        failures[user_id, module_id] = failures.get((user_id, module_id), 0) + 1
    rows = []
    for user_id, module_id, when in passes:
        quiz = quizzes[module_id]
        failed = failures.get((user_id, module_id), 0)
        for number in range(1, failed + 2):
            passed = number == failed + 1
            started = when - timedelta(minutes=20 * (failed + 1 - number) + 10)
            rows.append({"quiz_id": quiz.id, "user_id": user_id, "number": number, "seed": quiz.id,
                         "status": "submitted", "layout": layouts[quiz.id], "started_at": started,
                         "deadline_at": started + timedelta(minutes=quiz.time_limit_minutes)
                         if quiz.time_limit_minutes else None, "finished_at": started + timedelta(minutes=8),
                         "score": Decimal(3 if passed else 1), "max_score": Decimal(3),
                         "percent": Decimal("100" if passed else "33.33"), "passed": passed,
                         "needs_marking": False})
    open_quiz = quizzes[plan.module_ids[0][plan.done[LEARNER0_IN_PROGRESS] // plan.sizes.lessons]]
    rows.append({"quiz_id": open_quiz.id, "user_id": plan.learners[0], "number": 1, "seed": open_quiz.id,
                 "status": "in_progress", "layout": layouts[open_quiz.id], "started_at": plan.now,
                 "deadline_at": None, "finished_at": None, "score": None, "max_score": None, "percent": None,
                 "passed": None, "needs_marking": False})
    _insert(QuizAttempt, rows)
    _insert(ModuleCompletion, [{"user_id": u, "module_id": m, "completed_at": when} for u, m, when in passes])
    _insert(CpdEntry, [{"user_id": u, "source": "platform", "module_id": m, "title": modules[m][0][:300],
                        "activity_date": when.date(), "hours": modules[m][1], "category": "Course on this platform",
                        "learned": "", "apply": "", "created_at": when, "updated_at": when}
                       for u, m, when in passes if modules[m][1] > 0])


def _learner_zero(plan: _Plan) -> None:
    """Learner 0's certificate for the finished course, and outside activity in the CPD record."""
    from lms.accounts.models import User
    from lms.certificates.models import CpdEntry, CpdTarget
    from lms.certificates.services import issue_certificate
    from lms.courses.models import Course
    finished = plan.places[LEARNER0_FINISHED][1]
    issue_certificate(db.session.get(User, plan.learners[0]), db.session.get(Course, plan.course_ids[finished]),
                      completed_at=plan.now - timedelta(days=3))
    _insert(CpdEntry, [{"user_id": plan.learners[0], "source": "external", "module_id": None,
                        "title": f"Community cohesion workshop {n + 1}",
                        "activity_date": (plan.now - timedelta(days=40 * n)).date(), "hours": Decimal("2.5"),
                        "category": "Workshop, seminar or conference", "learned": "How to run a listening exercise.",
                        "apply": "At the next ward meeting.", "created_at": plan.now, "updated_at": plan.now}
                       for n in range(12)])
    db.session.add(CpdTarget(user_id=plan.learners[0], hours=Decimal("30")))


def _accreditation(plan: _Plan) -> None:
    """A university with a pathway over the level-7 courses; registrations (pending, approved, rejected)
    from learners on those courses; a credit record per approved registration and module; a partner."""
    from lms.accounts.models import Organisation, OrganisationMember
    from lms.accreditation.models import CreditAward, Pathway, PathwayModule, PathwayRegistration
    now, partner = plan.now, plan.staff[f"partner@{DOMAIN}"]
    university = Organisation(name="University of Castlebridge", kind="university")
    db.session.add(university)
    db.session.flush()
    db.session.add(OrganisationMember(organisation_id=university.id, user_id=partner))
    pathway = Pathway(slug="pgcert-cohesion", title="PGCert in Community Cohesion", award="PGCert",
                      university_id=university.id, credits_required=60, consent_text="I agree.")
    pathway.modules = [PathwayModule(course_id=plan.course_ids[c], code=f"CCI7{n:02d}", credits=20, level=7,
                                     position=n) for n, c in enumerate(plan.level7, start=1)]
    db.session.add(pathway)
    db.session.flush()
    candidates = sorted({i for i, c in plan.places if c in plan.level7})[:plan.sizes.registrations]
    statuses = ["pending"] * 4 + ["approved"] * 5 + ["rejected"]
    rows = []
    for n, i in enumerate(candidates):
        applied, status = now - timedelta(days=n % 90), statuses[n % len(statuses)]
        decided = status != "pending"
        rows.append({"reference": f"BN{plan.learners[i]:07d}", "pathway_id": pathway.id, "user_id": plan.learners[i],
                     "legal_name": f"Learner {i:04d} Bench", "date_of_birth": applied.date().replace(year=1980),
                     "prior_qualifications": "BA (Hons) Social Policy", "consent_text": "I agree.",
                     "consented_at": applied, "status": status, "reason": "", "identity_checked": status == "approved",
                     "decided_by_id": partner if decided else None, "decided_at": applied if decided else None,
                     "created_at": applied, "updated_at": applied})
    _insert(PathwayRegistration, rows)
    approved = db.session.scalars(select(PathwayRegistration.id).where(PathwayRegistration.status == "approved")).all()
    _insert(CreditAward, [{"registration_id": r, "pathway_module_id": m.id, "version": 1, "result": "passed",
                           "mark": 50 + r % 40, "credits": 20, "level": 7, "completed_at": now,
                           "identity_checked": True, "moderation": "pending", "status": "requested", "note": "",
                           "changed_by_id": None, "created_at": now} for r in approved for m in pathway.modules])


def _counts() -> dict[str, int]:
    from lms.accounts.models import User
    from lms.accreditation.models import CreditAward, PathwayRegistration
    from lms.assessment.models import Quiz, QuizAttempt
    from lms.certificates.models import ModuleCompletion
    from lms.courses.models import Course, Enrolment, Lesson, LessonProgress, Module
    return {name: db.session.scalar(select(func.count()).select_from(model)) for name, model in [
        ("users", User), ("courses", Course), ("modules", Module), ("lessons", Lesson), ("quizzes", Quiz),
        ("enrolments", Enrolment), ("lesson-progress rows", LessonProgress), ("quiz attempts", QuizAttempt),
        ("module completions", ModuleCompletion), ("registrations", PathwayRegistration),
        ("credit records", CreditAward)]}


def _seed(url: str, sizes: Sizes) -> DataSet:
    from lms.assessment.models import QuizAttempt
    from lms.database import utcnow
    if 1 + sizes.mixed + sizes.spike > sizes.learners:
        raise SystemExit(f"{sizes.learners} learners are too few for {sizes.mixed} mixed-load and "
                         f"{sizes.spike} spike learners")
    _load_courses(sizes)
    plan = _Plan(sizes=sizes, now=utcnow())
    _structure(plan)
    _accounts(plan)
    _progress(plan)
    _attempts(plan)
    _learner_zero(plan)
    _accreditation(plan)
    db.session.commit()
    open_attempt = db.session.scalar(select(QuizAttempt.id).where(QuizAttempt.user_id == plan.learners[0],
                                                                  QuizAttempt.status == "in_progress"))
    first, timed = plan.courses[0], plan.courses[plan.timed]
    return DataSet(database_url=url, sizes=sizes, courses=plan.courses, learner=learner_email(0),
                   trainer=f"trainer@{DOMAIN}", partner=f"partner@{DOMAIN}", report_course=first.slug,
                   learner_course=first.slug, lesson_path=first.lesson_paths[plan.done[LEARNER0_IN_PROGRESS]],
                   attempt_id=open_attempt, timed_course=timed.slug, timed_module=timed.module_slugs[-1],
                   counts=_counts())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="an emptied PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    data = seed(args.database_url)
    print(f"database: {data.database_url}")
    print(f"log in as {data.learner}, {data.trainer} or {data.partner} with {PASSWORD!r}")


if __name__ == "__main__":
    main()
