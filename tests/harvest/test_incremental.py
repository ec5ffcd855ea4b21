"""An incremental harvest on the completion-report path reads only the rows whose completion, start or
course access Moodle dated since the last finished harvest (less the margin), by the report's date
filters, and stores exactly what a full harvest of the same site stores. The report is read whole on a
full harvest, at least weekly, after provisioning enrolled someone, and where it cannot be filtered;
the harvest adds the filters where the service user may edit the report, and leaves the service user's
filter values cleared."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from moodle_bridge import MoodleClient
from plugin_service.db import engine_for, session_scope
from plugin_service.models import AuditLog, CourseProgress, HarvestReportRead, LearningRecordRow
from plugin_service.services.harvest import HarvestError
from plugin_service.services.harvest.incremental import FilterKnowledge, known_filters
from plugin_service.services.harvest.progress_store import changed_pairs
from plugin_service.services.harvest.report_reads import FILTER_OF

from .world import Year, changed_in, with_rank

pytestmark = pytest.mark.integration
FILTERS = list(FILTER_OF.values())  # completion:timecompleted, completion:timestarted, access:timeaccess
HOUR, DAY = 3600, 86400
WSBOT = 3


def facts(database_url: str) -> dict[str, Any]:
    """What a harvest stored of every cadre-course and every record (a start by whether it is known:
    where Moodle shows no time, the harvest's own clock stands in)."""
    with session_scope(database_url) as session:
        progress = {(p.employee_no, p.course_key): (p.first_completed_at, p.completed_at,
                                                    p.started_at is not None, p.last_access_at,
                                                    p.reset_seen_at is not None)
                    for p in session.scalars(select(CourseProgress))}
        records = {r.employee_no: (r.tier_key, r.status, r.required_hours, r.elective_hours, r.total_hours,
                                   r.discussion_points, r.detail)
                   for r in session.scalars(select(LearningRecordRow))}
    return {"progress": progress, "records": records}


def first_harvests(year: Year, tmp_path: Path) -> Year:
    """The year's first harvest, and a twin's (the same site in a database of its own, harvested at the
    same moment), which harvests in full from then on."""
    year.harvest("report")
    twin = year.twin(f"sqlite:///{tmp_path / 'twin.sqlite3'}")
    twin.harvest("report")
    return twin


def as_a_full_harvest_stores(year: Year, twin: Year) -> bool:
    """Whether the year's database holds what a full harvest of the same site, now, stores in its twin."""
    try:
        twin.harvest("report", full=True)
        return facts(year.database_url) == facts(twin.database_url)
    finally:
        engine_for(twin.database_url).dispose()


def rows_dated_since(year: Year, since: dt.datetime) -> int:
    """How many rows the report's date filters give from ``since`` on: one per enrolment (of any course,
    of any user with a username) for each of its completion, start and course access so dated."""
    site, floor = year.site, int(since.replace(tzinfo=dt.UTC).timestamp())
    count = 0
    for ue in site.db["user_enrolments"]:
        user = site.db["user"].get(ue["userid"])
        instance = site.db["enrol"].get(ue["enrolid"])
        if user is None or user.get("deleted") or not user.get("username") or instance is None:
            continue
        completion = site.db["course_completions"].first(course=instance["courseid"], userid=user["id"])
        access = site.db["user_lastaccess"].first(courseid=instance["courseid"], userid=user["id"])
        dates = [(completion or {}).get("timecompleted"), (completion or {}).get("timestarted"),
                 (access or {}).get("timeaccess")]
        count += sum(1 for date in dates if date and int(date) >= floor)
    return count


def reads(year: Year) -> list[HarvestReportRead]:
    with session_scope(year.database_url) as session:
        rows = list(session.scalars(select(HarvestReportRead).order_by(HarvestReportRead.id)))
        session.expunge_all()
        return rows


def open_pairs(year: Year) -> list[tuple[str, str]]:
    """Cadre-courses not completed, in courses each cadre's tier may complete."""
    truth = year.truth()
    electives = {c.key: c.elective for c in year.plan().courses}
    return [(no, course) for (no, course), p in sorted(truth.progress.items())
            if p.first_completed is None and truth.tiers.get(no) is not None
            and truth.tiers[no] in electives[course]]


def quiet(year: Year, pairs: list[tuple[str, str]], before: int) -> list[tuple[str, str]]:
    """The pairs Moodle shows started long ago (from ``before``), and with no course access since:
    no filter finds them until they complete (a completion keeps the start it has)."""
    site = year.site
    found = []
    for no, course in pairs:
        userid, courseid = year.users[no], year.courses[course]
        access = site.db["user_lastaccess"].first(courseid=courseid, userid=userid)
        if site.db["course_completions"].first(course=courseid, userid=userid) is not None or (
                access is not None and int(access["timeaccess"]) >= before):
            continue
        site.db["course_completions"].insert({"userid": userid, "course": courseid, "timeenrolled": 0,
                                              "timestarted": before - 40 * DAY, "timecompleted": None,
                                              "reaggregate": 0})
        found.append((no, course))
    return found


def own_filter_values(year: Year) -> Any:
    row = year.site.db["reportbuilder_user_filters"].first(userid=WSBOT)
    return None if row is None else row.get("filterdata")


def later(year: Year, seconds: int) -> int:
    return year.last + seconds


def test_changes_are_read_by_date_and_stored_as_a_full_harvest_stores_them(year: Year,
                                                                            tmp_path: Path) -> None:
    twin = first_harvests(year, tmp_path)
    first = reads(year)[0]
    assert first.whole and first.reason == "first read" and set(first.added) == set(FILTERS)
    report = year.site.db["reportbuilder_report"].first(name="Course completion export")
    assert report is not None
    assert {f["uniqueidentifier"] for f in year.site.db["reportbuilder_filter"].select(
        reportid=report["id"], iscondition=0)} == set(FILTERS)
    audited = [a.detail["filter"] for a in _audit(year, "moodle:core_reportbuilder_filters_add")]
    assert audited == FILTERS

    # The next day: two completions, a cadre who only opened a course, one who completes later that day.
    (one, course_one), (two, course_two), (visitor, visited) = open_pairs(year)[:3]
    year.complete(one, course_one, later(year, DAY))
    year.complete(two, course_two, later(year, 600))
    year.at(later(year, 600))
    year.visit(visitor, visited)

    result = year.harvest("report")

    read = result.report_read
    assert read is not None and not read["whole"] and read["reason"] == "changed"
    assert read["filters"] == FILTERS and read["missing"] == [] and read["added"] == []
    assert read["calls"] == 2 * len(FILTERS) + 1  # a set and a page per date, and the values cleared
    since = dt.datetime.fromisoformat(read["since"])
    assert read["rows"] == rows_dated_since(year, since) < first.rows_read / 5  # nothing else
    assert changed_in(year.database_url, result.run_id)["progress"] == {
        (one, course_one), (two, course_two), (visitor, visited)}
    assert own_filter_values(year) is None
    assert as_a_full_harvest_stores(year, twin)
    with session_scope(year.database_url) as session:
        assert changed_pairs(session, 2026, first.run_id) == {(one, course_one), (two, course_two),
                                                              (visitor, visited)}
        assert changed_pairs(session, 2026, result.run_id) == set()
    set_values = _audit(year, "moodle:core_reportbuilder_set_filters")
    assert [(a.target, a.detail["filters"], a.detail["since"]) for a in set_values] == [
        (f"report {report['id']}", FILTERS, read["since"])]


def _audit(year: Year, action: str) -> list[AuditLog]:
    with session_scope(year.database_url) as session:
        rows = list(session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))
        session.expunge_all()
        return rows


