"""mod_assign: assignments, submissions, grades; the ``assign_submit`` and ``assign_grade`` site actions.

Tables (shared with the grade reports and harvests, keep their fields):
``assign`` (instances; settings read with defaults), ``assign_submission`` (assignment, userid, status
'new'|'draft'|'submitted', onlinetext, onlineformat, timecreated, timemodified, timestarted,
attemptnumber, latest, groupid), ``assign_grades`` (assignment, userid, grade float, -1 meaning "no
grade" as in Moodle, grader, attemptnumber, timecreated, timemodified), ``assignfeedback_comments``
(assignment, grade, commenttext, commentformat), ``assign_user_mapping`` (assignment, userid).
"""

from __future__ import annotations

from typing import Any

from .. import records
from ..db import Row
from ..records import fullname, profile_image_urls
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..wserror import WSError, missing_record, no_permissions
from .mod_forum import (
    CAPABILITY_NAMES,
    count_words,
    course_has_capability,
    course_module,
    course_roleids,
    enrolled_course_ids,
    format_string,
    int_param,
    is_active_enrolled,
    set_activity_complete,
    validate_course_context,
    validate_module_context,
)

_ASSIGN_DEFAULTS: dict[str, Any] = {
    "nosubmissions": 0, "submissiondrafts": 0, "sendnotifications": 0, "sendlatenotifications": 0,
    "sendstudentnotifications": 1, "duedate": 0, "allowsubmissionsfromdate": 0, "grade": 100,
    "gradepenalty": 0, "completionsubmit": 0, "cutoffdate": 0, "gradingduedate": 0,
    "teamsubmission": 0, "requireallteammemberssubmit": 0, "teamsubmissiongroupingid": 0,
    "blindmarking": 0, "hidegrader": 0, "revealidentities": 0, "attemptreopenmethod": "untilpass",
    "maxattempts": 1, "markingworkflow": 0, "markingallocation": 0, "markinganonymous": 0,
    "requiresubmissionstatement": 0, "preventsubmissionnotingroup": 0, "timelimit": 0,
    "submissionattachments": 0, "intro": "", "introformat": 1, "alwaysshowdescription": 1,
    "onlinetext_enabled": 1, "onlinetext_wordlimit": 0, "onlinetext_wordlimitenabled": 0,
    "comments_enabled": 1,
}
_NOT_ENROLLED = "User is not enrolled or does not have requested capability"
_NO_MODULE_ACCESS = "No access rights in module context"


def setting(assign: Row, name: str) -> Any:
    value = assign.get(name)
    return _ASSIGN_DEFAULTS.get(name) if value is None else value


def _grade_text(value: Any) -> str:
    return "" if value is None else f"{float(value):.5f}"


def _assign_and_cm(site: FakeSite, assignid: int) -> tuple[Row, Row]:
    """``validate_assign``'s lookups: the instance (or Moodle's missing-record error) and its module."""
    assign = site.db["assign"].get(assignid)
    if assign is None:
        raise missing_record("assign", assignid)
    cm = course_module(site, "assign", assign["id"])
    if cm is None:
        raise missing_record("course_modules", assignid, field="instance")
    return assign, cm


def _validate_assign(site: FakeSite, userid: int, assignid: int) -> tuple[Row, Row, Row]:
    assign, cm = _assign_and_cm(site, assignid)
    course = validate_module_context(site, userid, cm)
    return assign, cm, course


def _can_view_grades(site: FakeSite, userid: int, courseid: int) -> bool:
    return (course_has_capability(site, userid, courseid, "mod/assign:view")
            and (course_has_capability(site, userid, courseid, "mod/assign:viewgrades")
                 or course_has_capability(site, userid, courseid, "mod/assign:grade")))


def _require_view_grades(site: FakeSite, userid: int, courseid: int) -> None:
    if not _can_view_grades(site, userid, courseid):
        raise no_permissions("mod/assign:viewgrades", CAPABILITY_NAMES["mod/assign:viewgrades"])


def _latest_submission(site: FakeSite, assignid: int, userid: int) -> Row | None:
    rows = site.db["assign_submission"].select(userid=userid, assignment=assignid)
    if not rows:
        return None
    latest = [row for row in rows if row.get("latest", 1)]
    return max(latest or rows, key=lambda row: (int(row.get("attemptnumber", 0)), row["id"]))


