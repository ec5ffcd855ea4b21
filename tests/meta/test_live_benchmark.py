"""The live benchmark's smoke run, against the fake Moodle (its course library and completion report)
instead of a real site: the sample year provisioned at the product's concurrency and with one writer,
applied again, harvested by both paths and removed. No timing is asserted: only the keys its figures are
read from, and what the fake can check (nothing written twice, nothing left behind)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodle_bridge.fake import RunningFake, serve, stock_site
from moodle_bridge.fake.seed import add_completion_report, seed_course_library

from ..conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("apply_s", "apply_serial_s", "calls", "objects_written", "retries", "noop_apply_s", "noop_writes",
        "harvest_report_s", "harvest_per_user_s")


@pytest.fixture
def library() -> Iterator[RunningFake]:
    site = stock_site(tokens={"wsbot": TOKEN})
    seed_course_library(site)
    add_completion_report(site)
    with serve(site) as running:
        yield running


def test_live_benchmark_prints_its_keys_and_cleans_up(library: RunningFake) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CADRE_", "MOODLE_"))}
    env.update(MOODLE_URL=library.url, MOODLE_TOKEN=TOKEN)
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "live.py"), "--json"], env=env,
                            capture_output=True, text=True, timeout=280, check=True, cwd=ROOT)
    numbers = json.loads(result.stdout)
    assert set(KEYS) <= set(numbers)
    assert numbers["objects_written"] == 1499 and numbers["noop_writes"] == 0 and numbers["retries"] == 0
    assert numbers["harvest_report_calls"] and numbers["harvest_per_user_calls"]
    assert TOKEN not in result.stdout + result.stderr
    users = library.site.db["user"]
    left = [u["username"] for u in users if str(u.get("username", "")).startswith("ccbench-")
            and not u.get("deleted")]
    assert left == [], "the benchmark left its users on the site"
