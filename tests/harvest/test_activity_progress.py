"""Activity progress of courses started but not complete: work seen in a cadre's reflection (submitted,
graded) starts the course even where Moodle shows no start and no access, and has its activity
completion read, within the harvest's budget of activity calls and only when something changed."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import CourseProgress

from .world import FALLBACK_REVIEWER, TODAY, Year, cli, essay, moment, utc

pytestmark = pytest.mark.integration
PATHS = ["report", "per_user"]
ACTIVITY_CALL = "core_completion_get_activities_completion_status"


def row_of(year: Year, employee_no: str, course: str) -> CourseProgress:
    with session_scope(year.database_url) as session:
        row = session.scalar(select(CourseProgress).where(CourseProgress.employee_no == employee_no,
                                                          CourseProgress.course_key == course))
        assert row is not None
        session.expunge(row)
        return row


def activities_in_moodle(year: Year, employee_no: str, course: str) -> tuple[int, int]:
    """(done, tracked) of the course's activities for the cadre, from the fake's own tables."""
    userid = year.users[employee_no]
    tracked = [cm["id"] for cm in year.site.db["course_modules"].select(course=year.courses[course])
               if int(cm.get("completion") or 0)]
    done = sum(1 for cmid in tracked
               if (row := year.site.db["course_modules_completion"].first(coursemoduleid=cmid, userid=userid))
               and row.get("completionstate") in (1, 2))
    return done, len(tracked)


def submit_from_a_link(year: Year, employee_no: str, chars: int, when: int) -> None:
    """The cadre submits the reflection straight from a link to the assignment: Moodle notes no access
    to the course, and its "time started" waits for cron."""
    year.at(when)
    answer = year.site.site_action("assign_submit", {"userid": year.users[employee_no],
                                                     "cmid": year.assignment_cm("thought"),
                                                     "text": essay(chars)})
    assert not answer["notices"], answer


def track_reflection(year: Year) -> None:
    """The content team tracks the reflection as an activity: submitting it completes it (the course's
    completion still asks for its page)."""
    cm = year.site.db["course_modules"].get(year.assignment_cm("thought"))
    assert cm is not None
    year.site.db["course_modules"].update(cm, completion=2)
    assign = year.site.db["assign"].get(cm["instance"])
    assert assign is not None
    year.site.db["assign"].update(assign, completionsubmit=1)


def a_writer(year: Year) -> str:
    truth = year.truth()
    return next(no for (no, course) in sorted(truth.progress) if course == "thought"
                and truth.tiers.get(no) is not None and no != FALLBACK_REVIEWER)


@pytest.mark.parametrize("path", PATHS)
def test_a_graded_reflection_in_an_incomplete_course_shows_it_in_progress_with_its_activity(
        small: Year, path: str) -> None:
    track_reflection(small)
    no = a_writer(small)
    submitted = moment("2026-05-10", "20:15:00")
    submit_from_a_link(small, no, 1600, submitted)
    small.grade(no, "thought", 85, moment("2026-05-12"), by=FALLBACK_REVIEWER)
    done, tracked = activities_in_moodle(small, no, "thought")
    assert done >= 1 and tracked > done, (done, tracked)
    small.site.calls.clear()

    result = small.harvest(path)

    assert small.site.calls[ACTIVITY_CALL] >= 1 and result.steps["activities"]["rows"] >= 1
    row = row_of(small, no, "thought")
    assert row.first_completed_at is None and row.started_at == utc(submitted)
    assert (row.activities_done, row.activities_total) == (done, tracked)
    assert not row.activities_stale
    shown = cli(["record", no], database_url=small.database_url)
    line = next(line for line in shown.output.splitlines() if line.strip().startswith("thought "))
    assert "in progress" in line and f"activities {done}/{tracked}" in line, line

    small.site.calls.clear()
    again = small.harvest(path)
    assert ACTIVITY_CALL not in small.site.calls and again.changes == 0, "nothing changed: nothing read"


def test_activity_reads_of_reflection_work_wait_for_the_budget(small: Year) -> None:
    no = a_writer(small)
    submit_from_a_link(small, no, 1600, moment("2026-05-10"))
    small.settings = dataclasses.replace(small.settings, harvest_activity_calls=0)
    small.site.calls.clear()

    first = small.harvest()

    assert ACTIVITY_CALL not in small.site.calls and first.waiting_activities == 1
    row = row_of(small, no, "thought")
    assert row.started_at is not None and row.activities_stale and row.activities_total is None
    small.settings = dataclasses.replace(small.settings, harvest_activity_calls=300)

    second = small.harvest(today=TODAY)

    assert small.site.calls[ACTIVITY_CALL] == 1 and second.waiting_activities == 0
    assert (row_of(small, no, "thought").activities_done,
            row_of(small, no, "thought").activities_total) == activities_in_moodle(small, no, "thought")


def test_a_full_harvest_reads_activity_detail_of_reflection_work_stored_before(small: Year) -> None:
    """Courses harvested before reflections counted as work: the weekly full harvest catches them up."""
    no = a_writer(small)
    submit_from_a_link(small, no, 1600, moment("2026-05-10"))
    small.harvest()
    with session_scope(small.database_url) as session:
        stored = session.scalar(select(CourseProgress).where(CourseProgress.employee_no == no,
                                                             CourseProgress.course_key == "thought"))
        assert stored is not None
        stored.started_at, stored.activities_total, stored.activities_done = None, None, None

    small.harvest(full=True)

    row = row_of(small, no, "thought")
    assert row.started_at is not None
    assert (row.activities_done, row.activities_total) == activities_in_moodle(small, no, "thought")
