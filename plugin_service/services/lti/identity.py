"""Who a launch's user is in the companion's own records, and what the companion lets them see.

The platform must be the connected Moodle site: only its user ids are the ones provisioning made. The
user is matched to a cadre by what Moodle sends:

1. ``sub``, Moodle's user id, against the id provisioning remembered for the cadre (``moodle_userid``);
2. the username (the ``ext`` claim's ``user_username``, sent when the tool may know names): provisioning
   makes it from the employee number, in lower case, behind the namespace;
3. the idnumber (the ``lis`` claim's ``person_sourcedid``): the employee number behind the namespace.

Every signal the launch carries must name the same cadre, and a cadre whose Moodle user id is known
must be that very user: a launch whose ids name different people, or a second account carrying a
cadre's username or idnumber, is refused rather than guessed at.

Roles come from the companion, never from the course role Moodle sends: ``learner`` when a plan year
placed the cadre in a tier, ``reviewer`` when a year's plan has them review some cadres (as the console
decides, ``read_models.scope``), ``officer`` when an active console user of role officer has their
employee number as user name (``cadre user add T30001 --role officer --department ...``): the console
keeps no employee number for officers, and a name chosen freely would tie the console to whichever
Moodle account happens to carry it (a self-registered one, say). The employee number is the matched
cadre's; for an officer who is no cadre, the Moodle account's idnumber (which a user cannot set
themselves) with the username, where Moodle sends it, agreeing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import Cadre, ConsoleUser, Membership
from ..read_models.dashboard import applied_years
from ..read_models.scope import reviewers_of_year
from .launches import ValidLaunch
from .platforms import is_connected
from .rejections import LaunchRejected

LEARNER, REVIEWER, OFFICER = "learner", "reviewer", "officer"


@dataclass(frozen=True)
class Identity:
    moodle_userid: int
    employee_no: str | None  # the cadre; None for an officer who is no cadre
    name: str
    roles: tuple[str, ...]
    departments: tuple[str, ...] = ()


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _behind(namespace: str, value: str, *, fold: bool) -> str | None:
    """``value`` without the namespace (None when it lacks it)."""
    if fold:
        value, namespace = value.lower(), namespace.lower()
    if namespace and not value.startswith(namespace):
        return None
    return value[len(namespace) :] or None


def _cadre_by_username(session: Session, username: str) -> Cadre | None:
    """The cadre whose Moodle username (``rules.desired.username``) is ``username``."""
    found = list(session.scalars(select(Cadre).where(func.lower(func.trim(Cadre.employee_no)) == username)))
    return found[0] if len(found) == 1 else None


def _match(session: Session, userid: int, username: str | None, idnumber: str | None) -> Cadre | None:
    by_id = list(session.scalars(select(Cadre).where(Cadre.moodle_userid == userid)))
    if len(by_id) > 1:
        raise LaunchRejected("identity_conflict", f"Moodle user {userid} is remembered for several cadres")
    candidates: dict[str, Cadre] = {row.employee_no: row for row in by_id}
    if username:
        row = _cadre_by_username(session, username)
        if row is not None:
            candidates[row.employee_no] = row
    if idnumber:
        row = session.get(Cadre, idnumber)
        if row is not None:
            candidates[row.employee_no] = row
    if len(candidates) > 1:
        raise LaunchRejected("identity_conflict", f"Moodle user {userid}'s ids name {sorted(candidates)}")
    if not candidates:
        return None
    cadre = next(iter(candidates.values()))
    if cadre.moodle_userid is not None and cadre.moodle_userid != userid:
        raise LaunchRejected(
            "identity_conflict",
            f"cadre {cadre.employee_no} is Moodle user {cadre.moodle_userid}, not {userid}",
        )
    if username and cadre.employee_no.strip().lower() != username:
        raise LaunchRejected("identity_conflict", f"Moodle user {userid}'s username names someone else")
    if idnumber and cadre.employee_no != idnumber:
        raise LaunchRejected("identity_conflict", f"Moodle user {userid}'s idnumber names someone else")
    return cadre


def _learner(session: Session, employee_no: str) -> bool:
    return (
        session.scalar(
            select(Membership.id)
            .where(
                Membership.employee_no == employee_no,
                Membership.tier_key.is_not(None),
                Membership.excluded.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def _reviewer(session: Session, employee_no: str) -> bool:
    return any(reviewers_of_year(session, year).get(employee_no) for year in applied_years(session))


def _officer(session: Session, employee_no: str) -> ConsoleUser | None:
    """The active officer whose console user name is ``employee_no`` (in any case)."""
    return session.scalars(
        select(ConsoleUser)
        .where(
            func.lower(ConsoleUser.username) == employee_no.lower(),
            ConsoleUser.role == OFFICER,
            ConsoleUser.disabled.is_(False),
        )
        .order_by(ConsoleUser.id)
        .limit(1)
    ).first()


def identify(session: Session, launch: ValidLaunch, *, moodle_url: str, namespace: str) -> Identity:
    """The launch's user as the companion knows them (no roles: nobody it knows, whose pages say whom to
    ask); ``LaunchRejected`` when the platform is not the connected Moodle or the launch's ids disagree."""
    if not is_connected(launch.issuer, moodle_url):
        raise LaunchRejected(
            "not_connected", f"launch from {launch.issuer[:200]!r}, not the connected Moodle"
        )
    sub = _text(launch.claims.get("sub"))
    if not sub.isdigit():
        raise LaunchRejected("unknown_user", "sub is not a Moodle user id")
    userid = int(sub)
    ext = launch.claim("ext") or {}
    lis = launch.claim("lis") or {}
    raw_username = _text(ext.get("user_username")) if isinstance(ext, dict) else ""
    raw_idnumber = _text(lis.get("person_sourcedid")) if isinstance(lis, dict) else ""
    username = _behind(namespace, raw_username, fold=True) if raw_username else None
    idnumber = _behind(namespace, raw_idnumber, fold=False) if raw_idnumber else None
    cadre = _match(session, userid, username, idnumber)
    roles: list[str] = []
    employee_no = cadre.employee_no if cadre is not None else None
    if cadre is not None:
        if _learner(session, cadre.employee_no):
            roles.append(LEARNER)
        if _reviewer(session, cadre.employee_no):
            roles.append(REVIEWER)
        linked = cadre.employee_no
    else:
        agrees = idnumber is not None and (username is None or username == idnumber.lower())
        linked = idnumber if agrees and idnumber else ""
    officer = _officer(session, linked) if linked else None
    departments: tuple[str, ...] = ()
    if officer is not None:
        roles.append(OFFICER)
        departments = tuple(officer.departments or ())
    name = cadre.name if cadre is not None else (_text(launch.claims.get("name")) or linked or f"#{userid}")
    return Identity(userid, employee_no, name, tuple(roles), departments)


def locale_of(launch: ValidLaunch) -> str:
    """``en`` for an English launch locale (en, en-US, en_AU, ...), ``zh`` otherwise."""
    presentation = launch.claim("launch_presentation") or {}
    value = _text(presentation.get("locale") if isinstance(presentation, dict) else None)
    return "en" if value.lower().startswith("en") else "zh"
