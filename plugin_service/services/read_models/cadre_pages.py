"""Finding cadres and everything the console shows about one: the year's record course by course, why
they are in their tier and class (``rules.tiers.explain``), their history, certificates and archive.

A cadre outside the reader's scope is not found, exactly as one that does not exist: the answer never
tells which. Both read a fixed number of queries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from rules.hours import ReflectionCount
from rules.plan_model import Plan
from rules.roster import Cadre as RosterCadre
from rules.roster import Roster
from rules.study_time import describe
from rules.tiers import Explanation, explain

from ...models import (
    Cadre,
    Certificate,
    CourseProgress,
    DiscussionRecord,
    LearningRecordRow,
    Membership,
    ReflectionRecord,
    StatusChange,
)
from ..documents.document_values import plan_of
from ..documents.serials import display
from ..harvest.learning_records import StudyLine, grader_of, reflection_count_of, study_lines, study_total
from ..offline.claim_views import ClaimView, cadre_claims
from ..offline.training_views import CadreOffline, offline_of
from .reports import harvested_at, names
from .scope import EVERYTHING, Scope

PER_PAGE = 50


@dataclass(frozen=True)
class Found:
    employee_no: str
    name: str
    department: str
    position: str
    tier: str
    klass: str
    status: str | None  # the year's record status; None: no record
    total_hours: float | None
    target_hours: float | None


@dataclass(frozen=True)
class Search:
    rows: list[Found]
    total: int
    page: int
    pages: int


def search(session: Session, year: int | None, scope: Scope = EVERYTHING, *, text: str = "",
           department: str = "", page: int = 1, per_page: int = PER_PAGE) -> Search:
    """Cadres whose name contains ``text`` (Chinese as typed) or whose employee number starts with it,
    optionally in one department; with the year's tier, class and record."""
    plan = plan_of(session, year) if year is not None else None
    tiers, classes = names(plan)
    record = and_(LearningRecordRow.employee_no == Cadre.employee_no, LearningRecordRow.year == year)
    member = and_(Membership.employee_no == Cadre.employee_no, Membership.year == year)
    where = [scope.condition()]
    text = text.strip()
    if text:
        where.append(or_(Cadre.name.contains(text, autoescape=True),
                         func.lower(Cadre.employee_no).startswith(text.lower(), autoescape=True)))
    if department:
        where.append(Cadre.department == department)
    total = int(session.scalar(select(func.count()).select_from(Cadre).where(*where)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    # The page's cadres first, then their year: joining every cadre's year before the limit costs a
    # database a full join.
    chosen = (select(Cadre.employee_no).where(*where).order_by(Cadre.department, Cadre.employee_no)
              .limit(per_page).offset((page - 1) * per_page).subquery())
    rows = [Found(no, name, dept, position, tiers.get(tier or "", tier or ""),
                  classes.get(klass or "", klass or ""), status, total_hours, target)
            for no, name, dept, position, tier, klass, status, total_hours, target in session.execute(
                select(Cadre.employee_no, Cadre.name, Cadre.department, Cadre.position, Membership.tier_key,
                       Membership.class_key, LearningRecordRow.status, LearningRecordRow.total_hours,
                       LearningRecordRow.target_hours)
                .join(chosen, chosen.c.employee_no == Cadre.employee_no)
                .outerjoin(LearningRecordRow, record).outerjoin(Membership, member)
                .order_by(Cadre.department, Cadre.employee_no))]
    return Search(rows, total, page, pages)


@dataclass(frozen=True)
class CourseRow:
    key: str
    name: str
    kind: str  # required elective other
    hours: float
    state: str  # completed started not_started
    completed_on: dt.datetime | None
    completed_again_at: dt.datetime | None
    reset_seen_at: dt.datetime | None
    last_access_at: dt.datetime | None
    activities: str
    grade: float | None
    counted: bool  # its hours are in the record
    study: StudyLine | None = None  # study time from the course's SCORM courseware


@dataclass(frozen=True)
class ReflectionRow:
    course: str
    title: str
    due: dt.date | None
    min_chars: int
    status: str  # Moodle's, or "missing"
    chars: int
    grade: float | None
    grader: str
    graded_at: dt.datetime | None
    owed: bool


@dataclass(frozen=True)
class DiscussionRow:
    title: str
    opens: dt.date
    closes: dt.date
    posts_in_window: int
    posts_total: int
    points: float


@dataclass(frozen=True)
class CertificateRow:
    serial: str
    version: int
    lang: str
    status: str
    issued_on: str
    total_hours: float | None
    has_pdf: bool
    override_reason: str | None


@dataclass
class CadrePage:
    year: int | None
    employee_no: str
    name: str
    gender: str
    department: str
    department_type: str
    position: str
    rank: str
    status: str  # in post, on leave, departed (the roster's words)
    supervising_leader: str
    supervising_leader_name: str
    tier: str = ""
    klass: str = ""
    excluded: str | None = None
    record: LearningRecordRow | None = None
    courses: list[CourseRow] = field(default_factory=list)
    reflections: list[ReflectionRow] = field(default_factory=list)
    discussions: list[DiscussionRow] = field(default_factory=list)
    history: list[StatusChange] = field(default_factory=list)
    certificates: list[CertificateRow] = field(default_factory=list)
    explanation: Explanation | None = None
    years: list[int] = field(default_factory=list)
    harvested_at: dt.datetime | None = None
    timezone: str = "Asia/Shanghai"
    tier_names: dict[str, str] = field(default_factory=dict)
    reflection_count: ReflectionCount | None = None  # the record's owed reflections, counted as everywhere
    offline: CadreOffline | None = None  # the offline hours the record counts, with their sources
    claims: list[ClaimView] = field(default_factory=list)  # the year's claims of offline hours

    @property
    def study_seconds(self) -> float | None:
        """The year's study time in the courses whose courseware tracks it (None: none does)."""
        return study_total([c.study for c in self.courses if c.study is not None])

    @property
    def study_text(self) -> str:
        return describe(self.study_seconds)


def _roster_cadre(row: Cadre) -> RosterCadre:
    return RosterCadre(row.employee_no, row.name, row.gender, row.department, row.department_type,
                       row.position, row.rank, row.email, row.mobile, row.status, row.supervising_leader)


def cadre_page(session: Session, employee_no: str, year: int | None, scope: Scope = EVERYTHING
               ) -> CadrePage | None:
    """The cadre's page, or None when there is no such cadre or the scope does not include them."""
    cadre = session.get(Cadre, employee_no)
    if cadre is None or not scope.allows(cadre.department, cadre.employee_no):
        return None
    plan = plan_of(session, year) if year is not None else None
    tiers, classes = names(plan)
    wanted = [employee_no, cadre.supervising_leader]
    if plan is not None and plan.reviewers is not None and plan.reviewers.fallback:
        wanted.append(plan.reviewers.fallback)
    related = {c.employee_no: c for c in session.scalars(select(Cadre).where(Cadre.employee_no.in_(wanted)))}
    leader = related.get(cadre.supervising_leader)
    page = CadrePage(year, cadre.employee_no, cadre.name, cadre.gender, cadre.department,
                     cadre.department_type, cadre.position, cadre.rank, cadre.status,
                     cadre.supervising_leader, leader.name if leader else "")
    page.years = list(session.scalars(select(LearningRecordRow.year)
                                      .where(LearningRecordRow.employee_no == employee_no)
                                      .order_by(LearningRecordRow.year.desc())))
    if year is None:
        return page
    membership = session.scalar(select(Membership).where(Membership.year == year,
                                                         Membership.employee_no == employee_no))
    page.tier_names = tiers
    if membership is not None:
        page.tier = tiers.get(membership.tier_key or "", membership.tier_key or "")
        page.klass = classes.get(membership.class_key or "", membership.class_key or "")
        page.excluded = membership.excluded
    if plan is not None:
        page.timezone = plan.moodle.timezone
        roster = Roster(tuple(_roster_cadre(c) for c in related.values()), filename="stored roster")
        page.explanation = explain(plan, roster, employee_no)
    page.record = session.scalar(select(LearningRecordRow).where(
        LearningRecordRow.year == year, LearningRecordRow.employee_no == employee_no))
    _learning(session, page, plan, year, membership.tier_key if membership else None)
    page.offline = offline_of(page.record.detail) if page.record is not None else None
    page.claims = cadre_claims(session, employee_no, year)
    page.history = list(session.scalars(select(StatusChange).where(
        StatusChange.year == year, StatusChange.employee_no == employee_no).order_by(StatusChange.id)))
    page.certificates = [
        CertificateRow(display(c.serial), c.version, c.lang, c.status, str(c.data.get("issued_on", "")),
                       c.data.get("total_hours"), bool(c.pdf_sha256 and c.pdf_path), c.override_reason)
        for c in session.scalars(select(Certificate).where(Certificate.year == year,
                                                           Certificate.employee_no == employee_no)
                                 .order_by(Certificate.id.desc()))]
    page.harvested_at = harvested_at(session, year)
    return page


def _learning(session: Session, page: CadrePage, plan: Plan | None, year: int, tier: str | None) -> None:
    no = page.employee_no
    progress = {p.course_key: p for p in session.scalars(select(CourseProgress).where(
        CourseProgress.year == year, CourseProgress.employee_no == no))}
    reflections = {r.course_key: r for r in session.scalars(select(ReflectionRecord).where(
        ReflectionRecord.year == year, ReflectionRecord.employee_no == no))}
    discussions = {d.discussion_key: d for d in session.scalars(select(DiscussionRecord).where(
        DiscussionRecord.year == year, DiscussionRecord.employee_no == no))}
    if plan is None:
        return
    detail = page.record.detail if page.record is not None else {}
    if page.record is not None:
        page.reflection_count = reflection_count_of(plan, detail)
    counted = {c["course"] for c in detail.get("credits", [])}
    for course in plan.courses:
        kind = ("required" if tier in course.required else "elective" if tier in course.elective
                else "other")
        p = progress.get(course.key)
        if kind == "other" and p is None:
            continue
        state = ("completed" if p is not None and p.first_completed_at else
                 "started" if p is not None and (p.started_at or p.last_access_at) else "not_started")
        again = p.completed_at if p is not None and p.completed_at != p.first_completed_at else None
        page.courses.append(CourseRow(
            course.key, course.name, kind, course.hours, state, p.first_completed_at if p else None, again,
            p.reset_seen_at if p is not None and not p.completed_at else None,
            p.last_access_at if p else None,
            f"{p.activities_done}/{p.activities_total}" if p is not None and p.activities_total is not None
            else "", p.grade if p else None, course.key in counted))
        if course.reflection is not None and (kind == "required" or course.key in reflections):
            r = reflections.get(course.key)
            page.reflections.append(ReflectionRow(
                course.name, course.reflection.title, course.reflection.due, course.reflection.min_chars,
                r.status if r is not None else "missing", r.chars if r else 0, r.grade if r else None,
                grader_of(r.grader, r.grader_userid) if r else "", r.graded_at if r else None,
                kind == "required"))
    lines = {line.course: line for line in study_lines(
        session, year, no, [c.key for c in page.courses], {c.key: c.name for c in page.courses})}
    page.courses = [dataclasses.replace(c, study=lines.get(c.key)) for c in page.courses]
    points = dict((key, value) for key, value in detail.get("points", []))
    for d in plan.discussions:
        found = discussions.get(d.key)
        if (tier is None or tier not in d.tiers) and found is None:
            continue
        page.discussions.append(DiscussionRow(
            d.title, d.opens, d.closes, found.posts_in_window if found else 0,
            found.posts_total if found else 0, float(points.get(d.key, 0.0))))


def certificate_file(session: Session, employee_no: str, serial: str, scope: Scope = EVERYTHING
                     ) -> Certificate | None:
    """The cadre's certificate with ``serial`` (as displayed), if the scope shows the cadre."""
    cadre = session.get(Cadre, employee_no)
    if cadre is None or not scope.allows(cadre.department, employee_no):
        return None
    for cert in session.scalars(select(Certificate).where(Certificate.employee_no == employee_no)):
        if display(cert.serial) == serial:
            return cert
    return None
