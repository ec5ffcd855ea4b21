"""The browser tests' fixtures: Chromium (skipped with the reason when it is missing outside CI, a
failure in CI), and the folder the page screenshots are saved in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .live import chromium, in_ci, missing_browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    reason = missing_browser()
    if reason is not None:
        if in_ci():
            pytest.fail(f"the browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    with chromium() as running:
        yield running


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
