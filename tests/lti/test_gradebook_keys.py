"""The year's hours in Moodle's gradebook (AGS), and key rotation on both sides: the tool's keys (launches
and service tokens keep working while the old key is in its grace period, then it retires) and the
platform's (a launch signed with a new key makes the tool fetch the key set again)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from plugin_service.cli import main
from plugin_service.db import session_scope
from plugin_service.models import AuditLog, LearningRecordRow, LtiLineItem, LtiPlatform, LtiScore, LtiToolKey
from plugin_service.services.lti.gradebook import push_hours
from plugin_service.services.lti.keys import published, retire_expired, rotate

from .platform import MoodleUser, PlatformKey
from .tool import COURSE_ID, LEARNER, LEARNER_ID, UNLINKED, Tool, learner, tool_for


@pytest.fixture
def tool(database_url: str) -> Iterator[Tool]:
    with tool_for(database_url) as found:
        yield found


def push(tool: Tool, year: int | None = 2026) -> tuple[int, int, int, int, list[str]]:
    result = push_hours(tool.database_url, secret_key=tool.settings.secret_key,
                        moodle_url=tool.settings.moodle_url, year=year)
    return result.sent, result.unchanged, result.refused, result.failed, result.errors


def set_hours(tool: Tool, employee_no: str, total: float) -> None:
    with session_scope(tool.database_url) as session:
        row = session.scalars(select(LearningRecordRow)
                              .where(LearningRecordRow.employee_no == employee_no)).one()
        row.total_hours = total


def test_a_launch_remembers_its_line_item_and_the_learner(tool: Tool) -> None:
    lineitem = tool.platform.lineitem(COURSE_ID)
    assert tool.platform.launch(tool.client, learner(), lineitem=lineitem).status_code == 303
    with session_scope(tool.database_url) as session:
        [item] = session.scalars(select(LtiLineItem))
        assert (item.url, item.context_id, item.resource_link_id) == (lineitem, str(COURSE_ID), "11")
        [score] = session.scalars(select(LtiScore))
        assert (score.employee_no, score.moodle_userid, score.launched, score.score_given) == (
            LEARNER, LEARNER_ID, True, None)


def test_a_launch_without_the_score_scope_remembers_nothing(tool: Tool) -> None:
    def without_score(body: dict[str, object]) -> dict[str, object]:
        claim = dict(body["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"])  # type: ignore[call-overload]
        claim["scope"] = [s for s in claim["scope"] if not s.endswith("/score")]
        return {**body, "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": claim}

    tool.platform.launch(tool.client, learner(), lineitem=tool.platform.lineitem(), change=without_score)
    with session_scope(tool.database_url) as session:
        assert list(session.scalars(select(LtiLineItem))) == []


def test_the_hours_reach_the_gradebook_once_and_only_changes_are_sent_again(tool: Tool) -> None:
    lineitem = tool.platform.lineitem(COURSE_ID)
    tool.platform.launch(tool.client, learner(), lineitem=lineitem)
    assert push(tool) == (1, 0, 0, 0, [])  # the plan enrols the other learner too, but Moodle's id is unknown
    [score] = tool.platform.scores
    assert score.lineitem == lineitem and score.status == 200
    body = score.body
    assert (body["userId"], body["scoreGiven"], body["scoreMaximum"]) == (str(LEARNER_ID), 12.5, 50.0)
    assert (body["activityProgress"], body["gradingProgress"]) == ("InProgress", "FullyGraded")
    assert body["comment"] == "12.5 / 50 学时 hours (2026)"
    dt.datetime.fromisoformat(body["timestamp"])
    [token] = tool.platform.token_requests
    assert token["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    assert push(tool) == (0, 1, 0, 0, [])  # nothing changed: nothing sent
    assert len(tool.platform.scores) == 1

    set_hours(tool, LEARNER, 50.0)
    assert push(tool) == (1, 0, 0, 0, [])
    assert tool.platform.scores[-1].body["activityProgress"] == "Completed"
    with session_scope(tool.database_url) as session:
        rows = list(session.scalars(select(AuditLog).where(AuditLog.action == "lti:score")))
        assert [r.outcome for r in rows] == ["ok", "ok"]
        assert "client_assertion" not in str([r.detail for r in rows])


def test_every_learner_the_plan_enrols_in_the_course_gets_a_score_once_moodle_knows_them(tool: Tool) -> None:
    from plugin_service.models import Cadre

    tool.platform.launch(tool.client, learner(), lineitem=tool.platform.lineitem(COURSE_ID))
    with session_scope(tool.database_url) as session:
        cadre = session.get(Cadre, UNLINKED)
        assert cadre is not None
        cadre.moodle_userid = 102
    assert push(tool)[0] == 2
    assert sorted(s.body["userId"] for s in tool.platform.scores) == [str(LEARNER_ID), "102"]


def test_a_score_moodle_refuses_is_not_sent_again_until_it_changes(tool: Tool) -> None:
    tool.platform.gradable = {999}  # the learner cannot be graded in that course
    tool.platform.launch(tool.client, learner(), lineitem=tool.platform.lineitem(COURSE_ID))
    assert push(tool) == (0, 0, 1, 0, [])
    assert push(tool) == (0, 1, 0, 0, [])
    with session_scope(tool.database_url) as session:
        [score] = session.scalars(select(LtiScore))
        assert (score.status, score.error) == ("refused", "HTTP 400")


def test_a_refused_token_fails_the_column_and_it_is_tried_again(tool: Tool) -> None:
    tool.platform.launch(tool.client, learner(), lineitem=tool.platform.lineitem(COURSE_ID))
    tool.platform.fail_token = True
    sent, _unchanged, _refused, _failed, errors = push(tool)
    assert sent == 0 and len(errors) == 1 and tool.platform.scores == []
    assert "refused the tool's gradebook token (HTTP" in errors[0] and "cURL blocked hosts list" in errors[0]
    tool.platform.fail_token = False
    assert push(tool)[0] == 1


def test_only_the_connected_moodles_columns_are_served(tool: Tool) -> None:
    tool.platform.launch(tool.client, learner(), lineitem=tool.platform.lineitem(COURSE_ID))
    result = push_hours(tool.database_url, secret_key=tool.settings.secret_key,
                        moodle_url="https://moodle.example.edu")
    assert result.line_items == 0 and tool.platform.scores == []


def test_the_tool_publishes_its_key_and_rotation_keeps_the_old_one_for_a_while(tool: Tool) -> None:
    first = tool.client.get("/lti/jwks.json").get_json()["keys"]
    assert len(first) == 1 and first[0]["kid"] and first[0]["alg"] == "RS256" and "d" not in first[0]
    assert CliRunner().invoke(main, ["lti", "rotate-keys", "--grace-hours", "1"],
                              env=_env(tool)).exit_code == 0
    both = tool.client.get("/lti/jwks.json").get_json()["keys"]
    assert {k["kid"] for k in both} >= {first[0]["kid"]} and len(both) == 2
    assert not any("d" in key or "p" in key for key in both)

    # a service token signed with the new key is accepted by the platform, which reads the key set
    tool.platform.launch(tool.client, learner(), lineitem=tool.platform.lineitem(COURSE_ID))
    assert push(tool)[0] == 1

    with session_scope(tool.database_url) as session:
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=2)
        assert retire_expired(session, later) == [first[0]["kid"]]
        old = session.scalars(select(LtiToolKey).where(LtiToolKey.kid == first[0]["kid"])).one()
        assert (old.status, old.private_key) == ("retired", "")
    assert [k["kid"] for k in tool.client.get("/lti/jwks.json").get_json()["keys"]] == [both[0]["kid"]]


def test_a_tool_key_stored_encrypted_never_shows_its_private_half(tool: Tool) -> None:
    with session_scope(tool.database_url) as session:
        published(session, tool.settings.secret_key)
        rotate(session, tool.settings.secret_key, actor="test")
        for row in session.scalars(select(LtiToolKey)):
            assert "PRIVATE KEY" not in row.private_key
    listing = CliRunner().invoke(main, ["lti", "keys"], env=_env(tool))
    assert listing.exit_code == 0 and "PRIVATE" not in listing.output and "active" in listing.output


def test_launches_keep_working_when_the_platform_rotates_its_keys(tool: Tool) -> None:
    assert tool.platform.launch(tool.client, learner()).status_code == 303
    fetches = tool.platform.keyset_fetches
    old = tool.platform.keys[0]
    tool.platform.rotate(keep_old=True)
    age_keyset(tool)
    assert tool.platform.launch(tool.client, learner()).status_code == 303  # new kid: the set is fetched
    assert tool.platform.keyset_fetches == fetches + 1
    state, nonce = tool.platform.authorize(tool.platform.login(tool.client, learner()))
    signed_by_old = tool.platform.sign(tool.platform.claims(learner(), nonce=nonce), old)
    answer = tool.client.post("/lti/launch", data={"id_token": signed_by_old, "state": state})
    assert answer.status_code == 303
    assert tool.platform.keyset_fetches == fetches + 1  # both keys were in the set fetched


def test_a_key_the_platform_dropped_no_longer_verifies(tool: Tool) -> None:
    old = tool.platform.keys[0]
    assert tool.platform.launch(tool.client, learner()).status_code == 303
    tool.platform.rotate(keep_old=False)
    age_keyset(tool)
    tool.platform.launch(tool.client, learner())  # fetches the new set, without the old key
    state, nonce = tool.platform.authorize(tool.platform.login(tool.client, MoodleUser(LEARNER_ID)))
    stale = tool.platform.sign(tool.platform.claims(MoodleUser(LEARNER_ID), nonce=nonce), old)
    answer = tool.client.post("/lti/launch", data={"id_token": stale, "state": state})
    assert answer.status_code == 403 and 'data-kind="signature"' in answer.get_data(as_text=True)


def age_keyset(tool: Tool) -> None:
    """The stored key set as fetched a minute ago: an unknown key id makes the tool fetch it again (a
    fetch seconds old is not repeated, so forged key ids cannot make the tool hammer the platform)."""
    with session_scope(tool.database_url) as session:
        for platform in session.scalars(select(LtiPlatform)):
            assert platform.keyset_fetched_at is not None
            platform.keyset_fetched_at -= dt.timedelta(minutes=1)


def test_unknown_key_ids_in_quick_succession_fetch_the_key_set_once(tool: Tool) -> None:
    assert tool.platform.launch(tool.client, learner()).status_code == 303
    fetches = tool.platform.keyset_fetches
    for _ in range(3):
        state, nonce = tool.platform.authorize(tool.platform.login(tool.client, learner()))
        forged = tool.platform.sign(tool.platform.claims(learner(), nonce=nonce), PlatformKey.make())
        assert tool.client.post("/lti/launch", data={"id_token": forged, "state": state}).status_code == 403
    assert tool.platform.keyset_fetches == fetches


def _env(tool: Tool) -> dict[str, str]:
    return {"CADRE_DATABASE_URL": tool.database_url, "CADRE_SECRET_KEY": tool.settings.secret_key,
            "CADRE_MOODLE_URL": tool.settings.moodle_url,
            "CADRE_PUBLIC_BASE_URL": tool.settings.public_base_url}
