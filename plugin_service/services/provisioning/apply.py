"""Carrying out a change set in Moodle: batched, ordered, journaled and audited.

Each batch is written to the journal as ``sent`` before Moodle is called and marked ``done`` or
``failed`` when it answers, with one audit-log row per Moodle write. A run that is killed leaves
``sent`` entries whose outcome is unknown; the next run re-reads Moodle and finds every object by its
stable key, so nothing is created twice and nothing is skipped.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from moodle_bridge import DatabaseWriteError, MoodleClient, MoodleError
from moodle_bridge.areas.core_cohort import (
    CategoryType,
    CohortMember,
    CohortMembership,
    CohortUpdate,
    NewCohort,
)
from moodle_bridge.areas.core_course import CourseUpdate, NewCategory, NewCourse
from moodle_bridge.areas.core_user import NewUser, UserUpdate
from moodle_bridge.areas.enrol_manual import Enrolment
from rules.desired import DesiredState

from ...models import AuditLog, JournalEntry
from .changeset import ChangeSet, Op
from .moodle_state import ActualState, read_course_enrolments

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


class ApplyError(Exception):
    """A batch failed; earlier batches stay applied, the journal says which."""


@dataclass
class Ids:
    """Moodle ids of the year's objects, from the state read and from what this run created."""

    category: int | None
    users: dict[str, int]
    classes: dict[str, int]
    courses: dict[str, int]

    @classmethod
    def of(cls, actual: ActualState, desired: DesiredState) -> Ids:
        courses = {c.idnumber: (actual.courses.get(c.idnumber)
                                or actual.courses_by_shortname.get(c.shortname)) for c in desired.courses}
        return cls(category=actual.category.id if actual.category else None,
                   users={no: user.id for no, user in actual.users.items()},
                   classes={idn: cohort.id for idn, cohort in actual.classes.items()},
                   courses={idn: course.id for idn, course in courses.items() if course is not None})


