"""The reminder benchmark runs at a tiny scale and prints the keys its targets are read from.

No timing is asserted: only that every key is there, that the rule reached exactly the cadres it concerns,
that every message went out exactly once (read back from the fake) and that a second run sends nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

KEYS = ("total_s", "calls", "messages", "reminders", "digests", "per_s", "calls_by_function", "peak_rss_mb",
        "setup_s", "batch_size", "second_run_s", "second_run_calls", "firing_s", "delivery_s", "phases",
        "by_batch_size", "delivered_once", "max_digest_chars", "max_digest_bytes",
        "digests_over_moodle_bytes")


def test_remind_benchmark_prints_its_keys_and_sends_each_message_once() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "remind.py"), "--json", "--quick"],
                            capture_output=True, text=True, timeout=240, check=True, cwd=ROOT)
    numbers = json.loads(result.stdout)
    missing = [key for key in KEYS if key not in numbers]
    assert not missing, missing
    assert numbers["batch_size"] == 500 and set(numbers["by_batch_size"]) == {"500", "100"}
    # nearly every cadre is below the threshold; each gets one reminder, each supervising leader a digest
    assert numbers["concerned"] > 0.9 * numbers["cadres"] - numbers["leaders"]
    assert numbers["reminders"] == numbers["concerned"]
    assert numbers["digests"] >= numbers["leaders_messaged"] > 0
    assert numbers["messages"] == numbers["reminders"] + numbers["digests"] == numbers["moodle_messages"]
    assert numbers["delivered_once"] is True and numbers["duplicates"] == 0
    assert numbers["refused"] == numbers["skipped"] == 0
    assert numbers["firings"]["autumn-laggards"] == "fired"
    assert numbers["second_run_sent"] == 0
    assert set(numbers["second_run_calls_by_function"]) == {"core_webservice_get_site_info"}
    assert numbers["calls"] == sum(numbers["calls_by_function"].values())
    for size, run in numbers["by_batch_size"].items():
        assert run["delivered_once"] is True, size
        assert run["messages"] == numbers["messages"], size
        sends = run["calls_by_function"]["core_message_send_instant_messages"]
        assert sends == -(-numbers["messages"] // int(size)), size
