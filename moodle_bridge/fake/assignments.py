"""Assignments as Moodle's ``assign`` class keeps them: submissions, grades, feedback and plugin settings.

Tables (shared with the grade reports and harvests, keep their fields):
``assign`` (instances; settings read with defaults), ``assign_submission`` (assignment, userid, status
'new'|'draft'|'submitted', onlinetext, onlineformat, timecreated, timemodified, timestarted,
attemptnumber, latest, groupid), ``assign_grades`` (assignment, userid, grade float, -1 meaning "no
grade" as in Moodle, grader, attemptnumber, timecreated, timemodified), ``assignfeedback_comments``
(assignment, grade, commenttext, commentformat), ``assign_user_mapping`` (assignment, userid).
The web-service functions and the grading and submitting site actions work through here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .access import course_has_capability, unsuspended_users
from .activities import assign_setting as setting
from .db import Row
from .php import php_array
from .site import FakeSite
from .wserror import WSError


def grade_text(value: Any) -> str:
    return "" if value is None else f"{float(value):.5f}"


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


def has_grade(grade: Row | None) -> bool:
    return grade is not None and grade.get("grade") is not None and float(grade["grade"]) >= 0


def grading_status(site: FakeSite, assign: Row, userid: int) -> str:
    if setting(assign, "markingworkflow"):
        flags = site.db["assign_user_flags"].first(assignment=assign["id"], userid=userid)
        return str((flags or {}).get("workflowstate") or "notmarked")
    return "graded" if has_grade(user_grade(site, assign, userid, -1, create=False)) else "notgraded"


def grading_statuses(site: FakeSite, assign: Row) -> Callable[[int], str]:
    """``grading_status`` of any user of the assignment, its submissions and grades read once (for
    listings of every submission)."""
    if setting(assign, "markingworkflow"):
        return lambda userid: grading_status(site, assign, userid)
    attempts: dict[Any, list[Row]] = {}
    for row in site.db["assign_submission"].select(assignment=assign["id"]):
        attempts.setdefault(row["userid"], []).append(row)
    grades: dict[Any, list[Row]] = {}
    for row in site.db["assign_grades"].select(assignment=assign["id"]):
        grades.setdefault(row["userid"], []).append(row)

    def status(userid: int) -> str:
        rows = attempts.get(userid)
        attempt = 0
        if rows:
            latest = [row for row in rows if row.get("latest", 1)]
            submission = max(latest or rows, key=lambda row: (int(row.get("attemptnumber", 0)), row["id"]))
            attempt = int(submission.get("attemptnumber", 0))
        for row in reversed(grades.get(userid, [])):
            if int(row.get("attemptnumber", 0)) == attempt:
                return "graded" if has_grade(row) else "notgraded"
        return "notgraded"
    return status


def feedback_comment(site: FakeSite, grade: Row | None) -> Row | None:
    if grade is None:
        return None
    return site.db["assignfeedback_comments"].first(grade=grade["id"])


def submission_plugins(assign: Row, submission: Row,
                       enabled: tuple[bool, bool, bool] | None = None) -> list[dict[str, Any]]:
    """The submission as its plugins show it; ``enabled`` is ``enabled_plugins(assign)`` when known."""
    onlinetext, files, comments = enabled or enabled_plugins(assign)
    plugins: list[dict[str, Any]] = []
    if onlinetext:
        text = str(submission.get("onlinetext") or "")
        plugins.append({
            "type": "onlinetext", "name": "Online text",
            "fileareas": [{"area": "submissions_onlinetext", "files": []}],
            "editorfields": [{"name": "onlinetext", "description": "Online text submissions",
                              "text": text, "format": int(submission.get("onlineformat", 1)) if text else 0}],
        })
    if files:
        plugins.append({"type": "file", "name": "File submissions",
                        "fileareas": [{"area": "submission_files", "files": []}]})
    if comments:
        plugins.append({"type": "comments", "name": "Submission comments"})
    return plugins


def enabled_plugins(assign: Row) -> tuple[bool, bool, bool]:
    """Whether online text, file and comment submissions are on."""
    return (plugin_enabled(assign, "onlinetext"), plugin_enabled(assign, "file"),
            plugin_enabled(assign, "comments"))


def feedback_plugins(site: FakeSite, grade: Row) -> list[dict[str, Any]]:
    comment = feedback_comment(site, grade)
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


def plugin_configs(assign: Row) -> list[dict[str, Any]]:
    """The settings of the enabled submission plugins, then of the enabled feedback plugins, as the
    recording sites listed them."""
    stored = [dict(row) for subtype in ("assignsubmission", "assignfeedback")
              for row in assign.get("configs") or []
              if row.get("subtype") == subtype and plugin_enabled(assign, str(row.get("plugin")), subtype)]
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
    for userid in unsuspended_users(site, courseid):
        if course_has_capability(site, userid, "mod/assign:submit", courseid):
            user = site.db["user"].get(userid)
            if user is not None and not user.get("deleted"):
                users.append(user)
    users.sort(key=lambda u: (str(u.get("lastname", "")), str(u.get("firstname", "")), u["id"]))
    return users


def _dml_write_comment(comment: Row) -> WSError:
    """What PostgreSQL answers when the comments plugin writes NULLs over an existing comment."""
    cid, assignid, gradeid = comment["id"], comment["assignment"], comment["grade"]
    values = php_array([("assignment", str(assignid)), ("grade", str(gradeid)), ("commenttext", None),
                        ("commentformat", None), (0, str(cid))])
    return WSError(
        "dml_write_exception", "dmlwriteexception", "Error writing to database",
        'ERROR:  null value in column "commentformat" of relation "mdl_assignfeedback_comments" '
        "violates not-null constraint\n"
        f"DETAIL:  Failing row contains ({cid}, {assignid}, {gradeid}, null, null).\n"
        "UPDATE mdl_assignfeedback_comments SET assignment = $1,grade = $2,commenttext = $3,"
        f"commentformat = $4 WHERE id=$5\n[{values}]")


def apply_grade(site: FakeSite, assign: Row, graderid: int, userid: int, grade: float | None,
                attemptnumber: int, editor: dict[str, Any] | None) -> bool:
    """``assign::apply_grade_to_user``: feedback plugins first, then the grade (refused above the maximum).

    Returns whether the grade row was updated. A comment already on the grade and no comment editor in
    the request makes the comments plugin write NULLs: Moodle's ``dml_write_exception``.
    """
    row = user_grade(site, assign, userid, attemptnumber, create=True)
    assert row is not None
    original = row.get("grade")
    comment = feedback_comment(site, row)
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


def submission_export(row: Row, assign: Row) -> dict[str, Any]:
    return {"id": row["id"], "userid": row["userid"], "attemptnumber": row.get("attemptnumber", 0),
            "timecreated": row.get("timecreated", 0), "timemodified": row.get("timemodified", 0),
            "timestarted": row.get("timestarted"), "status": row.get("status", "new"),
            "groupid": row.get("groupid", 0), "assignment": assign["id"],
            "latest": row.get("latest", 1), "plugins": submission_plugins(assign, row)}


def submissions_open(site: FakeSite, assign: Row, submission: Row | None) -> bool:
    now = site.now()
    cutoff = int(setting(assign, "cutoffdate") or 0)
    opens = int(setting(assign, "allowsubmissionsfromdate") or 0)
    if (cutoff and now > cutoff) or (opens and now < opens):
        return False
    return not (submission is not None and setting(assign, "submissiondrafts")
                and submission.get("status") == "submitted")


def display_grade(assign: Row, grade: Row | None) -> str:
    if not has_grade(grade):
        return "-"
    assert grade is not None
    return f"{float(grade['grade']):.2f}&nbsp;/&nbsp;{float(setting(assign, 'grade')):.2f}"


def needs_grading(site: FakeSite, assign: Row, submission: Row) -> bool:
    grade = user_grade(site, assign, int(submission["userid"]), -1, create=False)
    return (submission.get("status") == "submitted"
            and (grade is None or grade.get("grade") is None
                 or int(submission.get("timemodified", 0)) > int(grade.get("timemodified", 0))))
