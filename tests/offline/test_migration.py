"""Migration 0011 up and down on SQLite and PostgreSQL: its tables and the records' offline hours column
appear and go, and the learning records written before it keep their rows (with 0 offline hours)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from plugin_service.db import alembic_config, engine_for, upgrade

TABLES = {"offline_training", "offline_attendance", "offline_claim"}


def _schema(database_url: str) -> tuple[set[str], set[str]]:
    engine = engine_for(database_url)
    engine.dispose()  # a fresh look: the schema changed under the pool
    found = inspect(engine)
    return set(found.get_table_names()), {c["name"] for c in found.get_columns("learning_record")}


def _downgrade(database_url: str, revision: str) -> None:
    config = alembic_config(database_url)
    with engine_for(database_url).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_0011_goes_up_and_down(database_url: str) -> None:
    upgrade(database_url, "0010")
    with engine_for(database_url).begin() as connection:
        connection.execute(text(
            "INSERT INTO learning_record (year, employee_no, status, status_since, required_hours, "
            "elective_hours, total_hours, target_hours, discussion_points, detail, computed_at, "
            "computed_for) "
            "VALUES (2026, 'T1', 'behind', '2026-07-01', 10, 4, 14, 50, 0, '{}', '2026-07-01 00:00:00', "
            "'2026-07-01')"))
    tables, columns = _schema(database_url)
    assert not TABLES & tables and "offline_hours" not in columns

    upgrade(database_url, "0011")
    tables, columns = _schema(database_url)
    assert tables >= TABLES and "offline_hours" in columns
    with engine_for(database_url).connect() as connection:
        found = connection.execute(text("SELECT total_hours, offline_hours FROM learning_record")).one()
    assert tuple(found) == (14, 0)

    _downgrade(database_url, "0010")
    tables, columns = _schema(database_url)
    assert not TABLES & tables and "offline_hours" not in columns
    with engine_for(database_url).connect() as connection:
        kept = connection.execute(text("SELECT employee_no, total_hours FROM learning_record")).one()
    assert tuple(kept) == ("T1", 14)

    upgrade(database_url, "0011")
    assert _schema(database_url)[0] >= TABLES
