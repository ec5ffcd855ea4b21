"""Formatting for documents in Chinese and English: hours, grades, dates.

Hours print as people write them (52, 52.5 — never 52.0); dates as the organisation department writes them
(2026 年 12 月 31 日) or in English (31 December 2026). Templates pick the form with the ``lang`` they get.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")
DASH = "—"


def number(value: Any, places: int = 2) -> str:
    """52.0 -> "52", 52.5 -> "52.5", 1/3 -> "0.33"; None -> "—"."""
    if value is None or value == "":
        return DASH
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"not a number: {value!r}")
    text = f"{round(float(value), places):.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def hours(value: Any) -> str:
    return number(value, 2)


def grade(value: Any) -> str:
    """A grade out of 100 with at most one decimal; no grade yet prints as a dash."""
    return number(value, 1)


def date_zh(value: dt.date | None) -> str:
    return DASH if value is None else f"{value.year} 年 {value.month} 月 {value.day} 日"


def date_en(value: dt.date | None) -> str:
    return DASH if value is None else f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"


def date_short(value: dt.date | None) -> str:
    """2026-03-05: for dense tables where the long form does not fit."""
    return DASH if value is None else f"{value.year}-{value.month:02d}-{value.day:02d}"


@pass_context
def date(context: Context, value: dt.date | None) -> str:
    """The long date in the document's language."""
    return date_en(value) if context.get("lang") == "en" else date_zh(value)


def or_dash(value: Any) -> Any:
    """Empty values print as a dash, so a blank cell never looks forgotten."""
    return DASH if value is None or value == "" else value


FILTERS: dict[str, Callable[..., Any]] = {
    "number": number, "hours": hours, "grade": grade, "date": date, "date_zh": date_zh, "date_en": date_en,
    "date_short": date_short, "or_dash": or_dash}
