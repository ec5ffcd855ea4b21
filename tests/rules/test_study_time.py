"""Study time from SCORM tracks: both time formats read (and garbage refused with a clear problem), and
the sum over SCOs and attempts that never loses time already counted."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.study_time import (
    ScoReading,
    TimeFormatError,
    course_total,
    describe,
    describe_zh,
    hours_minutes,
    parse_duration,
    parse_scorm12,
    parse_scorm2004,
    study_time,
)


@pytest.mark.parametrize(("text", "hundredths"), [
    ("00:00:00", 0), ("00:25:00", 150000), ("01:05:03.5", 390350), ("01:05:03.50", 390350),
    ("0001:00:00.07", 360007), ("123:04:05", 44304500), ("9999:59:59.99", 3599999999),
    ("1:2:3", 372300), (" 00:10:00 ", 60000), ("00:00:01,25", 125), ("00:00:00.005", 1),
])
def test_scorm_1_2_times_are_read_to_the_hundredth(text: str, hundredths: int) -> None:
    assert parse_scorm12(text) == hundredths
    assert parse_duration(text) == hundredths


@pytest.mark.parametrize(("text", "hundredths"), [
    ("PT0S", 0), ("PT0H0M0S", 0), ("PT1H5M3.5S", 390350), ("PT25M", 150000), ("P1D", 8640000),
    ("P1DT2H", 9360000), ("PT36H", 12960000), ("P1W", 60480000), ("PT0.01S", 1), ("PT1.5H", 540000),
    ("P1M", 259200000), ("P1Y", 3153600000), ("pt10m", 60000), ("PT3,25S", 325), ("PT59.999S", 6000),
])
def test_scorm_2004_intervals_are_read_with_days_weeks_and_fractions(text: str, hundredths: int) -> None:
    assert parse_scorm2004(text) == hundredths
    assert parse_duration(text) == hundredths


@pytest.mark.parametrize("text", [
    "", "   ", "abc", "10", "00:60:00", "00:00:75", "-00:10:00", "00:10", "1:2:3:4", "00:10:00.",
    "P", "PT", "P1DT", "PT1H1H", "P1S", "PTM", "PT-5M", "1 hour", "00:10:00 PM", "PT1.5.2S",
])
def test_garbage_is_refused_with_a_sentence_saying_what_was_found(text: str) -> None:
    with pytest.raises(TimeFormatError) as caught:
        parse_duration(text)
    message = str(caught.value.args[0])
    assert message
    if text.strip():
        assert text.strip() in message


@given(st.integers(0, 9999), st.integers(0, 59), st.integers(0, 59), st.integers(0, 99))
def test_any_1_2_time_reads_back_what_was_written(hours: int, minutes: int, seconds: int, cents: int) -> None:
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}.{cents:02d}"
    assert parse_duration(text) == ((hours * 60 + minutes) * 60 + seconds) * 100 + cents


@given(st.text(max_size=20))
def test_no_text_crashes_the_reader(text: str) -> None:
    with contextlib.suppress(TimeFormatError):
        assert parse_duration(text) >= 0


def reading(sco: int, attempt: int, total: str | None = None, session: str | None = None, *, scorm: int = 1,
            at: int = 0) -> ScoReading:
    return ScoReading(scorm, sco, attempt, total, session, at)


def test_several_scoes_and_attempts_add_up() -> None:
    found = study_time([
        reading(10, 1, "00:30:00", "00:10:00", at=100), reading(11, 1, "PT15M", "PT15M", at=300),
        reading(10, 2, "00:20:00.50", "00:20:00.50", at=200), reading(20, 1, "01:00:00", scorm=2, at=50),
    ])
    assert found.centiseconds == (30 + 15 + 20 + 60) * 6000 + 50
    assert found.seconds == 7500.5
    assert found.attempts == 3  # attempts 1 and 2 of package 1, attempt 1 of package 2
    assert found.last_tracked == 300
    assert found.problems == ()


def test_an_unfinished_first_session_counts_through_its_session_time() -> None:
    found = study_time([reading(10, 1, "00:00:00", "00:12:00")])
    assert found.centiseconds == 12 * 6000
    again = study_time([reading(10, 1, "00:12:00", "00:03:00")], found.kept)  # finished later: counted once
    assert again.centiseconds == 12 * 6000


def test_a_reset_attempt_keeps_what_was_counted_and_counts_what_follows() -> None:
    first = study_time([reading(10, 1, "01:00:00"), reading(11, 1, "00:30:00")])
    assert first.seconds == 5400
    reset = study_time([reading(10, 1, "00:10:00")], first.kept)  # total went back; SCO 11 gone from Moodle
    assert reset.seconds == 5400 + 600
    grown = study_time([reading(10, 1, "00:25:00")], reset.kept)
    assert grown.seconds == 5400 + 1500
    assert grown.attempts == 1


def test_a_new_attempt_adds_to_the_earlier_ones() -> None:
    first = study_time([reading(10, 1, "00:40:00")])
    second = study_time([reading(10, 1, "00:40:00"), reading(10, 2, "00:05:00")], first.kept)
    assert second.seconds == 2700 and second.attempts == 2


def test_reading_the_same_tracks_again_changes_nothing() -> None:
    readings = [reading(10, 1, "00:40:00", "00:10:00"), reading(10, 2, "PT5M")]
    first = study_time(readings)
    assert study_time(readings, first.kept) == first


def test_an_unreadable_value_is_a_problem_and_counts_nothing_new() -> None:
    first = study_time([reading(10, 1, "00:30:00")])
    found = study_time([reading(10, 1, "half an hour", "00:05:00"), reading(11, 1, "PTxM")], first.kept)
    assert found.seconds == 1800  # not a reset to the 5 minutes of the session: nothing changes
    assert len(found.problems) == 2
    assert "half an hour" in found.problems[0] and "SCO 10" in found.problems[0]
    assert found.problems[0].template == "%(where)s: the %(element)s cannot be read: %(why)s"
    assert found.kept["1:11:1"] == (0, 0)


def test_times_read_in_hours_and_minutes_and_not_tracked_is_not_zero() -> None:
    assert hours_minutes(12300 * 100) == (3, 25)
    assert hours_minutes(89 * 100) == (0, 1)  # 1 min 29 s rounds to a minute
    assert describe(12300) == "3 h 25 min" and describe(1500) == "25 min" and describe(0) == "0 min"
    assert describe(None) == "not tracked"
    assert describe(12300).template == "%(hours)s h %(minutes)s min"
    assert describe_zh(12300) == "3 小时 25 分" and describe_zh(29) == "0 分"
    assert describe_zh(None) == "未记录"
    assert course_total([None, None]) is None
    assert course_total([None, 0, 60]) == 60
