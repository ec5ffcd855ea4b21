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
from rules.vocabulary import close_match
from rules.wording import Sentence
from rules.yamltree import YMap, YNode, YScalar, YSeq, child_path, describe

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

#: What a mapping's keys are: fields of the plan, or the words a ``match`` or a reminder's ``when`` allows.
KeyKind = Literal["field", "roster fact", "condition"]
#: What an item with a ``key`` is, for the problem of two items with one key.
ItemKind = Literal["tier", "class", "course", "discussion", "reminder", "announcement", "bulletin"]


class Reader:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.unknown_keys: set[str] = set()  # paths of the mappings that hold a key they do not know

    def problem(self, line: int | None, path: str, message: Sentence, severity: str = "error") -> None:
        self.problems.append(Problem(self.filename, line, path, message, severity))

    def at(self, node: YNode, message: Sentence, severity: str = "error") -> None:
        self.problem(node.line, node.path, message, severity)

    # what was read whole: an entry with an error is dropped, and checks across entries must not lean on it

    def broken(self, path: str) -> bool:
        """Whether an error was reported at ``path`` or anywhere inside it."""
        return any(p.severity == "error" and _within(p.where, path) for p in self.problems)

    def intact(self, node: YMap | None, key: str) -> bool:
        """Whether field ``key`` of ``node`` says what its author meant: no error in it nor at the mapping
        itself (a second mapping under the same key, a key that is not a word), and, where it is absent, no
        unknown key beside it that may have been meant for it (``requird:`` leaves a course's required
        tiers unknown, not empty)."""
        if node is None or self.broken_at(node.path) or self.broken(child_path(node.path, key)):
            return False
        return key in node.entries or node.path not in self.unknown_keys

    def broken_at(self, path: str) -> bool:
        """Whether an error was reported at ``path`` itself (a section that is not a list, a key that is
        not a word), as opposed to inside one of its entries."""
        return any(p.severity == "error" and p.where == path for p in self.problems)

    def section_read(self, top: YMap, key: str) -> bool:
        """Whether the list under ``key`` was read as a list, whatever its entries: entries of a section
        that is missing, misspelt or not a list are all unknown."""
        return not self.broken_at(child_path(top.path, key)) and (
            key in top.entries or (top.path not in self.unknown_keys and not self.broken_at(top.path)))

    # structure

    def mapping(self, node: YNode | None, fields: Sequence[str], required: Sequence[str] = (), *,
                what: KeyKind = "field") -> YMap | None:
        """``node`` as a mapping whose keys are all known ``what``s and which has every required one.

        A null (``hours:`` with nothing after it) is taken as absent: missing required fields are
        reported by the mapping that holds them. An unknown roster fact or condition is told the allowed
        ones (a handful of words); an unknown field only the closest one."""
        if node is None or _is_null(node):
            return None
        if not isinstance(node, YMap):
            self.at(node, Sentence("expected a mapping with %(fields)s; found %(found)s",
                                   fields=", ".join(fields), found=describe(node)))
            return None
        for key in node.entries:
            if key not in fields:
                self.unknown_keys.add(node.path)
                self.problem(node.key_lines[key], child_path(node.path, key), _unknown_key(what, key, fields))
        for key in required:
            if key not in node.entries or _is_null(node.entries[key]):
                self.problem(node.line, child_path(node.path, key), Sentence("required field is missing"))
        return node

    def sequence(self, node: YNode | None, what: str) -> tuple[YNode, ...]:
        if node is None or _is_null(node):
            return ()
        if not isinstance(node, YSeq):
            self.at(node, Sentence("expected a list of %(section)s; found %(found)s",
                                   section=what, found=describe(node)))
            return ()
        return node.items

    # scalars (a missing field has already been reported by ``mapping``)

    def scalar(self, node: YMap | None, key: str) -> YScalar | None:
        value = node.get(key) if node is not None else None
        if value is None or _is_null(value):
            return None
        if not isinstance(value, YScalar):
            self.at(value, Sentence("expected a single value; found %(found)s", found=describe(value)))
            return None
        return value

    def text(self, node: YMap | None, key: str, default: str | None = None) -> str | None:
        value = self.scalar(node, key)
        if value is None:
            return default
        if isinstance(value.value, bool | dt.date) or not value.raw.strip():
            self.at(value, Sentence("expected text; found %(found)s", found=describe(value)))
            return default
        return value.raw.strip()

    def key(self, node: YMap | None, key: str = "key") -> str | None:
        """Keys end up in Moodle idnumbers and shortnames: lower-case letters, digits, '-' and '_'."""
        text = self.text(node, key)
        if text is not None and not _KEY.match(text):
            self.at(self._child(node, key), Sentence('"%(key)s" is not a valid key: use lower-case letters, '
                                                     'digits, "-" and "_" (like "party-admin")', key=text))
        return text

    def number(self, node: YMap | None, key: str, *, integer: bool = False,
               positive: bool = False) -> float | None:
        value = self.scalar(node, key)
        if value is None:
            return None
        number = value.value
        if integer and (isinstance(number, bool) or not isinstance(number, int | float)
                        or not float(number).is_integer()):
            self.at(value, Sentence("expected a whole number; found %(found)s", found=describe(value)))
            return None
        if isinstance(number, bool) or not isinstance(number, int | float):
            self.at(value, Sentence("expected a number; found %(found)s", found=describe(value)))
            return None
        if positive and number <= 0:
            self.at(value, Sentence("must be more than 0 (found %(number)s)", number=hours_text(number)))
            return None
        if number < 0:
            self.at(value, Sentence("must not be negative (found %(number)s)", number=hours_text(number)))
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
            self.at(value, Sentence("expected true or false; found %(found)s", found=describe(value)))
            return None
        return value.value

    def date(self, node: YMap | None, key: str) -> dt.date | None:
        value = self.scalar(node, key)
        if value is None:
            return None
        if isinstance(value.value, dt.datetime):
            self.at(value, Sentence('expected a date (YYYY-MM-DD) without a time; found "%(raw)s"',
                                    raw=value.raw))
            return None
        if isinstance(value.value, dt.date):
            return value.value
        if _ISO_DATE.match(value.raw):
            try:
                return dt.date.fromisoformat(value.raw)
            except ValueError:
                self.at(value, Sentence('"%(raw)s" is not a date of the calendar', raw=value.raw))
                return None
        self.at(value, Sentence('expected a date (YYYY-MM-DD); found "%(raw)s"', raw=value.raw))
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
                    self.at(item, Sentence("expected a word; found %(found)s", found=describe(item)))
            return found
        self.at(value, Sentence("expected a word or a list of words; found a mapping"))
        return None

    def unique(self, items: Iterable[tuple[str | None, YNode]], what: ItemKind) -> None:
        """Keys identify things in Moodle across runs: two items with one key would fight over one object."""
        first: dict[str, YNode] = {}
        for key, node in items:
            if key is None:
                continue
            if key in first:
                self.at(node, _duplicate_key(what, key, first[key].line))
            else:
                first[key] = node

    @staticmethod
    def _child(node: YMap | None, key: str) -> YNode:
        assert node is not None
        child = node.get(key)
        assert child is not None
        return child


