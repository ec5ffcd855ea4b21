"""The roster of cadres HR exports each year, and what makes a row of it trustworthy.

Every problem is reported at once with its line and column as the file names it, so that HR can fix the
export in one pass rather than one error per upload. Warnings (an unknown column, a missing email) do
not stop the roster from loading; they ride along in ``Roster.warnings``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from rules.desired import username
from rules.names import split_name
from rules.problems import InputError, Problem
from rules.roster_read import Row, read_rows
from rules.vocabulary import (
    DEPARTED,
    DEPARTMENT_TYPES,
    GENDERS,
    LEADER_RANK,
    ON_LEAVE,
    RANKS,
    STATUSES,
    Vocabulary,
    fold,
)
from rules.wording import Sentence


@dataclass(frozen=True)
class Column:
    field: str
    chinese: str
    required: bool
    aliases: tuple[str, ...] = ()
    vocabulary: Vocabulary | None = None


COLUMNS = (
    Column("employee_no", "工号", True, ("职工号", "员工号", "人员编号", "教工号", "employee no",
                                         "employee number", "employee id", "staff no", "staff number",
                                         "staff id")),
    Column("name", "姓名", True, ("name", "full name")),
    Column("gender", "性别", False, ("gender", "sex"), GENDERS),
    Column("department", "部门", True, ("所在部门", "单位", "部门名称", "department", "dept")),
    Column("department_type", "部门类别", True, ("部门类型", "department type", "dept type"),
           DEPARTMENT_TYPES),
    Column("position", "职务", False, ("position", "job title", "post")),
    Column("rank", "职级", True, ("级别", "职务级别", "rank", "grade"), RANKS),
    Column("email", "邮箱", False, ("电子邮箱", "电子邮件", "邮件", "email", "e mail", "mail")),
    Column("mobile", "手机", False, ("手机号", "手机号码", "移动电话", "mobile", "mobile phone", "cellphone",
                                      "phone")),
    Column("status", "在职状态", True, ("状态", "人员状态", "status", "employment status"), STATUSES),
    Column("supervising_leader", "分管校领导工号", False, ("分管领导工号", "分管校领导", "supervising leader",
                                                           "supervising leader no", "reviewer")),
)
_BY_HEADER = {fold(name): column
              for column in COLUMNS for name in (column.field, column.chinese, *column.aliases)}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z0-9-]{2,}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]+$")  # what Moodle allows in a username, lower-cased


@dataclass(frozen=True)
class Cadre:
    """One row of the roster; optional facts left blank in the file are empty strings."""

    employee_no: str
    name: str
    gender: str
    department: str
    department_type: str
    position: str
    rank: str
    email: str
    mobile: str
    status: str
    supervising_leader: str
    line: int = 0

    @property
    def is_leader(self) -> bool:
        return self.rank == LEADER_RANK

    @property
    def departed(self) -> bool:
        """Departed cadres keep their Moodle account (records are kept) but it is suspended."""
        return self.status == DEPARTED

    @property
    def on_leave(self) -> bool:
        return self.status == ON_LEAVE

    @property
    def lastname(self) -> str:
        return split_name(self.name)[0]

    @property
    def firstname(self) -> str:
        return split_name(self.name)[1]

    def fact(self, name: str) -> str:
        """A fact a plan's ``match`` may test (see rules.vocabulary.MATCH_FACTS)."""
        value = getattr(self, name)
        assert isinstance(value, str)
        return value


@dataclass(frozen=True)
class Roster:
    cadres: tuple[Cadre, ...]
    filename: str = "roster"
    sha256: str = ""
    warnings: tuple[Problem, ...] = ()
    _index: dict[str, Cadre] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({username(c.employee_no): c for c in self.cadres})

    def __iter__(self) -> Iterator[Cadre]:
        return iter(self.cadres)

    def __len__(self) -> int:
        return len(self.cadres)

    def __contains__(self, employee_no: object) -> bool:
        return isinstance(employee_no, str) and username(employee_no) in self._index

    def get(self, employee_no: str) -> Cadre | None:
        """Employee numbers compare as Moodle usernames do: case does not matter."""
        return self._index.get(username(employee_no))

    def __getitem__(self, employee_no: str) -> Cadre:
        cadre = self.get(employee_no)
        if cadre is None:
            raise KeyError(employee_no)
        return cadre

    def leaders(self) -> tuple[Cadre, ...]:
        return tuple(c for c in self.cadres if c.is_leader)

    def supervised_by(self, employee_no: str) -> tuple[Cadre, ...]:
        key = username(employee_no)
        return tuple(c for c in self.cadres if c.supervising_leader and username(c.supervising_leader) == key)


