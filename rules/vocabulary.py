"""The closed vocabularies of the roster: ranks, department types, statuses and genders.

HR writes them in Chinese, but exports and plans written by others sometimes use English words; both are
accepted and stored as the Chinese word, so that a plan's ``rank: [division head]`` and a roster's 正处级
compare equal. The words follow the glossary (/work/shared/GLOSSARY.md).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from rules.wording import Sentence

LEADER_RANK = "校级"
ACTIVE, ON_LEAVE, DEPARTED = "在职", "离岗", "离职"


@dataclass(frozen=True)
class Vocabulary:
    """One closed set of words, in its canonical order, with the English (or other) words that mean each."""

    fact: str  # the roster fact it describes, as named in plans: "rank"
    words: tuple[str, ...]
    synonyms: dict[str, str]  # folded synonym -> canonical word

    def canonical(self, value: str) -> str | None:
        if value in self.words:
            return value
        return self.synonyms.get(fold(value))

    def allowed(self) -> str:
        return ", ".join(self.words)

    def unknown(self, value: str) -> Sentence:
        """The problem of a word not in the set; one sentence per fact, so that each reads well translated."""
        values = {"value": value, "allowed": self.allowed()}
        if self.fact == "rank":
            return Sentence('unknown rank "%(value)s" (allowed: %(allowed)s)', **values)
        if self.fact == "department_type":
            return Sentence('unknown department type "%(value)s" (allowed: %(allowed)s)', **values)
        if self.fact == "status":
            return Sentence('unknown status "%(value)s" (allowed: %(allowed)s)', **values)
        if self.fact == "gender":
            return Sentence('unknown gender "%(value)s" (allowed: %(allowed)s)', **values)
        raise ValueError(f"no wording for the vocabulary of {self.fact!r}")


def fold(text: str) -> str:
    """Compare English words loosely: case, spaces, hyphens, underscores and '&' vs 'and' do not matter."""
    text = text.strip().lower().replace("&", " and ")
    return re.sub(r"[\s_\-]+", " ", text).strip()


def _vocabulary(fact: str, table: dict[str, tuple[str, ...]]) -> Vocabulary:
    synonyms = {fold(alias): word for word, aliases in table.items() for alias in (word, *aliases)}
    return Vocabulary(fact, tuple(table), synonyms)


RANKS = _vocabulary("rank", {
    "校级": ("school level", "school-level", "school leader", "leader"),
    "正处级": ("division head", "division level", "director"),
    "副处级": ("deputy division head", "deputy division level", "deputy director"),
    "正科级": ("section head", "section level", "section chief"),
    "副科级": ("deputy section head", "deputy section level", "deputy section chief"),
})

DEPARTMENT_TYPES = _vocabulary("department_type", {
    "党政部门": ("party and administration", "party administration", "party admin", "administration"),
    "教学部门": ("teaching",),
    "教辅部门": ("teaching support", "support"),
})

STATUSES = _vocabulary("status", {
    ACTIVE: ("active", "in post", "employed", "在岗"),
    ON_LEAVE: ("on leave", "leave"),
    DEPARTED: ("departed", "left", "resigned"),
})

GENDERS = _vocabulary("gender", {
    "男": ("male", "m", "man"),
    "女": ("female", "f", "woman"),
})

#: The roster facts a plan's ``match`` may test, and the vocabulary of the closed ones.
CLOSED_FACTS: dict[str, Vocabulary] = {v.fact: v for v in (RANKS, DEPARTMENT_TYPES, STATUSES, GENDERS)}
OPEN_FACTS = ("employee_no", "department", "position")
MATCH_FACTS = ("employee_no", "gender", "department", "department_type", "position", "rank", "status")


def close_match(word: str, candidates: list[str] | tuple[str, ...]) -> str | None:
    """The name a misspelt one was probably meant to be, or None: people mistype field names and keys, rarely
    invent them. Messages say it as a hint (``(did you mean "template"?)``)."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None
