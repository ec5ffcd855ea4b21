"""mod_scorm: SCORM packages, their SCOs, learners' attempts and tracks; the ``create_scorm``,
``upload_scorm``, ``replace_scorm_package`` and ``scorm_session`` site actions. A package's ``sha1hash``
is a hash of what it holds and its ``revision`` counts its uploads, as Moodle's are of the file.

Tables as Moodle 4.3+ keeps them: ``scorm`` (instances, made with ``records.new_module``; ``version``
``SCORM_1.2`` or ``SCORM_1.3``, as Moodle's manifest parser writes it), ``scorm_scoes`` (scorm, manifest,
organization, parent, identifier, launch, scormtype, title, sortorder; an organisation row without
``launch`` and one row per SCO), ``scorm_scoes_data`` (scoid, name, value), ``scorm_attempt`` (userid,
scormid, attempt) and ``scorm_scoes_value`` (scoid, attemptid, element, value, timemodified).

As in Moodle, the web service stores the tracks it is sent and adds nothing up: the total time of a
finished session is computed by the player (``scorm_12.js``/``scorm_13.js`` ``TotalTime``), which the
``scorm_session`` site action plays, as the mobile app does before it calls
``mod_scorm_insert_scorm_tracks``.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ..access import (
    has_capability_in,
    is_active_enrolled,
    module_context,
    requested_courses,
    validate_module,
    visible_modules,
)
from ..courses import get_activity, log_course_access
from ..db import Row
from ..records import fullname, get_user, must_exist, new_module
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..text import format_string, userdate
from ..wserror import WSError, moodle_exception, no_permissions
from .grades import push_grade

#: ``scorm.version`` as Moodle's manifest parser writes it (``scorm_get_manifest``: ``SCORM_`` and the
#: manifest's schema version); ``scorm_version_check`` reads the older spellings without the dot too.
SCORM_12, SCORM_13 = "SCORM_1.2", "SCORM_1.3"
_SPELLINGS = {"scorm_12": SCORM_12, "scorm_1.2": SCORM_12, "scorm_13": SCORM_13, "scorm_1.3": SCORM_13}
GRADESCOES, GRADEHIGHEST, GRADEAVERAGE, GRADESUM = 0, 1, 2, 3
HIGHESTATTEMPT, AVERAGEATTEMPT, FIRSTATTEMPT, LASTATTEMPT = 0, 1, 2, 3
_SCORM_DEFAULTS: dict[str, Any] = {
    "scormtype": "local", "reference": "package.zip", "version": SCORM_12, "maxgrade": 100,
    "grademethod": GRADEHIGHEST, "whatgrade": 0, "maxattempt": 0, "forcecompleted": 0,
    "forcenewattempt": 0, "lastattemptlock": 0, "masteryoverride": 1, "displayattemptstatus": 1,
    "displaycoursestructure": 0, "updatefreq": 0, "sha1hash": "", "md5hash": "", "revision": 1,
    "launch": 0, "skipview": 1, "hidebrowse": 0, "hidetoc": 0, "nav": 1, "navpositionleft": -100,
    "navpositiontop": -100, "auto": 0, "popup": 0, "options": "", "width": 100, "height": 500,
    "timeopen": 0, "timeclose": 0, "completionstatusrequired": None, "completionscorerequired": None,
    "completionstatusallscos": 0, "autocommit": 0,
}
#: What any learner may see of a package (``get_scorms_by_courses``), and what only an editor may.
_VIEWABLE = ("version", "maxgrade", "grademethod", "whatgrade", "maxattempt", "forcecompleted",
             "forcenewattempt", "lastattemptlock", "displayattemptstatus", "displaycoursestructure",
             "sha1hash", "md5hash", "revision", "launch", "skipview", "hidebrowse", "hidetoc", "nav",
             "navpositionleft", "navpositiontop", "auto", "popup", "width", "height", "timeopen",
             "timeclose", "scormtype", "reference")
_EDITOR_ONLY = ("updatefreq", "options", "completionstatusrequired", "completionscorerequired",
                "completionstatusallscos", "autocommit", "timemodified")
#: The elements ``scorm_format_interactions`` sums up, and the defaults it starts from.
_STATUS = ("cmi.core.lesson_status", "cmi.completion_status")
#: The statuses whose ``completed`` or ``passed`` has Moodle grade the user again (as a score does).
_GRADED_STATUS = (*_STATUS, "cmi.success_status")
_SCORE = ("cmi.core.score.raw", "cmi.score.raw")
_SESSION = ("cmi.core.session_time", "cmi.session_time")
_TOTAL = ("cmi.core.total_time", "cmi.total_time")
_PLAYER_2004 = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$")


def setting(scorm: Row, name: str) -> Any:
    value = scorm.get(name)
    return _SCORM_DEFAULTS.get(name) if value is None and name in _SCORM_DEFAULTS else value


def is_2004(scorm: Row) -> bool:
    """``scorm_version_check($scorm->version, SCORM_13)``."""
    return _SPELLINGS.get(str(setting(scorm, "version")).lower()) == SCORM_13


# --- what locallib.php does ---------------------------------------------------------------------------

def availability(site: FakeSite, scorm: Row, userid: int, ctx: Row | None) -> dict[str, str]:
    """``scorm_get_availability_status``: the reasons the package is closed to the user (none: open).
    With ``ctx`` (``$checkviewreportcap``) a reporter may always see it."""
    now = site.now()
    opens, closes = int(setting(scorm, "timeopen") or 0), int(setting(scorm, "timeclose") or 0)
    not_open, closed = bool(opens and opens > now), bool(closes and now > closes)
    if not (not_open or closed):
        return {}
    if ctx is not None and has_capability_in(site, userid, "mod/scorm:viewreport", ctx):
        return {}
    reasons = {}
    if not_open:
        reasons["notopenyet"] = f"Sorry, this activity is not available until {userdate(opens)}"
    if closed:
        reasons["expired"] = f"Sorry, this activity closed on {userdate(closes)} and is no longer available"
    return reasons


def require_available(site: FakeSite, scorm: Row, userid: int, ctx: Row | None = None) -> None:
    """``scorm_require_available``: the first reason it is closed, as Moodle throws it."""
    reasons = availability(site, scorm, userid, ctx)
    if reasons:
        code, message = next(iter(reasons.items()))
        raise moodle_exception(code, message)


def scoes(site: FakeSite, scormid: int, organization: str = "") -> list[Row]:
    """``scorm_get_scoes``: the package's rows in ``sortorder, id`` order."""
    rows = site.db["scorm_scoes"].select(scorm=int(scormid))
    if organization:
        rows = [row for row in rows if row.get("organization") == organization]
    return sorted(rows, key=lambda row: (int(row.get("sortorder") or 0), int(row["id"])))


