"""Study time (学习时长) from SCORM courseware: how the times a package reports become one figure per
cadre and course.

Moodle keeps no time on task of its own; SCORM packages report it. A SCORM 1.2 package reports
``cmi.core.session_time`` (the session just ended) and the player adds it to ``cmi.core.total_time``
when the session finishes (``HHHH:MM:SS.SS``); a SCORM 2004 package does the same with
``cmi.session_time`` and ``cmi.total_time`` (ISO 8601 durations, ``PT1H5M3.5S``). Moodle keeps both
per SCO and attempt. The policy, as a demanding reader of an appraisal record expects it:

- One SCO's time in one attempt is the larger of its total time and its session time. The total holds
  every finished session; a session the learner left without finishing (browser closed) was saved
  but never added to the total, and counting the larger of the two counts such a first session
  without ever counting a finished one twice.
- An attempt's time is the sum of its SCOs' times; a course's time is the sum over every attempt of
  every SCORM activity in it. A new attempt starts again from zero in Moodle, so attempts add up.
- Nothing once counted is lost. What each SCO of each attempt showed is kept from one harvest to the
  next (``Kept``): a time that goes back (the attempt was reset or deleted, the package was replaced)
  banks what had been counted and counts what it shows from then on on top of it; a SCO that is gone
  keeps what it had.
- Values are read leniently where the meaning is certain (hours past 99, one-digit fields, a comma
  for the decimal point, fractions of any length, days, weeks, months of 30 days and years of 365
  in a 2004 duration) and refused otherwise: a value that is not a duration is a ``problem`` naming
  where it was found, counts nothing, and changes nothing already counted.
- A course whose courseware tracks no time (it has no SCORM activity) has no study time: it reads as
  "not tracked", never as zero.

Times are kept exact in hundredths of a second (what both formats carry) and shown in hours and
minutes (``hours_minutes``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rules.wording import Sentence

#: Hundredths of a second in each unit a duration may use.
SECOND = 100
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_UNITS_2004 = {"Y": 365 * DAY, "M": 30 * DAY, "W": 7 * DAY, "D": DAY}
_TIME_UNITS_2004 = {"H": HOUR, "M": MINUTE, "S": SECOND}

_SCORM12 = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})(?:[.,](\d+))?$")
_NUMBER = r"\d+(?:[.,]\d+)?"
_SCORM2004 = re.compile(
    rf"^P(?:(?P<Y>{_NUMBER})Y)?(?:(?P<M>{_NUMBER})M)?(?:(?P<W>{_NUMBER})W)?(?:(?P<D>{_NUMBER})D)?"
    rf"(?:T(?:(?P<H>{_NUMBER})H)?(?:(?P<TM>{_NUMBER})M)?(?:(?P<S>{_NUMBER})S)?)?$", re.IGNORECASE)

#: The elements that hold a SCO's time, by SCORM version.
TOTAL_TIME = ("cmi.core.total_time", "cmi.total_time")
SESSION_TIME = ("cmi.core.session_time", "cmi.session_time")


class TimeFormatError(ValueError):
    """A value that is not a SCORM duration; its message is a ``Sentence`` saying what was found."""


def _fraction(digits: str | None) -> int:
    """Hundredths of a second from the digits after the decimal point, rounded half up."""
    if not digits:
        return 0
    scaled = int(digits.ljust(3, "0")[:3])  # thousandths
    return (scaled + 5) // 10


def _scaled(number: str, unit: int) -> int:
    """``number`` (digits with an optional fraction) of ``unit`` hundredths, rounded half up."""
    whole, _, fraction = number.replace(",", ".").partition(".")
    value = int(whole) * unit
    if fraction:
        value += (int(fraction) * unit * 2 + 10 ** len(fraction)) // (2 * 10 ** len(fraction))
    return value


def parse_scorm12(value: str) -> int:
    """A SCORM 1.2 time span (``HHHH:MM:SS.SS``) in hundredths of a second."""
    text = value.strip()
    match = _SCORM12.match(text)
    if match is None:
        raise TimeFormatError(Sentence('"%(value)s" is not a SCORM 1.2 time (HHHH:MM:SS.SS)', value=text))
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        raise TimeFormatError(Sentence('"%(value)s" is not a SCORM 1.2 time: minutes and seconds go up to 59',
                                       value=text))
    return int(hours) * HOUR + int(minutes) * MINUTE + int(seconds) * SECOND + _fraction(fraction)


def parse_scorm2004(value: str) -> int:
    """A SCORM 2004 time interval (ISO 8601 duration, ``P1DT2H5M3.5S``) in hundredths of a second."""
    text = value.strip()
    match = _SCORM2004.match(text)
    if match is None or text.upper() in ("P", "PT") or text.upper().endswith("T"):
        raise TimeFormatError(Sentence('"%(value)s" is not a SCORM 2004 time interval (like PT1H5M3.5S)',
                                       value=text))
    parts = match.groupdict()
    total = 0
    for name, unit in _UNITS_2004.items():
        if parts[name]:
            total += _scaled(parts[name], unit)
    for name, unit in _TIME_UNITS_2004.items():
        found = parts["TM" if name == "M" else name]
        if found:
            total += _scaled(found, unit)
    return total


def parse_duration(value: str) -> int:
    """Either format, told apart by its first letter (a 2004 interval starts with ``P``)."""
    text = str(value).strip()
    if not text:
        raise TimeFormatError(Sentence("an empty value is not a time"))
    if text[:1] in ("P", "p"):
        return parse_scorm2004(text)
    if text.startswith("-"):
        raise TimeFormatError(Sentence('"%(value)s" is negative: a time spent cannot be', value=text))
    return parse_scorm12(text)


def hours_minutes(centiseconds: int | float) -> tuple[int, int]:
    """Whole hours and the minutes after them, rounded to the nearest minute."""
    minutes = int((int(centiseconds) + MINUTE // 2) // MINUTE)
    return divmod(minutes, 60)


def describe(seconds: float | None) -> Sentence:
    """A study time as people read it: "3 h 25 min", "25 min"; "not tracked" where the courseware
    tracks no time (None), which is not the same as no time."""
    if seconds is None:
        return Sentence("not tracked")
    hours, minutes = hours_minutes(round(seconds * SECOND))
    if hours:
        return Sentence("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return Sentence("%(minutes)s min", minutes=minutes)


def describe_zh(seconds: float | None) -> str:
    """``describe`` as Chinese documents print it: "3 小时 25 分", "25 分", "未记录"."""
    if seconds is None:
        return "未记录"
    hours, minutes = hours_minutes(round(seconds * SECOND))
    return f"{hours} 小时 {minutes} 分" if hours else f"{minutes} 分"


# --- one cadre in one course --------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoReading:
    """What Moodle shows now of one SCO in one attempt: its time elements as text (None: not reported)
    and when it was last written (a Unix time, 0 when unknown)."""

    scorm: int
    sco: int
    attempt: int
    total_time: str | None = None
    session_time: str | None = None
    tracked_at: int = 0

    @property
    def key(self) -> str:
        return f"{self.scorm}:{self.sco}:{self.attempt}"

    @property
    def where(self) -> Sentence:
        return Sentence("SCORM %(scorm)s, SCO %(sco)s, attempt %(attempt)s", scorm=self.scorm, sco=self.sco,
                        attempt=self.attempt)


#: What was counted of one SCO in one attempt: hundredths banked from before a reset, and the value
#: shown last. Kept from one harvest to the next under ``ScoReading.key``.
Kept = Mapping[str, tuple[int, int]]


@dataclass(frozen=True)
class StudyTime:
    """One cadre's study time in one course, and what it keeps for the next harvest."""

    centiseconds: int
    attempts: int
    last_tracked: int  # Unix time of the latest track written, 0 when none
    kept: dict[str, tuple[int, int]] = field(default_factory=dict)
    problems: tuple[Sentence, ...] = ()

    @property
    def seconds(self) -> float:
        return self.centiseconds / SECOND


