"""Study time harvested from the SCORM courseware of the year's courses over HTTP: the stored figures are
exactly what the tracks say, a course without courseware reads not tracked, a second harvest reads the
tracks of nobody whose course did not change, and a reset in Moodle loses no time already counted."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import CourseProgress, StudyCourseware, StudyTime
from plugin_service.services.harvest.learning_records import cadre_record

from .world import FALLBACK_REVIEWER, Year, moment

pytestmark = pytest.mark.integration

TRACK_CALLS = ("mod_scorm_get_scorm_attempt_count", "mod_scorm_get_scorm_sco_tracks")


def course_of(year: Year, template: str) -> str:
    return next(c.key for c in year.plan().courses if c.template == template)


def package(year: Year, course: str) -> dict[str, Any]:
    cm = next(cm for cm in year.site.db["course_modules"].select(course=year.courses[course])
              if cm["modname"] == "scorm")
    scoids = [sco["id"] for sco in year.site.db["scorm_scoes"].select(scorm=cm["instance"]) if sco["launch"]]
    return {"cmid": cm["id"], "instance": cm["instance"], "scoids": sorted(scoids)}


def study(year: Year, employee_no: str, course: str, when: int, seconds: float, sco: int = 0,
          **args: Any) -> None:
    """The learner studies one SCO of the course's package in Moodle's player."""
    year.at(when)
    found = package(year, course)
    year.site.site_action("scorm_session", {"userid": year.users[employee_no], "cmid": found["cmid"],
                                            "scoid": found["scoids"][sco], "seconds": seconds, **args})


def stored_times(year: Year) -> dict[tuple[str, str], tuple[float, int]]:
    with session_scope(year.database_url) as session:
        return {(row.employee_no, row.course_key): (row.seconds, row.attempts)
                for row in session.scalars(select(StudyTime))}


def harvest_counting(year: Year, path: str, **options: Any) -> Counter[str]:
    with year.client() as client:
        year.harvest(path, client=client, **options)
        return Counter({name: count for name, count in client.calls.items() if name in TRACK_CALLS})


def cadres(year: Year, count: int) -> list[str]:
    return [no for no in sorted(year.users) if no != FALLBACK_REVIEWER][:count]


@pytest.mark.parametrize("path", ["report", "per_user"])
def test_study_time_is_stored_exactly_and_read_again_only_where_the_course_changed(small: Year,
                                                                                  path: str) -> None:
    integrity = course_of(small, "TPL-INTEGRITY")  # SCORM 2004, two SCOs, required of every tier
    thought = course_of(small, "TPL-THOUGHT")  # no courseware
    one, two, idle = cadres(small, 3)
    study(small, one, integrity, moment("2026-03-02"), 1500)
    study(small, one, integrity, moment("2026-03-03"), 1803.5, status="completed")
    study(small, one, integrity, moment("2026-03-04"), 600, sco=1, finish=False)  # browser closed
    study(small, two, integrity, moment("2026-03-05"), 900)
    study(small, two, integrity, moment("2026-03-06"), 300, new_attempt=True)

    first = harvest_counting(small, path)
    times = stored_times(small)
    assert times[(one, integrity)] == (1500 + 1803.5 + 600, 1)
    assert times[(two, integrity)] == (900 + 300, 2)
    assert times[(idle, integrity)] == (0.0, 0)  # tracked courseware, nothing studied: zero, not unknown
    assert not any(course == thought for _no, course in times)
    enrolled = sum(1 for no, course in times if course == integrity)
    assert first["mod_scorm_get_scorm_attempt_count"] >= enrolled
    with session_scope(small.database_url) as session:
        tracked = {row.course_key: row.tracked for row in session.scalars(select(StudyCourseware))}
        assert tracked[integrity] and not tracked[thought]
        record = cadre_record(session, one, 2026)
    assert record is not None
    lines = {line.course: line for line in record.study}
    assert lines[integrity].seconds == 3903.5 and lines[integrity].text == "1 h 5 min"
    assert lines[thought].seconds is None and lines[thought].text == "not tracked"
    assert record.study_seconds == sum(line.seconds or 0 for line in record.study)

    assert harvest_counting(small, path) == Counter()  # nothing changed: no cadre's tracks are read

    study(small, two, integrity, moment("2026-04-01"), 420, sco=1)
    again = harvest_counting(small, path)
    # the one cadre whose course changed: the last attempt's two SCOs, no count (attempts known)
    assert again == Counter({"mod_scorm_get_scorm_sco_tracks": 2})
    assert stored_times(small)[(two, integrity)] == (900 + 300 + 420, 2)
    assert {key: value for key, value in stored_times(small).items() if key[0] != two} == {
        key: value for key, value in times.items() if key[0] != two}


def test_a_reset_in_moodle_keeps_the_time_counted_and_a_full_harvest_reads_everyone(small: Year) -> None:
    integrity = course_of(small, "TPL-INTEGRITY")
    one = cadres(small, 1)[0]
    study(small, one, integrity, moment("2026-03-02"), 3600)
    small.harvest("report")
    assert stored_times(small)[(one, integrity)] == (3600, 1)
    site, userid = small.site, small.users[one]
    for attempt in site.db["scorm_attempt"].select(userid=userid):  # an admin deletes the attempt
        for value in site.db["scorm_scoes_value"].select(attemptid=attempt["id"]):
            site.db["scorm_scoes_value"].delete(value)
        site.db["scorm_attempt"].delete(attempt)
    study(small, one, integrity, moment("2026-03-10"), 600)  # attempt 1 again, from zero
    calls = harvest_counting(small, "report", full=True)
    assert stored_times(small)[(one, integrity)] == (3600 + 600, 1)
    # every cadre of every course with courseware (one package each) is asked again: first for the
    # attempt count where the package holds several SCOs, straight for the tracks where it holds one
    several = {course for _no, course in stored_times(small)
               if len(package(small, course)["scoids"]) > 1}
    assert several and len(several) < len({course for _no, course in stored_times(small)})
    assert calls["mod_scorm_get_scorm_attempt_count"] == sum(
        1 for _no, course in stored_times(small) if course in several)
    assert calls["mod_scorm_get_scorm_sco_tracks"] >= sum(
        1 for _no, course in stored_times(small) if course not in several)


def test_a_package_of_one_sco_is_read_from_its_tracks_alone(small: Year) -> None:
    """The tracks of the last attempt say which attempt it is; the attempt count would cost a call
    more for each cadre."""
    emergency = course_of(small, "TPL-EMERGENCY")
    assert len(package(small, emergency)["scoids"]) == 1
    small.at(moment("2026-03-01"))
    small.harvest("report")
    one = next(no for no, course in stored_times(small) if course == emergency)
    study(small, one, emergency, moment("2026-04-01"), 1200)
    study(small, one, emergency, moment("2026-04-02"), 600.5, new_attempt=True)

    calls = harvest_counting(small, "report")

    assert stored_times(small)[(one, emergency)] == (1800.5, 2)
    assert calls == Counter({"mod_scorm_get_scorm_sco_tracks": 2})  # the last attempt, then the first


def test_a_site_without_the_scorm_functions_keeps_what_is_stored(small: Year) -> None:
    integrity = course_of(small, "TPL-INTEGRITY")
    one = cadres(small, 1)[0]
    study(small, one, integrity, moment("2026-03-02"), 1200)
    small.harvest("report")
    service = small.site.services[1]
    service.functions -= {"mod_scorm_get_scorm_sco_tracks"}
    try:
        study(small, one, integrity, moment("2026-03-09"), 1200, sco=1)
        small.harvest("report")
        assert stored_times(small)[(one, integrity)] == (1200, 1)
    finally:
        service.functions |= {"mod_scorm_get_scorm_sco_tracks"}


def harvest_calls(year: Year, **options: Any) -> Counter[str]:
    with year.client() as client:
        year.harvest("report", client=client, **options)
        return Counter(client.calls)


def test_a_cadre_read_before_is_asked_only_the_attempts_that_can_have_changed(small: Year) -> None:
    """Attempts before the last one a harvest saw had ended: the next harvest reads the last one seen
    and those after it, without the attempt count, and the figure is the whole of every attempt."""
    integrity = course_of(small, "TPL-INTEGRITY")  # two SCOs
    one = cadres(small, 1)[0]
    study(small, one, integrity, moment("2026-03-02"), 1000)
    study(small, one, integrity, moment("2026-03-03"), 500, new_attempt=True)
    small.harvest("report")
    assert stored_times(small)[(one, integrity)] == (1500, 2)

    study(small, one, integrity, moment("2026-04-01"), 200, sco=1)  # still the second attempt
    study(small, one, integrity, moment("2026-04-02"), 300, new_attempt=True)
    calls = harvest_counting(small, "report")

    assert stored_times(small)[(one, integrity)] == (2000, 3)
    # the last attempt of each SCO, then the second (the last seen before) again; not the first
    assert calls == Counter({"mod_scorm_get_scorm_sco_tracks": 4})

    full = harvest_counting(small, "report", full=True)
    assert stored_times(small)[(one, integrity)] == (2000, 3)
    assert full["mod_scorm_get_scorm_attempt_count"] >= 1


def test_a_scorm_grade_is_read_again_only_for_cadres_whose_tracks_changed(small: Year) -> None:
    """A course graded by its SCORM package: a cadre who only opened the course keeps their grade
    unread; one who studied the package has it read again."""
    integrity = course_of(small, "TPL-INTEGRITY")
    one, two = cadres(small, 2)
    small.at(moment("2026-03-01"))
    small.harvest("report")
    small.at(moment("2026-04-01"))
    small.visit(one, integrity)
    study(small, two, integrity, moment("2026-04-02"), 900, score=80)

    calls = harvest_calls(small)

    assert calls["gradereport_user_get_grade_items"] == 1  # the cadre who studied, alone
    assert grades_of(small, integrity, one, two) == {one: None, two: 80.0}
    assert small.harvest("report", full=True).changes == 0  # the whole course read again agrees


def grades_of(year: Year, course: str, *employee_nos: str) -> dict[str, float | None]:
    with session_scope(year.database_url) as session:
        return {row.employee_no: row.grade for row in session.scalars(
            select(CourseProgress).where(CourseProgress.course_key == course,
                                         CourseProgress.employee_no.in_(employee_nos)))}


def test_the_scos_are_asked_again_only_for_a_package_uploaded_again(small: Year) -> None:
    """A package's SCOs change only with a new upload, which Moodle counts as a new revision: a next
    harvest lists the packages in one call and asks the SCOs of the one uploaded again, whose cadres
    are then all read again; a full harvest asks every package's SCOs."""
    integrity = course_of(small, "TPL-INTEGRITY")
    one = cadres(small, 1)[0]
    small.at(moment("2026-03-01"))
    small.harvest("report")
    packages = sum(1 for cm in small.site.db["course_modules"].select() if cm["modname"] == "scorm"
                   and cm["course"] in small.courses.values())
    assert harvest_calls(small)["mod_scorm_get_scorm_scoes"] == 0

    found = package(small, integrity)
    small.site.site_action("replace_scorm_package", {"cmid": found["cmid"], "scoes": [
        {"identifier": "SCO-1", "title": "警示案例 Cases"},
        {"identifier": "SCO-2", "title": "廉政法规 Rules"},
        {"identifier": "SCO-3", "title": "新增 Added"}]})
    study(small, one, integrity, moment("2026-04-01"), 700, sco=2)
    calls = harvest_calls(small)

    assert calls["mod_scorm_get_scorm_scoes"] == 1
    enrolled = sum(1 for _no, course in stored_times(small) if course == integrity)
    assert calls["mod_scorm_get_scorm_attempt_count"] == enrolled  # everyone, every attempt: new SCOs
    assert stored_times(small)[(one, integrity)] == (700, 1)
    assert harvest_calls(small, full=True)["mod_scorm_get_scorm_scoes"] == packages
