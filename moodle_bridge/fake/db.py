"""An in-memory stand-in for Moodle's database: tables of dict rows with auto-increment ids.

Table names follow Moodle's (``user``, ``course``, ``user_enrolments``...) so a handler reads like the PHP
it imitates. Lookups by field build an index on first use (on the fields together when a lookup names
several), so a site with 10,000 users and 200,000 enrolments answers a filtered read without scanning
every row. Indexes follow ``insert``, ``update`` and ``delete``: change an indexed field through them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

Row = dict[str, Any]
_EMPTY: frozenset[int] = frozenset()


class Table:
    def __init__(self, name: str, first_id: int = 1) -> None:
        self.name = name
        self.rows: dict[int, Row] = {}
        self.next_id = first_id
        self._indexes: dict[str, defaultdict[Any, set[int]]] = {}
        # Lookups on several fields at once, by the fields' values: a row id, or a set of them.
        self._combined: dict[tuple[str, ...], dict[tuple[Any, ...], int | set[int]]] = {}

    def insert(self, row: Row) -> Row:
        if "id" not in row or row["id"] is None:
            row["id"] = self.next_id
        self.next_id = max(self.next_id, int(row["id"]) + 1)
        self.rows[row["id"]] = row
        for field, index in self._indexes.items():
            index[row.get(field)].add(row["id"])
        for fields, combined in self._combined.items():
            _add(combined, tuple(row.get(field) for field in fields), row["id"])
        return row

    def get(self, row_id: Any) -> Row | None:
        if type(row_id) is int:
            return self.rows.get(row_id)
        try:
            return self.rows.get(int(row_id))
        except (TypeError, ValueError):
            return None

    def update(self, row: Row, **changes: Any) -> Row:
        touched = [(fields, combined, tuple(row.get(field) for field in fields))
                   for fields, combined in self._combined.items()
                   if any(field in changes for field in fields)]
        for _fields, combined, key in touched:
            _discard(combined, key, row["id"])
        for field, value in changes.items():
            index = self._indexes.get(field)
            if index is not None:
                index[row.get(field)].discard(row["id"])
                index[value].add(row["id"])
            row[field] = value
        for fields, combined, _key in touched:
            _add(combined, tuple(row.get(field) for field in fields), row["id"])
        return row

    def delete(self, row: Row) -> None:
        self.rows.pop(row["id"], None)
        for field, index in self._indexes.items():
            index[row.get(field)].discard(row["id"])
        for fields, combined in self._combined.items():
            _discard(combined, tuple(row.get(field) for field in fields), row["id"])

    def select(self, **conditions: Any) -> list[Row]:
        """Rows matching every ``field=value``, in id order."""
        if not conditions:
            return [self.rows[key] for key in sorted(self.rows)]
        rows = self.rows
        return [rows[row_id] for row_id in sorted(self._candidates(conditions))]

    def first(self, **conditions: Any) -> Row | None:
        """The matching row with the lowest id, or None."""
        if not conditions:
            return self.rows[min(self.rows)] if self.rows else None
        ids = self._candidates(conditions)
        return self.rows[min(ids)] if ids else None

    def _candidates(self, conditions: dict[str, Any]) -> Collection[int]:
        """The ids of the rows matching the conditions, from an index on their field or fields (built on
        first use), so ``first(course=..., userid=...)`` reads one entry however large the course."""
        if len(conditions) == 1:
            ((field, value),) = conditions.items()
            index = self._indexes.get(field)
            if index is None:
                index = self._index(field)
            return index.get(value, _EMPTY)
        fields = tuple(conditions)  # in the order the caller names them: each call site has its own
        combined = self._combined.get(fields)
        if combined is None:
            combined = self._combine(fields)
        found = combined.get(tuple(conditions.values()))
        if found is None:
            return _EMPTY
        return (found,) if isinstance(found, int) else found

    def ids_where(self, field: str, value: Any) -> AbstractSet[int]:
        """The ids of the rows whose ``field`` is ``value`` (an index read; do not change the set)."""
        return self._index(field).get(value, _EMPTY)

    def index(self, field: str) -> Mapping[Any, AbstractSet[int]]:
        """Row ids by value of ``field`` (built on first use; read it, do not change it)."""
        return self._index(field)

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

    def _combine(self, fields: tuple[str, ...]) -> dict[tuple[Any, ...], int | set[int]]:
        combined: dict[tuple[Any, ...], int | set[int]] = {}
        for row in self.rows.values():
            _add(combined, tuple(row.get(field) for field in fields), row["id"])
        self._combined[fields] = combined
        return combined


def _add(combined: dict[tuple[Any, ...], int | set[int]], key: tuple[Any, ...], row_id: int) -> None:
    """Most combinations of values belong to one row: kept as its id, a set only when shared."""
    held = combined.get(key)
    if held is None:
        combined[key] = row_id
    elif isinstance(held, int):
        if held != row_id:
            combined[key] = {held, row_id}
    else:
        held.add(row_id)


def _discard(combined: dict[tuple[Any, ...], int | set[int]], key: tuple[Any, ...], row_id: int) -> None:
    held = combined.get(key)
    if held is None:
        return
    if isinstance(held, int):
        if held == row_id:
            del combined[key]
        return
    held.discard(row_id)
    if len(held) == 1:
        combined[key] = next(iter(held))
    elif not held:
        del combined[key]


class Database:
    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}

    def __getitem__(self, name: str) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            table = self.tables[name] = Table(name)
            return table


def like(pattern: str) -> re.Pattern[str]:
    """SQL ``LIKE`` (``%``, ``_``, ``\\`` escapes) as a case-insensitive regular expression."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)