def get_sco(site: FakeSite, scoid: int) -> Row:
    """``scorm_get_sco($id, SCO_ONLY)``, or ``cannotfindsco``."""
    sco = site.db["scorm_scoes"].get(scoid)
    if sco is None:
        raise moodle_exception("cannotfindsco", "Could not find SCO")
    return sco


def attempts_of(site: FakeSite, scormid: int, userid: int) -> list[Row]:
    return sorted(site.db["scorm_attempt"].select(scormid=int(scormid), userid=int(userid)),
                  key=lambda row: int(row["attempt"]))


def last_attempt(site: FakeSite, scormid: int, userid: int) -> int:
    """``scorm_get_last_attempt``: the highest attempt number, 1 when there is none."""
    numbers = [int(row["attempt"]) for row in attempts_of(site, scormid, userid)]
    return max(numbers) if numbers else 1


def attempt_count(site: FakeSite, scorm: Row, userid: int, ignoremissingcompletion: bool) -> int:
    """``scorm_get_attempt_count``: distinct attempts, or only those holding the grading element."""
    attempts = attempts_of(site, scorm["id"], userid)
    if not ignoremissingcompletion:
        return len({int(row["attempt"]) for row in attempts})
    if is_2004(scorm):
        element = "cmi.score.raw"
    elif int(setting(scorm, "grademethod")) == GRADESCOES:
        element = "cmi.core.lesson_status"
    else:
        element = "cmi.core.score.raw"
    return len({int(row["attempt"]) for row in attempts
                if site.db["scorm_scoes_value"].first(attemptid=row["id"], element=element) is not None})


def get_attempt(site: FakeSite, userid: int, scormid: int, attempt: int, *, create: bool) -> Row | None:
    """``scorm_get_attempt``: the attempt row, made on first use when ``create``."""
    row = site.db["scorm_attempt"].first(scormid=int(scormid), userid=int(userid), attempt=int(attempt))
    if row is None and create:
        row = site.db["scorm_attempt"].insert({"userid": int(userid), "scormid": int(scormid),
                                               "attempt": int(attempt)})
    return row


def insert_track(site: FakeSite, userid: int, scorm: Row, scoid: int, attempt: int, element: str,
                 value: str) -> int:
    """``scorm_insert_track``: the value stored (an unchanged value keeps its time; ``x.start.time``
    keeps its first value); returns the value's id. ``forcecompleted`` turns an ``incomplete`` 1.2
    status into ``completed`` once a score exists, as Moodle does."""
    row = get_attempt(site, userid, int(scorm["id"]), attempt, create=True)
    assert row is not None
    values = site.db["scorm_scoes_value"]
    scored = values.first(attemptid=row["id"], scoid=int(scoid), element="cmi.core.score.raw") is not None
    if setting(scorm, "forcecompleted") and element == "cmi.core.lesson_status" and value == "incomplete" \
            and scored:
        value = "completed"
    found = values.first(attemptid=row["id"], scoid=int(scoid), element=element)
    now = site.now()
    if found is not None:
        if element != "x.start.time" and found["value"] != value:
            values.update(found, value=value, timemodified=now)
        trackid = int(found["id"])
    else:
        trackid = int(values.insert({"scoid": int(scoid), "attemptid": row["id"], "element": element,
                                     "value": value, "timemodified": now})["id"])
    if element in _SCORE or (element in _GRADED_STATUS and value in ("completed", "passed")):
        update_grades(site, scorm, userid)
    return trackid