def user_submission(site: FakeSite, assign: Row, userid: int, *, create: bool) -> Row | None:
    """``assign::get_user_submission``: the latest attempt, created as 'new' when asked."""
    row = _latest_submission(site, assign["id"], userid)
    if row is None and create:
        now = site.now()
        row = site.db["assign_submission"].insert({
            "assignment": assign["id"], "userid": userid, "status": "new", "onlinetext": "",
            "onlineformat": 1, "timecreated": now, "timemodified": now, "timestarted": None,
            "attemptnumber": 0, "latest": 1, "groupid": 0})
    return row


def user_grade(site: FakeSite, assign: Row, userid: int, attemptnumber: int, *,
               create: bool) -> Row | None:
    """``assign::get_user_grade``: creating it makes the submission too and starts at grade -1."""
    submission = user_submission(site, assign, userid, create=create)
    if attemptnumber < 0:
        attemptnumber = int(submission.get("attemptnumber", 0)) if submission else 0
    rows = site.db["assign_grades"].select(userid=userid, assignment=assign["id"])
    for row in sorted(rows, key=lambda r: r["id"], reverse=True):
        if int(row.get("attemptnumber", 0)) == attemptnumber:
            return row
    if not create:
        return None
    now = site.now()
    return site.db["assign_grades"].insert({
        "assignment": assign["id"], "userid": userid, "grade": -1.0, "grader": 0,
        "attemptnumber": attemptnumber, "timecreated": now,
        "timemodified": int(submission["timemodified"]) if submission else now})


def _has_grade(grade: Row | None) -> bool:
    return grade is not None and grade.get("grade") is not None and float(grade["grade"]) >= 0


def _grading_status(site: FakeSite, assign: Row, userid: int) -> str:
    if setting(assign, "markingworkflow"):
        flags = site.db["assign_user_flags"].first(assignment=assign["id"], userid=userid)
        return str((flags or {}).get("workflowstate") or "notmarked")
    return "graded" if _has_grade(user_grade(site, assign, userid, -1, create=False)) else "notgraded"


def _comment(site: FakeSite, grade: Row | None) -> Row | None:
    if grade is None:
        return None
    return site.db["assignfeedback_comments"].first(grade=grade["id"])


def _submission_plugins(assign: Row, submission: Row) -> list[dict[str, Any]]:
    plugins: list[dict[str, Any]] = []
    if plugin_enabled(assign, "onlinetext"):
        text = str(submission.get("onlinetext") or "")
        plugins.append({
            "type": "onlinetext", "name": "Online text",
            "fileareas": [{"area": "submissions_onlinetext", "files": []}],
            "editorfields": [{"name": "onlinetext", "description": "Online text submissions",
                              "text": text, "format": int(submission.get("onlineformat", 1)) if text else 0}],
        })
    if plugin_enabled(assign, "file"):
        plugins.append({"type": "file", "name": "File submissions",
                        "fileareas": [{"area": "submission_files", "files": []}]})
    if plugin_enabled(assign, "comments"):
        plugins.append({"type": "comments", "name": "Submission comments"})
    return plugins


def _feedback_plugins(site: FakeSite, grade: Row) -> list[dict[str, Any]]:
    comment = _comment(site, grade)
    return [{
        "type": "comments", "name": "Feedback comments",
        "fileareas": [{"area": "feedback", "files": []}],
        "editorfields": [{"name": "comments", "description": "Feedback comments",
                          "text": str((comment or {}).get("commenttext") or ""),
                          "format": int((comment or {}).get("commentformat") or 0) if comment else 0}],
    }]


def _config(assign: Row, plugin: str, subtype: str, name: str) -> str | None:
    """A plugin setting from the instance's ``configs`` rows (as ``create_activities`` stores them)."""
    for row in assign.get("configs") or []:
        if (row.get("plugin"), row.get("subtype"), row.get("name")) == (plugin, subtype, name):
            return str(row.get("value"))
    return None


def plugin_enabled(assign: Row, plugin: str, subtype: str = "assignsubmission") -> bool:
    if plugin == "comments" and subtype == "assignsubmission":
        return bool(setting(assign, "comments_enabled"))  # on while the site allows comments
    value = _config(assign, plugin, subtype, "enabled")
    if value is not None:
        return value == "1"
    if plugin == "onlinetext":
        return bool(setting(assign, "onlinetext_enabled"))
    return plugin == "comments"


