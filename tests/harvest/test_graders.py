"""Graders by name: a reflection's grader is stored as Moodle names them (a cadre as the roster does),
asked for once a harvest in one batched call; ``cadre record`` shows the stored name and asks Moodle
nothing; a grader Moodle does not return is shown by their Moodle id, saying so, until Moodle does."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from plugin_service.db import session_scope
from plugin_service.models import ReflectionRecord

from .world import FALLBACK_REVIEWER, Year, changed_in, cli, moment

pytestmark = pytest.mark.integration
SERVICE_USER = 3  # the fake's wsbot, "Companion Bot": not a cadre, may grade everywhere


def graders(year: Year) -> dict[str, tuple[str, int | None]]:
    with session_scope(year.database_url) as session:
        return {r.employee_no: (r.grader, r.grader_userid) for r in session.scalars(
            select(ReflectionRecord).where(ReflectionRecord.course_key == "thought"))}


def grade_by(year: Year, employee_no: str, grade: float, when: int, teacherid: int) -> None:
    year.at(when)
    year.site.site_action("assign_grade", {"teacherid": teacherid, "userid": year.users[employee_no],
                                           "cmid": year.assignment_cm("thought"), "grade": grade})


def test_graders_are_stored_by_name_and_the_record_asks_moodle_nothing(small: Year) -> None:
    truth = small.truth()
    writers = [no for (no, course) in sorted(truth.progress) if course == "thought"
               and truth.tiers.get(no) is not None and no != FALLBACK_REVIEWER][:3]
    by_service, by_teacher, by_cadre = writers
    teacher = small.site.site_action("create_user", {"username": "chenxm", "firstname": "Xiaomei",
                                                     "lastname": "Chen", "email": "chenxm@college.example"})
    small.site.grant(teacher["id"], {"mod/assign:grade"})
    for n, no in enumerate(writers):
        small.submit(no, "thought", 1600, moment("2026-05-10", f"1{n}:00:00"))
    grade_by(small, by_service, 80, moment("2026-05-12", "09:00:00"), SERVICE_USER)
    grade_by(small, by_teacher, 75, moment("2026-05-12", "10:00:00"), teacher["id"])
    small.grade(by_cadre, "thought", 90, moment("2026-05-12", "11:00:00"), by=FALLBACK_REVIEWER)
    # The teacher's account goes: Moodle returns no such user (the row is taken out, as Moodle leaves
    # out a deleted user; the fake would still return one marked deleted).
    row = small.site.db["user"].get(teacher["id"])
    assert row is not None
    small.site.db["user"].delete(row)
    small.site.calls.clear()

    small.harvest("per_user")

    assert small.site.calls["core_user_get_users_by_field"] == 1, "one batched call for the graders"
    assert graders(small) == {by_service: ("Companion Bot", SERVICE_USER), by_teacher: ("", teacher["id"]),
                              by_cadre: ("余娟文", small.users[FALLBACK_REVIEWER])}
    calls = sum(small.site.calls.values())
    shown = {no: cli(["record", no], database_url=small.database_url).output for no in writers}
    assert sum(small.site.calls.values()) == calls, "showing a record asks Moodle nothing"
    assert "grade 80 by Companion Bot 2026-05-12 09:00" in shown[by_service]
    assert (f"grade 75 by Moodle user {teacher['id']} (Moodle did not return this user) 2026-05-12 10:00"
            in shown[by_teacher])
    assert "grade 90 by 余娟文" in shown[by_cadre]

    # Moodle returns the teacher again (the account restored): the next harvest names them; so are the
    # "Moodle user N" that harvests stored before graders were named. Neither moves a record.
    small.site.db["user"].insert(row)
    with session_scope(small.database_url) as session:
        session.execute(update(ReflectionRecord).where(ReflectionRecord.employee_no == by_service)
                        .values(grader=f"Moodle user {SERVICE_USER}"))
    small.site.calls.clear()

    run = small.harvest("per_user")

    assert small.site.calls["core_user_get_users_by_field"] == 1
    assert graders(small)[by_teacher] == ("Xiaomei Chen", teacher["id"])
    assert graders(small)[by_service] == ("Companion Bot", SERVICE_USER)
    assert run.steps["reflections"]["changes"] == 2
    assert changed_in(small.database_url, run.run_id) == {"progress": set(), "records": set()}
    assert "grade 75 by Xiaomei Chen" in cli(["record", by_teacher], database_url=small.database_url).output

    small.site.calls.clear()
    again = small.harvest("per_user")
    assert "core_user_get_users_by_field" not in small.site.calls, "every grader is named: nothing to ask"
    assert again.changes == 0