def test_the_rows_read_start_a_margin_before_the_last_harvest_began(year: Year) -> None:
    """Since when: Moodle's clock as the last finished harvest began reading, less the margin; what
    Moodle dates earlier than that but writes later (a completion the daily task writes a day after its
    date) is found within the margin."""
    (one, course_one), (two, course_two) = quiet(year, open_pairs(year), year.last - 30 * HOUR)[:2]
    first = year.harvest("report")
    began = reads(year)[0].moodle_started_at  # Moodle's clock, which stands still at the last action
    assert abs(began - dt.datetime.fromtimestamp(year.last, dt.UTC).replace(tzinfo=None)) <= dt.timedelta(
        seconds=2)
    now = later(year, 2 * HOUR)
    year.at(now)
    year.site.site_action("mark_course_complete", {"pairs": [
        [year.users[one], year.courses[course_one], year.last - 20 * HOUR],  # written now, dated before
        [year.users[two], year.courses[course_two], year.last - 30 * HOUR]]})  # beyond the margin

    result = year.harvest("report")

    assert result.report_read is not None
    assert result.report_read["since"] == (began - dt.timedelta(hours=26)).isoformat()
    assert changed_in(year.database_url, result.run_id)["progress"] == {(one, course_one)}
    assert first.run_id < result.run_id


