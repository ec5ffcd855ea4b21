"""The JSON API's resources: years, learning records, reports, and roster uploads."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from werkzeug.datastructures import FileStorage

from rules.problems import InputError

from ..db import session_scope
from ..services.documents.document_values import plan_of
from ..services.provisioning.stored import store_roster
from ..services.read_models import record_lists
from ..services.read_models.reports import ReportFilters, excluded_count, group_lines, harvested_at, total_of
from ..web.access import settings
from .auth import grant_name, grant_scope, token_required
from .schemas import (
    GROUPS,
    ApiErrorSchema,
    CadreRecordSchema,
    RecordPageSchema,
    RecordQuerySchema,
    ReportQuerySchema,
    ReportSchema,
    RosterStoredSchema,
    RosterUploadSchema,
    YearSchema,
)

MAX_ROSTER_BYTES = 10 * 1024 * 1024
blp = Blueprint("api", __name__, url_prefix="/api/v1",
                description="Cadre Companion's learning records and reports, and roster uploads, for HR "
                            "and OA systems. Every request carries `Authorization: Bearer <token>`.")



def _known_year(year: int) -> None:
    """A year outside any plan's range is not looked up (and cannot overflow a database integer)."""
    if not 2000 <= year <= 2999:
        abort(404, message=f"no plan year {year}: years run from 2000 to 2999")


def _group(line: Any) -> dict[str, Any]:
    counts = {name: getattr(line, name) for name in (
        "key", "name", "cadres", "complete", "on_track", "behind", "hours_met", "required_met",
        "required_owed", "required_done", "reflections_owed", "reflections_submitted", "reflections_short",
        "reflections_awaiting")}
    study = line.mean_study_seconds
    return {**counts, "mean_hours": round(line.mean_hours, 2), "mean_points": round(line.mean_points, 2),
            "mean_study_seconds": round(study, 2) if study is not None else None,
            "mean_offline_hours": round(line.mean_offline_hours, 2), "offline_cadres": line.offline_cadres}


ERRORS = {401: "no token, or not an active one", 403: "the token may not do this"}


def _documented(*statuses: int) -> Any:
    def decorate(view: Any) -> Any:
        for status in statuses:
            view = blp.alt_response(status, schema=ApiErrorSchema,
                                    description=ERRORS.get(status, "see the error"))(view)
        return view
    return decorate


@blp.route("/years")
class Years(MethodView):
    @token_required()
    @blp.response(200, YearSchema(many=True))
    @_documented(401)
    def get(self) -> list[dict[str, Any]]:
        """The plan years applied to Moodle, newest first."""
        with session_scope(settings().database_url) as session:
            return record_lists.years(session, grant_scope())


@blp.route("/years/<int:year>/records")
class Records(MethodView):
    @token_required()
    @blp.arguments(RecordQuerySchema, location="query")
    @blp.response(200, RecordPageSchema)
    @_documented(401, 404, 422)
    def get(self, query: dict[str, Any], year: int) -> dict[str, Any]:
        """The year's learning records, filtered and paged (in employee-number order)."""
        _known_year(year)
        with session_scope(settings().database_url) as session:
            if plan_of(session, year) is None:
                abort(404, message=f"no plan for {year} was applied")
            return record_lists.records(session, year, grant_scope(), **query)


@blp.route("/years/<int:year>/records/<string:employee_no>")
class Record(MethodView):
    @token_required()
    @blp.response(200, CadreRecordSchema)
    @_documented(401, 404)
    def get(self, year: int, employee_no: str) -> dict[str, Any]:
        """One cadre's record of the year: hours, reasons, courses, reflections, discussions, history."""
        _known_year(year)
        if len(employee_no) > 32:
            abort(404, message="no such employee number (at most 32 characters)")
        with session_scope(settings().database_url) as session:
            found = record_lists.record(session, year, employee_no, grant_scope())
        if found is None:
            abort(404, message=f"no record of {employee_no} in {year}")
        assert found is not None  # abort raised
        return found


@blp.route("/years/<int:year>/reports/<string:group_by>")
class Reports(MethodView):
    @token_required()
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportSchema)
    @_documented(401, 404, 422)
    def get(self, query: dict[str, Any], year: int, group_by: str) -> dict[str, Any]:
        """The statistics report (统计报表) by department, tier or class."""
        _known_year(year)
        if group_by not in GROUPS:
            abort(404, message=f"reports are by {', '.join(GROUPS)}, not {group_by!r}")
        with session_scope(settings().database_url) as session:
            plan = plan_of(session, year)
            if plan is None:
                abort(404, message=f"no plan for {year} was applied")
            filters = ReportFilters(year=year, group_by=group_by, **query)
            scope = grant_scope()
            lines = group_lines(session, plan, filters, scope)
            return {"year": year, "group_by": group_by, "groups": [_group(line) for line in lines],
                    "total": _group(total_of(lines)), "excluded": excluded_count(session, filters, scope),
                    "harvested_at": harvested_at(session, year)}


@blp.route("/rosters")
class Rosters(MethodView):
    @token_required(write=True)
    @blp.arguments(RosterUploadSchema, location="files")
    @blp.response(201, RosterStoredSchema)
    @_documented(401, 403, 413, 422)
    def post(self, files: dict[str, Any]) -> dict[str, Any]:
        """Uploads the HR roster (花名册). Every problem is reported with its line and column and nothing is
        stored; a valid roster is stored for the next apply of a plan (the same file twice is stored
        once)."""
        upload: FileStorage = files["file"]
        data = upload.stream.read(MAX_ROSTER_BYTES + 1)
        if len(data) > MAX_ROSTER_BYTES:
            abort(413, message=f"the roster is larger than {MAX_ROSTER_BYTES // (1024 * 1024)} MB")
        filename = (upload.filename or "roster.csv").rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:255]
        try:
            with session_scope(settings().database_url) as session:
                stored = store_roster(session, data, filename, actor=grant_name())
        except InputError as exc:
            abort(422, message=f"{len(exc.errors)} problem(s) in the roster; nothing was stored",
                  errors={"problems": [vars(p) for p in exc.problems]})
        return {**vars(stored), "warnings": [vars(p) for p in stored.warnings]}
