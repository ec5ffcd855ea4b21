"""Simulated latency and faults, so benchmarks and resilience tests see a real site's costs and failures.

A call costs a fixed part plus a part per item it carries (users created, enrolments); ``workers`` bounds
how many requests are served at once, like PHP's worker pool on the recording site; ``contention`` makes
concurrent writes touching the same users deadlock as on PostgreSQL (``contention.py``). The ``moodle``
profile reproduces ``tests/contract/recordings/5.1/measurements.json`` and has contention on.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

FAULT_KINDS = ("http500", "http503", "timeout", "truncated", "exception")


@dataclass(frozen=True)
class Latency:
    per_call_ms: float = 0.0
    per_item_ms: float = 0.0
    per_item_ms_by_function: dict[str, float] = field(default_factory=dict)
    per_call_ms_by_function: dict[str, float] = field(default_factory=dict)
    workers: int | None = None
    contention: bool = False  # what a FakeMoodleApp serving this profile does unless told otherwise

    def seconds(self, wsfunction: str, items: int) -> float:
        per_call = self.per_call_ms_by_function.get(wsfunction, self.per_call_ms)
        per_item = self.per_item_ms_by_function.get(wsfunction, self.per_item_ms)
        return (per_call + per_item * items) / 1000.0


def fixed(ms: float) -> Latency:
    """Every call costs ``ms``, whatever it carries: a network round trip with an instant server."""
    return Latency(per_call_ms=ms)


# Medians measured on a stock Moodle 5.1 (PHP built-in server, 4 workers, PostgreSQL, loopback).
MOODLE_PROFILE = Latency(
    per_call_ms=75.0,
    per_item_ms=2.0,
    per_item_ms_by_function={
        "core_user_create_users": 35.0,        # 100 users in one call: 3.6 s
        "core_user_update_users": 25.0,
        "enrol_manual_enrol_users": 70.0,      # 5.7-9.0 s per call of 100
        "enrol_manual_unenrol_users": 40.0,
        "core_cohort_add_cohort_members": 8.0,
        "core_cohort_delete_cohort_members": 6.0,
        "core_course_create_courses": 150.0,
        "core_course_update_courses": 60.0,
        "core_role_assign_roles": 20.0,
        "core_message_send_instant_messages": 30.0,
        "core_group_add_group_members": 10.0,
    },
    per_call_ms_by_function={
        "core_course_duplicate_course": 2500.0,
        "core_reportbuilder_retrieve_report": 110.0,
    },
    workers=4,
    contention=True,
)

PROFILES = {"none": Latency(), "moodle": MOODLE_PROFILE}


@dataclass
class Faults:
    """Injects a fault into a share ``rate`` of web-service calls, reproducibly from ``seed``.

    ``http500``/``http503``/``exception`` happen before the call runs (nothing changes); ``truncated``
    and ``timeout`` after it ran (the change is committed but the answer is lost), as on a real site.
    """

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = FAULT_KINDS
    timeout_s: float = 3.0
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("the fault rate is a share between 0 and 1")
        self._rng = random.Random(self.seed)

    def draw(self) -> str | None:
        """The fault for the next call, or None."""
        if self.rate <= 0 or not self.kinds:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(self.kinds)
