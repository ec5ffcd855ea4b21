"""Locks that keep two runs of the same job (an apply or a harvest of one year) from overlapping.

The database's primary key makes acquiring atomic on SQLite and PostgreSQL alike. The row names its
holder as ``host:pid:start`` (``start``: when that process started, so a reused pid is not mistaken
for the holder). A holder on this host whose process is gone (killed, crashed, out of memory) left a
stale lock: the next run takes it over at once instead of waiting for it to expire. A holder on another
host cannot be checked from here; its lock is taken over once it expires. Machines (and containers)
sharing one database must therefore have distinct host names, as they have by default.

The row also names the code version of its holder (``services.platform.version``): ``cadre db upgrade``
reads the locks to find jobs of another version still running. While the lock is held, log lines name
the job and its year (``logs.job_context``).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from ...db import session_scope
from ...logs import job_context
from ...models import JobLock, utcnow
from .version import code_version

log = logging.getLogger(__name__)

_TAKEOVER_ATTEMPTS = 3


class LockedError(Exception):
    """Another run holds the lock."""


def owner_name() -> str:
    """``host:pid:start`` of this process (``host:pid`` where the start time cannot be read)."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}" + (f":{start}" if (start := _start_of(pid)) else "")


@cache
def _start_of(pid: int) -> str:
    """When process ``pid`` started, in clock ticks since boot (Linux); "" where unknown."""
    stat = _proc_stat(pid)
    return stat[1] if stat else ""


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from ``/proc``, or None where there is no such file."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text("ascii", errors="replace")
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses; start time is field 22
    fields = text.rpartition(")")[2].split()
    return (fields[0], fields[19]) if len(fields) > 19 else None


def holder_alive(owner: str) -> bool:
    """False only when ``owner`` is certainly gone: a process of this host that no longer runs
    (or is a zombie, or whose pid now belongs to a process started later)."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or os.name != "posix":
        return True  # another machine, or a form we cannot judge: trust the expiry
    pid = int(pid_text)
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, started = stat
    return state not in ("Z", "X") and (not start or started == start)


@contextmanager
def job_lock(database_url: str, name: str, *, ttl: timedelta = timedelta(hours=6)) -> Iterator[None]:
    """Holds the lock ``name`` for the block; raises ``LockedError`` if a live run holds it."""
    owner = owner_name()
    _acquire(database_url, name, owner, ttl)
    job, _, year = name.partition(":")
    try:
        with job_context(job, int(year) if year.isdigit() else None):
            yield
    finally:
        with session_scope(database_url) as session:
            session.execute(delete(JobLock).where(JobLock.name == name, JobLock.owner == owner))


def _acquire(database_url: str, name: str, owner: str, ttl: timedelta) -> None:
    with session_scope(database_url) as session:
        session.execute(delete(JobLock).where(JobLock.name == name, JobLock.expires_at < utcnow()))
    for _ in range(_TAKEOVER_ATTEMPTS):
        try:
            with session_scope(database_url) as session:
                session.add(JobLock(name=name, owner=owner, expires_at=utcnow() + ttl,
                                    version=code_version()))
            return
        except IntegrityError:
            pass
        with session_scope(database_url) as session:
            holder = session.get(JobLock, name)
            if holder is None:
                continue  # released in between: try again
            if holder_alive(holder.owner):
                raise LockedError(f"{name} is already running ({holder.owner} since "
                                  f"{holder.acquired_at:%Y-%m-%d %H:%M} UTC)")
            # Only the dead holder's row goes: a run racing us to take over deletes nothing more,
            # and the primary key lets exactly one of us insert next.
            session.execute(delete(JobLock).where(JobLock.name == name, JobLock.owner == holder.owner))
            log.warning("%s: taking over the lock of %s, which no longer runs", name, holder.owner)
    raise LockedError(f"{name} is being taken by another run at this moment")
