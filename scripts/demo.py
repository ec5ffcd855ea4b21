"""The demo: a fake Moodle on loopback, seeded like a college's site, checked by ``cadre doctor``."""

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
        env = dict(os.environ, CADRE_MOODLE_URL=url, CADRE_MOODLE_TOKEN=token)
        print("\n== cadre doctor: is the site ready for Cadre Companion?\n", flush=True)
        report = ROOT / "artifacts" / "doctor.html"
        report.parent.mkdir(exist_ok=True)
        result = subprocess.run([str(BIN / "cadre"), "doctor", "--html", str(report)], env=env,
                                check=False)
        print(f"\n== cadre doctor exited with {result.returncode} (0: ready, 2: action needed)")
        return result.returncode
    finally:
        fake.terminate()
        fake.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
