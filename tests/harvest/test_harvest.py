"""Harvesting a provisioned year from a fake Moodle over HTTP: every cadre's record, progress,
reflections and discussion counts are exactly what the fake's tables and the plan say (``truth``), on
the completion-report path and the per-user path, and the rules' hard cases each hold on their own."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from moodle_bridge.fake import RunningFake
from plugin_service.db import session_scope
from plugin_service.models import (
    CourseProgress,
    HarvestRun,
    LearningRecordRow,
    ReflectionRecord,
    StatusChange,
)

from .world import (
    FALLBACK_REVIEWER,
    TODAY,
    Year,
    assert_matches,
    changed_in,
    cli,
    moment,
    path_precision,
    provision,
    simulate,
    spread,
    stored,
    utc,
    with_rank,
    write_plan,
)

pytestmark = pytest.mark.integration
PATHS = ["report", "per_user"]


def progress_row(year: Year, employee_no: str, course: str) -> CourseProgress:
    with session_scope(year.database_url) as session:
        row = session.scalar(select(CourseProgress).where(CourseProgress.employee_no == employee_no,
                                                          CourseProgress.course_key == course))
        assert row is not None, (employee_no, course)
        session.expunge(row)
        return row


def record_row(year: Year, employee_no: str) -> LearningRecordRow:
    with session_scope(year.database_url) as session:
        row = session.scalar(select(LearningRecordRow).where(LearningRecordRow.employee_no == employee_no))
        assert row is not None, employee_no
        session.expunge(row)
        return row


def cadre_of(year: Year, tier: str) -> str:
    """The first cadre of ``tier`` in the roster, other than the leader who reviews everyone else."""
    return next(no for no, t in year.truth().tiers.items() if t == tier and no != FALLBACK_REVIEWER)


@pytest.mark.parametrize("path", PATHS)
def test_a_harvest_stores_exactly_what_moodle_holds(fake: RunningFake, database_url: str, path: str) -> None:
    year = provision(fake, database_url)
    simulated = simulate(year)
    truth = year.truth()
    statuses = Counter(r.status for r in truth.records.values())
    assert {"on_track", "behind", "excluded"} <= set(statuses), statuses
    assert len(truth.records) == 137
    counts = simulated["counts"]
    assert counts["completed"] == sum(1 for p in truth.progress.values() if p.first_completed is not None)
    assert counts["posts"] == sum(total for _, total in truth.discussions.values())
    assert counts["graded"] and counts["regraded"] and counts["short"], counts

    result = year.harvest(path)

    assert (result.path, result.mode, result.resumed) == (path, "incremental", False)
    assert_matches(year, truth, precision=path_precision(path))
    with session_scope(database_url) as session:
        run = session.get(HarvestRun, result.run_id)
        assert run is not None and run.status == "done" and run.today == TODAY.isoformat()
        assert run.moodle_calls == result.moodle_calls > 0
        history = Counter(session.scalars(select(StatusChange.status)))
    assert history == statuses, "the first harvest notes every cadre's status once"


@pytest.mark.parametrize("path", PATHS)
def test_harvests_again_change_nothing_until_something_changes_and_then_exactly_that(
        small: Year, path: str) -> None:
    spread(small)
    first = small.harvest(path)
    before = stored(small.database_url)
    with session_scope(small.database_url) as session:
        computed = {no: at for no, at in session.execute(select(LearningRecordRow.employee_no,
                                                                LearningRecordRow.computed_at))}

    again = small.harvest(path)

    assert again.changes == 0, again.steps
    assert stored(small.database_url) == before
    with session_scope(small.database_url) as session:
        assert {no: at for no, at in session.execute(select(LearningRecordRow.employee_no,
                                                            LearningRecordRow.computed_at))} == computed
    # A few calls whatever the number of cadres: one per course at most, and the site's basics.
    assert again.moodle_calls <= len(small.courses) + 15, again.steps
    assert again.moodle_calls < first.moodle_calls / 2 or path == "report", (first.moodle_calls,
                                                                              again.moodle_calls)

    # Then, on the morning of TODAY: two completions, a reflection written and another graded, a post.
    truth = small.truth()
    learners = [no for no, r in truth.records.items() if r.tier is not None]
    electives = {c.key: c.elective for c in small.plan().courses}
    todo = [(no, course) for no in learners for course in small.courses
            if (no, course) in truth.progress and truth.progress[(no, course)].first_completed is None
            and truth.tiers[no] in electives[course]]
    (one, course_one), (two, course_two) = todo[0], next(p for p in todo if p[0] != todo[0][0])
    small.complete(one, course_one, moment(TODAY.isoformat(), "08:00:00"))
    small.complete(two, course_two, moment(TODAY.isoformat(), "08:05:00"))
    writer = next(no for no in learners if (no, "thought") not in truth.reflections
                  and (no, "thought") in truth.progress)
    small.submit(writer, "thought", 1600, moment(TODAY.isoformat(), "08:10:00"))
    graded = next(key for key, r in truth.reflections.items() if r.status == "submitted" and r.grade is None
                  and key[0] != FALLBACK_REVIEWER)
    small.grade(graded[0], graded[1], 77, moment(TODAY.isoformat(), "08:20:00"), by=FALLBACK_REVIEWER)
    poster = next(no for no in learners if (no, "spring") in truth.discussions)
    topic = small.site.db["forum_discussions"].first(name=small.plan().discussions[0].title)
    assert topic is not None
    small.reply(poster, topic["id"], moment(TODAY.isoformat(), "08:30:00"))
    after = small.truth()

    result = small.harvest(path)

    assert_matches(small, after, precision=path_precision(path))
    touched = {(one, course_one), (two, course_two), (writer, "thought"), (poster, "thought")}
    changed = changed_in(small.database_url, result.run_id)
    assert changed["progress"] == touched
    # Records move for the two completions and the reflection now submitted (its absence is part of a
    # record); a grade and a post outside the topic's window change no record.
    assert changed["records"] == {one, two, writer} | {
        no for no in after.records if after.records[no] != truth.records[no]}
    steps = result.steps
    assert steps["completion"]["changes"] == len(touched)
    assert steps["reflections"]["changes"] == 2 and steps["discussions"]["changes"] == 1
    if path == "per_user":  # asked about the four cadre-courses that moved, nobody else
        assert steps["completion"]["rows"] == len(touched)


@pytest.mark.parametrize("path", PATHS)
def test_a_course_completed_twice_counts_from_the_first_completion(small: Year, path: str) -> None:
    no = cadre_of(small, "section")
    first, again = moment("2026-04-03", "23:59:59"), moment("2026-05-06", "09:00:00")
    small.complete(no, "integrity", first)
    small.harvest(path)
    small.reset(no, "integrity", moment("2026-05-01"))
    small.harvest(path, full=True)  # per user, only a full harvest notices an admin's reset
    small.complete(no, "integrity", again)

    small.harvest(path)

    precision = path_precision(path)
    row = progress_row(small, no, "integrity")
    assert (row.first_completed_at, row.completed_at) == (utc(first, precision), utc(again, precision))
    assert row.reset_seen_at is not None, "the reset seen in between stays on the record"
    credits = {c["course"]: c for c in record_row(small, no).detail["credits"]}
    assert credits["integrity"]["completed_on"] == "2026-04-03"
    assert record_row(small, no).required_hours == 6
    assert_matches(small, small.truth(), precision=precision)
    shown = cli(["record", no], database_url=small.database_url)
    assert shown.exit_code == 0, shown.output
    line = next(line for line in shown.output.splitlines() if line.strip().startswith("integrity"))
    assert "completed 2026-04-03 23:59" in line and "completed again 2026-05-06 09:00" in line  # Beijing time


def test_elective_hours_above_the_cap_are_not_counted(small: Year, tmp_path: Path) -> None:
    spread(small)
    small.harvest()
    lower = write_plan(tmp_path, small.plan_text.replace("elective_max: 24", "elective_max: 8"))
    before = small.truth()
    small.apply(plan_text=lower.read_text("utf-8"))
    after = small.truth()
    hours = {c.key: c.hours for c in after.plan.courses}
    capped = {no for no, r in after.records.items() if r.tier is not None
              and sum(hours[c] for c, (kind, _) in r.credits.items() if kind != "required") > 8}
    assert capped, "the spread should give some cadre more than 8 elective hours"

    result = small.harvest()

    assert_matches(small, after, precision=60)
    for no in capped:
        detail = record_row(small, no).detail
        assert detail["elective_max"] == 8 and detail["elective_hours"] == 8
        assert detail["elective_hours_earned"] > 8
        assert detail["total_hours"] == detail["required_hours"] + 8
    assert {no for no in after.records if after.records[no] != before.records[no]} >= capped
    # The cap is part of every record of a tier that takes the year's: all of them are rewritten.
    assert changed_in(small.database_url, result.run_id)["records"] == {
        no for no, r in after.records.items() if r.tier is not None}


@pytest.mark.parametrize("path", PATHS)
def test_a_cadre_who_changed_tier_keeps_the_hours_of_the_old_tier(small: Year, path: str) -> None:
    no = cadre_of(small, "teaching")
    rank = next(r["职级"] for r in small.rows() if r["工号"] == no)
    for course, day in [("thought", "2026-03-10"), ("teaching-reform", "2026-03-20"),
                        ("policy", "2026-04-02")]:
        small.complete(no, course, moment(day))
    small.harvest(path)
    assert record_row(small, no).tier_key == "teaching"

    small.apply(roster=with_rank(small.roster, no, rank, "正科级"))  # moved to a section post
    result = small.harvest(path, full=True, today=TODAY + dt.timedelta(days=1))

    truth = small.truth(TODAY + dt.timedelta(days=1))
    assert truth.tiers[no] == "section"
    assert_matches(small, truth, precision=path_precision(path))
    detail = record_row(small, no).detail
    kinds = {c["course"]: c["kind"] for c in detail["credits"]}
    assert kinds == {"thought": "required", "teaching-reform": "other", "policy": "other"}
    assert (detail["tier"], detail["required_hours"], detail["elective_hours"]) == ("section", 10, 16)
    for course in ("teaching-reform", "policy"):  # their enrolments are suspended, not reset
        row = progress_row(small, no, course)
        assert row.completed_at is not None and row.reset_seen_at is None, (course, row.completed_at)
    with session_scope(small.database_url) as session:
        tiers = session.execute(select(StatusChange.tier_key, StatusChange.run_id)
                                .where(StatusChange.employee_no == no).order_by(StatusChange.id)).all()
    assert [tier for tier, _ in tiers] == ["teaching", "section"]
    assert tiers[-1][1] == result.run_id


@pytest.mark.parametrize("path", PATHS)
def test_a_reset_completion_keeps_its_hours_and_says_so(small: Year, path: str) -> None:
    no = cadre_of(small, "party-admin")
    small.complete(no, "governance", moment("2026-04-08", "14:30:15"))
    small.harvest(path)
    small.reset(no, "governance", moment("2026-05-02"))

    # No date shows a reset: the report's weekly whole read finds it (the last was weeks ago); per user,
    # Sunday's full harvest
    small.harvest(path, full=path == "per_user")

    row = progress_row(small, no, "governance")
    assert row.first_completed_at == utc(moment("2026-04-08", "14:30:15"), path_precision(path))
    assert row.completed_at is None and row.reset_seen_at is not None
    assert record_row(small, no).required_hours == 8
    assert_matches(small, small.truth(), precision=path_precision(path))
    shown = cli(["record", no], database_url=small.database_url)
    assert shown.exit_code == 0, shown.output
    line = next(line for line in shown.output.splitlines() if line.strip().startswith("governance"))
    assert "completed 2026-04-08 14:30" in line  # Beijing time
    assert "completion reset in Moodle" in line and "the hours stand" in line


def test_a_regraded_reflection_keeps_the_latest_grade(small: Year) -> None:
    no = cadre_of(small, "section")
    small.submit(no, "thought", 1520, moment("2026-05-10"))
    small.grade(no, "thought", 70, moment("2026-05-12"), by=FALLBACK_REVIEWER)
    small.harvest()
    small.grade(no, "thought", 85, moment("2026-05-20", "16:45:00"), by=FALLBACK_REVIEWER)

    small.harvest()
    small.harvest()  # nothing new: still one regrade

    with session_scope(small.database_url) as session:
        row = session.scalar(select(ReflectionRecord).where(ReflectionRecord.employee_no == no))
        assert row is not None
        assert (row.grade, row.grade_changes, row.chars, row.status) == (85, 1, 1520, "submitted")
        assert row.graded_at == utc(moment("2026-05-20", "16:45:00"))
        assert row.grader == "余娟文" and row.grader_userid == small.users[FALLBACK_REVIEWER]
    assert_matches(small, small.truth(), precision=60)
    shown = cli(["record", no], database_url=small.database_url)
    assert "grade 85 by 余娟文" in shown.output and "regraded 1x" in shown.output


def test_the_status_history_notes_the_day_a_cadre_completes(small: Year) -> None:
    leader = cadre_of(small, "leaders")
    plan = small.plan()
    courses = [c.key for c in plan.courses if "leaders" in c.required | c.elective]
    when = moment("2026-04-01")
    for course in courses[:-1]:
        small.complete(leader, course, when)
        when += 86400
    small.submit(leader, "thought", 1600, when)
    small.harvest()
    first = record_row(small, leader)
    assert first.status in ("on_track", "behind") and first.total_hours == 36

    small.complete(leader, courses[-1], moment("2026-07-20", "09:00:00"))
    later = TODAY + dt.timedelta(days=1)
    small.harvest(today=later)

    row = record_row(small, leader)
    assert (row.status, row.status_since, row.total_hours) == ("complete", later.isoformat(), 40)
    with session_scope(small.database_url) as session:
        history = session.execute(select(StatusChange.on, StatusChange.previous, StatusChange.status,
                                         StatusChange.total_hours)
                                  .where(StatusChange.employee_no == leader).order_by(StatusChange.id)).all()
    assert [tuple(h) for h in history] == [(TODAY.isoformat(), None, first.status, 36),
                                          (later.isoformat(), first.status, "complete", 40)]
    shown = cli(["record", leader], database_url=small.database_url)
    assert f"{later.isoformat()}  complete" in shown.output


ENGLISH_DATE = re.compile(r"^\w+, (\d+) (\w+) (\d{4}), (\d+):(\d\d) (AM|PM)$")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def in_chinese(cell: Any) -> Any:
    """A report's English date cell as a site in Chinese shows it (``strftimedaydatetime`` of zh_cn)."""
    found = ENGLISH_DATE.match(cell) if isinstance(cell, str) else None
    if found is None:
        return cell
    day, month, year, hour, minute, half = found.groups()
    when = dt.datetime(int(year), MONTHS.index(month) + 1, int(day), int(hour) % 12 + 12 * (half == "PM"),
                       int(minute))
    return f"{when.year}年{when.month}月{when.day}日 星期{'一二三四五六日'[when.weekday()]} {when:%H:%M}"


def test_unreadable_report_dates_fall_back_to_exact_times_for_completed_rows(
        small: Year, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake speaks English only, so the report's date cells are turned into Chinese on their way
    out: the harvest must not guess, and asks Moodle for the exact time of the completed rows alone."""
    spread(small)
    handle = small.site.handle

    def chinese_reports(token: str | None, wsfunction: str | None, raw: dict[str, Any],
                        **options: Any) -> Any:
        answer = handle(token, wsfunction, raw, **options)
        if wsfunction == "core_reportbuilder_retrieve_report":
            for row in answer["data"]["rows"]:
                row["columns"] = [in_chinese(cell) for cell in row["columns"]]
        return answer

    monkeypatch.setattr(small.site, "handle", chinese_reports)
    truth = small.truth()
    completed = sum(1 for p in truth.progress.values() if p.completed_now is not None)
    small.site.calls.clear()

    result = small.harvest("report")

    assert result.path == "report"
    asked = small.site.calls["core_completion_get_course_completion_status"]
    assert asked == completed == result.steps["completion"]["rows"]
    # The exact times, kept to the minute like every completion time (the report's own are unreadable).
    assert_matches(small, truth, precision=60)
