"""Which harvests the nightly job queues: every year under way, in full on Sundays."""

from __future__ import annotations

import datetime as dt

import pytest

from plugin_service.config import Settings
from plugin_service.services.provisioning.stored import due_harvests

from .world import Year

pytestmark = pytest.mark.integration


def test_a_year_is_harvested_nightly_in_its_period_and_a_month_after(small: Year) -> None:
    settings = Settings(database_url=small.database_url)
    assert due_harvests(settings, dt.date(2026, 11, 28)) == [(2026, False)]  # a Saturday
    assert due_harvests(settings, dt.date(2026, 11, 29)) == [(2026, True)]  # a Sunday: read in full
    assert due_harvests(settings, dt.date(2027, 1, 15)) == [(2026, False)]  # the period ended 12-15
    assert due_harvests(settings, dt.date(2027, 1, 16)) == []
    assert due_harvests(settings, dt.date(2026, 2, 28)) == []
