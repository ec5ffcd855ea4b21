"""The documents benchmark runs at a tiny scale and prints the keys its targets are read from.

No timing is asserted: only that every key is there, that every cadre got one certificate with its PDF,
and that running the batch again issued and rendered nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

KEYS = ("certificates", "total_s", "per_s", "max_kb", "peak_rss_mb", "archive_5y_s", "setup_s", "reissue_s")


def test_documents_benchmark_prints_its_keys() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "documents.py"), "--json",
                             "--cadres", "24"],
                            capture_output=True, text=True, timeout=280, check=True, cwd=ROOT)
    numbers = json.loads(result.stdout)
    missing = [key for key in KEYS if key not in numbers]
    assert not missing, missing
    assert numbers["certificates"] == numbers["pdfs"] == numbers["reissue_unchanged"] == 24
    assert numbers["reissue_rendered"] == 0
    assert numbers["max_kb"] > 0 and numbers["per_s"] > 0 and numbers["archive_5y_s"] > 0
