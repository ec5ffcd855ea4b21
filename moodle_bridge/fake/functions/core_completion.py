"""core_completion: activity and course completion, and the people and cron jobs that change them.

Moodle's rules kept here (the state itself is ``completion``'s): completing the criterion activity
aggregates course completion in the same request; activity completions made before the criteria existed
are only picked up by cron (``\\core\\task\\completion_regular_task``, the ``run_task`` site action; the
real site may need two runs, the fake settles in one); taking an activity back to incomplete never undoes
a course completion; ``update_activity_completion_status_manually`` acts on the caller; only active
students are tracked.
"""

from __future__ import annotations

from typing import Any

from ..access import course_has_capability, require_course_capability, require_course_login
from ..completion import (
    AGGREGATION_ALL,
    COMPLETION_COMPLETE,
    COMPLETION_INCOMPLETE,
    COMPLETION_TASK,
    CRITERIA_ACTIVITY,
    CRITERIA_SELF,
    TRACKING_AUTOMATIC,
    TRACKING_MANUAL,
    TRACKING_NONE,
    aggregate,
    aggregation_method,
    cm_completion,
    completion_enabled,
    course_activities,
    course_completion,
    criteria,
    criterion_completion,
    ensure_course_completion,
    is_tracked_user,
    mark_course_complete,
    mark_criterion,
    review_activity_criteria,
    update_state,
)
from ..courses import get_cm, get_course, instance_of
from ..db import Row
from ..records import get_user
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..text import escape
from ..wserror import moodle_exception


def as_db_strings(row: Row | None, fields: list[str]) -> dict[str, Any] | None:
    """A row as Moodle's DML returns it: every value a string, NULL stays null."""
    if row is None:
        return None
    return {name: None if row.get(name) is None else str(row.get(name)) for name in fields}


CMC_FIELDS = ["id", "coursemoduleid", "userid", "completionstate", "overrideby", "timemodified"]
CC_FIELDS = ["id", "userid", "course", "timeenrolled", "timestarted", "timecompleted", "reaggregate"]
CRITERIA_FIELDS = ["id", "criteriatype", "moduleinstance", "module"]


# --- web-service functions ----------------------------------------------------------------------

@function("core_completion_get_course_completion_status")
def get_course_completion_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    course = get_course(site, int(params["courseid"]))
    user = get_user(site, int(params["userid"]))
    require_course_login(site, call.userid, course)
    if not completion_enabled(course) or (
            user["id"] != call.userid
            and not course_has_capability(site, call.userid, "report/completion:view", course["id"])):
        raise moodle_exception("cannotviewreport", "You cannot view this report")
    if not is_tracked_user(site, user["id"], course["id"]):
        if user["id"] == call.userid:
            raise moodle_exception("notenroled", "You are not enrolled in this course")
        raise moodle_exception("usernotenroled", "User is not enrolled in this course")
    rows = criteria(site, course["id"])
    if not rows:
        raise moodle_exception("nocriteriaset", "No completion criteria set for this course")
    completion = course_completion(site, user["id"], course["id"])
    return {
        "completionstatus": {
            "completed": bool(completion is not None and completion.get("timecompleted")),
            "aggregation": aggregation_method(site, course["id"]),
            "completions": [_criterion_status(site, user["id"], row) for row in rows],
        },
        "warnings": [],
    }


def _criterion_status(site: FakeSite, userid: int, criterion: Row) -> dict[str, Any]:
    done = criterion_completion(site, userid, criterion)
    complete = done is not None and bool(done.get("timecompleted"))
    if int(criterion["criteriatype"]) == CRITERIA_SELF:
        title = "Self completion"
        details = {"type": "Self completion", "criteria": "Self completion",
                   "requirement": "Marking yourself complete", "status": ""}
    else:
        cm = site.db["course_modules"].get(criterion["moduleinstance"]) or {}
        instance = instance_of(site, cm) if cm else {}
        name = escape(instance.get("name", ""))
        url = f"{site.siteurl}/mod/{criterion['module']}/view.php?id={criterion['moduleinstance']}"
        link = f'<a href="{url}">{name}</a>'
        title = "Activity completion"
        details = {"type": "Activity completion", "criteria": link,
                   "requirement": _requirement(cm), "status": ""}
    return {
        "type": int(criterion["criteriatype"]),
        "title": title,
        "status": "Yes" if complete else "No",
        "complete": complete,
        "timecompleted": int(done["timecompleted"]) if complete and done is not None else None,
        "details": details,
    }


