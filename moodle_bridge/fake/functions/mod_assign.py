"""mod_assign: listing assignments, submissions and grades, grading; the ``assign_submit`` and
``assign_grade`` site actions. What an assignment holds and how grading changes it is ``assignments``'.
"""

from __future__ import annotations

from typing import Any

from ..access import (
    course_has_capability,
    course_roles,
    enrolled_course_ids,
    is_active_enrolled,
    require_course_login,
    validate_module,
)
from ..activities import assign_setting
from ..assignments import (
    apply_grade,
    display_grade,
    enabled_plugins,
    feedback_comment,
    feedback_plugins,
    grade_text,
    grading_status,
    grading_statuses,
    has_grade,
    needs_grading,
    participants,
    plugin_configs,
    plugin_enabled,
    submission_export,
    submission_plugins,
    submissions_open,
    user_grade,
    user_submission,
    word_limit,
)
from ..completion import set_activity_complete
from ..courses import get_activity, module_of
from ..db import Row
from ..params import optional_int
from ..records import fullname, profile_image_urls
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..text import count_words, format_string
from ..wserror import WSError, missing_record, no_permissions

_NOT_ENROLLED = "User is not enrolled or does not have requested capability"
_NO_MODULE_ACCESS = "No access rights in module context"




def _validate_assign(site: FakeSite, userid: int, assignid: int) -> tuple[Row, Row, Row]:
    assign, cm = get_activity(site, "assign", assignid)
    course = validate_module(site, userid, cm)
    return assign, cm, course


def _can_view_grades(site: FakeSite, userid: int, courseid: int) -> bool:
    return (course_has_capability(site, userid, "mod/assign:view", courseid)
            and (course_has_capability(site, userid, "mod/assign:viewgrades", courseid)
                 or course_has_capability(site, userid, "mod/assign:grade", courseid)))


def _require_view_grades(site: FakeSite, userid: int, courseid: int) -> None:
    if not _can_view_grades(site, userid, courseid):
        raise no_permissions("mod/assign:viewgrades")




























# ---------------------------------------------------------------------------------------------------
# Web-service functions.
# ---------------------------------------------------------------------------------------------------


def _assignment_details(site: FakeSite, assign: Row, cm: Row) -> dict[str, Any]:
    details = {key: assign_setting(assign, key) for key in (
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
                    "configs": plugin_configs(assign)})
    opens = int(assign_setting(assign, "allowsubmissionsfromdate") or 0)
    if assign_setting(assign, "alwaysshowdescription") or opens <= site.now():
        details.update({"intro": assign_setting(assign, "intro"),
                        "introformat": assign_setting(assign, "introformat"),
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
            require_course_login(site, call.userid, course)
        except WSError as exc:
            warnings.append({"item": "course", "itemid": courseid, "warningcode": "1",
                             "message": f"No access rights in course context {exc.message}"})
            continue
        if capabilities and not all(course_has_capability(site, call.userid, cap, courseid)
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
                validate_module(site, call.userid, cm)
                if not course_has_capability(site, call.userid, "mod/assign:view", course["id"]):
                    raise no_permissions("mod/assign:view")
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
        cm = module_of(site, "assign", assignid)
        if cm is not None and site.db["assign"].get(assignid) is not None:
            cms.append(cm)
    for cm in sorted(cms, key=lambda row: row["id"]):
        assign = site.db["assign"].get(cm["instance"])
        assert assign is not None
        try:
            course = validate_module(site, userid, cm)
            if capability is None:
                _require_view_grades(site, userid, course["id"])
            elif not course_has_capability(site, userid, capability, course["id"]):
                raise no_permissions(capability)
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
        enabled = enabled_plugins(assign)
        status_of = grading_statuses(site, assign) if len(chosen) > 1 else (
            lambda userid, assign=assign: grading_status(site, assign, userid))
        submissions = [{
            "id": row["id"], "userid": row["userid"], "timecreated": row.get("timecreated", 0),
            "timemodified": row.get("timemodified", 0), "timestarted": row.get("timestarted"),
            "status": row.get("status", "new"), "attemptnumber": row.get("attemptnumber", 0),
            "groupid": row.get("groupid", 0), "plugins": submission_plugins(assign, row, enabled),
            "gradingstatus": status_of(int(row["userid"])),
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
            "attemptnumber": row.get("attemptnumber", 0), "grade": grade_text(row.get("grade")),
        } for row in sorted(grades, key=lambda r: r["id"])]})
    for assignid in remaining:
        warnings.append({"item": "assignment", "itemid": assignid, "warningcode": "3",
                         "message": "No grades found"})
    return {"assignments": assignments, "warnings": warnings}






@function("mod_assign_save_grade")
def save_grade(call: Call, params: dict[str, Any]) -> None:
    site = call.site
    assign, _cm, course = _validate_assign(site, call.userid, int(params["assignmentid"]))
    if not course_has_capability(site, call.userid, "mod/assign:grade", course["id"]):
        raise no_permissions("mod/assign:grade")
    plugindata = params.get("plugindata") or {}
    editor = plugindata.get("assignfeedbackcomments_editor") if isinstance(plugindata, dict) else None
    apply_grade(site, assign, call.userid, int(params["userid"]), params.get("grade"),
                optional_int(params, "attemptnumber", -1),
                editor)
    return None








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
        raise no_permissions("mod/assign:viewgrades")
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
            "submissionsneedgradingcount": sum(1 for s in submitted if needs_grading(site, assign, s)),
            "warnofungroupedusers": "",
        }
    submission = user_submission(site, assign, userid, create=False)
    grade = user_grade(site, assign, userid, -1, create=False)
    if course_has_capability(site, userid, "mod/assign:viewownsubmissionsummary", courseid):
        lastattempt: dict[str, Any] = {}
        if submission is not None:
            lastattempt["submission"] = submission_export(submission, assign)
        is_open = submissions_open(site, assign, submission)
        if userid == call.userid:
            canedit = is_open and course_has_capability(site, userid, "mod/assign:submit", courseid)
        else:
            canedit = is_open and course_has_capability(site, call.userid, "mod/assign:editothersubmission",
                                                        courseid)
        lastattempt.update({
            "submissiongroupmemberswhoneedtosubmit": [],
            "submissionsenabled": plugin_enabled(assign, "onlinetext") or plugin_enabled(assign, "file"),
            "locked": False,
            "graded": has_grade(grade),
            "canedit": canedit,
            "caneditowner": is_open and course_has_capability(site, userid, "mod/assign:submit", courseid),
            "cansubmit": bool(assign_setting(assign, "submissiondrafts")) and submission is not None
            and submission.get("status") != "submitted" and is_open,
            "extensionduedate": 0,
            "timelimit": assign_setting(assign, "timelimit"),
            "blindmarking": bool(assign_setting(assign, "blindmarking")),
            "gradingstatus": grading_status(site, assign, userid),
            "usergroups": [],
        })
        result["lastattempt"] = lastattempt
    comment = feedback_comment(site, grade)
    if grade is not None and (has_grade(grade) or (comment or {}).get("commenttext")):
        hidden = assign_setting(assign, "hidegrader") and not course_has_capability(
            site, call.userid, "mod/assign:showhiddengrader", courseid)
        result["feedback"] = {
            "grade": {"id": grade["id"], "assignment": assign["id"], "userid": grade["userid"],
                      "attemptnumber": grade.get("attemptnumber", 0),
                      "timecreated": grade.get("timecreated", 0),
                      "timemodified": grade.get("timemodified", 0),
                      "grader": -1 if hidden else grade.get("grader", 0),
                      "grade": grade_text(grade.get("grade"))},
            "gradefordisplay": display_grade(assign, grade),
            "gradeddate": grade.get("timemodified") if has_grade(grade) else None,
            "plugins": feedback_plugins(site, grade),
        }
    result["assignmentdata"] = {"attachments": {"intro": []}}
    result["warnings"] = []
    return result




