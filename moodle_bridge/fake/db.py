"""An in-memory stand-in for Moodle's database: tables of dict rows with auto-increment ids.

Table names follow Moodle's (``user``, ``course``, ``user_enrolments``...) so a handler reads like the PHP
it imitates. Lookups by field build an index on first use, so a site with 10,000 users and 200,000
enrolments answers a filtered read without scanning every row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
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

    def insert(self, row: Row) -> Row:
        if "id" not in row or row["id"] is None:
            row["id"] = self.next_id
        self.next_id = max(self.next_id, int(row["id"]) + 1)
        self.rows[row["id"]] = row
        for field, index in self._indexes.items():
            index[row.get(field)].add(row["id"])
        return row

    def get(self, row_id: Any) -> Row | None:
        if type(row_id) is int:
            return self.rows.get(row_id)
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
        ids, rest = self._candidates(conditions)
        rows = self.rows
        if not rest:
            return [rows[row_id] for row_id in sorted(ids)]
        found = []
        for row_id in sorted(ids):
            row = rows[row_id]
            for field, value in rest:
                if row.get(field) != value:
                    break
            else:
                found.append(row)
        return found

    def first(self, **conditions: Any) -> Row | None:
        """The matching row with the lowest id, or None."""
        if not conditions:
            return self.rows[min(self.rows)] if self.rows else None
        ids, rest = self._candidates(conditions)
        if not ids:
            return None
        rows = self.rows
        if not rest:
            return rows[min(ids)]
        for row_id in sorted(ids) if len(ids) > 1 else ids:
            row = rows[row_id]
            for field, value in rest:
                if row.get(field) != value:
                    break
            else:
                return row
        return None

    def _candidates(self, conditions: dict[str, Any]) -> tuple[AbstractSet[int], list[tuple[str, Any]]]:
        """The ids an index gives for the conditions, and the conditions still to check on each row.

        The first condition's field is indexed (built on first use); another condition whose field is
        already indexed is used instead when it narrows the rows down further.
        """
        if len(conditions) == 1:
            ((field, value),) = conditions.items()
            return self._index(field).get(value, _EMPTY), []
        items = list(conditions.items())
        field, value = items[0]
        ids: AbstractSet[int] = self._index(field).get(value, _EMPTY)
        chosen = 0
        if len(ids) > 1:
            for position in range(1, len(items)):
                other_field, other_value = items[position]
                index = self._indexes.get(other_field)
                if index is not None:
                    other = index.get(other_value, _EMPTY)
                    if len(other) < len(ids):
                        ids, chosen = other, position
        return ids, items[:chosen] + items[chosen + 1:]

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