def test_the_report_is_read_whole_weekly_which_finds_what_no_date_shows(year: Year, tmp_path: Path) -> None:
    """A completion reset in Moodle shows no date: the weekly whole read finds it (its hours stand)."""
    twin = first_harvests(year, tmp_path)
    done = next(key for key, p in sorted(year.truth().progress.items()) if p.first_completed is not None)
    year.reset(*done, later(year, HOUR))

    soon = year.harvest("report")
    assert soon.report_read is not None and not soon.report_read["whole"]
    with session_scope(year.database_url) as session:
        row = session.scalar(select(CourseProgress).where(CourseProgress.employee_no == done[0],
                                                          CourseProgress.course_key == done[1]))
        assert row is not None and row.completed_at is not None  # not seen yet

    year.at(later(year, 7 * DAY))
    weekly = year.harvest("report")

    assert weekly.report_read is not None and weekly.report_read["whole"]
    assert weekly.report_read["reason"] == "weekly whole read"
    assert changed_in(year.database_url, weekly.run_id)["progress"] == {done}
    assert as_a_full_harvest_stores(year, twin)
    year.settings = dataclasses.replace(year.settings, harvest_whole_read_days=1)
    year.at(later(year, DAY))
    assert year.harvest("report").report_read["reason"] == "weekly whole read"  # type: ignore[index]


def test_filters_the_report_already_has_are_not_asked_for_again(year: Year, tmp_path: Path) -> None:
    """A second database over the same site (a restored backup, a new installation) finds the filters
    there: Moodle refuses them as duplicates once, and later harvests ask nothing more of the report."""
    twin = first_harvests(year, tmp_path)
    asked = year.site.calls["core_reportbuilder_filters_add"]
    twin.at(later(year, HOUR))
    again = twin.harvest("report")
    assert again.report_read is not None and not again.report_read["whole"]
    assert year.site.calls["core_reportbuilder_filters_add"] == asked


def test_a_full_harvest_and_new_enrolments_read_the_whole_report(year: Year) -> None:
    year.harvest("report")
    year.at(later(year, HOUR))
    full = year.harvest("report", full=True)
    assert full.report_read is not None and (full.report_read["whole"], full.report_read["reason"]) == (
        True, "full harvest")
    mover = next(no for no, tier in sorted(year.truth().tiers.items()) if tier == "teaching")
    rank = next(row["职级"] for row in year.rows() if row["工号"] == mover)
    year.apply(roster=with_rank(year.roster, mover, rank, "正科级"))  # a section post: new courses

    after = year.harvest("report")

    assert after.report_read is not None and after.report_read["reason"] == "new enrolments"
    assert after.report_read["whole"]
    again = year.harvest("report")
    assert again.report_read is not None and not again.report_read["whole"]


