"""Write-lock conflicts: concurrent writes that touch the same users deadlock on a real Moodle.

On a real site (5.1 and 4.5 alike, PostgreSQL) two ``enrol_manual_enrol_users`` calls in flight that enrol
the same people into different courses deadlock: each call runs in one transaction, and ``role_assign`` ->
``mark_user_dirty`` updates ``mdl_cache_flags`` per user inside it. PostgreSQL aborts one of the two and
Moodle answers it ``dml_write_exception`` / ``dmlwriteexception`` "Error writing to database" (with
debugging on, ``debuginfo`` starts ``ERROR:  deadlock detected``); that call's whole transaction is rolled
back, so it wrote nothing. The other call succeeds.

With contention on (``FakeMoodleApp(contention=True)``, the ``moodle`` latency profile,
``python -m moodle_bridge.fake --contention``), the fake does the same: a write call holds the users it
touches (``LOCKING``) from when a worker takes it, through its simulated latency, until it has answered.
A write call that arrives while another holds any of its users loses, whatever the order of the users: it
still spends its own latency, then answers ``dmlwriteexception`` without running (nothing written). The
later-arriving call always loses, so a test can make a conflict happen on purpose; PostgreSQL picks
either. A call that loses holds nothing; it meets its deadlock only once it has passed Moodle's checks
(token, service, parameters), and it still counts as a call in the site's statistics (it cost Moodle its
time). ``Contention.deadlocks`` counts the calls answered ``dmlwriteexception`` so.

What holds which users: enrolments and unenrolments (``userid``), cohort members added (``usertype``,
resolved to the user) or deleted (``userid``), roles assigned or unassigned, group members added or
deleted, users updated (``id``) or deleted (``userids``). Messages hold nothing (``touserid`` inserts rows,
it updates nobody's), nor do reads.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .php import php_array
from .site import FakeSite
from .wserror import WSError

Locks = Callable[[FakeSite, dict[str, Any]], set[int]]


def _items(raw: dict[str, Any], key: str) -> list[Any]:
    """A list parameter as the form decoded it (a dict keyed "0", "1"...) or as a list."""
    value = raw.get(key)
    if isinstance(value, dict):
        return [value[index] for index in sorted(value, key=lambda k: int(k) if k.isdigit() else 0)]
    return list(value) if isinstance(value, list) else []


def _ids(values: list[Any]) -> set[int]:
    found = set()
    for value in values:
        try:
            found.add(int(value))
        except (TypeError, ValueError):
            continue  # the call will fail validation; it holds no lock for it
    return found


def _field(key: str, name: str) -> Locks:
    """The users named by ``name`` in each item of the list parameter ``key``."""
    def locks(site: FakeSite, raw: dict[str, Any]) -> set[int]:
        return _ids([item.get(name) for item in _items(raw, key) if isinstance(item, dict)])
    return locks


def _values(key: str) -> Locks:
    """The users a list parameter ``key`` holds the ids of."""
    def locks(site: FakeSite, raw: dict[str, Any]) -> set[int]:
        return _ids(_items(raw, key))
    return locks


def _cohort_members(site: FakeSite, raw: dict[str, Any]) -> set[int]:
    """``core_cohort_add_cohort_members`` names users by id, username or idnumber (``usertype``)."""
    found: set[int] = set()
    for item in _items(raw, "members"):
        usertype = item.get("usertype") if isinstance(item, dict) else None
        if not isinstance(usertype, dict) or usertype.get("type") not in ("id", "username", "idnumber"):
            continue
        if usertype["type"] == "id":
            found |= _ids([usertype.get("value")])
            continue
        with site.lock:
            user = site.db["user"].first(**{str(usertype["type"]): usertype.get("value")})
        if user is not None:
            found.add(int(user["id"]))
    return found


LOCKING: dict[str, Locks] = {
    "enrol_manual_enrol_users": _field("enrolments", "userid"),
    "enrol_manual_unenrol_users": _field("enrolments", "userid"),
    "core_cohort_add_cohort_members": _cohort_members,
    "core_cohort_delete_cohort_members": _field("members", "userid"),
    "core_role_assign_roles": _field("assignments", "userid"),
    "core_role_unassign_roles": _field("unassignments", "userid"),
    "core_group_add_group_members": _field("members", "userid"),
    "core_group_delete_group_members": _field("members", "userid"),
    "core_user_update_users": _field("users", "id"),
    "core_user_delete_users": _values("userids"),
}


def deadlock(userid: int, now: int) -> WSError:
    """What Moodle answers the call PostgreSQL aborted (``debuginfo`` shows only while the site debugs)."""
    params = php_array(enumerate(["accesslib/dirtyusers", str(userid), 1, now + 7200, now]))
    return WSError(
        "dml_write_exception", "dmlwriteexception", "Error writing to database",
        "ERROR:  deadlock detected\n"
        "DETAIL:  Process 52114 waits for ShareLock on transaction 918273; blocked by process 52113.\n"
        "Process 52113 waits for ShareLock on transaction 918274; blocked by process 52114.\n"
        "HINT:  See server log for query details.\n"
        'CONTEXT:  while updating tuple (0,12) in relation "mdl_cache_flags"\n'
        "UPDATE mdl_cache_flags SET flagtype = $1,name = $2,value = $3,expiry = $4,timemodified = $5 "
        f"WHERE id=$6\n[{params}]")


class Contention:
    """The users held by the write calls in flight, and how many calls lost a conflict."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self.deadlocks = 0
        self._lock = threading.Lock()
        self._held: Counter[int] = Counter()

    @contextmanager
    def hold(self, site: FakeSite, token: str | None, wsfunction: str,
             raw: dict[str, Any]) -> Iterator[WSError | None]:
        """Holds the users of one call while it is in flight; yields the error the call must answer
        when another call in flight holds one of them (then it holds nothing), else None."""
        locks = LOCKING.get(wsfunction)
        if not self.enabled or locks is None or not token or token not in site.tokens:
            yield None
            return
        users = locks(site, raw)
        with self._lock:
            taken = sorted(user for user in users if self._held[user])
            if not taken:
                self._held.update(users)
        if taken:
            yield deadlock(taken[0], site.now())
            return
        try:
            yield None
        finally:
            with self._lock:
                self._held.subtract(users)
                for user in users:
                    if self._held[user] <= 0:
                        del self._held[user]

    def answered_deadlock(self) -> None:
        """Counts a call that answered its deadlock (one that failed Moodle's checks first did not)."""
        with self._lock:
            self.deadlocks += 1

    def held(self) -> frozenset[int]:
        """The users the write calls in flight hold now."""
        with self._lock:
            return frozenset(user for user, count in self._held.items() if count > 0)

    def reset(self) -> None:
        """Forgets the count of lost calls (the users held stay held until their calls end)."""
        with self._lock:
            self.deadlocks = 0
