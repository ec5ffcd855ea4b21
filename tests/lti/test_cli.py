"""``cadre lti``: the platforms (and, before there is one, how a Moodle admin places the tool), the hours
pushed to the gradebook by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from plugin_service.cli import main

from .tool import COURSE_ID, PUBLIC, Tool, learner, tool_for


@pytest.fixture
def tool(tmp_path: Path) -> Iterator[Tool]:
    with tool_for(f"sqlite:///{tmp_path / 'cadre.sqlite3'}", registered=False) as found:
        yield found


def run(tool: Tool, *args: str) -> str:
    env = {
        "CADRE_DATABASE_URL": tool.database_url,
        "CADRE_SECRET_KEY": tool.settings.secret_key,
        "CADRE_MOODLE_URL": tool.settings.moodle_url,
        "CADRE_PUBLIC_BASE_URL": PUBLIC,
    }
    result = CliRunner().invoke(main, ["lti", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_before_registration_the_steps_are_listed_then_the_platform(tool: Tool) -> None:
    before = run(tool, "platforms")
    assert f"{PUBLIC}/lti/register" in before and "Add LTI Advantage" in before and "cURL" in before
    tool.client.get(tool.platform.registration_url())
    after = run(tool, "platforms")
    assert "connected Moodle" in after and tool.platform.client_id in after and "NOT" not in after


def test_push_hours_by_hand_sends_once(tool: Tool) -> None:
    tool.client.get(tool.platform.registration_url())
    tool.platform.launch(tool.client, learner(), lineitem=tool.platform.lineitem(COURSE_ID))
    assert "1 scores sent" in run(tool, "push-hours")
    assert "0 scores sent, 1 unchanged" in run(tool, "push-hours")