def _within(where: str, path: str) -> bool:
    return not path or where == path or where.startswith((path + ".", path + "["))


def _is_null(node: YNode) -> bool:
    return isinstance(node, YScalar) and node.value is None


def unknown_name(what: Literal["tier", "course"], name: str, known: Sequence[str]) -> Sentence:
    """An unknown tier or course named in a reference, with the closest known one as a hint."""
    close = close_match(name, tuple(known))
    if what == "tier":
        if close is None:
            return Sentence('unknown tier "%(name)s"', name=name)
        return Sentence('unknown tier "%(name)s" (did you mean "%(close)s"?)', name=name, close=close)
    if close is None:
        return Sentence('unknown course "%(name)s"', name=name)
    return Sentence('unknown course "%(name)s" (did you mean "%(close)s"?)', name=name, close=close)


def _unknown_key(what: KeyKind, key: str, fields: Sequence[str]) -> Sentence:
    close = close_match(key, tuple(fields))
    if what == "field":
        if close is None:
            return Sentence('unknown field "%(key)s"', key=key)
        return Sentence('unknown field "%(key)s" (did you mean "%(close)s"?)', key=key, close=close)
    allowed = ", ".join(fields)
    if what == "roster fact":
        if close is None:
            return Sentence('unknown roster fact "%(key)s" (allowed: %(allowed)s)', key=key, allowed=allowed)
        return Sentence('unknown roster fact "%(key)s" (did you mean "%(close)s"?) (allowed: %(allowed)s)',
                        key=key, close=close, allowed=allowed)
    if close is None:
        return Sentence('unknown condition "%(key)s" (allowed: %(allowed)s)', key=key, allowed=allowed)
    return Sentence('unknown condition "%(key)s" (did you mean "%(close)s"?) (allowed: %(allowed)s)',
                    key=key, close=close, allowed=allowed)


def _duplicate_key(what: ItemKind, key: str, first: int) -> Sentence:
    values = {"key": key, "first": first}
    if what == "tier":
        return Sentence('duplicate tier key "%(key)s" (first on line %(first)s)', **values)
    if what == "class":
        return Sentence('duplicate class key "%(key)s" (first on line %(first)s)', **values)
    if what == "course":
        return Sentence('duplicate course key "%(key)s" (first on line %(first)s)', **values)
    if what == "discussion":
        return Sentence('duplicate discussion key "%(key)s" (first on line %(first)s)', **values)
    if what == "reminder":
        return Sentence('duplicate reminder key "%(key)s" (first on line %(first)s)', **values)
    if what == "bulletin":
        return Sentence('duplicate bulletin key "%(key)s" (first on line %(first)s)', **values)
    return Sentence('duplicate announcement key "%(key)s" (first on line %(first)s)', **values)