def _requirement(cm: Row) -> str:
    if int(cm.get("completion") or 0) == TRACKING_MANUAL:
        return "Marking yourself complete"
    parts = []
    if cm.get("completionview"):
        parts.append("Viewing")
    if cm.get("completiongradeitemnumber") is not None or cm.get("completionusegrade"):
        parts.append("Achieving grade")
    return ", ".join(parts) or "Marking yourself complete"


@function("core_completion_get_activities_completion_status")
def get_activities_completion_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    course = get_course(site, int(params["courseid"]))
    user = get_user(site, int(params["userid"]))
    require_course_login(site, call.userid, course)
    if user["id"] != call.userid:
        require_course_capability(site, call.userid, "report/progress:view", course["id"])
    tracked = is_tracked_user(site, user["id"], course["id"])
    statuses = []
    for cm in course_activities(site, course["id"]):
        if not cm.get("visible", 1) and not call.has_capability("moodle/course:viewhiddenactivities"):
            continue
        statuses.append(_activity_status(site, cm, user["id"], tracked))
    return {"statuses": statuses, "warnings": []}


def _activity_status(site: FakeSite, cm: Row, userid: int, tracked: bool) -> dict[str, Any]:
    row = cm_completion(site, cm["id"], userid)
    state = int(row["completionstate"]) if row is not None else COMPLETION_INCOMPLETE
    tracking = int(cm.get("completion") or 0)
    details = []
    if tracking == TRACKING_AUTOMATIC and cm.get("completionview"):
        details.append({"rulename": "completionview",
                        "rulevalue": {"status": 1 if state else 0, "description": "View"}})
    return {
        "cmid": cm["id"],
        "modname": cm["modname"],
        "instance": cm["instance"],
        "state": state,
        "timecompleted": int(row["timemodified"]) if row is not None else 0,
        "tracking": tracking,
        "overrideby": row.get("overrideby") if row is not None else None,
        "valueused": False,
        "hascompletion": tracking != TRACKING_NONE,
        "isautomatic": tracking == TRACKING_AUTOMATIC,
        "istrackeduser": tracked,
        "uservisible": bool(cm.get("visible", 1)),
        "details": details,
        "isoverallcomplete": state in (1, 2),
    }


