"""The year's hours in Moodle's gradebook, through LTI Assignment and Grade Services.

A launch from an activity that accepts grades carries the AGS endpoint with the activity's line item
(its gradebook column); the tool remembers it per platform, with its course (``context``) and resource
link, and remembers the cadre who launched. After each harvest, ``push_hours`` posts every cadre's year
hours there as a score: ``scoreGiven`` the total hours, ``scoreMaximum`` their target (Moodle scales it to
the column's maximum grade: with 100, the column reads as the percentage of the target), a comment with
the hours as people read them, ``activityProgress`` Completed once the target is met (InProgress while
hours accrue, Initialized before any), ``gradingProgress`` FullyGraded (the hours are final as of the
harvest), the Moodle user id and the time.

Who gets a score in a column: the cadres who launched the tool from it, and, where the column's course
is a course of a plan year, every cadre the plan enrols in it (their tier has it as required or
elective) whose Moodle account is known. Only scores that changed since the last one sent are posted
(``LtiScore`` keeps it). A score the platform refuses (the user cannot be graded in that course) is sent
again only when it changes; one that did not get through (network, the platform's error, no token) is
tried at the next run. The service token is asked for with a JWT client assertion signed by the tool's
key (PyLTI1p3's service connector). Every score sent is audited.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.service_connector import ServiceConnector
from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.plan_model import hours_text

from ...db import session_scope
from ...models import (
    AuditLog,
    Cadre,
    LearningRecordRow,
    LtiLineItem,
    LtiPlatform,
    LtiScore,
    Membership,
    YearCourse,
    utcnow,
)
from ..documents.document_values import plan_of
from ..read_models.dashboard import applied_years
from .identity import LEARNER, Identity
from .keys import signing_key
from .launches import ValidLaunch
from .platforms import is_connected, origin
from .toolconf import registration

AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
TIMEOUT = 20.0
log = logging.getLogger(__name__)


def remember(
    session: Session, launch: ValidLaunch, identity: Identity, *, now: dt.datetime | None = None
) -> LtiLineItem | None:
    """Keeps the launch's line item (where its AGS claim offers one the tool may score) and the learner
    who launched from it."""
    endpoint = launch.claims.get(AGS_CLAIM)
    if not isinstance(endpoint, dict):
        return None
    url, scopes = endpoint.get("lineitem"), endpoint.get("scope")
    if not isinstance(url, str) or not isinstance(scopes, list) or SCORE_SCOPE not in scopes:
        return None
    if origin(url) != origin(launch.issuer):
        log.warning("line item %s is not on the platform's site %s: ignored", url[:200], launch.issuer)
        return None
    now = now or utcnow()
    context = launch.claim("context") or {}
    link = launch.claim("resource_link") or {}
    item = session.scalars(
        select(LtiLineItem).where(LtiLineItem.platform_id == launch.platform_id, LtiLineItem.url == url)
    ).first()
    if item is None:
        item = LtiLineItem(platform_id=launch.platform_id, url=url[:1000], first_seen_at=now)
        session.add(item)
    item.deployment_id = launch.deployment_id
    item.context_id = str(context.get("id", ""))[:255] if isinstance(context, dict) else ""
    item.context_title = str(context.get("title", ""))[:255] if isinstance(context, dict) else ""
    item.resource_link_id = str(link.get("id", ""))[:255] if isinstance(link, dict) else ""
    item.scopes = [str(scope) for scope in scopes]
    item.last_launch_at = now
    session.flush()
    if identity.employee_no is not None and LEARNER in identity.roles:
        score = session.scalars(
            select(LtiScore).where(
                LtiScore.line_item_id == item.id, LtiScore.employee_no == identity.employee_no
            )
        ).first()
        if score is None:
            score = LtiScore(
                line_item_id=item.id, employee_no=identity.employee_no, moodle_userid=identity.moodle_userid
            )
            session.add(score)
        score.launched, score.moodle_userid = True, identity.moodle_userid
    return item


@dataclass(frozen=True)
class Wanted:
    """The score a cadre should show in a column."""

    employee_no: str
    moodle_userid: int
    given: float
    maximum: float
    progress: str
    comment: str


@dataclass
class PushResult:
    line_items: int = 0
    sent: int = 0
    unchanged: int = 0
    refused: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # one per line item that could not be served


def _progress(total: float, target: float) -> str:
    if target > 0 and total >= target:
        return "Completed"
    return "InProgress" if total > 0 else "Initialized"


def _year_course(session: Session, item: LtiLineItem) -> YearCourse | None:
    if not item.context_id.isdigit():
        return None
    return session.scalars(
        select(YearCourse)
        .where(YearCourse.moodle_courseid == int(item.context_id))
        .order_by(YearCourse.year.desc())
    ).first()


def _enrolled(session: Session, course: YearCourse) -> dict[str, int]:
    """The cadres the plan enrols in ``course`` whose Moodle account is known: employee no -> user id."""
    plan = plan_of(session, course.year)
    found = plan.course(course.key) if plan is not None else None
    if found is None:
        return {}
    tiers = sorted(set(found.required) | set(found.elective))
    rows = session.execute(
        select(Membership.employee_no, Cadre.moodle_userid)
        .join(Cadre, Cadre.employee_no == Membership.employee_no)
        .where(
            Membership.year == course.year,
            Membership.tier_key.in_(tiers),
            Membership.excluded.is_(None),
            Cadre.moodle_userid.is_not(None),
        )
    )
    return {employee_no: int(userid) for employee_no, userid in rows if userid is not None}


def wanted_scores(session: Session, item: LtiLineItem, year: int | None) -> tuple[int | None, list[Wanted]]:
    """The column's year (its course's, else ``year``, else the newest applied) and the scores due."""
    course = _year_course(session, item)
    years = applied_years(session)
    the_year = (
        course.year if course is not None else (year if year is not None else (years[0] if years else None))
    )
    if the_year is None:
        return None, []
    people = _enrolled(session, course) if course is not None else {}
    for score in session.scalars(
        select(LtiScore).where(LtiScore.line_item_id == item.id, LtiScore.launched.is_(True))
    ):
        people.setdefault(score.employee_no, score.moodle_userid)
    records = {
        row.employee_no: row
        for row in session.scalars(
            select(LearningRecordRow).where(
                LearningRecordRow.year == the_year, LearningRecordRow.employee_no.in_(sorted(people))
            )
        )
    }
    wanted = []
    for employee_no in sorted(people):
        record = records.get(employee_no)
        if record is None or record.target_hours <= 0:
            continue
        total, target = round(record.total_hours, 2), round(record.target_hours, 2)
        comment = f"{hours_text(total)} / {hours_text(target)} 学时 hours ({the_year})"
        wanted.append(
            Wanted(employee_no, people[employee_no], total, target, _progress(total, target), comment)
        )
    return the_year, wanted


class TokenRefused(Exception):
    """The platform gave the tool no gradebook token. Moodle answers so (an HTTP 404 or 400 with its
    error page) when it could not read the tool's key set: it fetches it itself, through its cURL
    security, which by default blocks private and loopback addresses and every port but 80 and 443."""

    def __init__(self, status: int) -> None:
        super().__init__(
            f"the platform refused the tool's gradebook token (HTTP {status}); Moodle must be able to read "
            "the tool's key set: if the companion runs on a private or loopback address or on a port "
            "other than 80 and 443, let it through in Site administration > General > Security > "
            "HTTP security ('cURL blocked hosts list', 'cURL allowed ports list')")
        self.status = status


class _Connector(ServiceConnector):
    """PyLTI1p3's service connector with the platform's access token kept for this run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tokens: dict[str, tuple[str, float]] = {}

    def _get_cached_access_token(self, scope_key: str) -> str | None:
        token, until = self._tokens.get(scope_key, ("", 0.0))
        return token if token and until > utcnow().timestamp() else None

    def _cache_access_token(self, scope_key: str, access_token: str, expires_in: float) -> None:
        self._tokens[scope_key] = (access_token, utcnow().timestamp() + max(float(expires_in or 0) - 30, 0))


