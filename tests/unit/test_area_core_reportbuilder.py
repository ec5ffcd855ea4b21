"""core_reportbuilder against every recorded answer, and the explicit paging of report rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import responses

from moodle_bridge import MoodleClient, ProtocolError
from moodle_bridge.areas.core_reportbuilder import (
    ReportColumns,
    ReportConditions,
    ReportFilters,
    ReportList,
    ReportPage,
    ReportView,
    parse_report_datetime,
    report_yes,
)
from tests.recordings import (
    CONTRACT,
    ENDPOINT,
    Recorded,
    check_recorded,
    endpoint_client,
    posted,
    recorded_calls,
    where,
)

FUNCTIONS = {
    "core_reportbuilder_list_reports",
    "core_reportbuilder_reports_get",
    "core_reportbuilder_retrieve_report",
    "core_reportbuilder_columns_add",
    "core_reportbuilder_conditions_add",
    "core_reportbuilder_filters_add",
    "core_reportbuilder_set_filters",
}
CASES = recorded_calls(FUNCTIONS)


def _opt(params: dict[str, Any], key: str) -> int | None:
    return None if key not in params else int(params[key])


def invoke(client: MoodleClient, function: str, params: dict[str, Any]) -> Any:
    """Calls the area method for ``function``; params the method cannot express go through ``call``."""
    area = client.core_reportbuilder
    try:
        if function == "core_reportbuilder_list_reports":
            return area.list_reports(_opt(params, "page"), _opt(params, "perpage"))
        if function == "core_reportbuilder_reports_get":
            editmode = None if "editmode" not in params else bool(int(params["editmode"]))
            return area.reports_get(int(params["reportid"]), editmode=editmode,
                                    pagesize=_opt(params, "pagesize"))
        if function == "core_reportbuilder_retrieve_report":
            return area.retrieve_report(int(params["reportid"]), _opt(params, "page"),
                                        _opt(params, "perpage"))
        if function == "core_reportbuilder_columns_add":
            return area.columns_add(int(params["reportid"]), params["uniqueidentifier"])
        if function == "core_reportbuilder_conditions_add":
            return area.conditions_add(int(params["reportid"]), params["uniqueidentifier"])
        if function == "core_reportbuilder_filters_add":
            return area.filters_add(int(params["reportid"]), params["uniqueidentifier"])
        if function == "core_reportbuilder_set_filters":
            return area.set_filters(int(params["reportid"]), json.loads(params["values"]),
                                    params.get("parameters", ""))
    except (KeyError, ValueError):  # a missing or mistyped parameter: send exactly what was sent
        return client.call(function, params, write=False)
    raise AssertionError(function)


EXPECTED_TYPES: dict[str, type] = {
    "core_reportbuilder_list_reports": ReportList,
    "core_reportbuilder_reports_get": ReportView,
    "core_reportbuilder_retrieve_report": ReportPage,
    "core_reportbuilder_columns_add": ReportColumns,
    "core_reportbuilder_conditions_add": ReportConditions,
    "core_reportbuilder_filters_add": ReportFilters,
    "core_reportbuilder_set_filters": bool,
}


@pytest.mark.parametrize("case", CASES, ids=where(CASES))
def test_recorded_answer(case: Recorded) -> None:
    def verify(result: Any, answer: Any) -> None:
        assert isinstance(result, EXPECTED_TYPES[case.function])
        _check(result, answer)

    check_recorded(case, lambda client, params: invoke(client, case.function, params), verify=verify)


def _check(result: Any, answer: Any) -> None:
    if isinstance(result, ReportList):
        assert [(r.id, r.name, r.source) for r in result.reports] == [
            (r["id"], r["name"], r["source"]) for r in answer["reports"]]
        assert all(r.modifiedby is not None and r.modifiedby.id for r in result.reports)
    elif isinstance(result, ReportPage):
        assert list(result.headers) == answer["data"]["headers"]
        assert [list(row.columns) for row in result.rows] == [r["columns"] for r in answer["data"]["rows"]]
        assert result.totalrowcount == answer["data"]["totalrowcount"]
        assert result.details.id == answer["details"]["id"]
        for row in result.rows:
            assert report_yes(row.get("Completed")) in (True, False, None)
            when = row.get("Time completed")
            if when:
                assert parse_report_datetime(when) is not None
    elif isinstance(result, ReportView):
        assert (result.id, result.name) == (answer["id"], answer["name"]) and result.table
    elif isinstance(result, ReportColumns):
        assert [c.title for c in result.sortablecolumns] == [c["title"] for c in answer["sortablecolumns"]]
    elif isinstance(result, ReportConditions):
        assert [g.text for g in result.availableconditions] == [
            g["optiongroup"]["text"] for g in answer["availableconditions"]]
        assert result.hasactiveconditions is answer["hasactiveconditions"]
    elif isinstance(result, ReportFilters):
        assert [f.heading for f in result.activefilters] == [f["heading"] for f in answer["activefilters"]]
        assert sum(len(g.values) for g in result.availablefilters) == sum(
            len(g["optiongroup"]["values"]) for g in answer["availablefilters"])
    elif isinstance(result, bool):
        assert result is answer


def test_the_recordings_are_there() -> None:
    if not CONTRACT.is_dir():
        pytest.skip("tests/contract/recordings is absent")
    assert len(CASES) > 30


DETAILS = {"id": 4, "name": "R", "source": "\\core_course\\reportbuilder\\datasource\\participants"}


def _page(headers: list[str], rows: list[list[str]], total: int) -> dict[str, Any]:
    return {"details": DETAILS, "data": {"headers": headers, "rows": [{"columns": r} for r in rows],
                                         "totalrowcount": total}, "warnings": []}


def test_iter_report_rows_pages_until_a_short_page() -> None:
    client = endpoint_client()
    rows = [[f"u{n}", "Yes" if n % 2 else ""] for n in range(7)]
    pages = [rows[0:3], rows[3:6], rows[6:7]]
    with responses.RequestsMock() as mock:
        for chunk in pages:
            mock.post(ENDPOINT, json=_page(["Username", "Completed"], chunk, 7))
        got = list(client.core_reportbuilder.iter_report_rows(4, perpage=3))
        sent = [posted(call) for call in mock.calls]
    assert [row.get("Username") for row in got] == [f"u{n}" for n in range(7)]
    assert [(s["page"], s["perpage"]) for s in sent] == [("0", "3"), ("1", "3"), ("2", "3")]
    assert got[1].as_dict() == {"Username": "u1", "Completed": "Yes"}


def test_iter_report_rows_reads_the_empty_page_after_a_full_one() -> None:
    """A page beyond the end says ``totalrowcount`` 0: the iterator never trusts the total to stop."""
    client = endpoint_client()
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=_page(["Username"], [["a"], ["b"]], 2))
        mock.post(ENDPOINT, json=_page(["Username"], [], 0))
        assert [row.columns for row in client.core_reportbuilder.iter_report_rows(4, perpage=2)] == [
            ("a",), ("b",)]
        assert len(mock.calls) == 2


def test_iter_report_rows_with_perpage_zero_reads_everything_at_once() -> None:
    client = endpoint_client()
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=_page(["Username"], [["a"], ["b"], ["c"]], 3))
        assert len(list(client.core_reportbuilder.iter_report_rows(4, perpage=0))) == 3
        assert posted(mock.calls[0])["perpage"] == "0"


def test_iter_report_rows_stops_when_the_columns_change_midway() -> None:
    client = endpoint_client()
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=_page(["Username"], [["a"]], 2))
        mock.post(ENDPOINT, json=_page(["Username", "Email address"], [["b", "b@x"]], 2))
        with pytest.raises(ProtocolError, match="changed its columns"):
            list(client.core_reportbuilder.iter_report_rows(4, perpage=1))


def test_a_row_with_a_column_count_unlike_the_headers_is_refused() -> None:
    client = endpoint_client()
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=_page(["Username", "Completed"], [["a"]], 1))
        with pytest.raises(ProtocolError):
            client.core_reportbuilder.retrieve_report(4, 0, 10)


def test_display_strings() -> None:
    assert report_yes("Yes") is True and report_yes("No") is False and report_yes("") is None
    moment = parse_report_datetime("Friday, 27 November 2026, 8:22 PM")
    assert moment == datetime(2026, 11, 27, 20, 22, tzinfo=UTC)
    shanghai = parse_report_datetime("Sunday, 1 November 2026, 12:32 PM", ZoneInfo("Asia/Shanghai"))
    assert shanghai is not None and shanghai.astimezone(UTC).hour == 4
    assert parse_report_datetime("") is None
    with pytest.raises(ValueError):
        parse_report_datetime("2026年11月27日")