def grade_user_attempt(site: FakeSite, scorm: Row, userid: int, attempt: int) -> float:
    """``scorm_grade_user_attempt``: one attempt's grade by the package's grading method (the highest
    SCO score, their average or sum, or the SCOs completed or passed)."""
    completed, scores = 0, []
    for sco in scoes(site, scorm["id"]):
        tracks = get_tracks(site, sco["id"], userid, attempt)
        if tracks is None:
            continue
        if tracks["status"] in ("completed", "passed"):
            completed += 1
        if tracks["score_raw"] not in ("", 0, 0.0):
            scores.append(float(tracks["score_raw"]))
    method = int(setting(scorm, "grademethod"))
    if method == GRADESCOES:
        return float(completed)
    if method == GRADEAVERAGE:
        return sum(scores) / len(scores) if scores else 0.0
    if method == GRADESUM:
        return float(sum(scores))
    return max([0.0, *scores])


def grade_user(site: FakeSite, scorm: Row, userid: int) -> float:
    """``scorm_grade_user``: the user's grade by the package's ``whatgrade`` over their attempts (those
    beyond ``maxattempt`` left out)."""
    attempts = sorted({int(row["attempt"]) for row in attempts_of(site, scorm["id"], userid)})
    last = max(attempts, default=1)
    maximum = int(setting(scorm, "maxattempt") or 0)
    if maximum and last >= maximum:
        last = maximum
    which = int(setting(scorm, "whatgrade") or 0)
    if which == FIRSTATTEMPT:
        return grade_user_attempt(site, scorm, userid, min(attempts, default=1))
    if which == LASTATTEMPT:  # scorm_get_last_completed_attempt
        finished = [int(row["attempt"]) for row in attempts_of(site, scorm["id"], userid)
                    if any(value["value"] in ("completed", "passed")
                           for value in site.db["scorm_scoes_value"].select(attemptid=row["id"]))]
        return grade_user_attempt(site, scorm, userid, max(finished, default=1))
    if which == AVERAGEATTEMPT:
        counted = attempt_count(site, scorm, userid, True)
        total = sum(grade_user_attempt(site, scorm, userid, number)
                    for number in range(1, max(attempts, default=1) + 1))
        return float(round(total / counted)) if counted else 0.0
    return max([0.0, *(grade_user_attempt(site, scorm, userid, number) for number in range(1, last + 1))])


def update_grades(site: FakeSite, scorm: Row, userid: int) -> None:
    """``scorm_update_grades`` for one user, as a score or a completed (passed) status saved calls it: the
    grade of their attempts, or none where they have no attempt."""
    rawgrade = grade_user(site, scorm, userid) if attempts_of(site, scorm["id"], userid) else None
    push_grade(site, int(scorm["course"]), "scorm", int(scorm["id"]), int(userid), rawgrade,
               usermodified=int(userid))


def get_tracks(site: FakeSite, scoid: int, userid: int | str, attempt: int) -> dict[str, Any] | None:
    """``scorm_get_tracks``: the SCO's elements in element order with Moodle's summary in front of
    them (``scorm_format_interactions``), None when the attempt holds nothing of it. ``userid`` comes
    back as the caller had it (an int from a web-service parameter, a string from ``$USER``), ``scoid``
    as read from the database (a string)."""
    sco = site.db["scorm_scoes"].get(scoid)
    if sco is None:
        return None
    row = get_attempt(site, int(userid), int(sco["scorm"]), attempt, create=False)
    if row is None:
        return None
    stored = sorted(site.db["scorm_scoes_value"].select(attemptid=row["id"], scoid=int(scoid)),
                    key=lambda value: str(value["element"]))
    if not stored:
        return None
    track: dict[str, Any] = {"score_raw": "", "status": "", "total_time": "00:00:00",
                             "session_time": "00:00:00", "timemodified": 0}
    for value in stored:
        element, text = str(value["element"]), str(value["value"])
        track[element] = text
        if element in _STATUS:
            track["status"] = "notattempted" if text == "not attempted" else text
        elif element in _SCORE:
            try:
                track["score_raw"] = round(float(text), 2)
            except ValueError:
                track["score_raw"] = 0.0
        elif element in _SESSION:
            track["session_time"] = text
        elif element in _TOTAL:
            track["total_time"] = text
        if int(value.get("timemodified") or 0) > int(track["timemodified"] or 0):
            track["timemodified"] = str(value["timemodified"])  # read from the database: a string
    track["userid"] = userid
    track["scoid"] = str(scoid)
    return track


