"""Reading study time (学习时长) from the SCORM courseware of the year's courses.

Moodle keeps no time on task; SCORM packages report it per SCO and attempt (``rules.study_time`` says how
the times become one figure). Per course with packages, each cadre read costs one call per SCO and attempt
(``mod_scorm_get_scorm_sco_tracks``; attempt 0 answers the last attempt and says which it is, and that
nothing was tracked where the cadre never opened the package). A package of several SCOs asks the attempt
count first (``mod_scorm_get_scorm_attempt_count``), one call that spares the SCOs' calls for the many
cadres who never opened it; a package of one SCO, most courseware, needs no count. Cadres are read on the
client's pool, a chunk at a time, and their answers let go once written.

Incremental: a cadre is read again only when the harvest saw their course change since the last finished
harvest (the completion step rewrote their progress row: a new last access, a completion), when they were
never read, or when the course's packages changed; ``full`` reads everyone. A cadre with attempts already
read needs no attempt count, and only the attempts from the last one then seen on. Studying a package in
Moodle's player opens the course, which moves the last access; tracks sent from the mobile app do not (web
services leave course access alone), and are read by the next full harvest.

A package closed to learners still answers its tracks to the service user (``mod/scorm:viewreport``),
but refuses the attempt count (``expired``/``notopenyet``): its attempts are then found from the tracks.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from moodle_bridge import AccessDeniedError, MoodleClient, MoodleError, TransientError
from moodle_bridge.areas.mod_scorm import Scorm, ScoTracks
from rules.study_time import SESSION_TIME, TOTAL_TIME, Kept, ScoReading, study_time

from ...db import Base
from ...models import CourseProgress, StudyCourseware, StudyTime, utcnow
from .context import HarvestError, YearContext
from .progress_store import changed_pairs

log = logging.getLogger(__name__)

STUDY_TIMES = Base.metadata.tables[StudyTime.__tablename__]
#: Cadres read per round: their answers are written and let go before the next round.
CHUNK = 200
#: What the SCORM functions answer for a package outside its open dates.
CLOSED = {"expired", "notopenyet"}
#: The functions the step reads with; a site whose service lacks one keeps what is stored.
FUNCTIONS = ("mod_scorm_get_scorms_by_courses", "mod_scorm_get_scorm_scoes",
             "mod_scorm_get_scorm_attempt_count", "mod_scorm_get_scorm_sco_tracks")


@dataclass(frozen=True)
class Package:
    """A SCORM activity of a course and the SCOs learners open in it (the ones that hold tracks)."""

    id: int
    name: str
    version: str
    scoes: tuple[int, ...]
    #: Which upload of the package it is (Moodle's revision and the file's SHA-1): its SCOs change only
    #: with it. Empty where Moodle did not say.
    revision: str = ""

    def as_stored(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "version": self.version, "scoes": list(self.scoes),
                "revision": self.revision}


def _revision(scorm: Scorm) -> str:
    return f"{scorm.revision}:{scorm.sha1hash}" if scorm.revision is not None and scorm.sha1hash else ""


def read_courseware(client: MoodleClient, context: YearContext,
                    known: Mapping[int, Mapping[str, Any]] | None = None) -> dict[str, list[Package]]:
    """The year's courses' SCORM packages by course key (a course without any: an empty list); one call
    for the packages of every course, one per package for its SCOs (on the client's pool), but for the
    packages ``known`` (as stored, by id) holds at the same revision."""
    by_course: dict[int, str] = {courseid: key for key, courseid in context.courses.items()}
    found = client.mod_scorm.get_scorms_by_courses(sorted(by_course))
    refused = [w for w in found.warnings if w.item == "course"]
    if refused:
        keys = ", ".join(sorted(by_course.get(int(w.itemid or 0), str(w.itemid)) for w in refused))
        raise HarvestError(f"Moodle refused the SCORM packages of course(s) {keys}: {refused[0].message}")
    scorms = [scorm for scorm in found.scorms if scorm.course in by_course]
    stored = {scorm.id: tuple(int(sco) for sco in (known or {})[scorm.id]["scoes"]) for scorm in scorms
              if _revision(scorm) and (known or {}).get(scorm.id, {}).get("revision") == _revision(scorm)}
    unknown = [scorm for scorm in scorms if scorm.id not in stored]
    sco_lists = client.fan_out(lambda scorm: client.mod_scorm.get_scorm_scoes(scorm.id), unknown)
    for scorm, scoes in zip(unknown, sco_lists, strict=True):
        stored[scorm.id] = tuple(sco.id for sco in scoes.scoes if sco.launchable)
    packages: dict[str, list[Package]] = {key: [] for key in context.course_keys()}
    for scorm in scorms:
        packages.setdefault(by_course[scorm.course], []).append(
            Package(scorm.id, scorm.name, scorm.version or "", stored[scorm.id], _revision(scorm)))
    return packages


def stored_packages(session: Session, year: int) -> dict[int, dict[str, Any]]:
    """The packages the last harvests found in the year's courses, by id, as stored."""
    return {int(package["id"]): dict(package) for packages in session.scalars(
        select(StudyCourseware.packages).where(StudyCourseware.year == year)) for package in packages or []}


def _content(packages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A course's packages as far as study time depends on them (the revision aside: a package uploaded
    again with the same SCOs reads as before)."""
    return [{key: value for key, value in package.items() if key != "revision"} for package in packages]


def store_courseware(session: Session, year: int, course_key: str, packages: list[Package],
                     run_id: int) -> tuple[bool, bool]:
    """Keeps what the course's courseware is; returns whether it tracks time and whether its packages
    changed since the last harvest (every cadre is then read again). A course once tracked stays
    tracked: the time it counted is not lost when its package goes."""
    row = session.scalar(select(StudyCourseware).where(StudyCourseware.year == year,
                                                       StudyCourseware.course_key == course_key))
    stored = [p.as_stored() for p in packages]
    if row is None:
        row = StudyCourseware(year=year, course_key=course_key, tracked=bool(packages), packages=stored,
                              run_id=run_id)
        session.add(row)
        return row.tracked, bool(packages)
    changed = _content(list(row.packages or [])) != _content(stored)
    if changed:
        row.run_id = run_id
    if list(row.packages or []) != stored:
        row.packages = stored
    row.tracked = bool(row.tracked or packages)
    row.checked_at = utcnow()
    return row.tracked, changed


def cadres_to_read(session: Session, context: YearContext, course_key: str, *, everyone: bool,
                   since_run: int) -> list[str]:
    """The course's cadres (those the completion step found enrolled) to read: all of them, or those
    whose progress changed after run ``since_run`` or who were never read."""
    enrolled = {employee_no for employee_no in session.scalars(select(CourseProgress.employee_no).where(
        CourseProgress.year == context.year, CourseProgress.course_key == course_key))
        if employee_no in context.userid_of}
    if everyone:
        return sorted(enrolled)
    read = set(session.scalars(select(StudyTime.employee_no).where(
        StudyTime.year == context.year, StudyTime.course_key == course_key)))
    changed = {no for no, _course in changed_pairs(session, context.year, since_run, course_key)}
    return sorted(no for no in enrolled if no not in read or no in changed)


def _tracks(client: MoodleClient, scoid: int, userid: int, attempt: int) -> ScoTracks:
    return client.mod_scorm.get_scorm_sco_tracks(scoid, userid, attempt)


def _reading(package: Package, scoid: int, answer: ScoTracks) -> ScoReading | None:
    if not answer.attempted:
        return None
    return ScoReading(package.id, scoid, answer.attempt, answer.value(*TOTAL_TIME, "total_time"),
                      answer.value(*SESSION_TIME), answer.timemodified)


def _attempts(client: MoodleClient, package: Package, userid: int) -> int | None:
    """The cadre's attempts at a package, None where it is closed to learners (its tracks still answer
    and say the last attempt)."""
    try:
        return client.mod_scorm.get_scorm_attempt_count(package.id, userid).attemptscount
    except MoodleError as exc:
        if exc.errorcode not in CLOSED:
            raise
        return None


def _settled_from(known: Kept | None, package: Package) -> int | None:
    """The first attempt at ``package`` that may have changed since the last read of the cadre: the last
    attempt that read saw (attempts before it had ended); None where every attempt is to be read."""
    if known is None:
        return None
    seen = [int(key.rsplit(":", 1)[1]) for key in known if key.startswith(f"{package.id}:")]
    return max(seen) if seen else None


def read_cadre(client: MoodleClient, packages: list[Package], userid: int,
               known: Kept | None = None) -> list[ScoReading]:
    """Every SCO of every attempt the cadre made in the course's packages, as Moodle shows them now;
    with ``known`` (what earlier harvests kept of the cadre), only the attempts that can have changed
    since: the last one seen then and those after it. An attempt before the last one seen had ended
    (the player resumes only the last attempt); the weekly full harvest reads every attempt again."""
    readings: list[ScoReading] = []
    for package in packages:
        if not package.scoes:
            continue
        since = _settled_from(known, package)
        if since is None and len(package.scoes) > 1 and _attempts(client, package, userid) == 0:
            continue
        last = 0
        for scoid in package.scoes:
            answer = _tracks(client, scoid, userid, 0)
            last = max(last, answer.attempt)
            found = _reading(package, scoid, answer)
            if found is not None:
                readings.append(found)
        first = since if since is not None and since <= last else 1  # fewer attempts now: a reset
        for attempt in range(first, last):
            for scoid in package.scoes:
                found = _reading(package, scoid, _tracks(client, scoid, userid, attempt))
                if found is not None:
                    readings.append(found)
    return readings


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _moment(timestamp: int) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(tzinfo=None) if timestamp else None


def harvest_study_time(client: MoodleClient, session: Session, context: YearContext, course_key: str,
                       packages: list[Package], cadres: list[str], run_id: int, *,
                       every_attempt: bool) -> tuple[int, int]:
    """Reads the cadres' study time in one course and writes what changed; returns (cadres read,
    rows changed). ``every_attempt``: read each attempt again (a full harvest, changed packages), not
    only those that can have changed since a cadre was last read."""
    changes = 0
    for chunk in _chunks(cadres, CHUNK):
        stored = {row.employee_no: row for row in session.execute(
            select(StudyTime.employee_no, StudyTime.id, StudyTime.seconds, StudyTime.attempts,
                   StudyTime.last_tracked_at, StudyTime.kept, StudyTime.problems).where(
                StudyTime.year == context.year, StudyTime.course_key == course_key,
                StudyTime.employee_no.in_(chunk)))}
        asks = [(context.userid_of[no], None if every_attempt or no not in stored
                 else dict(stored[no].kept or {})) for no in chunk]
        try:
            answers = client.fan_out(lambda ask: read_cadre(client, packages, *ask), asks)
        except AccessDeniedError as exc:
            raise HarvestError(f"course {course_key}: the SCORM tracks could not be read ({exc}); the "
                               "service user needs mod/scorm:viewreport in the course: run `cadre doctor`"
                               ) from exc
        except TransientError:
            raise  # the site failed for a moment: the run stops here and the next one resumes
        except MoodleError as exc:
            raise HarvestError(f"course {course_key}: the SCORM tracks could not be read ({exc})") from exc
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        now = utcnow()
        for employee_no, readings in zip(chunk, answers, strict=True):
            before = stored.get(employee_no)
            earlier = before.kept if before is not None else {}
            kept = {key: (int(pair[0]), int(pair[1])) for key, pair in earlier.items()}
            figure = study_time(readings, kept)
            problems = "\n".join(figure.problems) or None
            if problems:
                log.warning("study time of %s in %s: %s", employee_no, course_key, problems)
            last = _moment(figure.last_tracked)
            if before is not None and before.last_tracked_at is not None and (
                    last is None or last < before.last_tracked_at):
                last = before.last_tracked_at
            values = {"seconds": figure.seconds, "attempts": figure.attempts, "last_tracked_at": last,
                      "kept": {key: list(pair) for key, pair in sorted(figure.kept.items())},
                      "problems": problems}
            if before is None:
                inserts.append({"year": context.year, "employee_no": employee_no, "course_key": course_key,
                                **values, "updated_at": now, "run_id": run_id})
            elif (before.seconds, before.attempts, before.last_tracked_at, before.kept, before.problems) != (
                    values["seconds"], values["attempts"], values["last_tracked_at"], values["kept"],
                    values["problems"]):
                updates.append({"id": before.id, **values, "updated_at": now, "run_id": run_id})
        if inserts:
            session.execute(insert(STUDY_TIMES), inserts)
        if updates:
            session.execute(update(StudyTime), updates)
        changes += len(inserts) + len(updates)
    return len(cadres), changes