_OPTIONAL_USER_FIELDS = ("address", "phone1", "phone2", "city", "country", "description")


@function("mod_assign_list_participants")
def list_participants(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    assign, _cm, course = _validate_assign(site, call.userid, int(params["assignid"]))
    courseid = course["id"]
    if not course_has_capability(site, call.userid, "mod/assign:view", courseid):
        raise no_permissions("mod/assign:view")
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
        if not onlyids and not assign_setting(assign, "blindmarking"):
            details.update(_user_details(site, user, courseid, includeenrolments))
        status = str(submission.get("status", "new")) if submission else "new"
        details.update({
            "fullname": name,
            "submitted": status == "submitted",
            "requiregrading": bool(submission) and needs_grading(site, assign, submission or {}),
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
    for roleid in course_roles(site, user["id"], courseid):
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
            site, userid, "mod/assign:submit", course["id"]):
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
        status = "draft" if assign_setting(assign, "submissiondrafts") and args.get("draft") else "submitted"
        site.db["assign_submission"].update(
            submission, onlinetext=text, onlineformat=int(args.get("format", 1)), status=status,
            timemodified=site.now())
        if status == "submitted" and assign_setting(assign, "completionsubmit"):
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
    if not course_has_capability(site, teacherid, "mod/assign:grade", course["id"]):
        raise ValueError(f"user {teacherid} cannot grade assignment {assign['id']}")
    grade = float(args["grade"])
    maximum = float(assign_setting(assign, "grade"))
    if maximum > 0 and not 0 <= grade <= maximum:
        raise ValueError(f"grade {grade} is outside 0..{maximum:g}")
    feedback = args.get("feedback")
    editor = None if feedback is None else {"text": str(feedback), "format": 1}
    apply_grade(site, assign, teacherid, userid, grade, int(args.get("attemptnumber", -1)), editor)
    row = user_grade(site, assign, userid, int(args.get("attemptnumber", -1)), create=False)
    assert row is not None
    out = _strings(row, ("id", "assignment", "userid", "timecreated", "timemodified", "grader",
                         "attemptnumber"))
    out["grade"] = grade_text(row.get("grade"))
    out["penalty"] = "0.00000"
    return {"grade": out}
