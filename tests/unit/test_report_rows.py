"""The completion report's rows wait on disk by course until the completion step takes them: a whole read
of two hundred thousand rows holds a course's rows at a time, and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

from plugin_service.services.harvest.report_reads import ReportRows


def test_rows_come_back_by_course_in_the_order_they_came_and_the_spool_is_removed() -> None:
    rows = ReportRows()
    rows.add("c01", [("T1", "Yes", "Friday, 27 November 2026, 8:22 PM||"), ("T2", "", "||Never")])
    rows.add("c02", [("T3", "No", "||")])
    rows.add("c01", [("T4", "No", "|Monday, 2 March 2026, 9:00 AM|")])
    spool = rows._spool
    assert spool is not None and len(list(Path(spool.name).iterdir())) == 2
    assert rows.take("c01") == [("T1", "Yes", "Friday, 27 November 2026, 8:22 PM||"), ("T2", "", "||Never"),
                                ("T4", "No", "|Monday, 2 March 2026, 9:00 AM|")]
    assert rows.take("c01") == [] and rows.take("c99") == []
    assert len(list(Path(spool.name).iterdir())) == 1
    rows.close()
    assert not Path(spool.name).exists()
    rows.close()  # twice is harmless


def test_a_read_without_rows_makes_no_spool() -> None:
    rows = ReportRows()
    assert rows.take("c01") == []
    rows.close()
    assert rows._spool is None
