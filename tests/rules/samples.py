"""The example plans and rosters the project ships (copies of the organisation department's samples)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from rules.plan import Plan, load_plan
from rules.roster import Roster, load_roster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def roster_bytes(year: int) -> bytes:
    return (EXAMPLES / f"roster-{year}.csv").read_bytes()


def plan_text(year: int) -> str:
    return (EXAMPLES / f"plan-{year}.yaml").read_text("utf-8")


@cache
def sample_plan(year: int) -> Plan:
    return load_plan(plan_text(year), f"plan-{year}.yaml")


@cache
def sample_roster(year: int) -> Roster:
    return load_roster(roster_bytes(year), f"roster-{year}.csv")