def load_roster(data: bytes, filename: str) -> Roster:
    """The roster in ``data``, or InputError listing every problem in it."""
    rows, problems = read_rows(data, filename)
    if not rows and not problems:
        problems.append(Problem(filename, None, "", Sentence("the file is empty: no header, no cadres")))
    if problems:
        raise InputError(problems)
    header_at = _header_index(rows)
    header_line, header = rows[header_at]
    columns, problems = _read_header(header, header_line, filename)
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    cadres = [_read_row(line, cells, columns, filename, problems) for line, cells in rows[header_at + 1:]]
    _check_duplicates(cadres, columns, filename, problems)
    _check_leaders(cadres, columns, filename, problems)
    if not cadres:
        problems.append(Problem(filename, header_line, "", Sentence("the roster has a header but no cadres")))
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return Roster(tuple(cadres), filename, hashlib.sha256(data).hexdigest(), tuple(sorted(problems)))


def _header_index(rows: list[Row]) -> int:
    """Excel exports often start with a title row ("2026 年干部名册"): the header is the first row naming
    at least two known columns among the first few; otherwise the first row."""
    for index, (_, cells) in enumerate(rows[:5]):
        if sum(fold(cell) in _BY_HEADER for cell in cells) >= 2:
            return index
    return 0


def _read_header(header: list[str], line: int,
                 filename: str) -> tuple[dict[str, tuple[int, str]], list[Problem]]:
    """Which cell index holds which field, named as the file names it."""
    columns: dict[str, tuple[int, str]] = {}
    problems: list[Problem] = []
    for index, name in enumerate(header):
        column = _BY_HEADER.get(fold(name))
        if not name:
            continue
        if column is None:
            known = ", ".join(c.chinese for c in COLUMNS)
            problems.append(Problem(filename, line, _column_place(name),
                                    Sentence("unknown column, ignored (known: %(known)s)", known=known),
                                    "warning"))
        elif column.field in columns:
            problems.append(Problem(filename, line, _column_place(name), Sentence(
                "column %(column)s (%(field)s) appears twice: also as %(other)s",
                column=column.chinese, field=column.field, other=columns[column.field][1])))
        else:
            columns[column.field] = (index, name)
    english = sum(c.isascii() for c in header if c) > len([c for c in header if c]) / 2
    for column in COLUMNS:
        if column.required and column.field not in columns:
            problems.append(Problem(filename, line, "", _missing(column, english)))
    return columns, problems


def _column_place(name: str) -> Sentence:
    """Where a roster problem is: the column, as the file's header names it."""
    return Sentence("column %(name)s", name=name)


def _missing(column: Column, english: bool) -> Sentence:
    """A required column the header lacks, named first in the language the header is written in."""
    if english:
        return Sentence("missing required column %(field)s (%(column)s)",
                        field=column.field, column=column.chinese)
    return Sentence("missing required column %(column)s (%(field)s)",
                    column=column.chinese, field=column.field)


def _read_row(line: int, cells: list[str], columns: dict[str, tuple[int, str]], filename: str,
              problems: list[Problem]) -> Cadre:
    values: dict[str, str] = {}
    for column in COLUMNS:
        if column.field not in columns:
            values[column.field] = ""
            continue
        index, header = columns[column.field]
        values[column.field], findings = _cell(column, cells[index] if index < len(cells) else "")
        problems += [Problem(filename, line, _column_place(header), message, severity)
                     for message, severity in findings]
    return Cadre(line=line, **values)


