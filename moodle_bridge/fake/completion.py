"""Activity and course completion as Moodle stores it, and the rules that move it.

Tables: ``course_modules_completion`` (coursemoduleid, userid, completionstate, overrideby, timemodified),
``course_completion_criteria`` (course, criteriatype 4 activity / 1 self, module, moduleinstance = cmid),
``course_completion_aggr_methd`` (course, criteriatype None, method 1 all / 2 any),
``course_completion_crit_compl`` (userid, course, criteriaid, timecompleted) and ``course_completions``
(userid, course, timeenrolled, timestarted, timecompleted, reaggregate). The completion functions, the
activities that complete themselves, the grade report and the report builder all read and write them here.
"""

from __future__ import annotations

from .access import course_roles, is_active_enrolled
from .db import Row
from .site import FakeSite

COMPLETION_INCOMPLETE = 0
COMPLETION_COMPLETE = 1
TRACKING_NONE = 0
TRACKING_MANUAL = 1
TRACKING_AUTOMATIC = 2
CRITERIA_SELF = 1
CRITERIA_ACTIVITY = 4
AGGREGATION_ALL = 1
AGGREGATION_ANY = 2
COMPLETION_TASK = "\\core\\task\\completion_regular_task"
STUDENT = 5


def is_tracked_user(site: FakeSite, userid: int, courseid: int) -> bool:
    """``completion_info::is_tracked_user``: an active enrolment and a role counted in completion reports."""
    return is_active_enrolled(site, userid, courseid) and STUDENT in course_roles(site, userid, courseid)


# --- completion state ---------------------------------------------------------------------------

def completion_enabled(course: Row) -> bool:
    return bool(int(course.get("enablecompletion") or 0))


def cm_completion(site: FakeSite, cmid: int, userid: int) -> Row | None:
    return site.db["course_modules_completion"].first(coursemoduleid=cmid, userid=userid)


def criteria(site: FakeSite, courseid: int) -> list[Row]:
    return site.db["course_completion_criteria"].select(course=courseid)


def aggregation_method(site: FakeSite, courseid: int) -> int:
    row = site.db["course_completion_aggr_methd"].first(course=courseid)
    return int(row["method"]) if row is not None else AGGREGATION_ALL


def course_completion(site: FakeSite, userid: int, courseid: int) -> Row | None:
    return site.db["course_completions"].first(course=courseid, userid=userid)


def criterion_completion(site: FakeSite, userid: int, criterion: Row) -> Row | None:
    return site.db["course_completion_crit_compl"].first(criteriaid=criterion["id"], userid=userid)


def ensure_course_completion(site: FakeSite, userid: int, courseid: int) -> Row:
    row = course_completion(site, userid, courseid)
    if row is None:
        row = site.db["course_completions"].insert({
            "userid": userid, "course": courseid, "timeenrolled": 0, "timestarted": site.now(),
            "timecompleted": None, "reaggregate": 0})
    return row


def mark_course_complete(site: FakeSite, userid: int, courseid: int,
                         timecompleted: int | None = None) -> Row:
    """``completion_completion::mark_complete``: once complete, a course stays complete."""
    row = ensure_course_completion(site, userid, courseid)
    if not row.get("timecompleted"):
        when = site.now() if timecompleted is None else int(timecompleted)
        site.db["course_completions"].update(row, timecompleted=when, reaggregate=0)
        if not row.get("timestarted"):
            row["timestarted"] = when
    return row


def mark_criterion(site: FakeSite, userid: int, criterion: Row) -> Row:
    row = criterion_completion(site, userid, criterion)
    if row is None:
        row = site.db["course_completion_crit_compl"].insert({
            "userid": userid, "course": criterion["course"], "criteriaid": criterion["id"],
            "gradefinal": None, "unenroled": None, "timecompleted": site.now()})
    return row


def aggregate(site: FakeSite, userid: int, courseid: int) -> bool:
    """Aggregates a user's criteria into course completion; True when the course is complete."""
    rows = criteria(site, courseid)
    if not rows:
        return False
    done = [criterion_completion(site, userid, row) is not None for row in rows]
    complete = all(done) if aggregation_method(site, courseid) == AGGREGATION_ALL else any(done)
    if complete:
        mark_course_complete(site, userid, courseid)
    return complete


def update_state(site: FakeSite, cm: Row, userid: int, newstate: int, *,
                 overrideby: int | None = None) -> Row | None:
    """``completion_info::update_state``: write the activity state, then review the course criteria."""
    current = cm_completion(site, cm["id"], userid)
    state = int(current["completionstate"]) if current is not None else COMPLETION_INCOMPLETE
    if state == newstate:
        return current
    now = site.now()
    table = site.db["course_modules_completion"]
    if current is None:
        current = table.insert({"coursemoduleid": cm["id"], "userid": userid, "completionstate": newstate,
                                "overrideby": overrideby, "viewed": 0, "timemodified": now})
    else:
        table.update(current, completionstate=newstate, overrideby=overrideby, timemodified=now)
    if newstate != COMPLETION_INCOMPLETE and is_tracked_user(site, userid, cm["course"]):
        review_activity_criteria(site, cm, userid)
    return current


def review_activity_criteria(site: FakeSite, cm: Row, userid: int) -> bool:
    """The course criteria on this activity are met: marks them (now, unless already marked) and
    aggregates course completion; True when the activity is a criterion of its course."""
    reviewed = False
    for criterion in criteria(site, cm["course"]):
        if (int(criterion["criteriatype"]) == CRITERIA_ACTIVITY
                and int(criterion["moduleinstance"]) == cm["id"]):
            mark_criterion(site, userid, criterion)
            reviewed = True
    if reviewed:
        aggregate(site, userid, cm["course"])
    return reviewed


def course_activities(site: FakeSite, courseid: int) -> list[Row]:
    """Course modules with completion tracking, in course order."""
    rows = [cm for cm in site.db["course_modules"].select(course=courseid)
            if int(cm.get("completion") or 0) != TRACKING_NONE and not cm.get("deletioninprogress")]
    return sorted(rows, key=lambda cm: (_section_order(cm), cm["id"]))


def _section_order(cm: Row) -> int:
    try:
        return int(cm.get("section") or 0)
    except (TypeError, ValueError):
        return 0


def set_activity_complete(site: FakeSite, cm: Row, userid: int) -> None:
    """An activity's own rule met (a post, a submission): marks it complete for the user when it tracks
    completion automatically; the course criteria are left to cron."""
    course = site.db["course"].get(cm["course"])
    if course is None or not course.get("enablecompletion") or int(cm.get("completion", 0)) != 2:
        return
    table = site.db["course_modules_completion"]
    row = table.first(coursemoduleid=cm["id"], userid=userid)
    if row is None:
        table.insert({"coursemoduleid": cm["id"], "userid": userid, "completionstate": 1,
                      "overrideby": None, "timemodified": site.now()})
    elif not row.get("completionstate"):
        table.update(row, completionstate=1, timemodified=site.now())
