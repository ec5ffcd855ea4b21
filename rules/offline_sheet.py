"""The attendance sheet of offline trainings (线下培训签到表) that officers import: one row per training, or
per attendee, with the training's name, its day, its hours and the attendees' employee numbers.

Columns are found by their header, in Chinese or English: 培训名称 (event), 日期 (date), 学时 (hours),
工号 (employee numbers: one or several in a cell, separated by commas, 、, semicolons or spaces) and,
optionally, 主办单位 (organiser). Rows naming the same training on the same day are one training: their
attendees are added up, and they must agree on its hours. Every problem is reported at once with its row
and column, so that the sheet is fixed in one pass; what the sheet says about people and plan years is
checked against the companion's records by the service that imports it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from rules.offline import NAME_MAX, check_text, is_employee_no, parse_day, parse_hours
from rules.plan_model import hours_text
from rules.problems import Problem
from rules.roster_read import read_rows
from rules.vocabulary import fold
from rules.wording import Sentence


@dataclass(frozen=True)
class SheetColumn:
    field: str
    chinese: str
    required: bool
    aliases: tuple[str, ...] = ()


COLUMNS = (
    SheetColumn("name", "培训名称", True, ("活动名称", "培训", "活动", "名称", "培训项目", "event",
                                           "training", "title", "name")),
    SheetColumn("day", "日期", True, ("培训日期", "举办日期", "活动日期", "时间", "date", "day")),
    SheetColumn("hours", "学时", True, ("学时数", "认定学时", "hours", "credit hours")),
    SheetColumn("employee_nos", "工号", True, ("参训人员工号", "参加人员工号", "人员工号", "职工号",
                                               "employee no", "employee nos", "employee number",
                                               "employee numbers", "attendees")),
    SheetColumn("organiser", "主办单位", False, ("组织单位", "举办单位", "承办单位", "organiser",
                                                 "organizer")),
)
_BY_HEADER = {fold(name): column for column in COLUMNS
              for name in (column.field, column.chinese, *column.aliases)}
_SEPARATORS = re.compile(r"[,，、;；\s]+")


@dataclass
class SheetTraining:
    """A training as the sheet gives it: where it is first named, and each attendee with their row."""

    name: str
    day: dt.date
    hours: float
    organiser: str
    line: int
    attendees: dict[str, int] = field(default_factory=dict)  # employee number -> row first naming them


@dataclass(frozen=True)
class Sheet:
    filename: str
    trainings: tuple[SheetTraining, ...]
    columns: dict[str, str]  # field -> the header as the sheet writes it
    problems: tuple[Problem, ...]  # errors and warnings, in row order
    #: employee numbers of rows not read whole (their training is not known), with their row: still
    #: checked against the roster, so that one round of corrections is enough
    loose: tuple[tuple[str, int], ...] = ()

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def place(self, field_name: str) -> Sentence:
        """Where a problem of a field is: its column, as the sheet names it."""
        return column_place(self.columns.get(field_name, _chinese(field_name)))


def column_place(name: str) -> Sentence:
    return Sentence("column %(name)s", name=name)


def read_attendance(data: bytes, filename: str) -> Sheet:
    """The trainings and attendees of the sheet, with every problem found in it."""
    rows, problems = read_rows(data, filename)
    if problems:
        return Sheet(filename, (), {}, tuple(problems))
    if not rows:
        return Sheet(filename, (), {}, (Problem(filename, None, "", Sentence("the sheet is empty")),))
    header_line, header = rows[0]
    columns, found = _header(header, header_line, filename)
    problems += found
    if any(p.severity == "error" for p in found):
        return Sheet(filename, (), {name: header[index] for name, index in columns.items()}, tuple(problems))
    names = {name: header[index] for name, index in columns.items()}
    trainings: dict[tuple[str, dt.date], SheetTraining] = {}
    loose: list[tuple[str, int]] = []
    for line, cells in rows[1:]:
        _row(line, cells, columns, names, filename, trainings, problems, loose)
    if len(rows) == 1:
        problems.append(Problem(filename, header_line, "",
                                Sentence("the sheet has no rows under its header")))
    ordered = sorted(problems, key=lambda p: (p.line or 0, p.where, p.message))
    return Sheet(filename, tuple(trainings.values()), names, tuple(ordered), tuple(loose))


def _chinese(field_name: str) -> str:
    return next(column.chinese for column in COLUMNS if column.field == field_name)


def _header(header: list[str], line: int, filename: str) -> tuple[dict[str, int], list[Problem]]:
    columns: dict[str, int] = {}
    problems: list[Problem] = []
    known = "、".join(column.chinese for column in COLUMNS)
    for index, name in enumerate(header):
        if not name:
            continue
        column = _BY_HEADER.get(fold(name))
        if column is None:
            problems.append(Problem(filename, line, column_place(name), Sentence(
                "unknown column, ignored (known: %(known)s)", known=known), "warning"))
        elif column.field in columns:
            problems.append(Problem(filename, line, column_place(name), Sentence(
                "column %(column)s appears twice: also as %(other)s", column=column.chinese,
                other=header[columns[column.field]])))
        else:
            columns[column.field] = index
    for column in COLUMNS:
        if column.required and column.field not in columns:
            problems.append(Problem(filename, line, "", Sentence(
                "missing required column %(column)s (%(field)s)", column=column.chinese,
                field=column.field)))
    return columns, problems


def _row(line: int, cells: list[str], columns: dict[str, int], names: dict[str, str], filename: str,
         trainings: dict[tuple[str, dt.date], SheetTraining], problems: list[Problem],
         loose: list[tuple[str, int]]) -> None:
    def cell(field_name: str) -> str:
        index = columns.get(field_name)
        return cells[index] if index is not None and index < len(cells) else ""

    def problem(field_name: str, message: Sentence, severity: str = "error") -> None:
        problems.append(Problem(filename, line, column_place(names[field_name]), message, severity))

    name, organiser = cell("name"), cell("organiser")
    for field_name, text in (("name", name), ("organiser", organiser)):
        if field_name in names and (wrong := check_text(text, NAME_MAX, required=field_name == "name")):
            problem(field_name, wrong)
    day = parse_day(cell("day")) if cell("day") else Sentence("a value is required here")
    if isinstance(day, Sentence):
        problem("day", day)
    hours = parse_hours(cell("hours")) if cell("hours") else Sentence("a value is required here")
    if isinstance(hours, Sentence):
        problem("hours", hours)
    numbers = [part for part in _SEPARATORS.split(cell("employee_nos")) if part]
    if not numbers:
        problem("employee_nos", Sentence("no employee number in the row"))
    for number in numbers:
        if not is_employee_no(number):
            problem("employee_nos", Sentence('"%(value)s" is not an employee number', value=number))
    well_formed = [number for number in numbers if is_employee_no(number)]
    if not name.strip() or isinstance(day, Sentence) or isinstance(hours, Sentence):
        loose.extend((number, line) for number in well_formed)
        return
    training = trainings.get((name, day))
    if training is None:
        training = trainings[(name, day)] = SheetTraining(name, day, hours, organiser, line)
    elif training.hours != hours:
        problem("hours", Sentence('"%(name)s" of %(day)s has %(hours)s hours on line %(line)s: one training '
                                  "has one number of hours", name=name, day=day.isoformat(),
                                  hours=hours_text(training.hours), line=training.line))
        loose.extend((number, line) for number in well_formed)
        return
    elif organiser and training.organiser and organiser != training.organiser:
        problem("organiser", Sentence('"%(name)s" of %(day)s is organised by %(organiser)s on line %(line)s',
                                      name=name, day=day.isoformat(), organiser=training.organiser,
                                      line=training.line))
        loose.extend((number, line) for number in well_formed)
        return
    training.organiser = training.organiser or organiser
    for number in well_formed:
        if number in training.attendees:
            problem("employee_nos", Sentence("%(employee_no)s is listed for this training already (line "
                                             "%(line)s): counted once", employee_no=number,
                                             line=training.attendees[number]), "warning")
        else:
            training.attendees[number] = line


__all__ = ["COLUMNS", "Sheet", "SheetTraining", "column_place", "read_attendance"]
