"""Shared fixtures: a fake Moodle served over real HTTP on loopback, and a client for it."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

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


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    try:
        allowed = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        allowed = False
    if not allowed:
        raise ConnectionRefusedError(f"tests may only reach loopback, not {host!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network_but_loopback(request: pytest.FixtureRequest,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside tests/live and packaging, nothing leaves this machine."""
    path = str(request.node.fspath).replace("\\", "/")
    if "/tests/live/" in path or "/tests/packaging/" in path:
        return
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