def sco_time(reading: ScoReading) -> tuple[int | None, list[Sentence]]:
    """The larger of the SCO's total and session time (None when it reported neither, or a value that
    cannot be read), and the problems of the values that could not be read."""
    found: list[int] = []
    problems: list[Sentence] = []
    for element, value in ((Sentence("total time"), reading.total_time),
                           (Sentence("session time"), reading.session_time)):
        if value is None or not str(value).strip():
            continue
        try:
            found.append(parse_duration(value))
        except TimeFormatError as exc:
            problems.append(Sentence("%(where)s: the %(element)s cannot be read: %(why)s",
                                     where=reading.where, element=element, why=exc.args[0]))
    if problems:  # half a reading could look like a reset: it counts nothing until it reads whole
        return None, problems
    return (max(found) if found else None), problems


def study_time(readings: Iterable[ScoReading], kept: Kept | None = None) -> StudyTime:
    """The study time of one cadre in one course from what Moodle shows now (``readings``, every SCO of
    every attempt read) and what earlier harvests kept (``kept``); see the module's policy."""
    merged: dict[str, tuple[int, int]] = {key: (int(banked), int(last))
                                          for key, (banked, last) in (kept or {}).items()}
    problems: list[Sentence] = []
    last_tracked = 0
    for reading in readings:
        last_tracked = max(last_tracked, int(reading.tracked_at or 0))
        value, unreadable = sco_time(reading)
        problems.extend(unreadable)
        banked, last = merged.get(reading.key, (0, 0))
        if value is None:
            merged.setdefault(reading.key, (banked, last))
            continue
        if value < last:  # reset: what was counted stays counted
            banked += last
        merged[reading.key] = (banked, value)
    total = sum(banked + last for banked, last in merged.values())
    attempts = len({key.rsplit(":", 2)[0] + ":" + key.rsplit(":", 1)[1] for key in merged})
    return StudyTime(total, attempts, last_tracked, merged, tuple(problems))


def course_total(times: Iterable[int | None]) -> int | None:
    """A cadre's study time over several courses: the sum of those that track time, None when none
    of them does (not tracked is not zero)."""
    tracked = [time for time in times if time is not None]
    return sum(tracked) if tracked else None
