"""The console benchmark's smoke run (300 cadres, 8 requests a page, served by gunicorn as deployed)
prints the keys its targets are read from. No timing is asserted: only that every page answered, every
key is there and the SQL statements of each page were counted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("dashboard", "department_report", "cadre_page")


def test_console_benchmark_prints_its_keys() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "console.py"), "--json", "--quick"],
                            capture_output=True, text=True, timeout=280, check=True, cwd=ROOT)
    numbers = json.loads(result.stdout)
    assert numbers["errors"] == 0 and numbers["cadres"] == 300 and numbers["clients"] == 8
    assert numbers["server"] == "gunicorn" and numbers["web_workers"] >= 1 and numbers["web_threads"] >= 1
    for page in PAGES:
        for key in ("p50_ms", "p95_ms", "max_ms", "sql_queries", "bytes"):
            assert f"{page}_{key}" in numbers, f"{page}_{key}"
        assert 0 < numbers[f"{page}_p50_ms"] <= numbers[f"{page}_p95_ms"] <= numbers[f"{page}_max_ms"]
        assert numbers[f"{page}_sql_queries"] > 0 and numbers[f"{page}_bytes"] > 0
