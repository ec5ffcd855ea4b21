"""An in-memory stand-in for Moodle's database: tables of dict rows with auto-increment ids.

Table names follow Moodle's (``user``, ``course``, ``user_enrolments``...) so a handler reads like the PHP
it imitates. Lookups by field build an index on first use, so a site with 10,000 users and 200,000
enrolments answers a filtered read without scanning every row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

Row = dict[str, Any]


class Table:
    def __init__(self, name: str, first_id: int = 1) -> None:
        self.name = name
        self.rows: dict[int, Row] = {}
        self.next_id = first_id
        self._indexes: dict[str, defaultdict[Any, set[int]]] = {}

    def insert(self, row: Row) -> Row:
        if "id" not in row or row["id"] is None:
            row["id"] = self.next_id
        self.next_id = max(self.next_id, int(row["id"]) + 1)
        self.rows[row["id"]] = row
        for field, index in self._indexes.items():
            index[row.get(field)].add(row["id"])
        return row

    def get(self, row_id: Any) -> Row | None:
        try:
            return self.rows.get(int(row_id))
        except (TypeError, ValueError):
            return None

    def update(self, row: Row, **changes: Any) -> Row:
        for field, value in changes.items():
            index = self._indexes.get(field)
            if index is not None:
                index[row.get(field)].discard(row["id"])
                index[value].add(row["id"])
            row[field] = value
        return row

    def delete(self, row: Row) -> None:
        self.rows.pop(row["id"], None)
        for field, index in self._indexes.items():
            index[row.get(field)].discard(row["id"])

    def select(self, **conditions: Any) -> list[Row]:
        """Rows matching every ``field=value``, in id order."""
        if not conditions:
            return [self.rows[key] for key in sorted(self.rows)]
        field, value = next(iter(conditions.items()))
        ids = self._index(field).get(value, set())
        rows = [self.rows[row_id] for row_id in sorted(ids)]
        rest = list(conditions.items())[1:]
        return [row for row in rows if all(row.get(k) == v for k, v in rest)]

    def first(self, **conditions: Any) -> Row | None:
        rows = self.select(**conditions)
        return rows[0] if rows else None

    def count(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter([self.rows[key] for key in sorted(self.rows)])

    def _index(self, field: str) -> defaultdict[Any, set[int]]:
        index = self._indexes.get(field)
        if index is None:
            index = defaultdict(set)
            for row in self.rows.values():
                index[row.get(field)].add(row["id"])
            self._indexes[field] = index
        return index


class Database:
    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}

    def __getitem__(self, name: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            table = self.tables[name] = Table(name)
        return table
