"""统计报表: the year's records by department, tier or class with filters, charts and XLSX exports,
always within the reader's scope (an officer's report is their departments')."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy.orm import Session

from ..db import session_scope
from ..services.documents.exports import to_xlsx
from ..services.read_models.report_exports import (
    commendation_table,
    laggards_table,
    study_table,
    summary_table,
)
from ..services.read_models.reports import GROUPS, STATUSES, ReportFilters, report
from .access import EVERYONE, allow, scope, settings
from .common import page_number, selected_year, text_arg

blueprint = Blueprint("reports", __name__, url_prefix="/reports")
LAGGARDS_PER_PAGE = 50
PARTS = ("summary", "laggards", "commendation", "study")


def _filters(db: Session) -> tuple[ReportFilters | None, list[int]]:
    year, years = selected_year(db)
    if year is None:
        return None, years
    group_by = request.args.get("group_by", "department")
    status = request.args.get("status", "")
    filters = ReportFilters(year=year, group_by=group_by if group_by in GROUPS else "department",
                            department=text_arg("department", 128) or None, tier=text_arg("tier", 64) or None,
                            klass=text_arg("class", 64) or None,
                            status=status if status in STATUSES else None)
    return filters, years


@blueprint.get("/")
@allow(*EVERYONE)
def index() -> str:
    page = page_number()
    with session_scope(settings().database_url) as db:
        filters, years = _filters(db)
        found = None
        if filters is not None:
            found = report(db, filters, scope(filters.year), laggards_limit=LAGGARDS_PER_PAGE,
                           laggards_offset=(page - 1) * LAGGARDS_PER_PAGE)
    pages = max(1, -(-found.laggards_total // LAGGARDS_PER_PAGE)) if found else 1
    return render_template("reports/index.html", r=found, years=years, page=page, pages=pages,
                           args={k: v for k, v in request.args.items() if k != "page"})


@blueprint.get("/export.xlsx")
@allow(*EVERYONE)
def export() -> Response:
    part = request.args.get("part", "summary")
    if part not in PARTS:
        abort(404)
    with session_scope(settings().database_url) as db:
        filters, _years = _filters(db)
        if filters is None:
            abort(404)
        visible = scope(filters.year)
        if part == "laggards":
            table = laggards_table(db, filters, visible)
        else:
            found = report(db, filters, visible, laggards_limit=0)
            table = (summary_table(found) if part == "summary" else study_table(found) if part == "study"
                     else commendation_table(found))
    response = Response(to_xlsx(table),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(table.title)}.xlsx"
    return response
