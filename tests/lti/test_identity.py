"""Who a launch's user is: matched by Moodle user id, username or idnumber against what provisioning made,
refused when the ids disagree or the launch comes from another site, and given the companion's roles
(never the course role Moodle sends). No parameter of the launch can change whose data is shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import Cadre, ConsoleUser
from plugin_service.services.lti.viewer import Viewer, load_viewer
from plugin_service.services.platform.site_settings import save_connection

from .platform import MoodleUser
from .tool import LEADER, LEADER_ID, LEARNER, LEARNER_ID, OFFICER, UNLINKED, Tool, learner, tool_for

SECRET = "console-test-secret"


@pytest.fixture
def tool(tmp_path: Path) -> Iterator[Tool]:
    with tool_for(f"sqlite:///{tmp_path / 'cadre.sqlite3'}") as found:
        yield found


def viewer(tool: Tool, user: MoodleUser, **claims: object) -> Viewer:
    answer = tool.platform.launch(tool.client, user, **claims)  # type: ignore[arg-type]
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return load_viewer(parse_qs(urlsplit(answer.headers["Location"]).query)["t"][0], SECRET)


def refused_as(tool: Tool, user: MoodleUser, kind: str) -> None:
    answer = tool.platform.launch(tool.client, user)
    assert answer.status_code == 403 and f'data-kind="{kind}"' in answer.get_data(as_text=True)
    assert "Location" not in answer.headers


def test_a_cadre_is_found_by_their_moodle_user_id_alone(tool: Tool) -> None:
    found = viewer(tool, MoodleUser(LEARNER_ID))  # no name shared: no username in the launch
    assert (found.employee_no, found.roles, found.name) == (LEARNER, ("learner",), "王明")


def test_a_cadre_whose_moodle_id_is_not_remembered_is_found_by_username(tool: Tool) -> None:
    found = viewer(tool, MoodleUser(555, username=UNLINKED.lower(), name="李华"))
    assert (found.employee_no, found.moodle_userid, found.roles) == (UNLINKED, 555, ("learner",))


def test_a_cadre_whose_moodle_id_is_not_remembered_is_found_by_idnumber(tool: Tool) -> None:
    found = viewer(tool, MoodleUser(556, idnumber=UNLINKED))
    assert found.employee_no == UNLINKED


def test_usernames_and_idnumbers_are_read_behind_the_namespace(tmp_path: Path) -> None:
    with tool_for(f"sqlite:///{tmp_path / 'n.sqlite3'}", namespace="rehearsal-") as tool:
        found = viewer(tool, MoodleUser(557, username="rehearsal-t20500", idnumber="rehearsal-T20500"))
        assert found.employee_no == UNLINKED
        outside = viewer(
            tool, MoodleUser(558, username="t20500", idnumber="T20500")
        )  # production's account
        assert outside.employee_no is None and outside.roles == ()


@pytest.mark.parametrize(
    "user",
    [
        MoodleUser(LEARNER_ID, username=UNLINKED.lower()),  # the id names one cadre, the username another
        MoodleUser(LEARNER_ID, idnumber=UNLINKED),
        MoodleUser(999, username=LEARNER.lower()),  # a second account carrying a cadre's username
        MoodleUser(999, idnumber=LEARNER),
        MoodleUser(560, username=UNLINKED.lower(), idnumber=LEARNER),
    ],
)
def test_ids_that_name_different_people_are_refused(tool: Tool, user: MoodleUser) -> None:
    refused_as(tool, user, "identity_conflict")


def test_a_user_of_another_site_is_refused_even_with_a_cadres_ids(tool: Tool) -> None:
    """The platform stays registered, but the companion now works with another Moodle site: the user ids
    of this one mean nobody."""
    with session_scope(tool.database_url) as session:
        save_connection(session, tool.settings, url="https://moodle.example.edu", token=None, actor="test")
    refused_as(tool, learner(), "not_connected")


def test_someone_the_companion_does_not_know_sees_no_ones_data(tool: Tool) -> None:
    found = viewer(tool, MoodleUser(700, username="visitor", idnumber="", name="Visitor"))
    assert (found.employee_no, found.roles, found.name) == (None, (), "Visitor")


def test_a_non_numeric_user_id_is_refused(tool: Tool) -> None:
    answer = tool.platform.launch(tool.client, learner(), change=lambda body: {**body, "sub": "abc"})
    assert answer.status_code == 403 and 'data-kind="unknown_user"' in answer.get_data(as_text=True)


def test_the_school_leader_the_plan_names_is_a_reviewer(tool: Tool) -> None:
    found = viewer(tool, MoodleUser(LEADER_ID, username=LEADER.lower(), idnumber=LEADER))
    assert found.employee_no == LEADER and found.roles == (
        "reviewer",
    )  # a leader in no tier learns nothing


def test_an_officer_is_the_console_officer_named_by_their_employee_number(tool: Tool) -> None:
    found = viewer(tool, MoodleUser(800, username=OFFICER.lower(), idnumber=OFFICER, name="赵主任"))
    assert (found.employee_no, found.roles, found.departments) == (None, ("officer",), ("科研处",))
    with session_scope(tool.database_url) as session:
        officer = session.scalars(select(ConsoleUser).where(ConsoleUser.username == OFFICER)).one()
        officer.disabled = True
    assert viewer(tool, MoodleUser(800, username=OFFICER.lower(), idnumber=OFFICER)).roles == ()


def test_an_officers_username_alone_does_not_make_an_officer(tool: Tool) -> None:
    """A self-registered Moodle account may take any free username, but cannot set its idnumber."""
    assert viewer(tool, MoodleUser(801, username=OFFICER.lower())).roles == ()
    assert viewer(tool, MoodleUser(802, username=OFFICER.lower(), idnumber="T99999")).roles == ()


def test_a_cadre_who_is_also_an_officer_has_both_roles(tool: Tool) -> None:
    from plugin_service.services.platform.console_users import create_user

    with session_scope(tool.database_url) as session:
        create_user(
            session,
            LEARNER,
            "correct horse battery staple",
            role="officer",
            actor="test",
            departments=("党委宣传部",),
        )
    found = viewer(tool, learner())
    assert found.roles == ("learner", "officer") and found.departments == ("党委宣传部",)


def test_the_course_role_moodle_sends_gives_no_role(tool: Tool) -> None:
    teacher = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
    admin = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
    found = viewer(
        tool,
        MoodleUser(701, username="teacher1"),
        change=lambda body: {**body, "https://purl.imsglobal.org/spec/lti/claim/roles": [teacher, admin]},
    )
    assert found.roles == () and found.employee_no is None


def test_no_form_parameter_changes_whose_launch_it_is(tool: Tool) -> None:
    state, nonce = tool.platform.authorize(tool.platform.login(tool.client, learner()))
    token = tool.platform.sign(tool.platform.claims(learner(), nonce=nonce))
    answer = tool.client.post(
        "/lti/launch?sub=102&employee_no=T20500",
        data={
            "id_token": token,
            "state": state,
            "sub": "102",
            "employee_no": UNLINKED,
            "user_id": "102",
            "login_hint": "102",
            "t": "forged",
        },
    )
    assert answer.status_code == 303
    found = load_viewer(parse_qs(urlsplit(answer.headers["Location"]).query)["t"][0], SECRET)
    assert (found.employee_no, found.moodle_userid) == (LEARNER, LEARNER_ID)


def test_a_tampered_page_token_is_refused_by_the_pages(tool: Tool) -> None:
    answer = tool.platform.launch(tool.client, learner())
    location = answer.headers["Location"]
    token = parse_qs(urlsplit(location).query)["t"][0]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert tool.client.get(f"/lti/home?t={tampered}").status_code == 401


def test_the_launch_does_not_change_the_cadres_stored(tool: Tool) -> None:
    viewer(tool, MoodleUser(555, username=UNLINKED.lower()))
    with session_scope(tool.database_url) as session:
        assert session.get(Cadre, UNLINKED).moodle_userid is None  # type: ignore[union-attr]