class _TimeoutSession(requests.Session):
    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(method, url, *args, **kwargs)


def _unchanged(row: LtiScore | None, want: Wanted) -> bool:
    return (
        row is not None
        and row.status in ("sent", "refused")
        and row.score_given == want.given
        and row.score_maximum == want.maximum
        and row.activity_progress == want.progress
    )


def _post(service: AssignmentsGradesService, want: Wanted, now: dt.datetime) -> tuple[str, str | None]:
    grade = (
        Grade()
        .set_score_given(want.given)
        .set_score_maximum(want.maximum)
        .set_activity_progress(want.progress)
        .set_grading_progress("FullyGraded")
        .set_user_id(str(want.moodle_userid))
        .set_comment(want.comment)
        .set_timestamp(now.replace(tzinfo=dt.UTC).isoformat(timespec="milliseconds"))
    )
    try:
        service.put_grade(grade)
    except LtiServiceException as exc:
        status = exc.response.status_code
        kind = "refused" if 400 <= status < 500 and status not in (401, 408, 429) else "failed"
        return kind, f"HTTP {status}"
    except (LtiException, requests.RequestException) as exc:
        return "failed", type(exc).__name__
    return "sent", None


def _push_item(
    session: Session,
    item: LtiLineItem,
    connector: ServiceConnector,
    year: int | None,
    result: PushResult,
    now: dt.datetime,
) -> None:
    the_year, wanted = wanted_scores(session, item, year)
    if the_year is None:
        return
    if not wanted:
        return
    scopes: Any = list(item.scopes)
    try:
        connector.get_access_token(scopes)  # a token refused fails the column, not each score
    except LtiServiceException as exc:
        raise TokenRefused(exc.response.status_code) from exc
    service = AssignmentsGradesService(connector, {"scope": scopes, "lineitem": item.url})
    stored = {
        row.employee_no: row
        for row in session.scalars(select(LtiScore).where(LtiScore.line_item_id == item.id))
    }
    for want in wanted:
        row = stored.get(want.employee_no)
        if _unchanged(row, want):
            result.unchanged += 1
            continue
        outcome, error = _post(service, want, now)
        if row is None:
            row = LtiScore(
                line_item_id=item.id, employee_no=want.employee_no, moodle_userid=want.moodle_userid
            )
            session.add(row)
        row.moodle_userid, row.status, row.error = want.moodle_userid, outcome, error
        if outcome != "failed":  # what the platform now holds (or refused): not sent again unchanged
            row.score_given, row.score_maximum, row.activity_progress = (
                want.given,
                want.maximum,
                want.progress,
            )
            row.sent_at = now
        setattr(result, outcome, getattr(result, outcome) + 1)
        session.add(
            AuditLog(
                actor="lti",
                action="lti:score",
                target=f"{item.url} user {want.moodle_userid}",
                outcome="ok" if outcome == "sent" else "failed",
                detail={
                    "employee_no": want.employee_no,
                    "year": the_year,
                    "score": want.given,
                    "maximum": want.maximum,
                    "progress": want.progress,
                    **({"error": error} if error else {}),
                },
            )
        )
        session.commit()  # each score is recorded as soon as the platform answered


