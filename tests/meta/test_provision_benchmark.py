"""The provisioning benchmark runs at a tiny scale and prints the keys its targets are read from.

No timing is asserted: only that every key is there and that re-applying unchanged inputs writes nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

KEYS = ("first_apply_s", "objects_written", "calls", "calls_per_100_objects", "noop_apply_s", "noop_writes",
        "peak_rss_mb", "moodle_profile_ratio", "read_calls", "write_calls", "phases", "profile_phases",
        "profile_lower_bound_s")


def test_provision_benchmark_prints_its_keys() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "provision.py"), "--json",
                             "--cadres", "300", "--quick"], capture_output=True, text=True, timeout=280,
                            check=True, cwd=ROOT)
    numbers = json.loads(result.stdout)
    missing = [key for key in KEYS if key not in numbers]
    assert not missing, missing
    assert numbers["noop_writes"] == 0
    assert numbers["objects_written"] > 300  # users, memberships, enrolments, classes, courses
    assert numbers["calls"] == numbers["read_calls"] + numbers["write_calls"]
    assert numbers["moodle_profile_ratio"] > 0
    assert numbers["peak_rss_mb"] > 0