def _scorm_of_sco(site: FakeSite, userid: int, sco: Row) -> tuple[Row, Row, Row]:
    """The SCO's package, its course module and context, after ``validate_context``."""
    scorm = must_exist(site, "scorm", sco["scorm"])
    _scorm, cm = get_activity(site, "scorm", int(scorm["id"]))
    validate_module(site, userid, cm)
    return scorm, cm, module_context(site, cm["id"])


def _validated(site: FakeSite, userid: int, scormid: int) -> tuple[Row, Row, Row]:
    scorm, cm = get_activity(site, "scorm", scormid)
    validate_module(site, userid, cm)
    return scorm, cm, module_context(site, cm["id"])


def _other_user(site: FakeSite, call: Call, userid: int, ctx: Row) -> Row:
    """``core_user::get_user(MUST_EXIST)`` and ``require_active_user``, then ``mod/scorm:viewreport``
    when the user asked about is someone else."""
    user = get_user(site, userid)
    if not user.get("confirmed", 1):
        raise moodle_exception("usernotconfirmed", f"The user account for {user['username']} has not been "
                               "confirmed")
    if int(user["id"]) == 1:
        raise moodle_exception("guestsarenotallowed", "The guest user cannot do this")
    if call.userid != int(user["id"]) and not has_capability_in(site, call.userid, "mod/scorm:viewreport",
                                                                ctx):
        raise no_permissions("mod/scorm:viewreport")
    return user


# ---------------------------------------------------------------------------------------------------
# Web-service functions.
# ---------------------------------------------------------------------------------------------------


@function("mod_scorm_get_scorms_by_courses", items="courseids")
def get_scorms_by_courses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    courses, warnings = requested_courses(site, call.userid, [int(c) for c in params.get("courseids") or []])
    scorms = []
    for course in courses:
        for cm in visible_modules(site, call.userid, course, "scorm"):
            scorm = site.db["scorm"].get(cm["instance"])
            if scorm is None:
                continue
            ctx = module_context(site, cm["id"])
            editor = has_capability_in(site, call.userid, "moodle/course:manageactivities", ctx)
            # helper_for_get_mods_by_courses::standard_coursemodule_element_values
            module: dict[str, Any] = {"id": scorm["id"], "coursemodule": cm["id"], "course": scorm["course"],
                                      "name": format_string(scorm.get("name")), "lang": "",
                                      "intro": scorm.get("intro", ""),
                                      "introformat": scorm.get("introformat", 1), "introfiles": []}
            if editor:
                module.update(section=cm.get("section", 0), visible=cm.get("visible", 1),
                              groupmode=cm.get("groupmode", 0), groupingid=cm.get("groupingid", 0),
                              enableaitools=cm.get("enableaitools"),
                              enabledaiactions=cm.get("enabledaiactions"))
            closed = availability(site, scorm, call.userid, ctx)
            if closed:
                warnings.extend({"item": "scorm", "itemid": scorm["id"], "warningcode": code, "message": text}
                                for code, text in closed.items())
            else:
                module["packagesize"] = int(scorm.get("packagesize") or 0)
                if scorm.get("packagesize"):
                    module["packageurl"] = (f"{site.siteurl}/webservice/pluginfile.php/{ctx['id']}/mod_scorm/"
                                            f"package/0/{setting(scorm, 'reference')}")
                module["protectpackagedownloads"] = bool(site.config.get("scorm_protectpackagedownloads", 0))
                for name in _VIEWABLE + (_EDITOR_ONLY if editor else ()):
                    module[name] = setting(scorm, name)
            scorms.append(module)
    return {"scorms": scorms, "options": [{"name": "scormstandard",
                                           "value": str(site.config.get("scorm_scormstandard", 0))}],
            "warnings": warnings}


@function("mod_scorm_get_scorm_scoes")
def get_scorm_scoes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    scorm, _cm, ctx = _validated(site, call.userid, int(params["scormid"]))
    require_available(site, scorm, call.userid, ctx)
    found = []
    for sco in scoes(site, scorm["id"], str(params.get("organization") or "")):
        data = [{"element": row["name"], "value": row["value"]}
                for row in sorted(site.db["scorm_scoes_data"].select(scoid=sco["id"]), key=lambda r: r["id"])]
        found.append({**{key: sco.get(key, "") for key in ("manifest", "organization", "parent", "identifier",
                                                              "launch", "scormtype", "title")},
                      "id": sco["id"], "scorm": sco["scorm"], "sortorder": sco.get("sortorder", 0),
                      "extradata": data})
    return {"scoes": found, "warnings": []}


