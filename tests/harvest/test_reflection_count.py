"""One reflection count everywhere: a cadre owing two reflections who submitted both, one long enough and
one too short, reads "submitted 2 of 2 (1 long enough)" in the stored record, ``cadre record``, the
records export, the console's cadre page and the API: "submitted" counts every owed reflection handed
in, "long enough" those reaching the plan's minimum."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import LearningRecordRow
from plugin_service.services.documents.document_values import plan_of
from plugin_service.services.harvest.learning_records import reflection_count_of
from plugin_service.services.read_models.cadre_pages import cadre_page
from plugin_service.services.read_models.record_lists import record, records
from rules.hours import ReflectionCount

from .world import Year, cli, moment

pytestmark = pytest.mark.integration


def test_export_record_and_stored_record_count_reflections_alike(small: Year, tmp_path: Path) -> None:
    plan = small.plan()
    owing = {c.key: c.reflection for c in plan.courses if c.reflection is not None}
    truth = small.truth()
    no = next(no for no, tier in sorted(truth.tiers.items()) if tier is not None
              and {c.key for c in plan.required_courses(tier) if c.reflection is not None} == set(owing))
    thought, policy = owing["thought"], owing["policy"]
    assert thought is not None and policy is not None
    small.submit(no, "thought", thought.min_chars + 10, moment("2026-05-10"))
    small.submit(no, "policy", policy.min_chars - 300, moment("2026-05-11"))

    small.harvest()

    both = ReflectionCount(owed=2, submitted=2, long_enough=1)
    with session_scope(small.database_url) as session:
        row = session.scalar(select(LearningRecordRow).where(LearningRecordRow.employee_no == no))
        assert row is not None
        assert (row.detail["reflections_missing"], row.detail["reflections_short"]) == ([], ["policy"])
        assert reflection_count_of(plan_of(session, 2026), row.detail) == both
        page = cadre_page(session, no, 2026)
        api_one = record(session, 2026, no)
        api_line = next(item for item in records(session, 2026, per_page=1000)["items"]
                        if item["employee_no"] == no)
    assert page is not None and page.reflection_count == both
    assert api_one is not None
    for line in (api_one, api_line):
        assert (line["reflections_owed"], line["reflections_submitted"], line["reflections_long_enough"]) \
            == (2, 2, 1)
    assert "reflections submitted: 2 of 2 (1 long enough)" in api_one["reasons"]

    shown = cli(["record", no], database_url=small.database_url)
    assert shown.exit_code == 0, shown.output
    assert "  - reflections submitted: 2 of 2 (1 long enough)" in shown.output
    assert "reflections: submitted 2 of 2 (1 long enough)" in shown.output

    out = tmp_path / "records.csv"
    exported = cli(["export", "records", "--format", "csv", "-o", str(out)], database_url=small.database_url)
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    mine = next(r for r in rows if r["工号"] == no)
    assert (mine["学习心得（已交/应交）"], mine["学习心得字数达标"]) == ("2/2", "1")
