"""Problems found in an input, each with its place, all reported at once.

A place names the file and, where it applies, the line and the column (roster) or the field path (plan):
``roster.csv line 12, column 职级: unknown rank "副处"`` or
``plan.yaml line 58 courses[3].required: unknown tier "teachers"``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int | None
    where: str  # a roster column ("column 职级") or a plan field path ("courses[3].required")
    message: str
    severity: str = "error"  # "error" stops everything; "warning" is reported and allowed

    def __str__(self) -> str:
        place = self.file + (f" line {self.line}" if self.line is not None else "")
        if self.where:
            sep = ", " if self.where.startswith("column ") else " "
            place += f"{sep}{self.where}"
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{place}: {prefix}{self.message}"


class InputError(Exception):
    """An input has errors; ``problems`` lists every one of them (warnings included)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.where, p.message))
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__(f"{len(errors)} problem(s):\n" + "\n".join(str(p) for p in errors))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]
