"""``cadre db upgrade``: the schema brought to this code's revision, but never under a running job of
another version.

A job of the code being replaced (a harvest, an apply, an engagement run, a document batch) expects the
schema it was written for; migrating the tables under it could break it halfway. Every job holds a
lock that names its code version (``locks.job_lock``), so the upgrade reads the locks still held by
live processes and refuses while any of them is of another version, naming each: the operator stops
the old workers (or waits for their jobs), then upgrades. Locks written before versions were recorded
count as another version. With nothing to migrate, nothing is refused: the schema is not touched.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.migration import MigrationContext

from ...db import engine_for, upgrade
from ...models import utcnow
from .locks import holder_alive
from .version import code_version, known_revisions, schema_head


class UpgradeRefused(Exception):
    """The upgrade did not run; the message names the jobs in the way or the schema's problem."""


@dataclass(frozen=True)
class RunningJob:
    name: str  # the lock's name: harvest:2026, provision:2026, ...
    owner: str  # host:pid:start of the process holding it
    since: dt.datetime
    version: str  # "" when the holder did not record one (older code)

    def describe(self) -> str:
        return (f"{self.name} (process {self.owner}, since {self.since:%Y-%m-%d %H:%M} UTC, "
                f"version {self.version or 'older than 0.1.0+schema.0009'})")


@dataclass(frozen=True)
class Upgraded:
    before: str | None  # None: a new database
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def current_revision(database_url: str) -> str | None:
    with engine_for(database_url).connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return str(heads[0]) if heads else None


def running_jobs(database_url: str, now: dt.datetime | None = None) -> list[RunningJob]:
    """The job locks held by processes still alive (or on another host, until the lock expires)."""
    now = now or utcnow()
    with engine_for(database_url).connect() as connection:
        inspector = sa.inspect(connection)
        if not inspector.has_table("job_lock"):
            return []
        columns = {column["name"] for column in inspector.get_columns("job_lock")}
        lock = sa.table("job_lock", *[sa.column(name) for name in
                                      ("name", "owner", "acquired_at", "expires_at", "version")
                                      if name in columns])
        rows = connection.execute(sa.select(lock).order_by(lock.c.name)).mappings().all()
    jobs = []
    for row in rows:
        expires = _moment(row["expires_at"])
        if expires is not None and expires < now:
            continue
        if holder_alive(row["owner"]):
            jobs.append(RunningJob(row["name"], row["owner"], _moment(row["acquired_at"]) or now,
                                   row.get("version") or ""))
    return jobs


def _moment(value: object) -> dt.datetime | None:
    """A time as the table gives it (SQLite read without the model's types gives text)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def guarded_upgrade(database_url: str) -> Upgraded:
    """Upgrades the schema to this code's revision unless a job of another version runs on it."""
    before = current_revision(database_url)
    head = schema_head()
    if before == head:
        return Upgraded(before, head)
    if before is not None and before not in known_revisions():
        raise UpgradeRefused(f"the database's schema is at {before}, which this code (up to {head}) does "
                             "not know: a newer version has upgraded it; run that version")
    others = [job for job in running_jobs(database_url) if job.version != code_version()]
    if others:
        raise UpgradeRefused(
            f"not upgraded from {before} to {head}: {len(others)} job(s) of another version are running: "
            + "; ".join(job.describe() for job in others)
            + ". Stop the old workers (or wait for these jobs to end), then run `cadre db upgrade` again.")
    upgrade(database_url)
    return Upgraded(before, head)
