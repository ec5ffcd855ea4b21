"""mod_scorm: SCORM packages of courses, their SCOs, and what learners' attempts tracked.

What Moodle's own code does (``mod/scorm/classes/external.php``, ``locallib.php``), which the calls
here rely on:

- ``mod_scorm_get_scorms_by_courses`` lists the packages of the courses the user can enter (others are
  warnings); a package closed or not yet open to the *caller* comes back with its id and name only and a
  warning (``expired``/``notopenyet``): ``Scorm.version`` is then None.
- ``mod_scorm_get_scorm_attempt_count`` and ``mod_scorm_get_scorm_sco_tracks`` of another user need
  ``mod/scorm:viewreport`` in the activity. The attempt count refuses a package outside its open
  dates (``expired``, ``notopenyet``) even to a reporter; the tracks do not.
- ``mod_scorm_get_scorm_sco_tracks`` with attempt 0 answers the user's last attempt (1 when they have
  none) and says which (``ScoTracks.attempt``). An attempt whose SCO reported no status comes back
  without tracks and with the warning ``notattempted``. Besides the stored elements, the tracks carry
  Moodle's summary of them: ``status``, ``score_raw``, ``total_time``, ``session_time`` (``00:00:00``
  where none was reported, whatever the version) and ``timemodified`` (the latest write).
- Nothing on the server adds a session to the total: Moodle's player does it when a session finishes
  (``scorm_12.js``/``scorm_13.js``, ``TotalTime``), as does the mobile app, and
  ``mod_scorm_insert_scorm_tracks`` stores what it is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..results import parse
from ._base import Area, MoodleWarning

#: ``Scorm.version`` values, as Moodle's manifest parser writes them (``SCORM_`` and the manifest's schema
#: version); packages added before Moodle 2 may say ``SCORM_12``/``SCORM_13``, which Moodle reads alike.
SCORM_12, SCORM_2004, AICC = "SCORM_1.2", "SCORM_1.3", "AICC"
#: The warning of a SCO without a status in the attempt asked for (no tracks are returned).
NOT_ATTEMPTED = "notattempted"


@dataclass(frozen=True)
class Scorm:
    id: int
    coursemodule: int
    course: int
    name: str
    intro: str = ""
    introformat: int = 1
    version: str | None = None
    maxattempt: int | None = None
    timeopen: int | None = None
    timeclose: int | None = None
    grademethod: int | None = None
    whatgrade: int | None = None
    forcecompleted: bool | None = None
    forcenewattempt: bool | None = None
    lastattemptlock: bool | None = None
    launch: int | None = None
    scormtype: str | None = None
    reference: str | None = None
    revision: int | None = None
    sha1hash: str | None = None
    packagesize: int | None = None
    visible: bool | None = None

    @property
    def available(self) -> bool:
        """Whether Moodle described the package (it is open to the caller): its settings are there."""
        return self.version is not None


@dataclass(frozen=True)
class ScormList:
    scorms: tuple[Scorm, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class ScoData:
    element: str
    value: str


@dataclass(frozen=True)
class Sco:
    id: int
    scorm: int
    identifier: str
    title: str
    scormtype: str = ""
    launch: str = ""
    manifest: str = ""
    organization: str = ""
    parent: str = ""
    sortorder: int = 0
    extradata: tuple[ScoData, ...] = ()

    @property
    def launchable(self) -> bool:
        """A SCO or asset a learner can open: only these ever hold tracks (an organisation does not)."""
        return bool(self.launch)


@dataclass(frozen=True)
class ScoList:
    scoes: tuple[Sco, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class AttemptCount:
    attemptscount: int
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class Track:
    element: str
    value: str


@dataclass(frozen=True)
class ScoTracksData:
    attempt: int
    tracks: tuple[Track, ...] = ()


@dataclass(frozen=True)
class ScoTracks:
    data: ScoTracksData
    warnings: tuple[MoodleWarning, ...] = ()

    @property
    def attempt(self) -> int:
        return self.data.attempt

    @property
    def attempted(self) -> bool:
        """Whether the SCO reported anything in this attempt (Moodle returns tracks only then)."""
        return bool(self.data.tracks)

    def value(self, *elements: str) -> str | None:
        """The value of the first of ``elements`` the SCO reported, None when none of them."""
        values = {track.element: track.value for track in self.data.tracks}
        for element in elements:
            if element in values:
                return values[element]
        return None

    @property
    def timemodified(self) -> int:
        """When the SCO last wrote a track in this attempt (Moodle's ``timemodified`` summary), 0 if none."""
        found = self.value("timemodified")
        try:
            return int(float(found)) if found else 0
        except ValueError:
            return 0


@dataclass(frozen=True)
class UserScoData:
    scoid: int
    userdata: tuple[ScoData, ...] = ()
    defaultdata: tuple[ScoData, ...] = ()


@dataclass(frozen=True)
class UserData:
    data: tuple[UserScoData, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class TrackIds:
    trackids: tuple[int, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


class ModScorm(Area):
    def get_scorms_by_courses(self, courseids: Sequence[int] = ()) -> ScormList:
        """Calls mod_scorm_get_scorms_by_courses (read).

        In batches of ``batch_size`` courses on the client's pool, merged in order. Courses the user
        cannot enter are warnings; no ids: the user's own courses (one call).
        """
        fn = "mod_scorm_get_scorms_by_courses"
        unique = list(dict.fromkeys(int(c) for c in courseids))
        if not unique:
            return parse(ScormList, self._read(fn, {}), fn)
        answers = self._batched(fn, unique, lambda chunk: {"courseids": chunk},
                                lambda data: [parse(ScormList, data, fn)], write=False, parallel=True)
        return ScormList(tuple(s for answer in answers for s in answer.scorms),
                         tuple(w for answer in answers for w in answer.warnings))

    def get_scorm_scoes(self, scormid: int, *, organization: str = "") -> ScoList:
        """Calls mod_scorm_get_scorm_scoes (read).

        Every SCO, asset and organisation of the package, in Moodle's order (``sortorder``, id).
        """
        fn = "mod_scorm_get_scorm_scoes"
        params: dict[str, Any] = {"scormid": scormid}
        if organization:
            params["organization"] = organization
        return parse(ScoList, self._read(fn, params), fn)

    def get_scorm_attempt_count(self, scormid: int, userid: int, *,
                                ignoremissingcompletion: bool = False) -> AttemptCount:
        """Calls mod_scorm_get_scorm_attempt_count (read).

        How many attempts ``userid`` has in the package. Another user's needs ``mod/scorm:viewreport``;
        a package outside its open dates answers ``expired`` or ``notopenyet`` whoever asks.
        """
        fn = "mod_scorm_get_scorm_attempt_count"
        params: dict[str, Any] = {"scormid": scormid, "userid": userid}
        if ignoremissingcompletion:
            params["ignoremissingcompletion"] = True
        return parse(AttemptCount, self._read(fn, params), fn)

    def get_scorm_sco_tracks(self, scoid: int, userid: int, attempt: int = 0) -> ScoTracks:
        """Calls mod_scorm_get_scorm_sco_tracks (read).

        What ``userid`` tracked in one SCO in one attempt (0: their last, whose number the answer
        gives). Another user's needs ``mod/scorm:viewreport``. No tracks and a ``notattempted``
        warning where the SCO reported no status in that attempt.
        """
        fn = "mod_scorm_get_scorm_sco_tracks"
        return parse(ScoTracks, self._read(fn, {"scoid": scoid, "userid": userid, "attempt": attempt}), fn)

    def get_scorm_user_data(self, scormid: int, attempt: int) -> UserData:
        """Calls mod_scorm_get_scorm_user_data (read).

        The caller's own tracks of one attempt, per SCO, with the defaults the player starts from.
        """
        fn = "mod_scorm_get_scorm_user_data"
        return parse(UserData, self._read(fn, {"scormid": scormid, "attempt": attempt}), fn)

    def insert_scorm_tracks(self, scoid: int, attempt: int, tracks: dict[str, str]) -> TrackIds:
        """Calls mod_scorm_insert_scorm_tracks (write).

        Saves the caller's own tracks (a learner's token: ``mod/scorm:savetrack``), overwriting what the
        attempt held for those elements. Moodle stores what it is sent: to record a finished session,
        send the new ``cmi.core.total_time`` too, as Moodle's player does.
        """
        fn = "mod_scorm_insert_scorm_tracks"
        params = {"scoid": scoid, "attempt": attempt,
                  "tracks": [{"element": element, "value": value} for element, value in tracks.items()]}
        return parse(TrackIds, self._write(fn, params), fn)
