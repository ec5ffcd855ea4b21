"""The companion's tables as portable files: one JSON-lines file per table, read and written through
SQLAlchemy, the same on SQLite and PostgreSQL.

Why not ``pg_dump``: it must be at least as new as the server, so the image would have to carry the
client of exactly the server's major version, and its output restores into PostgreSQL only. These files
need nothing but the database driver, restore into either database (a pilot on SQLite can move to
PostgreSQL), and are checked row by row by the tests.

A file's first line names the table's columns, their kinds (``datetime``, ``date``, ``bytes``, ``json``
or ``plain``), its primary key and the columns that point into the same table (a certificate to the
one that superseded it): those are written after all rows are in, so their order does not matter.
Every other line is one row, a JSON array. JSON columns keep the difference between SQL ``NULL`` and a
JSON ``null``.

The tables are read as the database holds them (reflected, not from the models), so a database whose
schema is older than this code is copied as it is; the schema itself is rebuilt by the migrations to
the revision the backup names.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy import Connection, MetaData, Table
from sqlalchemy.types import JSON, Date, DateTime, LargeBinary, TypeEngine

SKIPPED = frozenset({"alembic_version"})  # the schema's revision is in the manifest
BATCH = 2000  # rows a statement


@dataclass(frozen=True)
class Header:
    table: str
    columns: list[str]
    kinds: list[str]
    primary_key: list[str]
    deferred: list[str]  # columns pointing into the same table

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "columns": self.columns, "kinds": self.kinds,
                "primary_key": self.primary_key, "deferred": self.deferred}


def _kind(column_type: TypeEngine[Any]) -> str:
    if isinstance(column_type, DateTime):
        return "datetime"
    if isinstance(column_type, Date):
        return "date"
    if isinstance(column_type, LargeBinary):
        return "bytes"
    if isinstance(column_type, JSON):
        return "json"
    return "plain"


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("datetime", "date"):
        return value.isoformat()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind == "json":
        return value  # already the column's text (read cast to text)
    return _plain(value)


def _decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "json":
        loaded = json.loads(value)
        return JSON.NULL if loaded is None else loaded
    return value


def tables(connection: Connection) -> list[Table]:
    """The database's tables in an order where every table comes after those it points to."""
    metadata = MetaData()
    metadata.reflect(bind=connection)
    return [table for table in metadata.sorted_tables if table.name not in SKIPPED]


def header_of(table: Table) -> Header:
    columns = list(table.columns)
    return Header(table.name, [c.name for c in columns], [_kind(c.type) for c in columns],
                  [c.name for c in table.primary_key.columns],
                  sorted({fk.parent.name for fk in table.foreign_keys if fk.column.table.name == table.name}))


def dump_table(connection: Connection, table: Table, out: TextIO) -> int:
    """Writes the table's header and rows to ``out``; returns the number of rows."""
    header = header_of(table)
    out.write(json.dumps(header.as_dict(), ensure_ascii=False) + "\n")
    selected = [sa.cast(table.c[name], sa.Text) if kind == "json" else table.c[name]
                for name, kind in zip(header.columns, header.kinds, strict=True)]
    order = [table.c[name] for name in header.primary_key] or [table.c[header.columns[0]]]
    count = 0
    result = connection.execution_options(yield_per=BATCH).execute(sa.select(*selected).order_by(*order))
    for row in result:
        out.write(json.dumps([_encode(kind, value) for kind, value in zip(header.kinds, row, strict=True)],
                             ensure_ascii=False) + "\n")
        count += 1
    return count


def _bind_type(kind: str) -> TypeEngine[Any] | None:
    types: dict[str, TypeEngine[Any]] = {"datetime": DateTime(), "date": Date(), "bytes": LargeBinary(),
                                         "json": JSON(none_as_null=True)}
    return types.get(kind)


def _read(path: Path) -> tuple[Header, Iterator[list[Any]]]:
    handle = path.open("r", encoding="utf-8")
    first = handle.readline()
    header = Header(**json.loads(first))

    def rows() -> Iterator[list[Any]]:
        with handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)

    return header, rows()


def load_table(connection: Connection, path: Path) -> tuple[str, int]:
    """Inserts the rows of one file into its table (which exists and is empty); (table, rows)."""
    header, rows = _read(path)
    target = sa.table(header.table, *[sa.column(name, _bind_type(kind))
                                      for name, kind in zip(header.columns, header.kinds, strict=True)])
    later: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    count = 0
    for raw in rows:
        values = {name: _decode(kind, value)
                  for name, kind, value in zip(header.columns, header.kinds, raw, strict=True)}
        if header.deferred and any(values[name] is not None for name in header.deferred):
            later.append({**{f"k_{k}": values[k] for k in header.primary_key},
                          **{f"v_{d}": values[d] for d in header.deferred}})
            values.update(dict.fromkeys(header.deferred))
        batch.append(values)
        count += 1
        if len(batch) >= BATCH:
            connection.execute(sa.insert(target), batch)
            batch = []
    if batch:
        connection.execute(sa.insert(target), batch)
    if later:
        update = (sa.update(target)
                  .where(*[target.c[k] == sa.bindparam(f"k_{k}") for k in header.primary_key])
                  .values({d: sa.bindparam(f"v_{d}") for d in header.deferred}))
        connection.execute(update, later)
    return header.table, count


def reset_sequences(connection: Connection) -> None:
    """PostgreSQL: each serial id continues after the highest restored one (rows came with their ids)."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables(connection):
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, sa.Integer):
            continue
        name, column = table.name, keys[0].name
        sequence = connection.scalar(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                     {"t": name, "c": column})
        if sequence:
            connection.execute(sa.text(
                f'SELECT setval(:s, COALESCE((SELECT MAX("{column}") FROM "{name}"), 1), '
                f'(SELECT MAX("{column}") FROM "{name}") IS NOT NULL)'), {"s": sequence})
