"""How one harvested course row changes the stored one: the first completion is kept, nothing is lost."""

from __future__ import annotations

from datetime import datetime

from plugin_service.services.harvest.progress_store import Seen, Stored, changes_for

NOW = datetime(2026, 7, 1, 3, 0)
MAY = datetime(2026, 5, 2, 8, 30)
JUNE = datetime(2026, 6, 9, 10, 0)


def seen(completed: bool, at: datetime | None, fingerprint: str, access: datetime | None = None) -> Seen:
    return Seen("T1", completed, at, None, access, started=completed or access is not None,
                fingerprint=fingerprint)


def stored(first: datetime | None, completed: datetime | None, fingerprint: str,
           access: datetime | None = None, stale: bool = False) -> Stored:
    return Stored(1, fingerprint, first, completed, first, access, stale)


def test_a_new_completion_is_the_first_one() -> None:
    values = changes_for(None, seen(True, MAY, "a"), now=NOW, force=False)
    assert values is not None
    assert values["first_completed_at"] == values["completed_at"] == MAY
    assert values["started_at"] == MAY and not values["activities_stale"]


def test_unchanged_rows_write_nothing_even_when_forced() -> None:
    before = stored(MAY, MAY, "a")
    assert changes_for(before, seen(True, MAY, "a"), now=NOW, force=False) is None
    assert changes_for(before, seen(True, MAY, "a"), now=NOW, force=True) is None


def test_completed_again_later_keeps_the_first_completion() -> None:
    values = changes_for(stored(MAY, MAY, "a"), seen(True, JUNE, "b"), now=NOW, force=False)
    assert values is not None
    assert values["first_completed_at"] == MAY and values["completed_at"] == JUNE


def test_a_reset_keeps_the_hours_and_is_noted() -> None:
    values = changes_for(stored(MAY, MAY, "a"), seen(False, None, "b"), now=NOW, force=False)
    assert values is not None
    assert values["first_completed_at"] == MAY and values["completed_at"] is None
    assert values["reset_seen_at"] == NOW


def test_a_completion_whose_time_is_unknown_counts_from_the_day_it_was_seen() -> None:
    values = changes_for(None, seen(True, None, "a"), now=NOW, force=False)
    assert values is not None and values["first_completed_at"] == NOW


def test_activity_in_an_unfinished_course_makes_its_activity_detail_stale() -> None:
    values = changes_for(stored(None, None, "a", access=MAY), seen(False, None, "b", access=JUNE),
                         now=NOW, force=False)
    assert values is not None and values["activities_stale"] and values["last_access_at"] == JUNE
    assert changes_for(None, seen(False, None, "c"), now=NOW, force=False) == {
        "fingerprint": "c", "first_completed_at": None, "completed_at": None, "started_at": None,
        "last_access_at": None, "activities_stale": False}
