"""Report filters through the bridge: the values ``core_reportbuilder_set_filters`` carries (one JSON
object, as text, keyed by each filter's ``<entity>:<name>_<field>``), the date filter's range, the calls
that add, delete and reset filters, and Moodle's clock read from the answers' ``Date`` header."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import responses

from moodle_bridge import DatabaseWriteError, MoodleClient
from moodle_bridge.areas.core_reportbuilder import (
    DATE_RANGE,
    FilterValue,
    ReportView,
    date_range,
    filter_values_json,
)
from tests.recordings import ENDPOINT, URL, endpoint_client, posted

FILTERS_ANSWER = {
    "hasavailablefilters": True,
    "availablefilters": [{"optiongroup": {"text": "Course completion", "values": [
        {"value": "completion:timestarted", "visiblename": "Time started"}]}}],
    "hasactivefilters": True,
    "activefilters": [{"id": 12, "heading": "Time completed", "headingeditable": "", "sortorder": 1,
                       "movetitle": "", "entityname": "Course completion"}],
    "helpicon": "",
}
JUNE = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)


def test_a_date_range_is_moodle_s_three_keys() -> None:
    assert date_range("completion:timecompleted", JUNE) == {
        "completion:timecompleted_operator": DATE_RANGE,
        "completion:timecompleted_from": int(JUNE.timestamp()), "completion:timecompleted_to": 0}
    naive = JUNE.replace(tzinfo=None)  # naive times are UTC, as the service keeps them
    assert date_range("access:timeaccess", naive)["access:timeaccess_from"] == int(JUNE.timestamp())
    beijing = JUNE.astimezone(timezone(timedelta(hours=8)))
    assert date_range("access:timeaccess", beijing) == date_range("access:timeaccess", JUNE)
    both = date_range("enrolment:timecreated", 100, JUNE)
    assert both["enrolment:timecreated_from"] == 100
    assert both["enrolment:timecreated_to"] == int(JUNE.timestamp())


@pytest.mark.parametrize(("since", "until"), [(None, None), (0, None), (None, 0), (-5, None)])
def test_a_date_range_needs_a_bound_after_1970(since: int | None, until: int | None) -> None:
    with pytest.raises(ValueError):
        date_range("completion:timecompleted", since, until)


def test_set_filters_sends_one_json_object_as_text() -> None:
    client = endpoint_client()
    values: dict[str, FilterValue] = {**date_range("completion:timecompleted", JUNE),
                                      "course:idnumber_operator": 1, "course:idnumber_value": "课程"}
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=True)
        mock.post(ENDPOINT, json=True)
        assert client.core_reportbuilder.set_filters(4, values) is True
        assert client.core_reportbuilder.set_filters(4, {}) is True
        first, cleared = (posted(call) for call in mock.calls)
    assert first["wsfunction"] == "core_reportbuilder_set_filters"
    assert (first["reportid"], first["parameters"]) == ("4", "")
    assert json.loads(first["values"]) == values
    assert "课程" in first["values"]  # as it is, not \\u-escaped
    assert not any(key.startswith("values[") for key in first)  # one text field, not a PHP array
    assert cleared["values"] == "{}"


@pytest.mark.parametrize("values", [
    {"timecompleted_operator": 3},  # no entity
    {"completion:timecompleted": 3},  # no field
    {"completion:timecompleted_from": [1, 2]},  # nested
    {"completion:timecompleted_from": None},
    {"completion:timecompleted_from": float("nan")},
])
def test_values_moodle_would_ignore_are_refused_before_sending(values: dict[str, object]) -> None:
    client = endpoint_client()
    with responses.RequestsMock(), pytest.raises(ValueError):  # a call would find no answer here
        client.core_reportbuilder.set_filters(4, values)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        filter_values_json(values)  # type: ignore[arg-type]


def test_setting_values_is_repeated_when_the_site_refuses_it_for_a_moment() -> None:
    """The same values set twice are the same values: unlike a write that adds something, it is safe to
    send again after a deadlock or a lost answer."""
    client = MoodleClient(URL, "0" * 32, timeout=5, retries=1)
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json={"exception": "dml_write_exception", "errorcode": "dmlwriteexception",
                                  "message": "Error writing to database"})
        mock.post(ENDPOINT, json=True)
        assert client.core_reportbuilder.set_filters(4, {}) is True
        assert len(mock.calls) == 2
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json={"exception": "dml_write_exception", "errorcode": "dmlwriteexception",
                                  "message": "Error writing to database"})
        with pytest.raises(DatabaseWriteError):
            client.core_reportbuilder.filters_add(4, "completion:timecompleted")  # adds: never repeated
        assert len(mock.calls) == 1


def test_adding_deleting_and_resetting_filters() -> None:
    client = endpoint_client()
    area = client.core_reportbuilder
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=FILTERS_ANSWER)
        mock.post(ENDPOINT, json=FILTERS_ANSWER)
        mock.post(ENDPOINT, json=True)
        added = area.filters_add(4, "completion:timecompleted")
        left = area.filters_delete(4, 12)
        assert area.filters_reset(4) is True
        sent = [posted(call) for call in mock.calls]
    assert added.available == {"completion:timestarted"} and added.activefilters[0].id == 12
    assert left.activefilters[0].heading == "Time completed"
    assert {k: v for k, v in sent[0].items() if not k.startswith(("ws", "moodlews"))} == {
        "reportid": "4", "uniqueidentifier": "completion:timecompleted"}
    assert (sent[1]["wsfunction"], sent[1]["filterid"]) == ("core_reportbuilder_filters_delete", "12")
    assert sent[2]["wsfunction"] == "core_reportbuilder_filters_reset" and "parameters" not in sent[2]


def test_what_a_viewer_sees_of_the_filters() -> None:
    """A viewer's ``reports_get`` has the filters form; its fields are named after the filters."""
    form = ('<form><input type="hidden" name="reportid" value="4"><div><h5>Time completed</h5>'
            '<select class="form-select" name="completion:timecompleted_operator" '
            'id="id_completion:timecompleted_operator"></select><input name="completion:timecompleted_value">'
            '<select name="completion:timecompleted_from[day]"></select></div>'
            '<select name="course_category:coursecount_operator"></select>'
            '<select name="user:firstnamephonetic_operator"></select></form>')
    view = ReportView(4, "R", "source", filtersform=form)
    assert view.filter_identifiers == {"completion:timecompleted", "course_category:coursecount",
                                       "user:firstnamephonetic"}
    assert ReportView(4, "R", "source").filter_identifiers == frozenset()


def test_moodle_s_clock_is_read_from_the_answers() -> None:
    client = endpoint_client()
    assert client.site_time() is None
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=True, headers={"Date": "Thu, 15 Oct 2026 12:00:00 GMT"})
        client.core_reportbuilder.set_filters(4, {})
    seen = client.site_time()
    assert seen is not None and abs(seen - datetime(2026, 10, 15, 12, 0)) < timedelta(seconds=5)
    with responses.RequestsMock() as mock:
        mock.post(ENDPOINT, json=True, headers={"Date": "not a date"})
        client.core_reportbuilder.set_filters(4, {})
    kept = client.site_time()
    assert kept is not None and abs(kept - datetime(2026, 10, 15, 12, 0)) < timedelta(seconds=5)
