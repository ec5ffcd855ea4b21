"""``cadre db upgrade`` brings the schema to this code's revision, and refuses while a job of another
version still runs on the database, saying which; every other command does the same before it uses the
database. A job of this version, a dead holder's lock and an expired one are not in the way."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner

from plugin_service.cli import main
from plugin_service.db import alembic_config, engine_for, upgrade
from plugin_service.services.platform.locks import owner_name
from plugin_service.services.platform.upgrades import current_revision, guarded_upgrade, running_jobs
from plugin_service.services.platform.version import code_version, schema_head

PREVIOUS = "0008"  # the revision before the job locks named their version


def cadre(database_url: str, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"CADRE_DATABASE_URL": database_url},
                              catch_exceptions=False)


def hold(database_url: str, name: str, owner: str, *, version: str | None = None,
         expires_in: dt.timedelta = dt.timedelta(hours=6)) -> None:
    """A lock row as a job of some version wrote it (without the version column before 0009)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    values: dict[str, Any] = {"name": name, "owner": owner, "acquired_at": now - dt.timedelta(minutes=5),
                              "expires_at": now + expires_in}
    if version is not None:
        values["version"] = version
    lock = sa.table("job_lock", *[sa.column(key) for key in values])
    with engine_for(database_url).begin() as connection:
        connection.execute(sa.insert(lock).values(values))


def test_a_new_database_is_made_and_a_second_upgrade_does_nothing(database_url: str) -> None:
    first = cadre(database_url, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert first.output == f"schema upgraded from nothing (a new database) to {schema_head()}\n"
    second = cadre(database_url, "db", "upgrade")
    assert second.output == f"schema already at {schema_head()}: nothing to do\n"


def test_a_running_job_of_the_older_version_stops_the_upgrade(database_url: str) -> None:
    upgrade(database_url, PREVIOUS)
    hold(database_url, "harvest:2026", owner_name())  # this process stands for the old worker: alive

    refused = cadre(database_url, "db", "upgrade")

    assert refused.exit_code == 2
    assert f"not upgraded from {PREVIOUS} to {schema_head()}" in refused.output
    assert "harvest:2026" in refused.output and owner_name() in refused.output
    assert "Stop the old workers" in refused.output
    assert current_revision(database_url) == PREVIOUS
    other_command = cadre(database_url, "user", "list")
    assert other_command.exit_code == 2 and "harvest:2026" in other_command.output

    with engine_for(database_url).begin() as connection:
        connection.execute(sa.text("DELETE FROM job_lock"))
    done = cadre(database_url, "db", "upgrade")
    assert done.exit_code == 0 and f"from {PREVIOUS} to {schema_head()}" in done.output


def test_jobs_of_this_version_and_locks_of_dead_or_expired_holders_are_not_in_the_way(
        database_url: str) -> None:
    upgrade(database_url)
    hold(database_url, "harvest:2026", owner_name(), version=code_version())
    hold(database_url, "provision:2026", "this-host-is-elsewhere:1:1", version="0.0.9+schema.0008",
         expires_in=-dt.timedelta(minutes=1))
    hold(database_url, "engagement:2026", f"{owner_name().split(':')[0]}:999999999", version="")
    assert [job.name for job in running_jobs(database_url)] == ["harvest:2026"]
    with engine_for(database_url).begin() as connection:
        connection.execute(sa.text("DELETE FROM job_lock WHERE name = 'harvest:2026'"))
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, PREVIOUS)  # the older code's schema, its locks kept
    assert running_jobs(database_url) == []
    assert guarded_upgrade(database_url).changed
    assert current_revision(database_url) == schema_head()


def test_a_schema_newer_than_this_code_is_left_alone(database_url: str) -> None:
    upgrade(database_url)
    with engine_for(database_url).begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    refused = cadre(database_url, "db", "upgrade")
    assert refused.exit_code == 2 and "0099, which this code" in refused.output
    with engine_for(database_url).begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": schema_head()})
