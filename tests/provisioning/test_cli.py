"""The ``cadre roster|plan|explain`` commands as an admin runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodle_bridge.fake import RunningFake, serve, stock_site
from moodle_bridge.fake.seed import seed_course_library

from ..conftest import TOKEN
from ..rules.test_plan_all_at_once import MANY
from ..rules.test_plan_roster import HEADER, ROWS
from .expected import EXAMPLES
from .moodle_snapshot import write_calls

pytestmark = pytest.mark.integration
CADRE = str(Path(sys.executable).parent / "cadre")


@pytest.fixture
def library_fake() -> Iterator[RunningFake]:
    site = stock_site(tokens={"wsbot": TOKEN})
    seed_course_library(site)
    with serve(site) as running:
        yield running


def cadre(*args: str, fake: RunningFake | None = None,
          db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADRE_")}
    if fake is not None:
        env.update(CADRE_MOODLE_URL=fake.url, CADRE_MOODLE_TOKEN=TOKEN)
    if db is not None:
        env["CADRE_DATABASE_URL"] = f"sqlite:///{db}"
    return subprocess.run([CADRE, *args], capture_output=True, text=True, env=env, timeout=300,
                          check=False)


def test_roster_check_accepts_the_sample() -> None:
    result = cadre("roster", "check", str(EXAMPLES / "roster-2026.csv"))
    assert result.returncode == 0, result.stderr
    assert "137 cadres, no errors" in result.stdout


def test_roster_check_lists_every_problem_with_its_place(tmp_path: Path) -> None:
    rows = (EXAMPLES / "roster-2026.csv").read_text("utf-8-sig").splitlines()
    deputy = next(i for i, row in enumerate(rows) if ",副处级," in row)
    rows[deputy] = rows[deputy].replace(",副处级,", ",副处,")
    rows[5] = rows[5].replace("@college.example", "")
    bad = tmp_path / "roster.csv"
    bad.write_text("\n".join(rows), encoding="gb18030")
    result = cadre("roster", "check", str(bad))
    assert result.returncode == 2
    assert f'roster.csv line {deputy + 1}, column 职级: unknown rank "副处"' in result.stderr
    assert "roster.csv line 6, column 邮箱: malformed email" in result.stderr
    assert "2 problem(s)" in result.stderr
    assert "nothing was changed" in result.stderr


def test_plan_check_names_the_line_and_field(tmp_path: Path) -> None:
    text = (EXAMPLES / "plan-2026.yaml").read_text("utf-8").replace("required: [teaching]",
                                                                    "required: [teachers]")
    bad = tmp_path / "plan.yaml"
    bad.write_text(text, encoding="utf-8")
    result = cadre("plan", "check", str(bad))
    assert result.returncode == 2
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "required: [teachers]" in row)
    assert f'plan.yaml line {line} courses[3].required[0]: unknown tier "teachers"' in result.stderr


def test_plan_check_lists_the_problems_of_every_part_and_of_the_roster_at_once(tmp_path: Path) -> None:
    """Errors in a tier, a course and the reviewers do not hide the checks across the plan and the roster."""
    plan, roster = tmp_path / "plan.yaml", tmp_path / "roster.csv"
    plan.write_text(MANY, encoding="utf-8")
    roster.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    alone = cadre("plan", "check", str(plan))
    assert alone.returncode == 2
    assert "4 problem(s) in the input; nothing was changed" in alone.stderr
    result = cadre("plan", "check", str(plan), "--roster", str(roster))
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("plan.yaml")] == [
        'plan.yaml line 10 tiers[0].hours.required_min: expected a number; found "eight"',
        'plan.yaml line 14 tiers[2]: 1 cadre(s) of tier "section" match none of its classes: '
        "T4 赵科长 (line 5)",
        'plan.yaml line 14 tiers[2]: tier "section": its required courses give 10 hours, less than the '
        "year's required_min 12",
        "plan.yaml line 36 courses[2].hours: required field is missing",
        'plan.yaml line 38 reviewers.by: unknown reviewer rule "leader" (allowed: supervising_leader, '
        "fallback)",
        'plan.yaml line 38 reviewers.fallback: fallback reviewer "T9" is not in roster.csv',
    ]
    nobody = 'plan.yaml line 23 classes[3]: warning: class "section-b" has nobody from roster.csv'
    assert nobody in result.stdout
    assert "6 problem(s) in the input; nothing was changed" in result.stderr


def test_diff_apply_and_a_second_diff(library_fake: RunningFake, tmp_path: Path) -> None:
    db = tmp_path / "cadre.sqlite3"
    plan, roster = str(EXAMPLES / "plan-2026.yaml"), str(EXAMPLES / "roster-2026.csv")
    diff = cadre("plan", "diff", plan, "--roster", roster, fake=library_fake, db=db)
    assert diff.returncode == 0, diff.stderr
    assert "+ copy course cadre:2026:course:policy (高等职业教育政策法规解读) from template TPL-POLICY" \
        in diff.stdout
    assert "+ create course cadre:2026:course:finance" in diff.stdout
    assert "create_user        137" in diff.stdout
    assert write_calls(library_fake.site) == {}
    applied = cadre("plan", "apply", plan, "--roster", roster, fake=library_fake, db=db)
    assert applied.returncode == 0, applied.stderr
    assert "enrol              1210" in applied.stdout
    again = cadre("plan", "diff", plan, "--roster", roster, fake=library_fake, db=db)
    assert "No changes: Moodle already matches the plan." in again.stdout
    noop = cadre("plan", "apply", plan, "--roster", roster, fake=library_fake, db=db)
    assert "No changes" in noop.stdout and noop.returncode == 0


def test_explain_says_why() -> None:
    result = cadre("explain", "T19880", "--plan", str(EXAMPLES / "plan-2026.yaml"),
                   "--roster", str(EXAMPLES / "roster-2026.csv"))
    assert result.returncode == 0, result.stderr
    assert "leaders" in result.stdout and "校级" in result.stdout
    unknown = cadre("explain", "T00000", "--plan", str(EXAMPLES / "plan-2026.yaml"),
                    "--roster", str(EXAMPLES / "roster-2026.csv"))
    assert unknown.returncode in (0, 2)
    assert "T00000" in unknown.stdout + unknown.stderr
