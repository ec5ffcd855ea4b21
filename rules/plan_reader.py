"""Reading typed values out of the plan's YAML tree, collecting a located problem for each bad one.

Every reader returns None (or a neutral value) instead of raising, so that one pass over the plan
finds every problem in it; each problem names the line and the field path, where the person editing
the plan will look.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Literal

from rules.plan_model import hours_text
from rules.problems import Problem
from rules.vocabulary import did_you_mean
from rules.yamltree import YMap, YNode, YScalar, YSeq, child_path, describe

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Reader:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []

    def problem(self, line: int | None, path: str, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.filename, line, path, message, severity))

    def at(self, node: YNode, message: str, severity: str = "error") -> None:
        self.problem(node.line, node.path, message, severity)

    # structure

    def mapping(self, node: YNode | None, fields: Sequence[str], required: Sequence[str] = (), *,
                what: str = "field", listed: bool = False) -> YMap | None:
        """``node`` as a mapping whose keys are all known ``what``s and which has every required one.

        A null (``hours:`` with nothing after it) is taken as absent: missing required fields are
        reported by the mapping that holds them."""
        if node is None or _is_null(node):
            return None
        if not isinstance(node, YMap):
            self.at(node, f"expected a mapping with {', '.join(fields)}; found {describe(node)}")
            return None
        for key in node.entries:
            if key not in fields:
                allowed = f" (allowed: {', '.join(fields)})" if listed else ""
                self.problem(node.key_lines[key], child_path(node.path, key),
                             f'unknown {what} "{key}"{did_you_mean(key, tuple(fields))}{allowed}')
        for key in required:
            if key not in node.entries or _is_null(node.entries[key]):
                self.problem(node.line, child_path(node.path, key), "required field is missing")
        return node

    def sequence(self, node: YNode | None, what: str) -> tuple[YNode, ...]:
        if node is None or _is_null(node):
            return ()
        if not isinstance(node, YSeq):
            self.at(node, f"expected a list of {what}; found {describe(node)}")
            return ()
        return node.items

    # scalars (a missing field has already been reported by ``mapping``)

    def scalar(self, node: YMap | None, key: str) -> YScalar | None:
        value = node.get(key) if node is not None else None
        if value is None or _is_null(value):
            return None
        if not isinstance(value, YScalar):
            self.at(value, f"expected a single value; found {describe(value)}")
            return None
        return value

    def text(self, node: YMap | None, key: str, default: str | None = None) -> str | None:
        value = self.scalar(node, key)
        if value is None:
            return default
        if isinstance(value.value, bool | dt.date) or not value.raw.strip():
            self.at(value, f"expected text; found {describe(value)}")
            return default
        return value.raw.strip()

    def key(self, node: YMap | None, key: str = "key") -> str | None:
        """Keys end up in Moodle idnumbers and shortnames: lower-case letters, digits, '-' and '_'."""
        text = self.text(node, key)
        if text is not None and not _KEY.match(text):
            self.at(self._child(node, key), f'"{text}" is not a valid key: use lower-case letters, digits, '
                                            '"-" and "_" (like "party-admin")')
        return text

    def number(self, node: YMap | None, key: str, *, integer: bool = False,
               positive: bool = False) -> float | None:
        value = self.scalar(node, key)
        if value is None:
            return None
        number = value.value
        if isinstance(number, bool) or not isinstance(number, int | float):
            self.at(value, f"expected {'a whole number' if integer else 'a number'}; found {describe(value)}")
            return None
        if integer and not float(number).is_integer():
            self.at(value, f"expected a whole number; found {describe(value)}")
            return None
        if positive and number <= 0:
            self.at(value, f"must be more than 0 (found {hours_text(number)})")
            return None
        if number < 0:
            self.at(value, f"must not be negative (found {hours_text(number)})")
            return None
        return float(number)

    def integer(self, node: YMap | None, key: str, *, positive: bool = False) -> int | None:
        number = self.number(node, key, integer=True, positive=positive)
        return None if number is None else int(number)

    def flag(self, node: YMap | None, key: str) -> bool | None:
        value = self.scalar(node, key)
        if value is None:
            return None
        if not isinstance(value.value, bool):
            self.at(value, f"expected true or false; found {describe(value)}")
            return None
        return value.value

    def date(self, node: YMap | None, key: str) -> dt.date | None:
        value = self.scalar(node, key)
        if value is None:
            return None
        if isinstance(value.value, dt.datetime):
            self.at(value, f'expected a date (YYYY-MM-DD) without a time; found "{value.raw}"')
            return None
        if isinstance(value.value, dt.date):
            return value.value
        if _ISO_DATE.match(value.raw):
            try:
                return dt.date.fromisoformat(value.raw)
            except ValueError:
                self.at(value, f'"{value.raw}" is not a date of the calendar')
                return None
        self.at(value, f'expected a date (YYYY-MM-DD); found "{value.raw}"')
        return None

    def words_or_all(self, node: YMap | None, key: str) -> list[YScalar] | Literal["all"] | None:
        """Like ``words``, where "all" stands for every one (tiers of a course, of an announcement)."""
        value = node.get(key) if node is not None else None
        if isinstance(value, YScalar) and value.raw.strip() == "all":
            return "all"
        return self.words(node, key)

    def words(self, node: YMap | None, key: str) -> list[YScalar] | None:
        """A single word or a list of words, each with its place."""
        value = node.get(key) if node is not None else None
        if value is None or _is_null(value):
            return None
        if isinstance(value, YScalar):
            return [value]
        if isinstance(value, YSeq):
            found: list[YScalar] = []
            for item in value.items:
                if isinstance(item, YScalar) and not _is_null(item):
                    found.append(item)
                else:
                    self.at(item, f"expected a word; found {describe(item)}")
            return found
        self.at(value, "expected a word or a list of words; found a mapping")
        return None

    def unique(self, items: Iterable[tuple[str | None, YNode]], what: str) -> None:
        """Keys identify things in Moodle across runs: two items with one key would fight over one object."""
        first: dict[str, YNode] = {}
        for key, node in items:
            if key is None:
                continue
            if key in first:
                self.at(node, f'duplicate {what} key "{key}" (first on line {first[key].line})')
            else:
                first[key] = node

    @staticmethod
    def _child(node: YMap | None, key: str) -> YNode:
        assert node is not None
        child = node.get(key)
        assert child is not None
        return child


def _is_null(node: YNode) -> bool:
    return isinstance(node, YScalar) and node.value is None