def test_where_the_filters_cannot_be_added_the_report_is_read_whole(year: Year, tmp_path: Path) -> None:
    """A service user who may not edit the admin's report: the harvest does not add the filters, finds
    them not applied, reads the whole report (correctly), and does not ask again for a while."""
    year.site.site_action("set_capabilities", {"userid": WSBOT, "capabilities": [
        "*", "-moodle/reportbuilder:editall", "-moodle/reportbuilder:edit"]})
    twin = first_harvests(year, tmp_path)
    assert reads(year)[0].added == [] and reads(year)[0].editable is False
    assert year.site.calls["core_reportbuilder_filters_add"] == 2  # each refused once, not asked further
    (one, course_one), = open_pairs(year)[:1]
    year.complete(one, course_one, later(year, HOUR))

    result = year.harvest("report")

    read = result.report_read
    assert read is not None and read["whole"] and read["reason"] == "filter not applied"
    assert read["missing"] == ["completion:timecompleted"] and read["filters"] == []
    assert read["calls"] == 3  # one set, the whole report's page, the values cleared
    assert year.site.calls["core_reportbuilder_filters_add"] == 2  # not asked again within the day
    assert changed_in(year.database_url, result.run_id)["progress"] == {(one, course_one)}
    assert as_a_full_harvest_stores(year, twin)
    with session_scope(year.database_url) as session:
        known = known_filters(session, 2026)
    assert known == FilterKnowledge(frozenset(), frozenset({"completion:timecompleted"}), False,
                                    known.editable_seen_at)
    assert own_filter_values(year) is None

    # An admin adds the filters: the next harvest reads by them.
    report = year.site.db["reportbuilder_report"].first(name="Course completion export")
    assert report is not None
    admin = year.site.site_action("issue_token", {"userid": 2})["token"]
    with MoodleClient(year.fake.url, admin, timeout=10) as client:
        for name in FILTERS:
            client.core_reportbuilder.filters_add(report["id"], name)
    year.at(later(year, HOUR))
    healed = year.harvest("report")
    assert healed.report_read is not None and not healed.report_read["whole"]
    assert healed.report_read["filters"] == FILTERS


def test_without_set_filters_in_the_service_every_read_is_whole(year: Year) -> None:
    service = next(s for s in year.site.services.values() if s.shortname == "cadre_companion")
    year.site.site_action("set_service_functions", {"service": "cadre_companion", "functions": sorted(
        service.functions - {"core_reportbuilder_set_filters", "core_reportbuilder_filters_add"})})
    year.harvest("report")
    year.at(later(year, HOUR))
    result = year.harvest("report")
    assert result.report_read is not None and result.report_read["reason"] == "no set_filters"
    assert year.site.calls["core_reportbuilder_set_filters"] == 0


def test_filter_values_a_dead_read_left_are_cleared_before_a_whole_read(year: Year, tmp_path: Path) -> None:
    """A read of changed rows that died before clearing the service user's values would make the next
    whole read a filtered one: that read clears them first."""
    twin = first_harvests(year, tmp_path)
    report = year.site.db["reportbuilder_report"].first(name="Course completion export")
    assert report is not None
    with year.client() as client:  # what a read that died midway left behind
        client.core_reportbuilder.set_filters(report["id"], {"completion:timecompleted_operator": 3,
                                                             "completion:timecompleted_from": year.last})
    with session_scope(year.database_url) as session:
        session.execute(update(HarvestReportRead).values(values_left=True))
    year.at(later(year, 8 * DAY))
    whole = year.harvest("report")

    assert whole.report_read is not None and whole.report_read["whole"]
    assert own_filter_values(year) is None
    assert as_a_full_harvest_stores(year, twin)
    with session_scope(year.database_url) as session:
        assert session.scalar(select(func.count()).select_from(HarvestReportRead)
                              .where(HarvestReportRead.values_left.is_(True))) == 0


def test_a_bad_margin_is_refused_with_its_name(year: Year) -> None:
    year.settings = dataclasses.replace(year.settings, harvest_margin_hours=-1)
    with pytest.raises(HarvestError, match="harvest_margin_hours"):
        year.harvest("report")


def test_the_per_user_path_is_as_it_was(year: Year) -> None:
    result = year.harvest("per_user")
    assert result.report_read is None and reads(year) == []
    assert year.site.calls["core_reportbuilder_set_filters"] == 0