@function("mod_scorm_get_scorm_attempt_count")
def get_scorm_attempt_count(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    scorm, _cm, ctx = _validated(site, call.userid, int(params["scormid"]))
    user = _other_user(site, call, int(params["userid"]), ctx)
    require_available(site, scorm, call.userid)  # without the reporter's pass: a closed package refuses
    count = attempt_count(site, scorm, int(user["id"]), bool(params.get("ignoremissingcompletion")))
    return {"attemptscount": count, "warnings": []}


@function("mod_scorm_get_scorm_sco_tracks")
def get_scorm_sco_tracks(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    sco = get_sco(site, int(params["scoid"]))
    scorm, _cm, ctx = _scorm_of_sco(site, call.userid, sco)
    user = _other_user(site, call, int(params["userid"]), ctx)
    require_available(site, scorm, call.userid, ctx)
    attempt = int(params.get("attempt") or 0) or last_attempt(site, scorm["id"], int(user["id"]))
    tracks = []
    found = get_tracks(site, sco["id"], int(params["userid"]), attempt)
    if found is not None and found["status"] != "":
        tracks = [{"element": element, "value": value} for element, value in found.items()]
    warnings = []
    if not tracks:
        warnings.append({"item": "attempt", "itemid": attempt, "warningcode": "notattempted",
                         "message": "Not attempted"})
    return {"data": {"attempt": attempt, "tracks": tracks}, "warnings": warnings}


@function("mod_scorm_get_scorm_user_data")
def get_scorm_user_data(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Every row of the package (its organisation too), with what the player starts from: the
    caller's data (``$userdata`` of ``get_scorm_default``, in the order Moodle fills it) and the data
    model's defaults (its answer), in mode ``normal``."""
    site = call.site
    scorm, _cm, ctx = _validated(site, call.userid, int(params["scormid"]))
    require_available(site, scorm, call.userid, ctx)
    attempt = int(params["attempt"])
    user = get_user(site, call.userid)
    data = []
    for sco in scoes(site, scorm["id"]):
        userdata, defaults = scorm_default(site, scorm, sco, user, attempt)
        data.append({"scoid": sco["id"],
                     "userdata": [{"element": k, "value": v} for k, v in userdata.items()],
                     "defaultdata": [{"element": k, "value": v} for k, v in defaults.items()]})
    return {"data": data, "warnings": []}


def _sco_data(site: FakeSite, sco: Row) -> dict[str, Any]:
    """``scorm_get_sco($id, SCO_DATA)``: the SCO's data from the manifest, ``parameters`` empty when
    there is none."""
    rows = sorted(site.db["scorm_scoes_data"].select(scoid=sco["id"]), key=lambda row: int(row["id"]))
    return {str(row["name"]): row["value"] for row in rows} if rows else {"parameters": ""}


def scorm_default(site: FakeSite, scorm: Row, sco: Row, user: Row,
                  attempt: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``get_scorm_default`` of the package's data model (``scorm_12lib.php``, ``scorm_13lib.php``) in
    mode ``normal``: the user's data it fills and the defaults it answers."""
    standard = str(site.config.get("scorm_scormstandard", 0)) not in ("", "0")
    name = f"{user['lastname']}, {user['firstname']}" if standard else fullname(user)
    userdata: dict[str, Any] = {"student_id": user["username"], "student_name": name}
    tracks = get_tracks(site, sco["id"], str(user["id"]), attempt)  # $USER->id: a string
    v2004 = is_2004(scorm)
    if tracks and (not v2004 or tracks.get("cmi.exit") == "suspend"):  # 2004 resumes a suspended one only
        userdata.update(tracks)
    else:
        userdata.update(status="", score_raw="")
    userdata.update(_sco_data(site, sco))
    exit_ = userdata.get("cmi.exit")
    if v2004:
        userdata["entry"] = "ab-initio" if exit_ in (None, "time-out", "normal") else \
            "resume" if exit_ in ("suspend", "logout") else ""
    else:
        userdata["entry"] = "ab-initio" if userdata["status"] == "" else \
            "resume" if userdata.get("cmi.core.exit") == "suspend" else ""
    userdata.update(mode="normal", credit="credit")

    def value(key: str, empty: Any = "") -> Any:  # scorm_isset
        found = userdata.get(key)
        return empty if found is None else found

    if v2004:
        defaults = {
            "cmi.learner_id": userdata["student_id"], "cmi.learner_name": name, "cmi.mode": "normal",
            "cmi.entry": userdata["entry"], "cmi.exit": value("cmi.exit"), "cmi.credit": value("credit"),
            "cmi.completion_status": value("cmi.completion_status", "unknown"),
            "cmi.completion_threshold": value("threshold"),
            "cmi.learner_preference.audio_level": value("cmi.learner_preference.audio_level", 1),
            "cmi.learner_preference.language": value("cmi.learner_preference.language"),
            "cmi.learner_preference.delivery_speed": value("cmi.learner_preference.delivery_speed"),
            "cmi.learner_preference.audio_captioning": value("cmi.learner_preference.audio_captioning", 0),
            "cmi.location": value("cmi.location"),
            "cmi.max_time_allowed": value("attemptAbsoluteDurationLimit"),
            "cmi.progress_measure": value("cmi.progress_measure"),
            "cmi.scaled_passing_score": value("cmi.scaled_passing_score"),
            "cmi.score.scaled": value("cmi.score.scaled"), "cmi.score.raw": value("cmi.score.raw"),
            "cmi.score.min": value("cmi.score.min"), "cmi.score.max": value("cmi.score.max"),
            "cmi.success_status": value("cmi.success_status", "unknown"),
            "cmi.suspend_data": value("cmi.suspend_data"), "cmi.time_limit_action": value("timelimitaction"),
            "cmi.total_time": value("cmi.total_time", "PT0H0M0S"), "cmi.launch_data": value("datafromlms")}
        return userdata, defaults
    defaults = {
        "cmi.core.student_id": userdata["student_id"], "cmi.core.student_name": name,
        "cmi.core.credit": "credit", "cmi.core.entry": userdata["entry"], "cmi.core.lesson_mode": "normal",
        "cmi.launch_data": value("datafromlms"), "cmi.student_data.mastery_score": value("masteryscore"),
        "cmi.student_data.max_time_allowed": value("maxtimeallowed"),
        "cmi.student_data.time_limit_action": value("timelimitaction"),
        "cmi.core.total_time": value("cmi.core.total_time", "00:00:00")}
    for element in ("cmi.core.lesson_location", "cmi.core.lesson_status", "cmi.core.score.raw",
                    "cmi.core.score.max", "cmi.core.score.min", "cmi.core.exit", "cmi.suspend_data",
                    "cmi.comments", "cmi.student_preference.language"):
        defaults[element] = value(element)
    for element in ("cmi.student_preference.audio", "cmi.student_preference.speed",
                    "cmi.student_preference.text"):
        defaults[element] = value(element, "0")
    return userdata, defaults


@function("mod_scorm_insert_scorm_tracks", items="tracks")
def insert_scorm_tracks(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    sco = get_sco(site, int(params["scoid"]))
    scorm, _cm, ctx = _scorm_of_sco(site, call.userid, sco)
    if not has_capability_in(site, call.userid, "mod/scorm:savetrack", ctx):
        raise no_permissions("mod/scorm:savetrack")
    require_available(site, scorm, call.userid)
    trackids = [insert_track(site, call.userid, scorm, sco["id"], int(params["attempt"]),
                             str(track["element"]), str(track["value"])) for track in params["tracks"]]
    return {"trackids": trackids, "warnings": []}


# ---------------------------------------------------------------------------------------------------
# The player: what Moodle's JavaScript adds up when a session finishes.
# ---------------------------------------------------------------------------------------------------


def add_time_12(first: str, second: str) -> str:
    """``AddTime`` of ``scorm_12.js``: two ``HHHH:MM:SS.SS`` times added, as the player writes them."""
    def split(value: str) -> tuple[int, int, int, int]:
        hours, minutes, rest = value.split(":")
        seconds, _, cents = rest.partition(".")
        return int(hours), int(minutes), int(seconds), int(cents or 0)
    h1, m1, s1, c1 = split(first)
    h2, m2, s2, c2 = split(second)
    cents = c1 + c2
    change, cents = divmod(cents, 100)
    secs = s1 + s2 + change
    change, secs = divmod(secs, 60)
    mins = m1 + m2 + change
    change, mins = divmod(mins, 60)
    hours = h1 + h2 + change
    text = f"{hours:02d}:{mins:02d}:{secs:02d}"
    return f"{text}.{cents:02d}" if cents else text


def time_12(seconds: float) -> str:
    """A session length as a SCORM 1.2 package reports it (``HH:MM:SS.SS``)."""
    cents = round(seconds * 100)
    hours, rest = divmod(cents, 360000)
    minutes, rest = divmod(rest, 6000)
    secs, cents = divmod(rest, 100)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{text}.{cents:02d}" if cents else text


def time_2004(seconds: float) -> str:
    """A length as ``AddTime`` of ``scorm_13.js`` writes it (``PT1H5M3.5S``, days past 24 hours)."""
    cents = round(seconds * 100)
    days, rest = divmod(cents, 8640000)
    hours, rest = divmod(rest, 360000)
    minutes, rest = divmod(rest, 6000)
    secs = rest / 100
    text = "P" + (f"{days}D" if days else "")
    if hours or minutes or secs:
        text += "T" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
        if secs:
            text += f"{secs:g}S"
    return text if text != "P" else "PT0H0M0S"


def seconds_of(value: str) -> float:
    """A time the player wrote, back in seconds (both versions)."""
    if value.startswith("P"):
        match = _PLAYER_2004.match(value)
        if match is None:
            return 0.0
        days, hours, minutes, secs = (float(part or 0) for part in match.groups())
        return days * 86400 + hours * 3600 + minutes * 60 + secs
    hours_, minutes_, rest = value.split(":")
    return int(hours_) * 3600 + int(minutes_) * 60 + float(rest)


@site_action("create_scorm")
def create_scorm(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A teacher adds a SCORM package to a course: ``version`` (``SCORM_1.2``, ``SCORM_1.3``, stored as
    Moodle's parser spells them; ``SCORM_12``, ``SCORM_13`` are taken too), its SCOs
    (``scoes``: titles, or ``{"identifier", "title", "launch"}`` as its manifest names them; default one),
    the manifest's and organisation's identifiers (``manifest``, ``organization``), ``maxattempt``,
    ``timeopen``/``timeclose``, the file's ``reference`` and ``packagesize``, its ``section`` and
    ``completion``."""
    courseid = int(args["courseid"])
    if site.db["course"].get(courseid) is None:
        raise ValueError(f"no course {courseid}")
    given = str(args.get("version") or SCORM_12)
    version = _SPELLINGS.get(given.lower())
    if version is None:
        raise ValueError(f"version is SCORM_1.2 or SCORM_1.3 (SCORM_12, SCORM_13), not {given!r}")
    known = ("maxattempt", "timeopen", "timeclose", "grademethod", "whatgrade", "forcecompleted",
             "forcenewattempt", "lastattemptlock", "reference")
    settings: dict[str, Any] = {key: args[key] for key in known if key in args}
    # scorm_add_instance leaves timemodified out (0), and saves completionstatusallscos 0 when unset
    fields: dict[str, Any] = {**{k: v for k, v in _SCORM_DEFAULTS.items() if v is not None}, **settings,
                              "version": version, "packagesize": int(args.get("packagesize", 20480)),
                              "timemodified": 0}
    cm, scorm = new_module(site, courseid, "scorm", str(args["name"]), section=int(args.get("section", 0)),
                           completion=int(args.get("completion", 0)), **fields)
    scoids = _parse_package(site, scorm, args)
    return {"cmid": cm["id"], "instance": scorm["id"], "name": scorm["name"], "modname": "scorm",
            "version": version, "scoids": scoids}


def _parse_package(site: FakeSite, scorm: Row, args: dict[str, Any]) -> list[int]:
    """``scorm_parse_scorm``: the organisation first, then its items, numbered in the manifest's order; an
    item whose identifier the package held before keeps its SCO (and the learners' tracks), an item
    gone is removed. The package's file hash is what it holds."""
    manifest = str(args.get("manifest") or f"MANIFEST-{scorm['id']}")
    organization = str(args.get("organization") or f"ORG-{scorm['id']}")
    table = site.db["scorm_scoes"]
    before = {str(row["identifier"]): row for row in table.select(scorm=scorm["id"])}
    items = [given if isinstance(given, dict) else {"title": given}
             for given in args.get("scoes") or [str(args["name"])]]
    wanted = [{"manifest": manifest, "organization": "", "parent": "/", "identifier": organization,
               "launch": "", "scormtype": "", "title": str(args["name"])}]
    for number, item in enumerate(items, start=1):
        wanted.append({"manifest": manifest, "organization": organization, "parent": organization,
                       "identifier": str(item.get("identifier") or f"SCO-{number}"),
                       "launch": str(item.get("launch") or f"sco{number}/index.html"), "scormtype": "sco",
                       "title": str(item["title"])})
    scoids = []
    for sortorder, values in enumerate(wanted, start=1):
        row = before.pop(values["identifier"], None)
        if row is not None:
            table.update(row, **values, sortorder=sortorder)
        else:
            row = table.insert({"scorm": scorm["id"], **values, "sortorder": sortorder})
            if values["scormtype"] == "sco":
                site.db["scorm_scoes_data"].insert({"scoid": row["id"], "name": "isvisible", "value": "true"})
                site.db["scorm_scoes_data"].insert({"scoid": row["id"], "name": "parameters", "value": ""})
        if values["scormtype"] == "sco":
            scoids.append(row["id"])
    for gone in before.values():
        for data in site.db["scorm_scoes_data"].select(scoid=gone["id"]):
            site.db["scorm_scoes_data"].delete(data)
        table.delete(gone)
    digest = hashlib.sha1(json.dumps([setting(scorm, "version"), wanted], ensure_ascii=False).encode())
    site.db["scorm"].update(scorm, launch=scoids[0], sha1hash=digest.hexdigest())
    return scoids


@site_action("replace_scorm_package")
def replace_scorm_package(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A teacher uploads a new file for the package of course module ``cmid`` (its ``scoes`` as
    ``create_scorm`` takes them): Moodle parses it again and counts a new revision."""
    cm = site.db["course_modules"].get(int(args["cmid"]))
    if cm is None or cm.get("modname") != "scorm":
        raise ValueError(f"no SCORM package with course module {args['cmid']}")
    scorm = must_exist(site, "scorm", cm["instance"])
    scoids = _parse_package(site, scorm, {"name": scorm["name"], **args})
    site.db["scorm"].update(scorm, revision=int(scorm.get("revision") or 0) + 1)
    return {"cmid": cm["id"], "instance": scorm["id"], "scoids": scoids}


@site_action("upload_scorm")
def upload_scorm(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin or teacher uploads a SCORM package through the activity form of a course holding none
    (what ``create_scorm`` takes, as Moodle read it from the package); a course that holds one already
    is left as it is. Answers the course's package as ``create_scorm`` does."""
    courseid = int(args["courseid"])
    held = sorted((cm for cm in site.db["course_modules"].select(course=courseid, modname="scorm")
                   if not cm.get("deletioninprogress")), key=lambda cm: int(cm["id"]))
    if not held:
        return dict(create_scorm(site, args))
    cm = held[0]
    scorm = must_exist(site, "scorm", cm["instance"])
    return {"cmid": cm["id"], "instance": scorm["id"], "name": scorm["name"], "modname": "scorm",
            "version": setting(scorm, "version"),
            "scoids": [sco["id"] for sco in scoes(site, scorm["id"]) if sco.get("launch")]}


@site_action("scorm_session")
def scorm_session(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A learner studies one SCO in Moodle's player for ``seconds``: the course is opened (its last
    access moves), the package reports its status and session time, and, when the session is finished
    (``finish``, the default), the player adds the session to the SCO's total time of the attempt.
    ``attempt`` defaults to the learner's last one (a ``new_attempt`` starts the next); ``status`` is
    the lesson (1.2) or completion (2004) status reported."""
    userid = int(args["userid"])
    cm = site.db["course_modules"].get(int(args["cmid"]))
    if cm is None or cm.get("modname") != "scorm":
        raise ValueError(f"no SCORM package with course module {args['cmid']}")
    scorm = site.db["scorm"].get(cm["instance"])
    assert scorm is not None
    courseid = int(cm["course"])
    if not is_active_enrolled(site, userid, courseid) or not has_capability_in(
            site, userid, "mod/scorm:savetrack", module_context(site, cm["id"])):
        raise ValueError(f"user {userid} cannot study SCORM {scorm['id']}")
    try:
        require_available(site, scorm, userid)
    except WSError as exc:
        raise ValueError(f"SCORM {scorm['id']} is closed: {exc.message}") from None
    launchable = [sco for sco in scoes(site, scorm["id"]) if sco.get("launch")]
    sco = next((s for s in launchable if int(s["id"]) == int(args["scoid"])), None) if args.get("scoid") \
        else launchable[0]
    if sco is None:
        raise ValueError(f"no SCO {args.get('scoid')} in SCORM {scorm['id']}")
    attempt = int(args.get("attempt") or 0) or last_attempt(site, scorm["id"], userid)
    if args.get("new_attempt") and attempts_of(site, scorm["id"], userid):
        attempt = last_attempt(site, scorm["id"], userid) + 1
    maximum = int(setting(scorm, "maxattempt") or 0)
    if maximum and attempt > maximum:
        raise ValueError(f"user {userid} has no attempt left in SCORM {scorm['id']}")
    log_course_access(site, userid, courseid)
    seconds = float(args.get("seconds", 0))
    v2004 = is_2004(scorm)
    before = get_tracks(site, sco["id"], userid, attempt) or {}
    tracks: dict[str, str] = {}
    if v2004:
        tracks["cmi.completion_status"] = str(args.get("status") or "incomplete")
        tracks["cmi.session_time"] = time_2004(seconds)
        if args.get("finish", True):
            total = seconds_of(str(before.get("cmi.total_time") or "PT0H0M0S")) + seconds
            tracks["cmi.total_time"] = time_2004(total)
    else:
        tracks["cmi.core.lesson_status"] = str(args.get("status") or "incomplete")
        tracks["cmi.core.session_time"] = time_12(seconds)
        if args.get("finish", True):
            tracks["cmi.core.total_time"] = add_time_12(str(before.get("cmi.core.total_time") or "00:00:00"),
                                                        time_12(seconds))
    if args.get("score") is not None:
        tracks["cmi.score.raw" if v2004 else "cmi.core.score.raw"] = str(args["score"])
    for element, value in tracks.items():
        insert_track(site, userid, scorm, int(sco["id"]), attempt, element, value)
    return {"scormid": scorm["id"], "scoid": sco["id"], "attempt": attempt, "tracks": tracks}
