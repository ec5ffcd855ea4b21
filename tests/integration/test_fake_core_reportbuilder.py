"""core_reportbuilder against the fake Moodle over HTTP: a "Course participants" completion report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from moodle_bridge import AccessDeniedError, InvalidParameterError, MoodleClient, NotFoundError
from moodle_bridge.areas.core_reportbuilder import TEXT_CONTAINS, parse_report_datetime, report_yes
from moodle_bridge.fake import RunningFake
from moodle_bridge.fake.releases import RELEASES
from tests.factories import enrol, learner, numbered_user, training_course

from ..conftest import WEAK_TOKEN

pytestmark = pytest.mark.integration
SOURCE = "\\core_course\\reportbuilder\\datasource\\participants"
COLUMNS = ["course:idnumber", "course:shortname", "user:idnumber", "user:username", "user:fullname",
           "completion:completed", "completion:timecompleted"]
HEADERS = ("Course ID number", "Course short name", "ID number", "Username", "Full name", "Completed",
           "Time completed")
NAME = "课程完成情况 Course completions"
WHEN = int(datetime(2026, 11, 27, 20, 22, tzinfo=UTC).timestamp())


def create_report(fake: RunningFake, **extra: Any) -> int:
    args = {"name": NAME, "source": SOURCE, "columns": COLUMNS, "conditions": [], **extra}
    answer = fake.site.site_action("create_report", args)
    assert [c["uniqueidentifier"] for c in answer["columns"]] == extra.get("columns", COLUMNS)
    return int(answer["reportid"])


@pytest.fixture
def site_data(fake: RunningFake) -> dict[str, Any]:
    """Two courses: four learners in the first (two completed), nobody in the second."""
    site = fake.site
    c1 = training_course(site, "it-repo-C1", idnumber="it-repo-CRS001")
    c2 = training_course(site, "it-repo-C2", idnumber="it-repo-CRS002")
    users = [numbered_user(site, n) for n in range(1, 5)]
    for userid in users:
        enrol(site, userid, c1)
    site.site_action("mark_course_complete", {"pairs": [[users[0], c1, WHEN], [users[1], c1, WHEN]]})
    return {"c1": c1, "c2": c2, "users": users}


def test_rows_are_display_strings_with_empty_rows_for_unused_methods(
        fake: RunningFake, client: MoodleClient, site_data: dict[str, Any]) -> None:
    reportid = create_report(fake)
    page = client.core_reportbuilder.retrieve_report(reportid, 0, 100)
    assert page.headers == HEADERS and page.totalrowcount == 4 + 2 + 3
    assert page.details.name == NAME and page.details.sourcename == "Course participants"
    first = page.rows[0].as_dict()
    assert first == {"Course ID number": "it-repo-CRS001", "Course short name": "it-repo-C1",
                     "ID number": "EMP0001", "Username": "it-comp-u1", "Full name": "红 李",
                     "Completed": "Yes", "Time completed": "Friday, 27 November 2026, 8:22 PM"}
    assert [report_yes(row.get("Completed")) for row in page.rows[:4]] == [True, True, None, None]
    assert parse_report_datetime(first["Time completed"]) == datetime(2026, 11, 27, 20, 22, tzinfo=UTC)
    empty = [row for row in page.rows if not row.get("Username")]
    assert len(empty) == 5  # guest and self in C1; manual, guest and self in C2
    assert {row.get("Course short name") for row in empty} == {"it-repo-C1", "it-repo-C2"}


def test_dates_follow_the_token_users_timezone(fake: RunningFake, client: MoodleClient,
                                               site_data: dict[str, Any]) -> None:
    reportid = create_report(fake)
    fake.site.db["user"].get(3)["timezone"] = "Asia/Shanghai"  # type: ignore[index]
    value = client.core_reportbuilder.retrieve_report(reportid, 0, 1).rows[0].get("Time completed")
    assert value == "Saturday, 28 November 2026, 4:22 AM"
    assert parse_report_datetime(value, ZoneInfo("Asia/Shanghai")) == datetime(2026, 11, 27, 20, 22,
                                                                                 tzinfo=UTC)


def test_paging_has_no_cap_and_never_truncates(fake: RunningFake, client: MoodleClient,
                                               site_data: dict[str, Any]) -> None:
    site = fake.site
    for n in range(5, 305):
        enrol(site, numbered_user(site, n), site_data["c2"])
    reportid = create_report(fake)
    area = client.core_reportbuilder
    everything = area.retrieve_report(reportid, 0, 0)
    assert len(everything.rows) == everything.totalrowcount == 4 + 2 + 300 + 2
    huge = area.retrieve_report(reportid, 0, 1_000_000)
    assert huge.rows == everything.rows
    calls_before = site.calls["core_reportbuilder_retrieve_report"]
    paged = list(area.iter_report_rows(reportid, perpage=7))
    assert paged == list(everything.rows)
    # pages of 7 until a short one (an empty one when the total is a multiple of 7)
    assert site.calls["core_reportbuilder_retrieve_report"] - calls_before == len(paged) // 7 + 1
    beyond = area.retrieve_report(reportid, 100000, 2)
    assert beyond.rows == () and beyond.totalrowcount == 0
    default = area.retrieve_report(reportid)
    assert len(default.rows) == 10  # Moodle's default perpage


@pytest.mark.parametrize("release", ["5.1", "4.5"])
def test_a_page_beyond_the_end_counts_no_rows_on_5_1_and_all_on_4_5(
        fake: RunningFake, client: MoodleClient, site_data: dict[str, Any], release: str) -> None:
    fake.site.release, fake.site.version = RELEASES[release]
    reportid = create_report(fake)
    area = client.core_reportbuilder
    assert area.retrieve_report(reportid, 0, 2).totalrowcount == 9
    last = area.retrieve_report(reportid, 4, 2)  # rows 8 and 9 of 9: a short last page
    assert len(last.rows) == 1 and last.totalrowcount == 9
    beyond = area.retrieve_report(reportid, 5, 2)
    assert beyond.rows == ()
    assert beyond.totalrowcount == (0 if release == "5.1" else 9)


def test_conditions_added_by_web_service_filter_nothing(fake: RunningFake, client: MoodleClient,
                                                        site_data: dict[str, Any]) -> None:
    reportid = create_report(fake)
    area = client.core_reportbuilder
    answer = area.conditions_add(reportid, "enrolment:status")
    assert answer.hasactiveconditions
    enrolment = next(g for g in answer.availableconditions if g.text == "Enrolment")
    assert "enrolment:status" not in [v.value for v in enrolment.values]
    assert area.retrieve_report(reportid, 0, 0).totalrowcount == 9
    with pytest.raises(InvalidParameterError):
        area.conditions_add(reportid, "enrolment:status")  # already there
    with pytest.raises(InvalidParameterError):
        area.conditions_add(reportid, "nosuch:condition")


def test_a_condition_with_a_value_drops_the_empty_rows(fake: RunningFake, client: MoodleClient,
                                                       site_data: dict[str, Any]) -> None:
    reportid = create_report(fake, conditions=[{"uniqueidentifier": "user:username", "operator": 8}])
    rows = list(client.core_reportbuilder.iter_report_rows(reportid, perpage=2))
    assert [row.get("Username") for row in rows] == [f"it-comp-u{n}" for n in range(1, 5)]
    report = next(r for r in client.core_reportbuilder.iter_reports(perpage=1) if r.id == reportid)
    assert report.conditions == {"user:username_operator": 8, "user:username_value": ""}


def test_filters_are_saved_per_user(fake: RunningFake, client: MoodleClient,
                                    site_data: dict[str, Any]) -> None:
    reportid = create_report(fake)
    area = client.core_reportbuilder
    added = area.filters_add(reportid, "course:idnumber")
    assert [(f.heading, f.entityname) for f in added.activefilters] == [("Course ID number", "Course")]
    assert area.set_filters(reportid, {"course:idnumber_operator": TEXT_CONTAINS,
                                       "course:idnumber_value": "CRS002"})
    mine = area.retrieve_report(reportid, 0, 0)
    assert {row.get("Course short name") for row in mine.rows} == {"it-repo-C2"} and mine.totalrowcount == 3
    admin_token = fake.site.site_action("issue_token", {"userid": 2})["token"]
    with MoodleClient(fake.url, admin_token, timeout=10, retries=0) as admin:
        assert admin.core_reportbuilder.retrieve_report(reportid, 0, 0).totalrowcount == 9
    area.set_filters(reportid, {})
    assert area.retrieve_report(reportid, 0, 0).totalrowcount == 9


def test_columns_add(fake: RunningFake, client: MoodleClient, site_data: dict[str, Any]) -> None:
    reportid = create_report(fake)
    area = client.core_reportbuilder
    answer = area.columns_add(reportid, "user:email")
    assert [c.title for c in answer.sortablecolumns] == [*HEADERS, "Email address"]
    assert answer.sortablecolumns[-1].sorticon.key == "t/sort_asc"
    page = area.retrieve_report(reportid, 0, 1)
    assert page.headers[-1] == "Email address" and page.rows[0].get("Email address") == (
        "it-comp-u1@college.example")
    with pytest.raises(InvalidParameterError):
        area.columns_add(reportid, "nosuch:column")


def test_access(fake: RunningFake, client: MoodleClient, site_data: dict[str, Any]) -> None:
    reportid = create_report(fake)
    with MoodleClient(fake.url, WEAK_TOKEN, timeout=10, retries=0) as weak:
        with pytest.raises(AccessDeniedError) as caught:
            weak.core_reportbuilder.retrieve_report(reportid)
        assert caught.value.errorcode == "errorreportview"
        assert weak.core_reportbuilder.list_reports().reports == ()
    learner_id = site_data["users"][0]
    with learner(fake, learner_id) as own:
        with pytest.raises(AccessDeniedError):
            own.core_reportbuilder.retrieve_report(reportid, 0, 5)
        fake.site.site_action("set_report_audience", {"reportid": reportid, "userids": [learner_id]})
        assert own.core_reportbuilder.retrieve_report(reportid, 0, 5).totalrowcount == 9
        with pytest.raises(AccessDeniedError) as edit:
            own.core_reportbuilder.columns_add(reportid, "user:email")
        assert edit.value.errorcode == "errorreportedit"
        with pytest.raises(AccessDeniedError):
            own.core_reportbuilder.reports_get(reportid, editmode=True)
    with pytest.raises(NotFoundError):
        client.core_reportbuilder.retrieve_report(999999)


def test_reports_get_renders_the_first_page(fake: RunningFake, client: MoodleClient,
                                            site_data: dict[str, Any]) -> None:
    reportid = create_report(fake)
    view = client.core_reportbuilder.reports_get(reportid, editmode=False)
    assert view.id == reportid and "it-comp-u1" in view.table and not view.editmode
    edit = client.core_reportbuilder.reports_get(reportid, editmode=True)
    assert edit.editmode


@pytest.mark.parametrize("release", ["5.1", "4.5"])
def test_the_editor_lists_the_columns_of_the_release_with_the_course_custom_fields(
        fake: RunningFake, client: MoodleClient, site_data: dict[str, Any], release: str) -> None:
    fake.site.release, fake.site.version = RELEASES[release]
    fake.site.site_action("create_course_customfield", {"shortname": "credit_hours",
                                                        "name": "学时 Credit hours"})
    reportid = create_report(fake)
    raw = client.call("core_reportbuilder_reports_get", {"reportid": reportid, "editmode": 1}, write=False)
    cards = {card["key"]: [(item["identifier"], item["name"]) for item in card["items"]]
             for card in raw["sidebarmenucards"]["menucards"]}
    assert list(cards) == ["course", "course_category", "enrol", "enrolment", "user", "role", "group",
                           "cohort", "completion", "access"]
    assert cards["course"][-1] == ("course:customfield_credit_hours", "学时 Credit hours")
    assert ("course:url", "Course URL") in cards["course"] if release == "5.1" else \
        "course:url" not in dict(cards["course"])
    assert dict(cards["user"])["user:picture"] == ("Picture" if release == "5.1" else "User picture")
    assert ("enrol:name", "Name") in cards["enrol"] and "enrol:customname" not in dict(cards["enrol"])
    assert "javascript" not in raw["conditions"]  # only a function changing the conditions sends it
    offered = {value["value"] for group in raw["filters"]["availablefilters"]
               for value in group["optiongroup"]["values"]}
    assert "course:customfield_credit_hours" in offered
    added = client.core_reportbuilder.filters_add(reportid, "course:customfield_credit_hours")
    assert [f.heading for f in added.activefilters] == ["学时 Credit hours"]
    client.core_reportbuilder.columns_add(reportid, "course:customfield_credit_hours")
    course = fake.site.db["course"].get(site_data["c1"])
    assert course is not None
    course["customfields"] = [{"shortname": "credit_hours", "value": "3.5"}]
    page = client.core_reportbuilder.retrieve_report(reportid, 0, 0)
    assert page.headers[-1] == "学时 Credit hours"
    credits = {row.get("学时 Credit hours") for row in page.rows
               if row.get("Course ID number") == "it-repo-CRS001"}
    assert credits == {"3.5"}


@pytest.mark.parametrize("release", ["5.1", "4.5"])
def test_filter_values_are_kept_in_the_users_preferences_on_4_5_only(
        fake: RunningFake, client: MoodleClient, site_data: dict[str, Any], release: str) -> None:
    fake.site.release, fake.site.version = RELEASES[release]
    reportid = create_report(fake)
    client.core_reportbuilder.filters_add(reportid, "course:idnumber")
    area = client.core_reportbuilder
    me = client.core_webservice.get_site_info().userid

    def preferences() -> dict[str, str]:
        user = client.core_user.get_users_by_field("id", [me])[0]
        return {p.name: str(p.value) for p in user.preferences or () if p.name.startswith("reportbuilder-")}

    area.set_filters(reportid, {"course:idnumber_operator": TEXT_CONTAINS, "course:idnumber_value": "C1/2"})
    shown = preferences()
    area.set_filters(reportid, {})
    cleared = preferences()
    if release == "5.1":
        assert shown == cleared == {}
    else:
        key = f"reportbuilder-report-{reportid}-0"
        assert shown == {key: '{"course:idnumber_operator":1,"course:idnumber_value":"C1\\/2"}'}
        assert cleared == {key: "[]"}  # no values are an empty array, still kept


def test_reports_get_renders_moodles_page_header_which_resets_the_failed_logins(
        fake: RunningFake, client: MoodleClient, site_data: dict[str, Any]) -> None:
    reportid = create_report(fake)
    me = client.core_webservice.get_site_info().userid

    def failed_logins() -> str | None:
        user = client.core_user.get_users_by_field("id", [me])[0]
        return next((str(p.value) for p in user.preferences or ()
                     if p.name == "login_failed_count_since_success"), None)

    client.core_reportbuilder.retrieve_report(reportid, 0, 1)
    assert failed_logins() is None
    client.core_reportbuilder.reports_get(reportid, editmode=False)
    assert failed_logins() == "0"
