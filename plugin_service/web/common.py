"""What the console's views share: the year a page is about, and the page number of a list."""

from __future__ import annotations

from flask import request
from sqlalchemy.orm import Session

from ..services.read_models.dashboard import applied_years


def selected_year(db: Session) -> tuple[int | None, list[int]]:
    """The year asked for (``?year=``) if it was applied, else the newest applied; and all of them."""
    years = applied_years(db)
    asked = request.args.get("year", type=int)
    if asked in years:
        return asked, years
    return (years[0] if years else None), years


def page_number() -> int:
    page = request.args.get("page", 1, type=int) or 1
    return max(page, 1)


def text_arg(name: str, limit: int = 100) -> str:
    return request.args.get(name, "").strip()[:limit]
