"""The demo: a fake Moodle on loopback seeded like a college's site, checked, then provisioned with the
2026 sample plan and roster (diff, apply, and a second apply that writes nothing)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the fake Moodle stopped (exit {process.returncode})")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit(f"the fake Moodle did not answer at {url} within {seconds:g} s")


def main() -> int:
    token = secrets.token_hex(16)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"== Starting a fake Moodle on {url} (seeded with a course library of template courses)")
    fake = subprocess.Popen(
        [sys.executable, "-m", "moodle_bridge.fake", "--port", str(port), "--token", token,
         "--sitename", "示范职业技术学院 干部网络学院 (demo)", "--seed", "demo"],
        cwd=ROOT, text=True)
    try:
        wait_until_up(url, fake)
        database = ROOT / "instance" / "demo.sqlite3"
        database.parent.mkdir(exist_ok=True)
        for stale in database.parent.glob("demo.sqlite3*"):
            stale.unlink()
        env = dict(os.environ, CADRE_MOODLE_URL=url, CADRE_MOODLE_TOKEN=token,
                   CADRE_DATABASE_URL=f"sqlite:///{database}")
        report = ROOT / "artifacts" / "doctor.html"
        report.parent.mkdir(exist_ok=True)
        plan, roster = str(EXAMPLES / "plan-2026.yaml"), str(EXAMPLES / "roster-2026.csv")
        steps = [
            ("cadre doctor: is the site ready for Cadre Companion?", ["doctor", "--html", str(report)]),
            ("cadre roster check: the HR roster", ["roster", "check", roster]),
            ("cadre plan check: the 2026 plan against the roster",
             ["plan", "check", plan, "--roster", roster]),
            ("cadre explain: why a cadre is where they are", ["explain", "T20408", "--plan", plan,
                                                             "--roster", roster]),
            ("cadre plan diff: what Moodle must change (first 25 of them)",
             ["plan", "diff", plan, "--roster", roster, "--limit", "25"]),
            ("cadre plan apply: make it so", ["plan", "apply", plan, "--roster", roster]),
            ("cadre plan diff again: nothing left to do", ["plan", "diff", plan, "--roster", roster]),
            ("cadre plan apply again: writes nothing", ["plan", "apply", plan, "--roster", roster]),
        ]
        for title, args in steps:
            print(f"\n== {title}\n", flush=True)
            result = subprocess.run([str(BIN / "cadre"), *args], env=env, check=False)
            if result.returncode != 0:
                print(f"\n== {args[0]} exited with {result.returncode}")
                return result.returncode
        print(f"\n== Done. The doctor's report for the Moodle admin: {report}")
        print(f"== The companion's database (plans, journal, audit log): {database}")
        return 0
    finally:
        fake.terminate()
        fake.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
