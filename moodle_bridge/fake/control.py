"""Drives a fake Moodle served by another process through its ``/_fake/`` test interface."""

from __future__ import annotations

from typing import Any

import requests


class FakeControl:
    """What people and cron do on the fake site, and its call counts, over HTTP."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()

    def _post(self, name: str, body: dict[str, Any]) -> Any:
        answer = self._http.post(f"{self.url}/_fake/{name}", json=body, timeout=self.timeout)
        data = answer.json()
        if answer.status_code != 200:
            raise RuntimeError(f"fake Moodle refused {name}: {data.get('error')}")
        return data

    def site_action(self, action: str, args: dict[str, Any] | None = None) -> Any:
        return self._post("site_action", {"action": action, "args": args or {}})["response"]

    def stats(self) -> dict[str, Any]:
        answer = self._http.get(f"{self.url}/_fake/stats", timeout=self.timeout)
        result: dict[str, Any] = answer.json()
        return result

    def reset_stats(self) -> None:
        self._post("reset_stats", {})

    def set_clock(self, timestamp: float, *, frozen: bool = False) -> int:
        now: int = self._post("clock", {"set": timestamp, "frozen": frozen})["now"]
        return now

    def advance_clock(self, seconds: float) -> int:
        now: int = self._post("clock", {"advance": seconds})["now"]
        return now

    def set_faults(self, rate: float, *, seed: int = 0, kinds: list[str] | None = None,
                   timeout_s: float | None = None) -> None:
        body: dict[str, Any] = {"rate": rate, "seed": seed}
        if kinds:
            body["kinds"] = kinds
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        self._post("faults", body)

    def set_contention(self, on: bool) -> bool:
        """Concurrent writes touching the same users answer ``dmlwriteexception`` (on) or not."""
        enabled: bool = self._post("contention", {"on": on})["contention"]
        return enabled

    def close(self) -> None:
        self._http.close()