def word_limit(assign: Row) -> int:
    enabled = _config(assign, "onlinetext", "assignsubmission", "wordlimitenabled")
    limit = _config(assign, "onlinetext", "assignsubmission", "wordlimit")
    if enabled is None:
        enabled = str(setting(assign, "onlinetext_wordlimitenabled"))
    if limit is None:
        limit = str(setting(assign, "onlinetext_wordlimit"))
    return int(limit or 0) if enabled == "1" else 0


def _configs(assign: Row) -> list[dict[str, Any]]:
    """The settings of the enabled submission plugins, as the recording site listed them."""
    stored = [dict(row) for row in assign.get("configs") or []
              if row.get("subtype") == "assignsubmission"
              and plugin_enabled(assign, str(row.get("plugin")))]
    if stored:
        return stored
    configs = []
    if plugin_enabled(assign, "onlinetext"):
        configs += [
            {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "enabled", "value": "1"},
            {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "wordlimit",
             "value": str(setting(assign, "onlinetext_wordlimit"))},
            {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "wordlimitenabled",
             "value": str(setting(assign, "onlinetext_wordlimitenabled"))},
        ]
    if plugin_enabled(assign, "comments"):
        configs.append({"plugin": "comments", "subtype": "assignsubmission", "name": "enabled",
                        "value": "0"})
    return configs


def participants(site: FakeSite, assign: Row, courseid: int) -> list[Row]:
    """Active enrolled users who may submit (``list_participants``), by last name, first name, id."""
    users = []
    for userid in records.enrolled_userids(site, courseid):
        if course_has_capability(site, userid, courseid, "mod/assign:submit"):
            user = site.db["user"].get(userid)
            if user is not None and not user.get("deleted"):
                users.append(user)
    users.sort(key=lambda u: (str(u.get("lastname", "")), str(u.get("firstname", "")), u["id"]))
    return users


# ---------------------------------------------------------------------------------------------------
# Web-service functions.
# ---------------------------------------------------------------------------------------------------


def _assignment_details(site: FakeSite, assign: Row, cm: Row) -> dict[str, Any]:
    details = {key: setting(assign, key) for key in (
        "nosubmissions", "submissiondrafts", "sendnotifications", "sendlatenotifications",
        "sendstudentnotifications", "duedate", "allowsubmissionsfromdate", "grade", "gradepenalty",
        "completionsubmit", "cutoffdate", "gradingduedate", "teamsubmission",
        "requireallteammemberssubmit", "teamsubmissiongroupingid", "blindmarking", "hidegrader",
        "revealidentities", "attemptreopenmethod", "maxattempts", "markingworkflow",
        "markingallocation", "markinganonymous", "requiresubmissionstatement",
        "preventsubmissionnotingroup", "timelimit", "submissionattachments")}
    details.update({"id": assign["id"], "cmid": cm["id"], "course": assign["course"],
                    "name": format_string(assign.get("name")),
                    "timemodified": assign.get("timemodified", 0),
                    "configs": _configs(assign)})
    opens = int(setting(assign, "allowsubmissionsfromdate") or 0)
    if setting(assign, "alwaysshowdescription") or opens <= site.now():
        details.update({"intro": setting(assign, "intro"), "introformat": setting(assign, "introformat"),
                        "introfiles": [], "introattachments": []})
    return details


