"""What a form, a sheet or a caller gives, taken as the rules take it (``rules.offline``): a day, a
number of hours, a text of bounded length, employee numbers. Each refusal names the field at fault."""

from __future__ import annotations

import datetime as dt
import re

from rules.offline import check_hours, check_text, parse_day, parse_hours
from rules.wording import Sentence

from .errors import OfflineError

_SEPARATORS = re.compile(r"[,，、;；\s]+")


def day_of(value: dt.date | str, field: str = "day") -> dt.date:
    if isinstance(value, dt.date):
        return value
    if not value.strip():
        raise OfflineError(Sentence("a value is required here"), field=field)
    found = parse_day(value)
    if isinstance(found, Sentence):
        raise OfflineError(found, field=field)
    return found


def hours_of(value: float | str, field: str = "hours") -> float:
    if isinstance(value, str):
        if not value.strip():
            raise OfflineError(Sentence("a value is required here"), field=field)
        found = parse_hours(value)
        if isinstance(found, Sentence):
            raise OfflineError(found, field=field)
        return found
    problem = check_hours(float(value))
    if problem is not None:
        raise OfflineError(problem, field=field)
    return float(value)


def text_of(value: str, limit: int, field: str, *, required: bool = True) -> str:
    text = value.strip()
    problem = check_text(text, limit, required=required)
    if problem is not None:
        raise OfflineError(problem, field=field)
    return text


def employee_nos(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """Employee numbers as typed (one a line, or separated by commas, 、 or spaces), each once."""
    parts = value if isinstance(value, list | tuple) else _SEPARATORS.split(value)
    return list(dict.fromkeys(part.strip() for part in parts if part.strip()))
