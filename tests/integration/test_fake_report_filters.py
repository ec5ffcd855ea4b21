"""Report filters against the fake Moodle over HTTP, as Moodle's report builder applies them: date filters
on completions, course accesses and enrolments (a range, "last N units", empty or not), per-user values,
and who may add, set, reset and delete them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from moodle_bridge import AccessDeniedError, InvalidParameterError, MoodleClient
from moodle_bridge.areas.core_reportbuilder import (
    DATE_AFTER,
    DATE_BEFORE,
    DATE_CURRENT,
    DATE_EMPTY,
    DATE_LAST,
    DATE_NOT_EMPTY,
    DATE_RANGE,
    DATE_UNIT_DAY,
    DATE_UNIT_HOUR,
    FilterValue,
    date_range,
)
from moodle_bridge.fake import RunningFake
from moodle_bridge.fake.datefilter import relative_period
from tests.factories import enrol, learner, numbered_user, training_course

from ..conftest import WEAK_TOKEN

pytestmark = pytest.mark.integration
SOURCE = "\\core_course\\reportbuilder\\datasource\\participants"
COLUMNS = ["course:idnumber", "user:idnumber", "completion:completed", "completion:timecompleted",
           "access:timeaccess"]
NOW = int(datetime(2026, 10, 15, 12, 0, tzinfo=UTC).timestamp())
DAY = 86400


def create_report(fake: RunningFake, *, audience: list[int] | None = None) -> int:
    answer = fake.site.site_action("create_report", {
        "name": "Course completion export", "source": SOURCE, "columns": COLUMNS,
        "conditions": [{"uniqueidentifier": "user:username", "operator": 8}], "audience": audience or []})
    return int(answer["reportid"])


@pytest.fixture
def site_data(fake: RunningFake) -> dict[str, Any]:
    """One course, five learners: 1 completed ten days ago, 2 yesterday, 3 an hour ago, 4 and 5 never;
    1 opened it ten days ago, 2 and 3 an hour ago, 4 never, 5 yesterday."""
    site = fake.site
    site.clock.set(NOW, frozen=True)
    course = training_course(site, "rf-C1", idnumber="rf-CRS001")
    users = [numbered_user(site, n) for n in range(1, 6)]
    for userid in users:
        enrol(site, userid, course)
    done = {users[0]: NOW - 10 * DAY, users[1]: NOW - DAY, users[2]: NOW - 3600}
    site.site_action("mark_course_complete", {"pairs": [[u, course, when] for u, when in done.items()]})
    for userid, when in ((users[0], NOW - 10 * DAY), (users[1], NOW - 3600), (users[2], NOW - 3600),
                         (users[4], NOW - DAY)):
        site.db["user_lastaccess"].insert({"userid": userid, "courseid": course, "timeaccess": when})
    return {"course": course, "users": users, "reportid": create_report(fake)}


def idnumbers(client: MoodleClient, reportid: int) -> list[str]:
    page = client.core_reportbuilder.retrieve_report(reportid, 0, 0)
    return [row.get("ID number") or "" for row in page.rows]


def test_a_range_from_a_time_keeps_the_rows_dated_from_it_on(client: MoodleClient,
                                                             site_data: dict[str, Any]) -> None:
    reportid = site_data["reportid"]
    area = client.core_reportbuilder
    area.filters_add(reportid, "completion:timecompleted")
    assert idnumbers(client, reportid) == ["EMP0001", "EMP0002", "EMP0003", "EMP0004", "EMP0005"]
    since = datetime.fromtimestamp(NOW - DAY, UTC)
    area.set_filters(reportid, date_range("completion:timecompleted", since))
    assert idnumbers(client, reportid) == ["EMP0002", "EMP0003"]  # from the second itself on; NULL never
    area.set_filters(reportid, date_range("completion:timecompleted", until=NOW - DAY))
    assert idnumbers(client, reportid) == ["EMP0001"]  # before the end, the end left out
    area.set_filters(reportid, date_range("completion:timecompleted", NOW - 10 * DAY, NOW - DAY))
    assert idnumbers(client, reportid) == ["EMP0001", "EMP0002"]  # both ends in


def test_the_other_date_operators(client: MoodleClient, site_data: dict[str, Any]) -> None:
    reportid = site_data["reportid"]
    area = client.core_reportbuilder
    area.filters_add(reportid, "completion:timecompleted")
    key = "completion:timecompleted"
    cases: list[tuple[dict[str, FilterValue], list[str]]] = [
        ({f"{key}_operator": DATE_NOT_EMPTY}, ["EMP0001", "EMP0002", "EMP0003"]),
        ({f"{key}_operator": DATE_EMPTY}, ["EMP0004", "EMP0005"]),
        ({f"{key}_operator": DATE_LAST, f"{key}_value": 2, f"{key}_unit": DATE_UNIT_DAY},
         ["EMP0002", "EMP0003"]),
        ({f"{key}_operator": DATE_LAST, f"{key}_value": 2, f"{key}_unit": DATE_UNIT_HOUR}, ["EMP0003"]),
        ({f"{key}_operator": DATE_LAST, f"{key}_unit": DATE_UNIT_DAY},
         ["EMP0002", "EMP0003"]),  # the value is 1 by default, and the start is in
        ({f"{key}_operator": DATE_LAST, f"{key}_value": 0}, ["EMP0001", "EMP0002", "EMP0003", "EMP0004",
                                                             "EMP0005"]),  # "last 0 days" filters nothing
        ({f"{key}_operator": DATE_CURRENT, f"{key}_unit": DATE_UNIT_DAY}, ["EMP0003"]),
        ({f"{key}_operator": DATE_BEFORE, f"{key}_value": 2, f"{key}_unit": DATE_UNIT_DAY}, ["EMP0001"]),
        ({f"{key}_operator": DATE_AFTER, f"{key}_value": 1}, []),  # after tomorrow: nothing yet
        ({f"{key}_operator": DATE_RANGE}, ["EMP0001", "EMP0002", "EMP0003", "EMP0004", "EMP0005"]),
        ({f"{key}_operator": str(DATE_RANGE), f"{key}_from": str(NOW - DAY)}, ["EMP0002", "EMP0003"]),
    ]
    for values, expected in cases:
        area.set_filters(reportid, values)
        assert idnumbers(client, reportid) == expected, values


def test_relative_periods_follow_php(fake: RunningFake) -> None:
    """A month back from 31 March is 3 March (PHP's ``modify``), in the server's timezone."""
    site = fake.site
    site.clock.set(int(datetime(2026, 3, 31, 8, 0, tzinfo=UTC).timestamp()), frozen=True)
    start, end = relative_period(site, DATE_LAST, 1, 3)
    assert datetime.fromtimestamp(start, UTC) == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert end == site.now()
    site.site_action("set_config", {"name": "timezone", "value": "Asia/Shanghai"})
    start, end = relative_period(site, DATE_CURRENT, 1, DATE_UNIT_DAY)
    assert datetime.fromtimestamp(start, UTC) == datetime(2026, 3, 30, 16, 0, tzinfo=UTC)
    assert end - start == DAY - 1


def test_course_access_and_enrolment_dates(fake: RunningFake, client: MoodleClient,
                                           site_data: dict[str, Any]) -> None:
    reportid = site_data["reportid"]
    area = client.core_reportbuilder
    area.filters_add(reportid, "access:timeaccess")
    area.set_filters(reportid, date_range("access:timeaccess", NOW - 2 * DAY))
    assert idnumbers(client, reportid) == ["EMP0002", "EMP0003", "EMP0005"]
    area.set_filters(reportid, {"access:timeaccess_operator": DATE_EMPTY})
    assert idnumbers(client, reportid) == ["EMP0004"]  # shown as "Never"
    later = numbered_user(fake.site, 6)
    fake.site.clock.set(NOW + 600, frozen=True)
    enrol(fake.site, later, site_data["course"])
    area.filters_add(reportid, "enrolment:timecreated")
    area.set_filters(reportid, date_range("enrolment:timecreated", NOW + 1))
    assert idnumbers(client, reportid) == ["EMP0006"]


def test_filters_are_and_ed_and_each_users_own(fake: RunningFake, client: MoodleClient,
                                               site_data: dict[str, Any]) -> None:
    reportid = site_data["reportid"]
    area = client.core_reportbuilder
    area.filters_add(reportid, "completion:timecompleted")
    area.filters_add(reportid, "access:timeaccess")
    both = {**date_range("completion:timecompleted", NOW - 2 * DAY), **date_range("access:timeaccess",
                                                                                  NOW - 2 * DAY)}
    area.set_filters(reportid, both)
    assert idnumbers(client, reportid) == ["EMP0002", "EMP0003"]  # completed and opened since
    view = area.reports_get(reportid)
    assert view.filtersapplied == 2 and view.filterspresent
    assert view.filter_identifiers == {"completion:timecompleted", "access:timeaccess"}
    admin_token = fake.site.site_action("issue_token", {"userid": 2})["token"]
    with MoodleClient(fake.url, admin_token, timeout=10, retries=0) as admin:
        assert len(idnumbers(admin, reportid)) == 5
        assert admin.core_reportbuilder.reports_get(reportid).filtersapplied == 0
    # a new set of values replaces the old one whole; none at all, and the report reads whole again
    area.set_filters(reportid, date_range("access:timeaccess", NOW - 2 * DAY))
    assert idnumbers(client, reportid) == ["EMP0002", "EMP0003", "EMP0005"]
    assert area.set_filters(reportid, {})
    assert len(idnumbers(client, reportid)) == 5


def test_who_may_add_and_set_filters(fake: RunningFake, client: MoodleClient,
                                     site_data: dict[str, Any]) -> None:
    """Adding a filter needs the right to edit the report; setting one's values needs only the right to
    view it."""
    reportid = site_data["reportid"]
    reader = site_data["users"][3]
    with learner(fake, reader) as own:
        area = own.core_reportbuilder
        with pytest.raises(AccessDeniedError) as refused:
            area.set_filters(reportid, date_range("completion:timecompleted", NOW))
        assert refused.value.errorcode == "errorreportview"
        fake.site.site_action("set_report_audience", {"reportid": reportid, "userids": [reader]})
        with pytest.raises(AccessDeniedError) as edit:
            area.filters_add(reportid, "completion:timecompleted")
        assert edit.value.errorcode == "errorreportedit"
        client.core_reportbuilder.filters_add(reportid, "completion:timecompleted")
        assert area.set_filters(reportid, date_range("completion:timecompleted", NOW - DAY))
        assert idnumbers(own, reportid) == ["EMP0002", "EMP0003"]
        assert len(idnumbers(client, reportid)) == 5  # the service user's own values: none
    fake.site.site_action("set_capabilities", {"userid": 3, "capabilities": [
        "webservice/rest:use", "moodle/reportbuilder:viewall"]})
    with pytest.raises(AccessDeniedError) as viewer:
        client.core_reportbuilder.filters_add(reportid, "access:timeaccess")
    assert viewer.value.errorcode == "errorreportedit"
    assert client.core_reportbuilder.set_filters(reportid, date_range("completion:timecompleted", NOW - DAY))
    with MoodleClient(fake.url, WEAK_TOKEN, timeout=10, retries=0) as weak, pytest.raises(AccessDeniedError):
        weak.core_reportbuilder.set_filters(reportid, {})


def test_adding_and_what_an_answer_says(fake: RunningFake, client: MoodleClient,
                                       site_data: dict[str, Any]) -> None:
    reportid = site_data["reportid"]
    area = client.core_reportbuilder
    fake.site.site_action("set_config", {"name": "debug", "value": 32767})  # Moodle says why only then
    first = area.filters_add(reportid, "completion:timecompleted")
    assert "completion:timecompleted" not in first.available
    assert {"completion:timestarted", "access:timeaccess"} <= first.available
    with pytest.raises(InvalidParameterError) as twice:
        area.filters_add(reportid, "completion:timecompleted")
    assert twice.value.debuginfo == "Duplicate filter"
    with pytest.raises(InvalidParameterError) as unknown:
        area.filters_add(reportid, "nosuch:filter")
    assert unknown.value.debuginfo == "Invalid filter"
    second = area.filters_add(reportid, "access:timeaccess")
    assert [(f.heading, f.sortorder) for f in second.activefilters] == [("Time completed", 1),
                                                                       ("Last access to course", 2)]
    edit = area.reports_get(reportid, editmode=True)
    assert edit.filters is not None
    assert {"completion:timecompleted", "access:timeaccess"}.isdisjoint(edit.filters.available)
    assert edit.filtersform == ""  # an editor's view has no filters form
    assert area.reports_get(reportid).filter_identifiers == {"completion:timecompleted", "access:timeaccess"}


def test_the_answers_are_dated_with_the_sites_clock(fake: RunningFake, client: MoodleClient) -> None:
    fake.site.clock.set(NOW, frozen=True)
    client.core_webservice.get_site_info()
    assert client.site_time() == datetime.fromtimestamp(NOW, UTC).replace(tzinfo=None)
    answer = requests.get(fake.url, timeout=5)
    assert answer.headers["Date"] == "Thu, 15 Oct 2026 12:00:00 GMT"
    fake.site.clock.set(NOW + 3600, frozen=True)
    client.core_webservice.get_site_info()
    moved = client.site_time()
    assert moved is not None and moved - datetime(2026, 10, 15, 12, 0) == timedelta(hours=1)