@function("core_completion_update_activity_completion_status_manually")
def update_activity_completion_status_manually(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    cm = get_cm(site, int(params["cmid"]))
    course = get_course(site, cm["course"])
    require_course_login(site, call.userid, course)
    if not completion_enabled(course):
        raise moodle_exception("completionnotenabled", "Completion is not enabled")
    if int(cm.get("completion") or 0) != TRACKING_MANUAL:
        raise moodle_exception("cannotmanualctrack",
                               "Activity does not provide manual completion tracking")
    state = COMPLETION_COMPLETE if params["completed"] else COMPLETION_INCOMPLETE
    update_state(site, cm, call.userid, state)
    return {"status": True, "warnings": []}


@function("core_completion_override_activity_completion_status")
def override_activity_completion_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    cm = get_cm(site, int(params["cmid"]))
    require_course_login(site, call.userid, get_course(site, cm["course"]))
    require_course_capability(site, call.userid, "moodle/course:overridecompletion", cm["course"])
    user = get_user(site, int(params["userid"]))
    newstate = int(params["newstate"])
    if newstate not in (COMPLETION_INCOMPLETE, COMPLETION_COMPLETE):
        raise moodle_exception("invalidstate", "Invalid completion state")
    row = update_state(site, cm, user["id"], newstate, overrideby=call.userid)
    return {
        "cmid": cm["id"],
        "userid": user["id"],
        "state": int(row["completionstate"]) if row is not None else COMPLETION_INCOMPLETE,
        "timecompleted": int(row["timemodified"]) if row is not None else 0,
        "overrideby": row.get("overrideby") if row is not None else None,
        "tracking": int(cm.get("completion") or 0),
    }


@function("core_completion_mark_course_self_completed")
def mark_course_self_completed(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    course = get_course(site, int(params["courseid"]))
    require_course_login(site, call.userid, course)
    if not completion_enabled(course):
        raise moodle_exception("completionnotenabled", "Completion is not enabled")
    if not is_tracked_user(site, call.userid, course["id"]):
        raise moodle_exception("nottracked",
                               "You are currently not being tracked by completion in this course")
    selfcriterion = next((row for row in criteria(site, course["id"])
                          if int(row["criteriatype"]) == CRITERIA_SELF), None)
    if selfcriterion is None:
        raise moodle_exception("noselfcompletioncriteria",
                               "No self-completion criteria have been set for this course")
    if criterion_completion(site, call.userid, selfcriterion) is not None:
        raise moodle_exception("useralreadymarkedcomplete", "User already marked as complete")
    mark_criterion(site, call.userid, selfcriterion)
    aggregate(site, call.userid, course["id"])
    return {"status": True, "warnings": []}


# --- site actions -------------------------------------------------------------------------------

@site_action("set_completion_criteria")
def set_completion_criteria(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin saves the course completion settings: the given activities (and optionally self
    completion), aggregated with ALL (or ``aggregation`` 2 = ANY). Existing activity completions are
    not aggregated until cron runs the completion task."""
    courseid = int(args["courseid"])
    course = site.db["course"].get(courseid)
    if course is None:
        raise ValueError(f"no course {courseid}")
    table = site.db["course_completion_criteria"]
    for row in table.select(course=courseid):
        table.delete(row)
    created = []
    for cmid in args.get("cmids") or []:
        cm = site.db["course_modules"].get(int(cmid))
        if cm is None or cm["course"] != courseid:
            raise ValueError(f"no activity {cmid} in course {courseid}")
        created.append(table.insert({"course": courseid, "criteriatype": CRITERIA_ACTIVITY,
                                     "module": cm["modname"], "moduleinstance": cm["id"],
                                     "courseinstance": None, "enrolperiod": None, "timeend": None,
                                     "gradepass": None, "role": None}))
    if args.get("self"):
        created.append(table.insert({"course": courseid, "criteriatype": CRITERIA_SELF, "module": None,
                                     "moduleinstance": None, "courseinstance": None,
                                     "enrolperiod": None, "timeend": None, "gradepass": None,
                                     "role": None}))
    method = int(args.get("aggregation") or AGGREGATION_ALL)
    aggr = site.db["course_completion_aggr_methd"].first(course=courseid)
    if aggr is None:
        site.db["course_completion_aggr_methd"].insert({"course": courseid, "criteriatype": None,
                                                         "method": method, "value": None})
    else:
        aggr["method"] = method
    if not completion_enabled(course):
        course["enablecompletion"] = 1
    return {"criteria": [as_db_strings(row, CRITERIA_FIELDS) for row in created]}


@site_action("complete_activity")
def complete_activity(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A learner marks an activity done (or views it): course completion aggregates at once.

    Done again when it is done already, the activity's completion stays as it was but the course
    criteria it meets are reviewed, as Moodle's completion review does: after ``reset_course_completion``
    the course completes again, at the current time."""
    userid = int(args["userid"])
    cm = site.db["course_modules"].get(int(args["cmid"]))
    if cm is None:
        raise ValueError(f"no course module {args['cmid']}")
    if site.db["user"].get(userid) is None:
        raise ValueError(f"no user {userid}")
    if int(cm.get("completion") or 0) == TRACKING_NONE:
        raise ValueError(f"course module {cm['id']} has no completion tracking")
    state = int(args.get("state", COMPLETION_COMPLETE))
    current = cm_completion(site, cm["id"], userid)
    already = current is not None and int(current["completionstate"]) == state
    row = update_state(site, cm, userid, state)
    if already and state != COMPLETION_INCOMPLETE and is_tracked_user(site, userid, cm["course"]):
        review_activity_criteria(site, cm, userid)
    return {"course_completions": as_db_strings(course_completion(site, userid, cm["course"]), CC_FIELDS),
            "cmc": as_db_strings(row, CMC_FIELDS)}


@site_action("run_task")
def run_task(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """Cron runs a scheduled task. ``\\core\\task\\completion_regular_task`` marks activity criteria met
    by earlier completions and aggregates course completion (one run settles it in the fake)."""
    task = str(args.get("task") or "").strip()
    if task.lstrip("\\") != COMPLETION_TASK.lstrip("\\"):
        raise ValueError(f"unknown task {task!r}")
    only = int(args["courseid"]) if args.get("courseid") not in (None, "") else None
    courseids = sorted({row["course"] for row in site.db["course_completion_criteria"]}
                       if only is None else {only})
    output = ["Execute scheduled task: Calculate regular completion data "
              "(core\\task\\completion_regular_task)", "Aggregating completions"]
    for courseid in courseids:
        for criterion in criteria(site, courseid):
            if int(criterion["criteriatype"]) != CRITERIA_ACTIVITY:
                continue
            for cmc in site.db["course_modules_completion"].select(
                    coursemoduleid=int(criterion["moduleinstance"])):
                if (int(cmc["completionstate"]) != COMPLETION_INCOMPLETE
                        and is_tracked_user(site, cmc["userid"], courseid)
                        and criterion_completion(site, cmc["userid"], criterion) is None):
                    mark_criterion(site, cmc["userid"], criterion)
                    ensure_course_completion(site, cmc["userid"], courseid)["reaggregate"] = site.now()
        for completion in site.db["course_completions"].select(course=courseid):
            if completion.get("timecompleted") or not is_tracked_user(site, completion["userid"], courseid):
                continue
            output.append(f"Aggregating completions for user {completion['userid']} in course {courseid}")
            if aggregate(site, completion["userid"], courseid):
                output.append("Marking complete")
            completion["reaggregate"] = 0
    output.append("Scheduled task complete: Calculate regular completion data "
                  "(core\\task\\completion_regular_task)")
    rows = [row for courseid in courseids for row in site.db["course_completions"].select(course=courseid)]
    return {"rc": 0, "output": output, "course_completions": [as_db_strings(r, CC_FIELDS) for r in rows]}


@site_action("mark_course_complete")
def mark_course_complete_action(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """Learners complete courses (``completion_completion::mark_complete``, as the task does).

    ``pairs`` is ``[[userid, courseid], ...]``; an optional third item is the completion time."""
    marked = 0
    for pair in args.get("pairs") or []:
        userid, courseid = int(pair[0]), int(pair[1])
        when = int(pair[2]) if len(pair) > 2 and pair[2] not in (None, "") else args.get("timecompleted")
        if site.db["user"].get(userid) is None or site.db["course"].get(courseid) is None:
            raise ValueError(f"no user {userid} or course {courseid}")
        mark_course_complete(site, userid, courseid, None if when is None else int(when))
        marked += 1
    return {"marked": marked}


@site_action("reset_course_completion")
def reset_course_completion(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin deletes a user's course completion (the course and criteria completions; activity
    completions stay, so cron or the next activity change aggregates again)."""
    userid, courseid = int(args["userid"]), int(args["courseid"])
    deleted = 0
    for table in ("course_completions", "course_completion_crit_compl"):
        for row in site.db[table].select(course=courseid, userid=userid):
            site.db[table].delete(row)
            deleted += 1
    return {"deleted": deleted}
