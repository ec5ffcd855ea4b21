"""The benchmark scripts run and print the keys their targets are read from (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_bridge_benchmark_prints_its_keys() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bridge.py"), "--json",
                             "--calls", "16"], capture_output=True, text=True, timeout=180,
                            check=True, cwd=ROOT)
    numbers = json.loads(result.stdout)
    for key in ("seq_calls_per_s_0ms", "seq_calls_per_s_20ms", "pool8_calls_per_s_20ms",
                "client_overhead_us"):
        assert numbers[key] > 0
