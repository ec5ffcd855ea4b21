"""Shared fixtures: a fake Moodle served over real HTTP on loopback, and a client for it."""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
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


POSTGRES_URL = os.environ.get("CADRE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    name = f"cadre_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL.split('@')[-1]}: {exc.orig}")
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        from plugin_service.db import engine_for

        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        engine_for(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using it runs on the embedded SQLite and on PostgreSQL (as in production)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cadre.sqlite3'}"
    else:
        yield from _postgres_database()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium for every browser test of the process: Playwright's sync API runs one event loop
    a process, so a second one started beside it would fail. Skipped with the reason when Chromium is
    missing, a failure in CI."""
    from tests.browser.live import chromium, in_ci, missing_browser

    reason = missing_browser()
    if reason is not None:
        if in_ci():
            pytest.fail(f"the browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    with chromium() as running:
        yield running