def _items(session: Session, moodle_url: str) -> Iterable[tuple[LtiPlatform, list[LtiLineItem]]]:
    for platform in session.scalars(select(LtiPlatform).order_by(LtiPlatform.id)):
        if not is_connected(platform.issuer, moodle_url):
            continue  # only the connected Moodle's user ids are the cadres'
        items = list(
            session.scalars(
                select(LtiLineItem).where(LtiLineItem.platform_id == platform.id).order_by(LtiLineItem.id)
            )
        )
        if items:
            yield platform, items


def push_hours(
    database_url: str,
    *,
    secret_key: str,
    moodle_url: str,
    year: int | None = None,
    http: requests.Session | None = None,
    now: dt.datetime | None = None,
) -> PushResult:
    """Posts the changed hours of every remembered line item of the connected Moodle."""
    now = now or utcnow()
    result = PushResult()
    http = http or _TimeoutSession()
    with session_scope(database_url) as session:  # committed before the platform reads the key set
        key = signing_key(session, secret_key)
    with session_scope(database_url) as session:
        for platform, items in list(_items(session, moodle_url)):
            connector = _Connector(registration(platform, key), http)
            for item in items:
                result.line_items += 1
                try:
                    _push_item(session, item, connector, year, result, now)
                except TokenRefused as exc:
                    session.rollback()
                    result.errors.append(f"{item.url}: {exc}")
                    log.warning("hours not posted to %s: %s", item.url, exc)
                except (LtiException, requests.RequestException) as exc:
                    session.rollback()
                    result.errors.append(f"{item.url}: {type(exc).__name__}")
                    log.warning("hours not posted to %s: %s", item.url, type(exc).__name__)
    return result
