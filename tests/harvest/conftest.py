"""The harvest tests' site: the course library with the completion report, and the sample year on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from moodle_bridge.fake import RunningFake, serve

from .world import Year, library_site, provision, small_roster, spread


@pytest.fixture
def fake() -> Iterator[RunningFake]:
    with serve(library_site()) as running:
        yield running


@pytest.fixture
def small(fake: RunningFake, database_url: str) -> Year:
    """The 2026 plan applied for 28 cadres of every tier, nothing learnt yet."""
    return provision(fake, database_url, roster=small_roster())


@pytest.fixture
def year(small: Year) -> Year:
    """28 cadres of every tier, half a year of learning done."""
    spread(small)
    return small
