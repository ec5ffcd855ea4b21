"""Report-builder date cells are read only where they print back to exactly the same text."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moodle_bridge.areas.core_reportbuilder import format_report_datetime, read_report_datetime

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_recorded_cell_is_read_in_the_viewers_timezone() -> None:
    moment = read_report_datetime("Friday, 27 November 2026, 8:22 PM", SHANGHAI)
    assert moment == datetime(2026, 11, 27, 20, 22, tzinfo=SHANGHAI)
    assert moment.astimezone(UTC).hour == 12


@pytest.mark.parametrize("cell", [
    "Thursday, 27 November 2026, 8:22 PM",  # the weekday does not match the date
    "Friday, 27 November 2026, 08:22 PM",  # a customised format (leading zero)
    "2026年11月27日 星期五 20:22",  # another language
    "27/11/26, 20:22",
    "Friday, 27 November 2026",  # no time
])
def test_cells_that_are_not_certain_are_not_read(cell: str) -> None:
    assert read_report_datetime(cell, SHANGHAI) is None


@pytest.mark.parametrize("cell", [None, "", "  "])
def test_empty_cells_are_none(cell: str | None) -> None:
    assert read_report_datetime(cell, SHANGHAI) is None


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_what_moodle_prints_is_read_back_to_the_minute(moment: datetime) -> None:
    local = moment.replace(second=0, microsecond=0, tzinfo=SHANGHAI)
    assert read_report_datetime(format_report_datetime(local), SHANGHAI) == local
