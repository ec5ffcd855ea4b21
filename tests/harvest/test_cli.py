"""``cadre harvest`` and ``cadre record`` as an admin runs them, configured by ``CADRE_*`` variables."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from moodle_bridge.fake import RunningFake
from plugin_service.db import upgrade
from plugin_service.services.platform.locks import job_lock

from .world import TODAY, Year, cli, utc

pytestmark = pytest.mark.integration


def harvest(year: Year, *args: str) -> str:
    result = cli(["harvest", "--today", TODAY.isoformat(), *args], database_url=year.database_url,
                 fake=year.fake)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_harvest_prints_the_run_and_the_summary_per_tier(year: Year) -> None:
    out = harvest(year)

    truth = year.truth()
    assert "Harvest 1 of 2026 (incremental, completion report): " in out
    for step in ("report", "completion", "reflections", "discussions", "grades", "activities", "records"):
        assert f"\n  {step:<12} " in out, step
    lines = out[out.index("By tier:"):].splitlines()
    assert lines[1].split() == ["tier", "cadres", "complete", "on", "track", "behind", "mean", "hours"]
    rows = {" ".join(line.split()[:-5]): line.split()[-5:] for line in lines[2:] if line.strip()}
    names = {tier.key: tier.name for tier in truth.plan.tiers}
    for key, name in [*names.items(), (None, "excluded")]:
        records = [r for r in truth.records.values() if r.tier == key]
        statuses = Counter(r.status for r in records)
        mean = sum(r.total_hours for r in records) / len(records)
        assert rows[name] == [str(len(records)), str(statuses["complete"]), str(statuses["on_track"]),
                              str(statuses["behind"]), f"{mean:.1f}"], name

    again = harvest(year, "--path", "per_user", "--full")
    assert re.search(r"^Harvest 2 of 2026 \(full, per cadre and course\): \d+ Moodle calls, \d+ rows read, "
                     r"\d+ changes, [\d.]+ s$", again, re.MULTILINE), again


def test_record_shows_hours_courses_reflections_discussions_and_history_or_why_not(year: Year) -> None:
    harvest(year)
    truth = year.truth()
    no = next(no for no, r in truth.records.items() if r.status == "on_track" and (no, "thought") in
              truth.reflections and truth.reflections[(no, "thought")].grade is not None
              and (no, "spring") in truth.discussions)
    record, reflection = truth.records[no], truth.reflections[(no, "thought")]
    name = next(row["姓名"] for row in year.rows() if row["工号"] == no)

    shown = cli(["record", no], database_url=year.database_url)

    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert out.startswith(f"{name} ({no}), ")
    assert f"tier: {record.tier}    status: on track 进度正常 since {TODAY.isoformat()}" in out
    tier = truth.plan.tier(str(record.tier))
    assert tier is not None
    assert (f"{record.total_hours:g} of {tier.hours.target:g} hours (required {record.required_hours:g} "
            f"of at least {tier.hours.required_min:g}") in out
    for course in record.credits:
        line = next(line for line in out.splitlines() if line.strip().startswith(course + " "))
        when = utc(truth.progress[(no, course)].first_completed, 60)
        assert when is not None
        local = when.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(truth.plan.moodle.timezone))
        assert f"completed {local:%Y-%m-%d %H:%M}" in line, line
    assert (f"  thought            submitted  {reflection.chars} characters, "
            f"grade {reflection.grade:g} by ") in out
    inside, everything = truth.discussions[(no, "spring")]
    assert f"  spring             {inside} posts in the window ({everything} in all), " in out
    assert f"history:\n  {TODAY.isoformat()}  on track 进度正常" in out
    assert "harvested: 20" in out and f"(times in {truth.plan.moodle.timezone})" in out

    shown = cli(["record", "T00000"], database_url=year.database_url)
    assert shown.exit_code == 2
    assert "error: no 2026 record for T00000: is the employee number right, and has `cadre harvest` run?" \
        in shown.stderr


def test_harvest_and_record_before_any_apply_say_what_to_do(fake: RunningFake, database_url: str) -> None:
    upgrade(database_url)
    harvested = cli(["harvest"], database_url=database_url, fake=fake)
    assert harvested.exit_code == 2
    assert "no plan was applied to Moodle yet: run `cadre plan apply` first" in harvested.stderr
    assert not fake.site.calls, "nothing is asked of Moodle before there is anything to harvest"
    shown = cli(["record", "T19880"], database_url=database_url)
    assert shown.exit_code == 2 and "no plan was applied yet" in shown.stderr


def test_a_harvest_while_another_runs_is_refused(year: Year) -> None:
    with job_lock(year.database_url, "harvest:2026"):
        refused = cli(["harvest"], database_url=year.database_url, fake=year.fake)
    assert refused.exit_code == 2
    assert "harvest:2026 is already running" in refused.stderr
    assert "run the same command again to continue" in refused.stderr
