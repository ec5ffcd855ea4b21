"""The sample plans' rules, written out by hand from the plan files, to check the provisioning
against something the code under test did not compute."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROCESS_RANKS = {"正处级", "副处级"}
SECTION_RANKS = {"正科级", "副科级"}
ALL_TIERS = {"leaders", "party-admin", "teaching", "support", "section"}

COURSES = {
    2026: {
        "thought": (ALL_TIERS, set()), "integrity": (ALL_TIERS, set()),
        "policy": ({"party-admin", "teaching", "support"}, set()), "teaching-reform": ({"teaching"}, set()),
        "governance": ({"leaders", "party-admin", "support"}, set()),
        "digital": ({"support", "section"}, set()),
        "emergency": (set(), ALL_TIERS), "writing": (set(), ALL_TIERS), "health": (set(), ALL_TIERS),
        "ethics": (set(), ALL_TIERS), "finance": (set(), {"party-admin", "support", "section"}),
    },
}
COURSES[2027] = {k: v for k, v in COURSES[2026].items() if k != "finance"}
COURSES[2027]["ai"] = ({"teaching", "support"}, set())
FALLBACK_REVIEWER = "T19880"


def roster_rows(year: int) -> list[dict[str, str]]:
    with (EXAMPLES / f"roster-{year}.csv").open(encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def tier_of(row: dict[str, str]) -> str | None:
    if row["在职状态"] in ("离岗", "离职"):
        return None
    rank, kind = row["职级"], row["部门类别"]
    if rank == "校级":
        return "leaders"
    if rank in PROCESS_RANKS:
        return {"党政部门": "party-admin", "教学部门": "teaching", "教辅部门": "support"}[kind]
    if rank in SECTION_RANKS:
        return "section"
    return None


def class_of(row: dict[str, str]) -> str | None:
    tier = tier_of(row)
    if tier == "section":
        return "section-a" if row["部门类别"] == "党政部门" else "section-b"
    return tier


def expected(year: int) -> dict[str, Any]:
    rows = roster_rows(year)
    classes: dict[str, list[str]] = {}
    enrolments: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        klass = class_of(row)
        if klass is None:
            continue
        classes.setdefault(f"cadre:{year}:class:{klass}", []).append(row["工号"])
        tier = tier_of(row)
        for key, (required, elective) in COURSES[year].items():
            if tier in required or tier in elective:
                enrolments.setdefault((f"cadre:{year}:course:{key}", row["工号"]), set()).add("student")
    learners = dict(enrolments)
    for (course, employee_no) in list(learners):
        row = next(r for r in rows if r["工号"] == employee_no)
        reviewer = row["分管校领导工号"] or FALLBACK_REVIEWER
        if reviewer == employee_no:
            continue
        enrolments.setdefault((course, reviewer), set()).add("teacher")
    return {"classes": {k: sorted(v) for k, v in classes.items()},
            "courses": {f"cadre:{year}:course:{k}" for k in COURSES[year]},
            "enrolments": enrolments,
            "departed": {r["工号"] for r in rows if r["在职状态"] == "离职"},
            "users": {r["工号"] for r in rows}}
