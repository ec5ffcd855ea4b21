"""A learner's personal centre (个人中心) inside Moodle: their year as the console's cadre page reads it
(``read_models.cadre_pages``, limited to the learner alone), with what the console does not need: a link
into each Moodle course, the record's reasons as sentences to translate, the next steps, every year's
certificates with their verification link, and the earlier years summarised.

Everything is read for one employee number, the one the page token names: nothing here takes another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.hours import learning_record
from rules.plan_model import Plan

from ...config import Settings
from ...models import Cadre, Certificate, LearningRecordRow, Membership, YearCourse
from ..documents.certificates import verify_url
from ..documents.document_values import local_today, plan_of
from ..documents.serials import display
from ..harvest.context import YearContext
from ..harvest.records import facts_of
from ..read_models.cadre_pages import CadrePage, CourseRow, cadre_page
from ..read_models.dashboard import applied_years
from ..read_models.reports import names
from ..read_models.scope import Scope
from .moodle_links import course_url
from .next_steps import Step, next_steps


@dataclass(frozen=True)
class CourseItem:
    row: CourseRow
    url: str | None  # the course's page in Moodle
    here: bool  # the course the tool was opened from


@dataclass(frozen=True)
class CertificateItem:
    serial: str  # as printed
    year: int
    version: int
    lang: str
    status: str  # valid superseded revoked
    issued_on: str
    total_hours: float | None
    downloadable: bool  # valid, with its PDF written
    verify_url: str


@dataclass(frozen=True)
class EarlierYear:
    year: int
    tier: str
    status: str
    total_hours: float
    target_hours: float
    required_hours: float
    elective_hours: float
    discussion_points: float
    status_since: str


@dataclass
class LearnerPage:
    employee_no: str
    name: str
    department: str
    year: int | None  # the year shown in full
    years: list[int]  # the learner's years, newest first
    cadre: CadrePage | None = None
    reasons: tuple[str, ...] = ()  # why the status reads as it does (``rules.wording.Sentence`` each)
    steps: list[Step] = field(default_factory=list)
    required: list[CourseItem] = field(default_factory=list)
    electives: list[CourseItem] = field(default_factory=list)
    others: list[CourseItem] = field(default_factory=list)  # completed courses outside the tier's lists
    certificates: list[CertificateItem] = field(default_factory=list)  # every year, newest first
    earlier: list[EarlierYear] = field(default_factory=list)
    organisation: str = ""
    period: tuple[dt.date, dt.date] | None = None
    expected_hours: float | None = None  # what the plan's pace asks by the day the record was computed
    course_links: dict[str, str | None] = field(default_factory=dict)
    claims_open: bool = False  # the plan counts offline hours for the learner's tier: they may claim some


def learner_years(session: Session, employee_no: str) -> list[int]:
    """The applied years the cadre is in (a membership or a record), newest first."""
    applied = set(applied_years(session))
    own = set(session.scalars(select(Membership.year).where(Membership.employee_no == employee_no)))
    own |= set(session.scalars(select(LearningRecordRow.year)
                               .where(LearningRecordRow.employee_no == employee_no)))
    return sorted(own & applied, reverse=True)


def learner_page(session: Session, settings: Settings, employee_no: str, *, year: int | None = None,
                 launched_from: int | None = None) -> LearnerPage | None:
    """The learner's page for ``year`` (default: their newest), or None when no cadre has the number.

    ``settings`` are the effective ones: the Moodle URL the course links go to and the public URL the
    verification links go to. ``launched_from`` is the Moodle course the tool was opened from."""
    cadre = session.get(Cadre, employee_no)
    if cadre is None:
        return None
    years = learner_years(session, employee_no)
    chosen = year if year in years else (years[0] if years else None)
    found = LearnerPage(employee_no, cadre.name, cadre.department, chosen, years)
    found.certificates = _certificates(session, settings, employee_no)
    found.earlier = _earlier(session, employee_no, chosen)
    if chosen is None:
        return found
    found.cadre = cadre_page(session, employee_no, chosen, Scope(employee_nos=frozenset({employee_no})))
    plan = plan_of(session, chosen)
    if found.cadre is None or plan is None:
        return found
    found.organisation, found.period = plan.organisation, (plan.period.start, plan.period.end)
    tier_key = session.scalar(select(Membership.tier_key).where(Membership.year == chosen,
                                                                Membership.employee_no == employee_no))
    tier = plan.tier(tier_key) if tier_key else None
    found.claims_open = tier is not None and tier.hours.offline_max is not None
    moodle_ids = {key: courseid for key, courseid in session.execute(
        select(YearCourse.key, YearCourse.moodle_courseid).where(YearCourse.year == chosen))}
    found.course_links = {key: course_url(settings.moodle_url, courseid)
                          for key, courseid in moodle_ids.items()}
    for row in found.cadre.courses:
        item = CourseItem(row, found.course_links.get(row.key),
                          launched_from is not None and moodle_ids.get(row.key) == launched_from)
        {"required": found.required, "elective": found.electives}.get(row.kind, found.others).append(item)
    record = found.cadre.record
    if record is not None:
        detail = record.detail
        found.expected_hours = detail.get("expected_hours")
        found.reasons = _reasons(session, plan, record)
        found.steps = next_steps(plan, detail, found.cadre.courses, found.course_links, local_today(plan))
    return found


def _reasons(session: Session, plan: Plan, record: LearningRecordRow) -> tuple[str, ...]:
    """The record's reasons as sentences to translate.

    The record keeps them as English text; they are made again by the rules from the same harvested facts
    and day, and used when they read exactly as stored (facts changed by a harvest still under way would
    not): otherwise the stored text is shown as it is."""
    stored = tuple(str(reason) for reason in record.detail.get("reasons", []))
    membership = session.scalar(select(Membership).where(Membership.year == record.year,
                                                         Membership.employee_no == record.employee_no))
    if membership is None or not record.computed_for:
        return stored
    context = YearContext(plan, 0, "", {}, {}, {}, {}, {}, {record.employee_no: membership}, {})
    facts = facts_of(session, context, {record.employee_no}).get(record.employee_no)
    if facts is None:
        return stored
    again = learning_record(plan, facts, dt.date.fromisoformat(record.computed_for)).reasons
    return tuple(again) if tuple(str(reason) for reason in again) == stored else stored


def _certificates(session: Session, settings: Settings, employee_no: str) -> list[CertificateItem]:
    return [CertificateItem(display(c.serial), c.year, c.version, c.lang, c.status,
                            str(c.data.get("issued_on", "")), c.data.get("total_hours"),
                            c.status == "valid" and bool(c.pdf_sha256 and c.pdf_path),
                            verify_url(settings, display(c.serial)))
            for c in session.scalars(select(Certificate).where(Certificate.employee_no == employee_no)
                                     .order_by(Certificate.year.desc(), Certificate.id.desc()))]


def _earlier(session: Session, employee_no: str, shown: int | None) -> list[EarlierYear]:
    earlier = []
    for row in session.scalars(select(LearningRecordRow).where(LearningRecordRow.employee_no == employee_no,
                                                               LearningRecordRow.year != (shown or 0))
                               .order_by(LearningRecordRow.year.desc())):
        tiers, _classes = names(plan_of(session, row.year))
        earlier.append(EarlierYear(row.year, tiers.get(row.tier_key or "", row.tier_key or ""), row.status,
                                   row.total_hours, row.target_hours, row.required_hours, row.elective_hours,
                                   row.discussion_points, row.status_since))
    return earlier