@dataclass
class Applier:
    client: MoodleClient
    session: Session
    run_id: int
    actor: str
    desired: DesiredState
    actual: ActualState
    role_ids: dict[str, int]
    hours_field: str | None
    auth: str = "manual"
    progress: Progress | None = None
    done: int = 0
    total: int = 0
    retries: int = 0  # writes Moodle's database refused, re-read and sent again
    _entry_ids: dict[int, int] = field(default_factory=dict)  # op index -> journal row id

    def run(self, changes: ChangeSet) -> Ids:
        """Applies every operation in order; returns the Moodle ids of the year's objects."""
        ops = list(changes.ops)
        self.total = len(ops)
        self._journal(ops)
        ids = Ids.of(self.actual, self.desired)
        by_kind: dict[str, list[tuple[int, Op]]] = {}
        for index, op in enumerate(ops):
            by_kind.setdefault(op.kind, []).append((index, op))
        for kind, handler in self._handlers().items():
            batch = by_kind.get(kind)
            if batch:
                handler(batch, ids)
        return ids

    def _handlers(self) -> dict[str, Callable[[list[tuple[int, Op]], Ids], None]]:
        return {
            "create_category": self._create_category, "create_user": self._create_users,
            "update_user": self._update_users, "create_class": self._create_classes,
            "update_class": self._update_classes, "copy_course": self._copy_courses,
            "create_course": self._create_courses, "update_course": self._update_courses,
            "add_member": self._add_members, "enrol": self._enrol,
            "remove_member": self._remove_members, "suspend_enrolment": self._suspend,
        }

    # -- journal and audit ------------------------------------------------------------------

    def _journal(self, ops: Sequence[Op]) -> None:
        for start in range(0, len(ops), 5000):  # rows built per insert: 100,000 at once weigh ~100 MB
            rows = [{"run_id": self.run_id, "seq": index, "kind": op.kind, "target": op.target[:255],
                     "detail": op.data, "status": "planned"}
                    for index, op in enumerate(ops[start:start + 5000], start)]
            self.session.execute(insert(JournalEntry), rows)
        self.session.flush()
        for entry_id, seq in self.session.query(JournalEntry.id, JournalEntry.seq).filter_by(
                run_id=self.run_id):
            self._entry_ids[seq] = entry_id
        self.session.commit()

    def _mark(self, batch: Sequence[tuple[int, Op]], status: str, error: str | None = None, *,
              commit: bool = True) -> None:
        ids = [self._entry_ids[index] for index, _ in batch]
        for start in range(0, len(ids), 5000):
            # No journal entry is loaded in the session, so there is nothing to synchronise: without
            # this SQLAlchemy would scan every object of the session (the year's cadres) per update.
            self.session.execute(update(JournalEntry).where(JournalEntry.id.in_(ids[start:start + 5000]))
                                 .values(status=status, error=error)
                                 .execution_options(synchronize_session=False))
        if commit:
            self.session.commit()

    def _audit(self, wsfunction: str, targets: list[str], outcome: str, extra: dict[str, Any], *,
               commit: bool = True) -> None:
        self.session.add(AuditLog(actor=self.actor, action=f"moodle:{wsfunction}",
                                  target=(targets[0] if len(targets) == 1 else f"{len(targets)} items")[:255],
                                  outcome=outcome, run_id=self.run_id,
                                  detail={"targets": targets, **extra}))
        if commit:
            self.session.commit()

    def _chunks(self, batch: list[tuple[int, Op]], *, least: int = 50) -> list[list[tuple[int, Op]]]:
        """``batch`` cut into chunks of about ``batch_size`` operations, evenly, so that parallel chunks
        take as long as each other: a multiple of the pool's size of them when there are more than it
        has workers, else one per worker as long as each carries at least ``least`` operations.

        All the operations on one Moodle user go into one chunk, so chunks in flight at once never touch
        the same user. A real Moodle locks a user's rows (the access flags ``role_assign`` marks dirty)
        inside each call's transaction: two calls that enrol the same people into different courses
        lock them in opposite orders and deadlock, and Moodle rolls one of them back.
        """
        lanes = max(1, self.client.max_workers)
        count = -(-len(batch) // self.client.batch_size)
        if count > lanes:
            count = -(-count // lanes) * lanes
        else:
            count = max(count, min(lanes, len(batch) // max(1, least)))
        count = max(1, min(count, len(batch)))
        size, extra = divmod(len(batch), count)
        sizes = [size + (1 if number < extra else 0) for number in range(count)]
        chunks: list[list[tuple[int, Op]]] = [[]]
        for group in _by_user(batch):
            current = chunks[-1]
            target = sizes[min(len(chunks), count) - 1]
            # A user's operations stay together: the group goes where the chunk comes closer to its size.
            if current and (len(current) + len(group) > self.client.batch_size
                            or len(current) + len(group) - target > target - len(current)):
                chunks.append(current := [])
            current.extend(group)
        return chunks

    def _apply(self, chunks: list[list[tuple[int, Op]]], send: Send,
               after: Callable[[list[tuple[int, Op]], list[tuple[str, Any]]], None] | None = None) -> None:
        """Sends every chunk (``send(chunk, write)`` calls ``write(wsfunction, thunk)`` for each Moodle
        write it makes), keeping the client's pool busy: as soon as one chunk's calls end, the next starts.

        This thread alone writes the database. A chunk is journaled ``sent`` (committed) before it can
        start, and ``done`` or ``failed`` with one audit row per Moodle write once it ended; ``after``
        sees the answers of the writes that succeeded, failed chunk or not. After a failure no new chunk
        starts, those already started end, and ``ApplyError`` names the first failure; chunks queued but
        never started go back to ``planned``.
        """
        lanes = min(max(1, self.client.max_workers), len(chunks))
        if lanes <= 1:
            for chunk in chunks:
                self._mark(chunk, "sent")
                calls = _Calls()
                try:
                    send(chunk, calls)
                except MoodleError:
                    pass
                except BaseException as exc:
                    self._finish(chunk, calls, after, exc)
                    raise
                self._finish(chunk, calls, after)
                if calls.failed is not None:
                    self._fail([(chunk, calls.failed)])
            return
        todo: queue.SimpleQueue[tuple[int, list[tuple[int, Op]]] | None] = queue.SimpleQueue()
        answers: queue.SimpleQueue[tuple[int, _Calls | None, BaseException | None]] = queue.SimpleQueue()
        stopping = threading.Event()

        def lane(_: int) -> None:
            while (item := todo.get()) is not None:
                number, chunk = item
                if stopping.is_set():
                    answers.put((number, None, None))  # never started
                    continue
                calls = _Calls()
                crash: BaseException | None = None
                try:
                    send(chunk, calls)
                except MoodleError:
                    pass
                except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                    crash = exc
                answers.put((number, calls, crash))

        # Twice as many chunks as lanes are journaled and queued ahead, so a lane never waits for this
        # thread's database writes.
        queued = min(len(chunks), 2 * lanes)
        self._mark([item for chunk in chunks[:queued] for item in chunk], "sent")
        for number in range(queued):
            todo.put((number, chunks[number]))
        runner = threading.Thread(target=self.client.fan_out, args=(lane, range(lanes)),
                                  name="apply-lanes", daemon=True)
        runner.start()
        failures: list[tuple[list[tuple[int, Op]], tuple[str, MoodleError]]] = []
        crashed: BaseException | None = None
        received = 0
        try:
            while received < queued:
                number, answered, broke = answers.get()
                received += 1
                chunk = chunks[number]
                if answered is None:
                    self._mark(chunk, "planned")
                    continue
                self._finish(chunk, answered, after, broke, commit=False)
                if broke is not None:
                    crashed = crashed or broke
                    stopping.set()
                elif answered.failed is not None:
                    failures.append((chunk, answered.failed))
                    stopping.set()
                if not stopping.is_set() and queued < len(chunks):
                    self._mark(chunks[queued], "sent", commit=False)
                    self.session.commit()
                    todo.put((queued, chunks[queued]))
                    queued += 1
                else:
                    self.session.commit()
        finally:
            stopping.set()
            for _ in range(lanes):
                todo.put(None)
            runner.join()
        if crashed is not None:
            raise crashed
        if failures:
            self._fail(failures)

    def _finish(self, chunk: list[tuple[int, Op]], calls: _Calls,
                after: Callable[[list[tuple[int, Op]], list[tuple[str, Any]]], None] | None,
                crash: BaseException | None = None, *, commit: bool = True) -> None:
        """Journals and audits what one chunk's writes did."""
        targets = [op.target for _, op in chunk]
        for wsfunction, refusal in calls.refused:
            self._audit(wsfunction, targets, "refused",
                        {"error": str(refusal), "then": "re-read, sent again"}, commit=False)
            self.retries += 1
        for wsfunction, result in calls.answered:
            warnings = [getattr(w, "message", str(w)) for w in getattr(result, "warnings", ())]
            self._audit(wsfunction, targets, "ok", {"warnings": warnings} if warnings else {}, commit=False)
        if after is not None and calls.answered:
            after(chunk, calls.answered)
        if calls.failed is not None:
            wsfunction, error = calls.failed
            self._mark(chunk, "failed", str(error), commit=False)
            self._audit(wsfunction, targets, "failed", {"error": str(error)}, commit=False)
        elif crash is not None:
            self._mark(chunk, "failed", repr(crash), commit=False)
            if calls.pending is not None:  # it broke off a Moodle write: its outcome is unknown
                self._audit(calls.pending, targets, "unknown", {"error": repr(crash)}, commit=False)
        else:
            self._mark(chunk, "done", commit=False)
            self.done += len(chunk)
        if commit:
            self.session.commit()
        if self.progress and calls.failed is None and crash is None:
            self.progress(self.done, self.total, chunk[0][1].kind)

    @staticmethod
    def _fail(failures: list[tuple[list[tuple[int, Op]], tuple[str, MoodleError]]]) -> None:
        chunk, (wsfunction, error) = failures[0]
        targets = [op.target for _, op in chunk]
        raise ApplyError(f"{wsfunction} failed for {len(chunk)} operation(s) "
                         f"({targets[0]}{' ...' if len(targets) > 1 else ''})"
                         + (f" and {len(failures) - 1} more batch(es)" if len(failures) > 1 else "")
                         + f": {error}") from error

    # -- the operations, in the order they run -----------------------------------------------

    def _create_category(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        op = batch[0][1]

        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            category = NewCategory(name=op.data["name"], parent=0, idnumber=op.target)
            created = write("core_course_create_categories",
                            partial(self.client.core_course.create_categories, [category]))
            ids.category = created[0].id

        self._apply([batch], send)

    def _create_users(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            users = [NewUser(username=op.data["username"], firstname=op.data["firstname"],
                             lastname=op.data["lastname"], email=op.data["email"] or
                             f"{op.data['username']}@invalid.example", idnumber=op.target,
                             department=op.data["department"] or None, phone2=op.data["phone2"] or None,
                             auth=self.auth, createpassword=True if self.auth == "manual" else None)
                     for _, op in chunk]
            write("core_user_create_users", partial(self.client.core_user.create_users, users))

        def after(chunk: list[tuple[int, Op]], answers: list[tuple[str, Any]]) -> None:
            by_username = {user.username: user.id for user in answers[0][1]}
            for _, op in chunk:
                ids.users[op.target] = by_username[op.data["username"]]

        self._apply(self._chunks(batch), send, after)

    def _update_users(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            updates = [UserUpdate(id=ids.users[op.target], **op.data) for _, op in chunk]
            write("core_user_update_users", partial(self.client.core_user.update_users, updates))

        self._apply(self._chunks(batch), send)

    def _create_classes(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            cohorts = [NewCohort(name=op.data["name"], idnumber=op.target, category=CategoryType.system())
                       for _, op in chunk]
            write("core_cohort_create_cohorts", partial(self.client.core_cohort.create_cohorts, cohorts))

        def after(chunk: list[tuple[int, Op]], answers: list[tuple[str, Any]]) -> None:
            for cohort in answers[0][1]:
                ids.classes[cohort.idnumber] = cohort.id

        self._apply(self._chunks(batch, least=self.client.batch_size), send, after)

    def _update_classes(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            updates = [CohortUpdate(id=ids.classes[op.target], name=op.data["name"], idnumber=op.target)
                       for _, op in chunk]
            write("core_cohort_update_cohorts", partial(self.client.core_cohort.update_cohorts, updates))

        self._apply(self._chunks(batch, least=self.client.batch_size), send)

    def _course_fields(self, op: Op) -> dict[str, Any]:
        fields: dict[str, Any] = {"idnumber": op.target, "startdate": op.data["startdate"],
                                  "enddate": op.data["enddate"]}
        if self.hours_field:
            fields["customfields"] = {self.hours_field: f"{op.data['hours']:g}"}
        return fields

    def _copy_courses(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        """One template copy per call (Moodle's longest call, seconds each), the copies in parallel; each
        copy's idnumber and dates are set by a second call right after it, in the same lane."""
        assert ids.category is not None
        category = ids.category

        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            (_, op), = chunk
            template = self.actual.templates[op.data["template"]]
            assert template is not None  # checked before the first write
            copied = write("core_course_duplicate_course", partial(
                self.client.core_course.duplicate_course, template.id, op.data["fullname"],
                op.data["shortname"], category))
            # The copy has no idnumber yet (duplicate_course does not set one): until this call
            # lands, a later run finds the copy by its shortname and finishes it.
            course_update = [CourseUpdate(id=copied.id, **self._course_fields(op))]
            write("core_course_update_courses",
                  partial(self.client.core_course.update_courses, course_update))

        def after(chunk: list[tuple[int, Op]], answers: list[tuple[str, Any]]) -> None:
            ids.courses[chunk[0][1].target] = answers[0][1].id

        self._apply([[item] for item in batch], send, after)

    def _create_courses(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        assert ids.category is not None
        category = ids.category

        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            courses = [NewCourse(fullname=op.data["fullname"], shortname=op.data["shortname"],
                                 categoryid=category, enablecompletion=True, **self._course_fields(op))
                       for _, op in chunk]
            write("core_course_create_courses", partial(self.client.core_course.create_courses, courses))

        def after(chunk: list[tuple[int, Op]], answers: list[tuple[str, Any]]) -> None:
            by_shortname = {course.shortname: course.id for course in answers[0][1]}
            for _, op in chunk:
                ids.courses[op.target] = by_shortname[op.data["shortname"]]

        self._apply(self._chunks(batch, least=5), send, after)

    def _update_courses(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            updates = []
            for _, op in chunk:
                changes = {k: v for k, v in op.data.items() if k not in ("courseid", "hours")}
                if "hours" in op.data and self.hours_field:
                    changes["customfields"] = {self.hours_field: f"{op.data['hours']:g}"}
                updates.append(CourseUpdate(id=op.data["courseid"], **changes))
            write("core_course_update_courses", partial(self.client.core_course.update_courses, updates))

        self._apply(self._chunks(batch, least=10), send)

    def _add_members(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            for part in self.client.batches(chunk):
                members = [CohortMember(cohort=ids.classes[op.data["class"]],
                                        user=ids.users[op.data["employee_no"]]) for _, op in part]
                write("core_cohort_add_cohort_members",
                      partial(self.client.core_cohort.add_cohort_members, members),
                      partial(self._members_again, members, adding=True))

        self._apply(self._chunks(batch), send)

    def _remove_members(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            for part in self.client.batches(chunk):
                members = [CohortMember(cohort=ids.classes[op.data["class"]], user=op.data["userid"])
                           for _, op in part]
                write("core_cohort_delete_cohort_members",
                      partial(self.client.core_cohort.delete_cohort_members, [
                          CohortMembership(cohortid=int(m.cohort), userid=int(m.user)) for m in members]),
                      partial(self._members_again, members, adding=False))

        self._apply(self._chunks(batch), send)

    def _members_again(self, members: list[CohortMember], *, adding: bool) -> Thunk | None:
        """After a refused membership write: the classes' members as Moodle has them now, and the write
        of those still to add (or remove), if any."""
        current = {(entry.cohortid, userid) for entry in self.client.core_cohort.get_cohort_members(
            sorted({int(m.cohort) for m in members})) for userid in entry.userids}
        missing = [m for m in members if ((int(m.cohort), int(m.user)) in current) != adding]
        if not missing:
            return None
        if adding:
            return partial(self.client.core_cohort.add_cohort_members, missing)
        return partial(self.client.core_cohort.delete_cohort_members,
                       [CohortMembership(cohortid=int(m.cohort), userid=int(m.user)) for m in missing])

    def _enrolments(self, batch: list[tuple[int, Op]], ids: Ids, *, suspend: bool) -> None:
        # Moodle's per-enrolment work dominates: the calls go in parallel over the client's pool, each
        # chunk's users its own (see ``_chunks``).
        def send(chunk: list[tuple[int, Op]], write: Write) -> None:
            for part in self.client.batches(chunk):
                enrolments = [Enrolment(userid=ids.users[op.data["employee_no"]],
                                        courseid=ids.courses[op.data["course"]],
                                        roleid=self.role_ids[op.data["role"]], suspend=suspend)
                              for _, op in part]
                write("enrol_manual_enrol_users", partial(self.client.enrol_manual.enrol_users, enrolments),
                      partial(self._enrolments_again, enrolments))

        self._apply(self._chunks(batch), send)

    def _enrolments_again(self, enrolments: list[Enrolment]) -> Thunk | None:
        """After a refused enrolment write: the courses' enrolments as Moodle has them now, and the
        write of those not yet as wanted (enrolled with the role and active, or suspended), if any."""
        roles = {roleid: name for name, roleid in self.role_ids.items()}
        courses = sorted({e.courseid for e in enrolments})
        now = dict(self.client.fan_out(partial(read_course_enrolments, self.client), courses))

        def landed(enrolment: Enrolment) -> bool:
            found = now[enrolment.courseid].get(enrolment.userid)
            if found is None:
                return False
            if enrolment.suspend:
                return not found.active
            return found.active and roles.get(enrolment.roleid) in found.roles

        missing = [e for e in enrolments if not landed(e)]
        return partial(self.client.enrol_manual.enrol_users, missing) if missing else None

    def _enrol(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        self._enrolments(batch, ids, suspend=False)

    def _suspend(self, batch: list[tuple[int, Op]], ids: Ids) -> None:
        self._enrolments(batch, ids, suspend=True)


class _Calls:
    """The Moodle writes one chunk made, as ``send`` makes them: the answers, the calls Moodle's database
    refused and that were sent again after a re-read, and the call that failed."""

    def __init__(self) -> None:
        self.answered: list[tuple[str, Any]] = []
        self.refused: list[tuple[str, MoodleError]] = []
        self.failed: tuple[str, MoodleError] | None = None
        self.pending: str | None = None

    def __call__(self, wsfunction: str, thunk: Callable[[], Any],
                 again: Callable[[], Callable[[], Any] | None] | None = None) -> Any:
        """Makes one write. ``again`` re-reads Moodle after a refused write and gives the write of what
        is still missing (``None`` when everything is there): a ``dmlwriteexception`` is never answered by
        sending the same call blindly. Without ``again`` the refusal fails the chunk."""
        self.pending = wsfunction
        for attempt in range(WRITE_ATTEMPTS):
            try:
                result = thunk()
                break
            except DatabaseWriteError as exc:
                if again is None or attempt == WRITE_ATTEMPTS - 1:
                    self.failed = (wsfunction, exc)
                    raise
                self.refused.append((wsfunction, exc))
                time.sleep(REFUSED_PAUSE_S * 2 ** attempt * (1 + random.random()))
                try:
                    following = again()
                except MoodleError as reread:
                    self.failed = (wsfunction, reread)
                    raise
                if following is None:
                    result = None
                    break
                thunk = following
            except MoodleError as exc:
                self.failed = (wsfunction, exc)
                raise
        self.answered.append((wsfunction, result))
        self.pending = None
        return result


# A write refused by Moodle's database (a deadlock) is re-read and sent again at most this often in all,
# after a pause that doubles each time, with jitter so that two lanes do not meet again.
WRITE_ATTEMPTS = 4
REFUSED_PAUSE_S = 0.5


def _user_of(op: Op) -> str | None:
    """The Moodle user an operation writes to, if any."""
    if op.kind in ("create_user", "update_user"):
        return op.target
    if "employee_no" in op.data:
        return str(op.data["employee_no"])
    if "userid" in op.data:
        return f"#{op.data['userid']}"
    return None


def _by_user(batch: list[tuple[int, Op]]) -> list[list[tuple[int, Op]]]:
    """The operations grouped by the user they write to, in the order each user first appears;
    operations that write to no user stand alone."""
    groups: dict[str, list[tuple[int, Op]]] = {}
    alone: list[list[tuple[int, Op]]] = []
    order: list[list[tuple[int, Op]]] = []
    for item in batch:
        user = _user_of(item[1])
        if user is None:
            alone.append([item])
            order.append(alone[-1])
        elif user in groups:
            groups[user].append(item)
        else:
            groups[user] = [item]
            order.append(groups[user])
    return order


Thunk = Callable[[], Any]


class Write(Protocol):
    def __call__(self, wsfunction: str, thunk: Thunk,
                 again: Callable[[], Thunk | None] | None = None) -> Any: ...


Send = Callable[[list[tuple[int, Op]], Write], None]