def _cell(column: Column, value: str) -> tuple[str, list[tuple[Sentence, str]]]:
    """The value as kept (closed vocabularies in their Chinese word), and what is wrong with it."""
    if not value:
        if column.required:
            return "", [(Sentence("required value is empty"), "error")]
        if column.field == "email":
            return "", [(Sentence("no email: Moodle needs one to create the account"), "warning")]
        return "", []
    if column.vocabulary is not None:
        canonical = column.vocabulary.canonical(value)
        return (canonical, []) if canonical else (value, [(column.vocabulary.unknown(value), "error")])
    if column.field == "employee_no" and not _USERNAME.match(value):
        return value, [(Sentence('employee number "%(value)s" cannot be a Moodle username: use letters, '
                                 'digits, "_", "-", "." or "@"', value=value), "error")]
    if column.field == "email" and not _EMAIL.match(value):
        return value, [(Sentence('malformed email "%(value)s"', value=value), "error")]
    if column.field == "mobile":
        mobile = _mobile(value)
        if not _MOBILE.match(mobile):
            return value, [(Sentence('malformed mobile "%(value)s" (expected 11 digits, like 13912345678)',
                                     value=value), "error")]
        return mobile, []
    return value, []


def _mobile(value: str) -> str:
    digits = re.sub(r"[\s\-()]", "", value)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            return digits[len(prefix):]
    return digits


def _check_duplicates(cadres: list[Cadre], columns: dict[str, tuple[int, str]], filename: str,
                      problems: list[Problem]) -> None:
    where = _column_place(columns["employee_no"][1])
    first: dict[str, Cadre] = {}
    for cadre in cadres:
        if not cadre.employee_no:
            continue
        earlier = first.setdefault(username(cadre.employee_no), cadre)
        if earlier is not cadre:
            problems.append(Problem(filename, cadre.line, where, Sentence(
                'duplicate employee number "%(employee_no)s" (lines %(first)s and %(line)s)',
                employee_no=cadre.employee_no, first=earlier.line, line=cadre.line)))


def _check_leaders(cadres: list[Cadre], columns: dict[str, tuple[int, str]], filename: str,
                   problems: list[Problem]) -> None:
    """A supervising leader reviews reflections, so must be a school leader (校级) of this roster."""
    if "supervising_leader" not in columns:
        return
    where = _column_place(columns["supervising_leader"][1])
    by_no: dict[str, Cadre] = {}
    for cadre in cadres:
        by_no.setdefault(username(cadre.employee_no), cadre)  # of duplicates, the first (both are reported)
    for cadre in cadres:
        if not cadre.supervising_leader:
            continue
        leader = by_no.get(username(cadre.supervising_leader))
        if leader is None:
            problems.append(Problem(filename, cadre.line, where, Sentence(
                'supervising leader "%(leader)s" is not in the roster', leader=cadre.supervising_leader)))
        elif not leader.is_leader:
            problems.append(Problem(filename, cadre.line, where,
                                    _not_a_leader(cadre.supervising_leader, leader)))
        elif leader.departed:
            problems.append(Problem(filename, cadre.line, where, Sentence(
                'supervising leader "%(leader)s" (%(name)s) has departed (%(departed)s): the plan\'s '
                "fallback reviewer reviews instead",
                leader=cadre.supervising_leader, name=leader.name, departed=DEPARTED), "warning"))


def _not_a_leader(named: str, leader: Cadre) -> Sentence:
    """A supervising leader who is not a school leader: of another rank, or of none when it was left blank."""
    if leader.rank:
        return Sentence('supervising leader "%(leader)s" (%(name)s, line %(line)s) is %(rank)s, not a '
                        "%(leader_rank)s leader", leader=named, name=leader.name, line=leader.line,
                        rank=leader.rank, leader_rank=LEADER_RANK)
    return Sentence('supervising leader "%(leader)s" (%(name)s, line %(line)s) is of no rank, not a '
                    "%(leader_rank)s leader", leader=named, name=leader.name, line=leader.line,
                    leader_rank=LEADER_RANK)
