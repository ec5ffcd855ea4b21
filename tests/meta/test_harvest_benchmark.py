"""The harvest benchmark runs at a tiny scale and prints the keys its targets are read from.

No timing is asserted: only that every key is there, that both paths stored the same numbers, and that
the incremental harvest read only the report's changed rows and stored what a full harvest stores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

KEYS = ("bulk_full_s", "bulk_calls_per_1000", "per_user_full_s", "incremental_s", "peak_rss_mb", "records",
        "bulk_calls", "per_user_calls", "incremental_calls", "changed_records", "steps", "agree",
        "incremental_report_calls", "incremental_report_rows", "incremental_report_s", "incremental_read",
        "incremental_agrees", "bulk_peak_rss_mb", "incremental_peak_rss_mb", "check_peak_rss_mb",
        "bulk_without_study_s", "study_calls", "incremental_study_calls")


def test_harvest_benchmark_prints_its_keys() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "harvest.py"), "--json", "--quick"],
                            capture_output=True, text=True, timeout=280, check=True, cwd=ROOT)
    numbers = json.loads(result.stdout)
    missing = [key for key in KEYS if key not in numbers]
    assert not missing, missing
    assert numbers["agree"] is True
    assert numbers["records"] > 0 and numbers["changed_records"] > 0
    assert numbers["incremental_calls"] < numbers["bulk_calls"] < numbers["per_user_calls"]
    assert numbers["steps"]["completion"]["changes"] == numbers["records"]
    # the next night's harvest read only the report's rows dated since, and stored what a full one does
    assert numbers["incremental_read"]["whole"] is False and numbers["incremental_agrees"] is True
    assert numbers["incremental_report_rows"] < numbers["records"] / 5
