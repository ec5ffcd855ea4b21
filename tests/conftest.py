"""Shared fixtures: a fake Moodle served over real HTTP on loopback, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.fake import RunningFake, serve, stock_site

TOKEN = "0123456789abcdef0123456789abcdef"
WEAK_TOKEN = "fedcba9876543210fedcba9876543210"
SMALL_TOKEN = "00112233445566778899aabbccddeeff"


@pytest.fixture
def fake() -> Iterator[RunningFake]:
    """A fresh fake site; ``wsbot`` can do everything, ``weak`` nothing, ``small`` two functions."""
    site = stock_site(tokens={"wsbot": TOKEN, "weak": WEAK_TOKEN, "small": SMALL_TOKEN})
    with serve(site) as running:
        yield running


@pytest.fixture
def client(fake: RunningFake) -> Iterator[MoodleClient]:
    with MoodleClient(fake.url, TOKEN, timeout=10, retries=0, batch_size=50, max_workers=4) as c:
        yield c