@function("mod_assign_get_assignments", items="courseids")
def get_assignments(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    warnings: list[dict[str, Any]] = []
    requested = [int(c) for c in params.get("courseids") or []]
    mine = enrolled_course_ids(site, call.userid)
    if not requested:
        courseids = mine
    elif params.get("includenotenrolledcourses"):
        courseids = list(dict.fromkeys(requested))
    else:
        courseids = []
        for courseid in requested:
            if courseid in mine:
                courseids.append(courseid)
            else:
                warnings.append({"item": "course", "itemid": courseid, "warningcode": "2",
                                 "message": _NOT_ENROLLED})
    capabilities = [str(c) for c in params.get("capabilities") or []]
    courses = []
    for courseid in courseids:
        course = site.db["course"].get(courseid)
        try:
            if course is None:
                raise missing_record("context", courseid, field="instanceid")
            validate_course_context(site, call.userid, course)
        except WSError as exc:
            warnings.append({"item": "course", "itemid": courseid, "warningcode": "1",
                             "message": f"No access rights in course context {exc.message}"})
            continue
        if capabilities and not all(course_has_capability(site, call.userid, courseid, cap)
                                    for cap in capabilities):
            continue
        courses.append(course)
    result = []
    for course in courses:
        assignments = []
        for cm in site.db["course_modules"].select(course=course["id"], modname="assign"):
            assign = site.db["assign"].get(cm["instance"])
            if assign is None:
                continue
            try:
                validate_module_context(site, call.userid, cm)
                if not course_has_capability(site, call.userid, course["id"], "mod/assign:view"):
                    raise no_permissions("mod/assign:view", "View assignment")
            except WSError:
                warnings.append({"item": "module", "itemid": cm["id"], "warningcode": "1",
                                 "message": _NO_MODULE_ACCESS})
                continue
            assignments.append(_assignment_details(site, assign, cm))
        result.append({"id": course["id"], "fullname": format_string(course.get("fullname")),
                       "shortname": format_string(course.get("shortname")),
                       "timemodified": course.get("timemodified", 0), "assignments": assignments})
    return {"courses": result, "warnings": warnings}


def _checked_assignments(site: FakeSite, userid: int, assignmentids: list[int], *,
                         capability: str | None = None) -> tuple[list[Row], list[dict[str, Any]]]:
    """The requested assignments with a module, each checked like ``require_view_grades``."""
    allowed: list[Row] = []
    warnings: list[dict[str, Any]] = []
    cms = []
    for assignid in dict.fromkeys(assignmentids):
        cm = course_module(site, "assign", assignid)
        if cm is not None and site.db["assign"].get(assignid) is not None:
            cms.append(cm)
    for cm in sorted(cms, key=lambda row: row["id"]):
        assign = site.db["assign"].get(cm["instance"])
        assert assign is not None
        try:
            course = validate_module_context(site, userid, cm)
            if capability is None:
                _require_view_grades(site, userid, course["id"])
            elif not course_has_capability(site, userid, course["id"], capability):
                raise no_permissions(capability, capability)
        except WSError:
            warnings.append({"item": "assignment", "itemid": assign["id"], "warningcode": "1",
                             "message": _NO_MODULE_ACCESS})
            continue
        allowed.append(assign)
    return allowed, warnings


@function("mod_assign_get_submissions", items="assignmentids")
def get_submissions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    assigns, warnings = _checked_assignments(site, call.userid,
                                             [int(a) for a in params["assignmentids"]])
    status = str(params.get("status") or "")
    since = int(params.get("since") or 0)
    before = int(params.get("before") or 0)
    assignments = []
    for assign in assigns:
        rows = site.db["assign_submission"].select(assignment=assign["id"])
        latest: dict[tuple[int, int], int] = {}
        for row in rows:
            key = (int(row["userid"]), int(row.get("groupid", 0)))
            latest[key] = max(latest.get(key, -1), int(row.get("attemptnumber", 0)))
        chosen = []
        for row in rows:
            if int(row.get("attemptnumber", 0)) != latest[(int(row["userid"]), int(row.get("groupid", 0)))]:
                continue
            if status and row.get("status") != status:
                continue
            modified = int(row.get("timemodified", 0))
            if modified < since or (before and modified > before):
                continue
            chosen.append(row)
        if not chosen:
            warnings.append({"item": "module", "itemid": assign["id"], "warningcode": "3",
                             "message": "No submissions found"})
        submissions = [{
            "id": row["id"], "userid": row["userid"], "timecreated": row.get("timecreated", 0),
            "timemodified": row.get("timemodified", 0), "timestarted": row.get("timestarted"),
            "status": row.get("status", "new"), "attemptnumber": row.get("attemptnumber", 0),
            "groupid": row.get("groupid", 0), "plugins": _submission_plugins(assign, row),
            "gradingstatus": _grading_status(site, assign, int(row["userid"])),
        } for row in chosen]
        assignments.append({"assignmentid": assign["id"], "submissions": submissions})
    return {"assignments": assignments, "warnings": warnings}


@function("mod_assign_get_grades", items="assignmentids")
def get_grades(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    requested = list(dict.fromkeys(int(a) for a in params["assignmentids"]))
    _allowed, warnings = _checked_assignments(site, call.userid, requested)
    denied = {int(w["itemid"]) for w in warnings}
    remaining = [a for a in requested if a not in denied]
    since = int(params.get("since") or 0)
    assignments = []
    for assignid in sorted(remaining):
        latest = {int(s["userid"]): int(s.get("attemptnumber", 0))
                  for s in site.db["assign_submission"].select(assignment=assignid)
                  if s.get("latest", 1)}
        grades = [row for row in site.db["assign_grades"].select(assignment=assignid)
                  if latest.get(int(row["userid"])) == int(row.get("attemptnumber", 0))
                  and int(row.get("timemodified", 0)) >= since]
        if not grades:
            continue
        remaining.remove(assignid)
        assignments.append({"assignmentid": assignid, "grades": [{
            "id": row["id"], "userid": row["userid"], "timecreated": row.get("timecreated", 0),
            "timemodified": row.get("timemodified", 0), "grader": row.get("grader", 0),
            "attemptnumber": row.get("attemptnumber", 0), "grade": _grade_text(row.get("grade")),
        } for row in sorted(grades, key=lambda r: r["id"])]})
    for assignid in remaining:
        warnings.append({"item": "assignment", "itemid": assignid, "warningcode": "3",
                         "message": "No grades found"})
    return {"assignments": assignments, "warnings": warnings}


def _dml_write_comment(comment: Row) -> WSError:
    cid, assignid, gradeid = comment["id"], comment["assignment"], comment["grade"]
    return WSError(
        "dml_write_exception", "dmlwriteexception", "Error writing to database",
        'ERROR:  null value in column "commentformat" of relation "mdl_assignfeedback_comments" '
        "violates not-null constraint\n"
        f"DETAIL:  Failing row contains ({cid}, {assignid}, {gradeid}, null, null).\n"
        "UPDATE mdl_assignfeedback_comments SET assignment = $1,grade = $2,commenttext = $3,"
        "commentformat = $4 WHERE id=$5\n"
        f"[array (\n  'assignment' => '{assignid}',\n  'grade' => '{gradeid}',\n"
        f"  'commenttext' => NULL,\n  'commentformat' => NULL,\n  0 => '{cid}',\n)]")


def apply_grade(site: FakeSite, assign: Row, graderid: int, userid: int, grade: float | None,
                attemptnumber: int, editor: dict[str, Any] | None) -> bool:
    """``assign::apply_grade_to_user``: feedback plugins first, then the grade (refused above the maximum).

    Returns whether the grade row was updated. A comment already on the grade and no comment editor in
    the request makes the comments plugin write NULLs: Moodle's ``dml_write_exception``.
    """
    row = user_grade(site, assign, userid, attemptnumber, create=True)
    assert row is not None
    original = row.get("grade")
    comment = _comment(site, row)
    stored = str((comment or {}).get("commenttext") or "")
    given = None if editor is None else str(editor.get("text") or "")
    modified = stored != (given or "")
    if modified:
        if comment is not None and editor is None:
            raise _dml_write_comment(comment)
        fmt = int(editor.get("format") or 1) if editor else 1
        if comment is None:
            site.db["assignfeedback_comments"].insert({
                "assignment": assign["id"], "grade": row["id"], "commenttext": given,
                "commentformat": fmt})
        else:
            site.db["assignfeedback_comments"].update(comment, commenttext=given, commentformat=fmt)
    new = original if grade is None else float(grade)
    graded = (original is not None and float(original) != -1) or (new is not None and float(new) != -1)
    if not (graded or modified):
        return False
    maximum = float(setting(assign, "grade"))
    if new and float(new) != -1 and maximum > 0 and (float(new) > maximum or float(new) < 0):
        return False
    site.db["assign_grades"].update(row, grade=new, grader=graderid, timemodified=site.now())
    return True


@function("mod_assign_save_grade")
def save_grade(call: Call, params: dict[str, Any]) -> None:
    site = call.site
    assign, _cm, course = _validate_assign(site, call.userid, int(params["assignmentid"]))
    if not course_has_capability(site, call.userid, course["id"], "mod/assign:grade"):
        raise no_permissions("mod/assign:grade", CAPABILITY_NAMES["mod/assign:grade"])
    plugindata = params.get("plugindata") or {}
    editor = plugindata.get("assignfeedbackcomments_editor") if isinstance(plugindata, dict) else None
    apply_grade(site, assign, call.userid, int(params["userid"]), params.get("grade"),
                int_param(params, "attemptnumber", -1),
                editor)
    return None


def _submission_export(row: Row, assign: Row) -> dict[str, Any]:
    return {"id": row["id"], "userid": row["userid"], "attemptnumber": row.get("attemptnumber", 0),
            "timecreated": row.get("timecreated", 0), "timemodified": row.get("timemodified", 0),
            "timestarted": row.get("timestarted"), "status": row.get("status", "new"),
            "groupid": row.get("groupid", 0), "assignment": assign["id"],
            "latest": row.get("latest", 1), "plugins": _submission_plugins(assign, row)}


def _submissions_open(site: FakeSite, assign: Row, submission: Row | None) -> bool:
    now = site.now()
    cutoff = int(setting(assign, "cutoffdate") or 0)
    opens = int(setting(assign, "allowsubmissionsfromdate") or 0)
    if (cutoff and now > cutoff) or (opens and now < opens):
        return False
    return not (submission is not None and setting(assign, "submissiondrafts")
                and submission.get("status") == "submitted")


def _display_grade(assign: Row, grade: Row | None) -> str:
    if not _has_grade(grade):
        return "-"
    assert grade is not None
    return f"{float(grade['grade']):.2f}&nbsp;/&nbsp;{float(setting(assign, 'grade')):.2f}"


@function("mod_assign_get_submission_status")
def get_submission_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    assign, _cm, course = _validate_assign(site, call.userid, int(params["assignid"]))
    courseid = course["id"]
    userid = int(params.get("userid") or 0) or call.userid
    user = site.db["user"].get(userid)
    if user is None or user.get("deleted"):
        raise missing_record("user", userid)
    if userid != call.userid and not _can_view_grades(site, call.userid, courseid):
        raise no_permissions("mod/assign:viewgrades", CAPABILITY_NAMES["mod/assign:viewgrades"])
    result: dict[str, Any] = {}
    if _can_view_grades(site, call.userid, courseid):
        people = participants(site, assign, courseid)
        subs = [user_submission(site, assign, u["id"], create=False) for u in people]
        submitted = [s for s in subs if s is not None and s.get("status") == "submitted"]
        result["gradingsummary"] = {
            "participantcount": len(people),
            "submissiondraftscount": sum(1 for s in subs if s is not None and s.get("status") == "draft"),
            "submissionsenabled": plugin_enabled(assign, "onlinetext") or plugin_enabled(assign, "file"),
            "submissionssubmittedcount": len(submitted),
            "submissionsneedgradingcount": sum(1 for s in submitted if _needs_grading(site, assign, s)),
            "warnofungroupedusers": "",
        }
    submission = user_submission(site, assign, userid, create=False)
    grade = user_grade(site, assign, userid, -1, create=False)
    if course_has_capability(site, userid, courseid, "mod/assign:viewownsubmissionsummary"):
        lastattempt: dict[str, Any] = {}
        if submission is not None:
            lastattempt["submission"] = _submission_export(submission, assign)
        is_open = _submissions_open(site, assign, submission)
        if userid == call.userid:
            canedit = is_open and course_has_capability(site, userid, courseid, "mod/assign:submit")
        else:
            canedit = is_open and course_has_capability(site, call.userid, courseid,
                                                        "mod/assign:editothersubmission")
        lastattempt.update({
            "submissiongroupmemberswhoneedtosubmit": [],
            "submissionsenabled": plugin_enabled(assign, "onlinetext") or plugin_enabled(assign, "file"),
            "locked": False,
            "graded": _has_grade(grade),
            "canedit": canedit,
            "caneditowner": is_open and course_has_capability(site, userid, courseid, "mod/assign:submit"),
            "cansubmit": bool(setting(assign, "submissiondrafts")) and submission is not None
            and submission.get("status") != "submitted" and is_open,
            "extensionduedate": 0,
            "timelimit": setting(assign, "timelimit"),
            "blindmarking": bool(setting(assign, "blindmarking")),
            "gradingstatus": _grading_status(site, assign, userid),
            "usergroups": [],
        })
        result["lastattempt"] = lastattempt
    comment = _comment(site, grade)
    if grade is not None and (_has_grade(grade) or (comment or {}).get("commenttext")):
        hidden = setting(assign, "hidegrader") and not course_has_capability(
            site, call.userid, courseid, "mod/assign:showhiddengrader")
        result["feedback"] = {
            "grade": {"id": grade["id"], "assignment": assign["id"], "userid": grade["userid"],
                      "attemptnumber": grade.get("attemptnumber", 0),
                      "timecreated": grade.get("timecreated", 0),
                      "timemodified": grade.get("timemodified", 0),
                      "grader": -1 if hidden else grade.get("grader", 0),
                      "grade": _grade_text(grade.get("grade"))},
            "gradefordisplay": _display_grade(assign, grade),
            "gradeddate": grade.get("timemodified") if _has_grade(grade) else None,
            "plugins": _feedback_plugins(site, grade),
        }
    result["assignmentdata"] = {"attachments": {"intro": []}}
    result["warnings"] = []
    return result


def _needs_grading(site: FakeSite, assign: Row, submission: Row) -> bool:
    grade = user_grade(site, assign, int(submission["userid"]), -1, create=False)
    return (submission.get("status") == "submitted"
            and (grade is None or grade.get("grade") is None
                 or int(submission.get("timemodified", 0)) > int(grade.get("timemodified", 0))))


_OPTIONAL_USER_FIELDS = ("address", "phone1", "phone2", "city", "country", "description")


@function("mod_assign_list_participants")
def list_participants(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    assign, _cm, course = _validate_assign(site, call.userid, int(params["assignid"]))
    courseid = course["id"]
    if not course_has_capability(site, call.userid, courseid, "mod/assign:view"):
        raise no_permissions("mod/assign:view", CAPABILITY_NAMES["mod/assign:view"])
    _require_view_grades(site, call.userid, courseid)
    groupid = int(params.get("groupid") or 0)
    text = str(params.get("filter") or "").lower()
    skip = int(params.get("skip") or 0)
    limit = int(params.get("limit") or 0)
    onlyids = bool(params.get("onlyids"))
    includeenrolments = params.get("includeenrolments") is not False
    people = participants(site, assign, courseid)
    if groupid:
        members = {int(m["userid"]) for m in site.db["groups_members"].select(groupid=groupid)}
        people = [u for u in people if u["id"] in members]
    result = []
    index = 0
    for user in people:
        name = fullname(user)
        if text and text not in name.lower():
            continue
        index += 1
        if index <= skip:
            continue
        if limit > 0 and index - skip > limit:
            break
        submission = user_submission(site, assign, user["id"], create=False)
        details: dict[str, Any] = {"id": user["id"]}
        if not onlyids and not setting(assign, "blindmarking"):
            details.update(_user_details(site, user, courseid, includeenrolments))
        status = str(submission.get("status", "new")) if submission else "new"
        details.update({
            "fullname": name,
            "submitted": status == "submitted",
            "requiregrading": bool(submission) and _needs_grading(site, assign, submission or {}),
            "grantedextension": False,
            "submissionstatus": status,
            "recordid": -1,
        })
        result.append(details)
    return result


def _user_details(site: FakeSite, user: Row, courseid: int, includeenrolments: bool) -> dict[str, Any]:
    details: dict[str, Any] = {
        "username": user.get("username", ""), "firstname": user.get("firstname", ""),
        "lastname": user.get("lastname", ""), "fullname": fullname(user),
    }
    for key in ("email", "department", "institution", "idnumber"):
        if user.get(key):
            details[key] = user[key]
    for key in _OPTIONAL_USER_FIELDS:
        if user.get(key):
            details[key] = user[key]
            if key == "description":
                details["descriptionformat"] = user.get("descriptionformat", 1)
    details.update({
        "firstaccess": user.get("firstaccess", 0), "lastaccess": user.get("lastaccess", 0),
        "suspended": bool(user.get("suspended")), "trackforums": user.get("trackforums", 0),
    })
    details.update(profile_image_urls(site, user))
    roles = []
    for roleid in course_roleids(site, user["id"], courseid):
        role = site.db["role"].get(roleid) or {"shortname": ""}
        roles.append({"roleid": roleid, "name": role.get("name") or "",
                      "shortname": role.get("shortname", ""), "sortorder": 0})
    details["roles"] = roles
    if includeenrolments:
        courses = []
        for cid in enrolled_course_ids(site, user["id"]):
            course = site.db["course"].get(cid)
            if course is not None:
                courses.append({"id": cid, "fullname": course.get("fullname", ""),
                                "shortname": course.get("shortname", "")})
        details["enrolledcourses"] = courses
    return details


@function("mod_assign_get_user_mappings", items="assignmentids")
def get_user_mappings(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    requested = list(dict.fromkeys(int(a) for a in params["assignmentids"]))
    _allowed, warnings = _checked_assignments(site, call.userid, requested,
                                              capability="mod/assign:revealidentities")
    denied = {int(w["itemid"]) for w in warnings}
    remaining = [a for a in requested if a not in denied]
    assignments = []
    for assignid in sorted(remaining):
        rows = site.db["assign_user_mapping"].select(assignment=assignid)
        if not rows:
            continue
        remaining.remove(assignid)
        assignments.append({"assignmentid": assignid,
                            "mappings": [{"id": r["id"], "userid": r["userid"]} for r in rows]})
    for assignid in remaining:
        warnings.append({"item": "assignment", "itemid": assignid, "warningcode": "3",
                         "message": "No mappings found"})
    return {"assignments": assignments, "warnings": warnings}


# ---------------------------------------------------------------------------------------------------
# Site actions.
# ---------------------------------------------------------------------------------------------------


def _assign_by_cmid(site: FakeSite, cmid: int) -> tuple[Row, Row, Row]:
    cm = site.db["course_modules"].get(cmid)
    if cm is None or cm.get("modname") != "assign":
        raise ValueError(f"no assignment with course module {cmid}")
    assign = site.db["assign"].get(cm["instance"])
    course = site.db["course"].get(cm["course"])
    if assign is None or course is None:
        raise ValueError(f"assignment of course module {cmid} is incomplete")
    return cm, assign, course


def _strings(row: Row, keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: None if row.get(key) is None else str(row.get(key)) for key in keys}


@site_action("assign_submit")
def assign_submit(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A learner writes online text and submits it for grading through the web page."""
    userid = int(args["userid"])
    cm, assign, course = _assign_by_cmid(site, int(args["cmid"]))
    if not is_active_enrolled(site, userid, course["id"]) or not course_has_capability(
            site, userid, course["id"], "mod/assign:submit"):
        raise ValueError(f"user {userid} cannot submit to assignment {assign['id']}")
    text = str(args.get("text") or "")
    notices: list[str] = []
    limit = word_limit(assign)
    if limit:
        words = count_words(text)
        if words > limit:
            notices.append(f"The word limit for this assignment is {limit} words and you are "
                           f"attempting to submit {words} words. Please review your submission "
                           "and try again.")
    submission = user_submission(site, assign, userid, create=True)
    assert submission is not None
    if not notices:
        status = "draft" if setting(assign, "submissiondrafts") and args.get("draft") else "submitted"
        site.db["assign_submission"].update(
            submission, onlinetext=text, onlineformat=int(args.get("format", 1)), status=status,
            timemodified=site.now())
        if status == "submitted" and setting(assign, "completionsubmit"):
            set_activity_complete(site, cm, userid)
    row = dict(submission)
    row.setdefault("groupid", 0)
    return {"submission": _strings(row, ("id", "assignment", "userid", "timecreated", "timemodified",
                                         "timestarted", "status", "groupid", "attemptnumber",
                                         "latest")),
            "notices": notices}


@site_action("assign_grade")
def assign_grade(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A teacher grades a learner (with a feedback comment) on the grading page."""
    teacherid = int(args["teacherid"])
    userid = int(args["userid"])
    _cm, assign, course = _assign_by_cmid(site, int(args["cmid"]))
    if not course_has_capability(site, teacherid, course["id"], "mod/assign:grade"):
        raise ValueError(f"user {teacherid} cannot grade assignment {assign['id']}")
    grade = float(args["grade"])
    maximum = float(setting(assign, "grade"))
    if maximum > 0 and not 0 <= grade <= maximum:
        raise ValueError(f"grade {grade} is outside 0..{maximum:g}")
    feedback = args.get("feedback")
    editor = None if feedback is None else {"text": str(feedback), "format": 1}
    apply_grade(site, assign, teacherid, userid, grade, int(args.get("attemptnumber", -1)), editor)
    row = user_grade(site, assign, userid, int(args.get("attemptnumber", -1)), create=False)
    assert row is not None
    out = _strings(row, ("id", "assignment", "userid", "timecreated", "timemodified", "grader",
                         "attemptnumber"))
    out["grade"] = _grade_text(row.get("grade"))
    out["penalty"] = "0.00000"
    return {"grade": out}
