"""The example plans and rosters the project ships (copies of the organisation department's samples)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from rules.plan import Plan, load_plan
from rules.roster import Roster, load_roster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def roster_bytes(year: int) -> bytes:
    return (EXAMPLES / f"roster-{year}.csv").read_bytes()


#: The sample plans' line that counts offline study hours (``offline: {max: 10}``), with its comment.
YEAR_OFFLINE = re.compile(r"^offline: \{max: 10\}.*\n", re.MULTILINE)


def plan_text(year: int) -> str:
    return (EXAMPLES / f"plan-{year}.yaml").read_text("utf-8")


def year_offline(text: str, year_max: float | None) -> str:
    """A sample plan's text with the year's offline cap set to ``year_max`` instead of the sample's 10, or
    with no offline section (None: the plan counts no offline hours)."""
    replacement = "" if year_max is None else f"offline: {{max: {year_max}}}\n"
    changed, count = YEAR_OFFLINE.subn(replacement, text)
    assert count == 1, "the sample plan sets the year's offline cap once"
    return changed


@cache
def sample_plan(year: int) -> Plan:
    return load_plan(plan_text(year), f"plan-{year}.yaml")


@cache
def sample_roster(year: int) -> Roster:
    return load_roster(roster_bytes(year), f"roster-{year}.csv")
