"""How fast the bridge talks to a Moodle: calls per second against the fake, and its own overhead.

Prints one JSON object (``--json``) with:
- ``seq_calls_per_s_0ms`` / ``seq_calls_per_s_20ms``: one thread, the fake answering at once / after 20 ms;
- ``pool8_calls_per_s_20ms``: eight workers of the client's pool, 20 ms per call;
- ``pool8_speedup_20ms``: the pool's rate over the sequential rate at 20 ms (target: at least 5);
- ``client_overhead_us``: the client's own time per call for a 500-user batch: encoding the
  ``core_user_create_users`` form and decoding and typing a 500-user answer, without any I/O.
The fake runs in its own process, as a Moodle would, so the client's time is not mixed with the server's.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_user import NewUser, User
from moodle_bridge.encoding import encode_params
from moodle_bridge.results import parse_list

READ = "core_user_get_users_by_field"


@contextmanager
def fake_moodle(latency_ms: float) -> Iterator[tuple[str, str]]:
    token = secrets.token_hex(16)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "moodle_bridge.fake", "--port", str(port), "--token", token,
               "--latency-ms", str(latency_ms), "--workers", "64"]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=Path(__file__).parent.parent) as fake:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or fake.poll() is not None:
                    raise SystemExit("the fake Moodle did not start") from None
                time.sleep(0.05)
        try:
            yield url, token
        finally:
            fake.terminate()
            fake.wait(timeout=10)


def calls_per_second(url: str, token: str, *, calls: int, workers: int) -> float:
    with MoodleClient(url, token, max_workers=workers, retries=0) as client:
        client.core_user.get_users_by_field("id", [3])  # warm the connection
        started = time.perf_counter()
        if workers == 1:
            for _ in range(calls):
                client.core_user.get_users_by_field("id", [3])
        else:
            client.fan_out(lambda _: client.core_user.get_users_by_field("id", [3]), range(calls))
        return calls / (time.perf_counter() - started)


def client_overhead_us(repeat: int = 30) -> float:
    users = [NewUser(username=f"cadre{n:05d}", firstname="红", lastname="李",
                     email=f"cadre{n:05d}@example.edu", password="Cadre-2026!",
                     idnumber=f"T{n:05d}", department="组织部")
             for n in range(500)]
    answer = json.dumps([{"id": n, "username": f"cadre{n:05d}", "firstname": "红", "lastname": "李",
                          "fullname": "红 李", "email": f"cadre{n:05d}@example.edu",
                          "idnumber": f"T{n:05d}", "department": "组织部", "suspended": False,
                          "auth": "manual", "confirmed": True, "lang": "zh_cn", "timezone": "99",
                          "firstaccess": 0, "lastaccess": 0} for n in range(500)]).encode()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        encode_params({"users": [user.to_params() for user in users]})
        parse_list(User, json.loads(answer.decode("utf-8")), READ)
        best = min(best, time.perf_counter() - started)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    results: dict[str, float] = {}
    with fake_moodle(0) as (url, token):
        results["seq_calls_per_s_0ms"] = calls_per_second(url, token, calls=args.calls, workers=1)
    with fake_moodle(20) as (url, token):
        results["seq_calls_per_s_20ms"] = calls_per_second(url, token, calls=args.calls // 4,
                                                           workers=1)
        results["pool8_calls_per_s_20ms"] = calls_per_second(url, token, calls=args.calls,
                                                             workers=8)
    results["pool8_speedup_20ms"] = results["pool8_calls_per_s_20ms"] / results["seq_calls_per_s_20ms"]
    results["client_overhead_us"] = client_overhead_us()
    rounded = {key: round(value, 1) for key, value in results.items()}
    if args.json:
        print(json.dumps(rounded))
    else:
        for key, value in rounded.items():
            print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
