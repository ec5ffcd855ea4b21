"""The launch benchmark runs a few launches end to end and prints the keys its figures are read from (no
timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_lti_benchmark_prints_its_keys() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lti.py"), "--json", "--launches", "5"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=ROOT,
    )
    numbers = json.loads(result.stdout)
    assert numbers["launches"] == 5 and numbers["keyset_fetches"] == 1
    for key in ("p50_ms", "p95_ms", "max_ms", "login_p95_ms", "launch_p95_ms", "page_p95_ms"):
        assert numbers[key] > 0
