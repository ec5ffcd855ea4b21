"""Who may do what where: contexts, role capabilities, enrolment state and ``validate_context``.

Moodle decides what a user may do in a course from the roles they hold in the course context and its
parents (category, system), and lets them into a course (``require_login``) when they hold an active
enrolment or may view courses without one. Every function module asks here, so a learner's rights are
the same in the forum, the gradebook and the course listing.

An enrolment is *active* when both it and its enrolment instance are enabled and now lies after
``timestart`` and before ``timeend`` (Moodle's ``get_enrolled_sql`` with ``onlyactive``): a future start
date counts as enrolled, not active.
"""

from __future__ import annotations

from typing import Any

from .capabilities import role_may
from .db import Row
from .records import CONTEXT_COURSE, CONTEXT_COURSECAT, CONTEXT_MODULE, CONTEXT_SYSTEM, CONTEXT_USER, context
from .site import FakeSite
from .wserror import (
    WSError,
    context_not_valid,
    invalid_parameter,
    missing_record,
    no_permissions,
    require_login,
)

ADMIN_USERID = 2
GUEST_USERID = 1
CONTEXT_BLOCK = 80
CONTEXT_LEVELS = {"system": CONTEXT_SYSTEM, "user": CONTEXT_USER, "coursecat": CONTEXT_COURSECAT,
                  "course": CONTEXT_COURSE, "module": CONTEXT_MODULE, "block": CONTEXT_BLOCK}
# The table each context level's instance lives in.
CONTEXT_TABLES = {CONTEXT_USER: "user", CONTEXT_COURSECAT: "course_categories", CONTEXT_COURSE: "course",
                  CONTEXT_MODULE: "course_modules"}
ENROL_USER_ACTIVE, ENROL_USER_SUSPENDED = 0, 1
# Moodle's defaults for roles a fresh site allows to assign when no row says otherwise.
DEFAULT_ALLOW_ASSIGN = {3: [4, 5]}


# --- contexts -------------------------------------------------------------------------------------------

def system_context(site: FakeSite) -> Row:
    return context(site, CONTEXT_SYSTEM, 0)


def course_context(site: FakeSite, courseid: int) -> Row:
    return context(site, CONTEXT_COURSE, int(courseid))


def module_context(site: FakeSite, cmid: int) -> Row:
    return context(site, CONTEXT_MODULE, int(cmid))


def category_context(site: FakeSite, categoryid: int) -> Row | None:
    """The category's context, or None when there is no such category."""
    if site.db["course_categories"].get(categoryid) is None:
        return None
    return context(site, CONTEXT_COURSECAT, int(categoryid))


def category_path(site: FakeSite, categoryid: int) -> list[int]:
    """The ids of a category and its parents, top-level first."""
    category = site.db["course_categories"].get(categoryid)
    if category is None:
        return []
    path = str(category.get("path") or f"/{category['id']}")
    return [int(part) for part in path.split("/") if part]


def context_chain(site: FakeSite, ctx: Row) -> list[Row]:
    """The context and every parent context, from system down to the context itself."""
    chain = [system_context(site)]
    level, instanceid = int(ctx["contextlevel"]), int(ctx["instanceid"])
    courseid: int | None = None
    if level == CONTEXT_MODULE:
        cm = site.db["course_modules"].get(instanceid)
        courseid = int(cm["course"]) if cm else None
    elif level == CONTEXT_COURSE:
        courseid = instanceid
    categoryid: int | None = None
    if courseid is not None:
        course = site.db["course"].get(courseid)
        categoryid = int(course["category"]) if course and course.get("category") else None
    elif level == CONTEXT_COURSECAT:
        categoryid = instanceid
    if categoryid:
        chain.extend(context(site, CONTEXT_COURSECAT, cat) for cat in category_path(site, categoryid))
    if courseid is not None and courseid != 1:
        chain.append(course_context(site, courseid))
    if level in (CONTEXT_MODULE, CONTEXT_USER, CONTEXT_BLOCK):
        chain.append(ctx)
    unique: dict[int, Row] = {}
    for row in chain:
        unique.setdefault(int(row["id"]), row)
    return list(unique.values())


def parent_context_ids(site: FakeSite, ctx: Row) -> list[int]:
    """``context::get_parent_context_ids()``: nearest first, the system context last."""
    return [row["id"] for row in reversed(context_chain(site, ctx)) if row["id"] != ctx["id"]]


# --- roles and capabilities -----------------------------------------------------------------------------

def is_siteadmin(userid: int) -> bool:
    return int(userid) == ADMIN_USERID


def user_roles_in(site: FakeSite, userid: int, ctx: Row) -> list[int]:
    """Role ids the user holds in the context or any parent context."""
    return [int(assignment["roleid"]) for row in context_chain(site, ctx)
            for assignment in site.db["role_assignments"].select(userid=int(userid), contextid=row["id"])]


def course_roles(site: FakeSite, userid: int, courseid: int) -> list[int]:
    """Role ids the user holds in the course's own context (what participant lists show)."""
    ctx = course_context(site, courseid)
    return sorted(row["roleid"] for row in site.db["role_assignments"].select(userid=userid,
                                                                              contextid=ctx["id"]))


def role_has_capability(site: FakeSite, roleid: int, capability: str) -> bool:
    role = site.db["role"].get(roleid)
    return role is not None and role_may(str(role.get("archetype") or role.get("shortname") or ""),
                                         capability)


def has_capability_in(site: FakeSite, userid: int, capability: str, ctx: Row) -> bool:
    """``has_capability``: a system-level grant, or a role held in the context or a parent."""
    if site.has_capability(userid, capability):
        return True
    return any(role_has_capability(site, roleid, capability)
               for roleid in user_roles_in(site, userid, ctx))


def course_has_capability(site: FakeSite, userid: int, capability: str, courseid: int) -> bool:
    return has_capability_in(site, userid, capability, course_context(site, courseid))


def require(allowed: bool, capability: str) -> None:
    """``require_capability`` once the check is made: ``nopermissions`` naming the capability."""
    if not allowed:
        raise no_permissions(capability)


def require_capability_in(site: FakeSite, userid: int, capability: str, ctx: Row) -> None:
    require(has_capability_in(site, userid, capability, ctx), capability)


def require_course_capability(site: FakeSite, userid: int, capability: str, courseid: int) -> None:
    require(course_has_capability(site, userid, capability, courseid), capability)


def assignable_roles(site: FakeSite, userid: int, ctx: Row) -> set[int]:
    """``get_assignable_roles``: roles the user's own roles are allowed to assign here."""
    if is_siteadmin(userid):
        return {int(role["id"]) for role in site.db["role"]}
    if not has_capability_in(site, userid, "moodle/role:assign", ctx):
        return set()
    allowed: set[int] = set()
    for roleid in user_roles_in(site, userid, ctx):
        row = site.db["role_allow_assign"].first(roleid=roleid)
        if row is not None:
            allowed.update(int(target) for target in row["allowassign"])
        else:
            allowed.update(DEFAULT_ALLOW_ASSIGN.get(roleid, []))
    existing = {int(role["id"]) for role in site.db["role"]}
    return allowed & existing


def role_assign(site: FakeSite, roleid: int, userid: int, contextid: int, component: str = "",
                itemid: int = 0) -> Row:
    """``role_assign``: idempotent, the same role in the same context is not assigned twice."""
    table = site.db["role_assignments"]
    for row in table.select(userid=int(userid), contextid=int(contextid)):
        if (int(row["roleid"]) == int(roleid) and row.get("component", "") == component
                and int(row.get("itemid") or 0) == int(itemid)):
            return row
    return table.insert({"roleid": int(roleid), "contextid": int(contextid), "userid": int(userid),
                         "component": component, "itemid": int(itemid), "timemodified": site.now(),
                         "modifierid": 0, "sortorder": 0})


def role_unassign_all(site: FakeSite, userid: int, contextids: list[int]) -> None:
    table = site.db["role_assignments"]
    for contextid in contextids:
        for row in table.select(userid=int(userid), contextid=int(contextid)):
            table.delete(row)


# --- enrolment state ------------------------------------------------------------------------------------

def is_active(site: FakeSite, ue: Row, instance: Row, now: int | None = None) -> bool:
    """Whether an enrolment is active (at ``now``, the site's current time unless given)."""
    now = site.now() if now is None else now
    return (int(ue.get("status") or 0) == ENROL_USER_ACTIVE and int(instance.get("status") or 0) == 0
            and int(ue.get("timestart") or 0) < now
            and (int(ue.get("timeend") or 0) == 0 or int(ue["timeend"]) > now))


def user_enrolments(site: FakeSite, userid: int, courseid: int) -> list[tuple[Row, Row]]:
    """The user's (enrolment, instance) pairs in a course, in any state."""
    pairs = []
    for instance in site.db["enrol"].select(courseid=int(courseid)):
        ue = site.db["user_enrolments"].first(userid=int(userid), enrolid=instance["id"])
        if ue is not None:
            pairs.append((ue, instance))
    return pairs


def is_enrolled_any(site: FakeSite, userid: int, courseid: int) -> bool:
    """``is_enrolled`` without onlyactive: any enrolment row, suspended or future included."""
    return bool(user_enrolments(site, userid, courseid))


def is_active_enrolled(site: FakeSite, userid: int, courseid: int) -> bool:
    return any(is_active(site, ue, instance) for ue, instance in user_enrolments(site, userid, courseid))


def enrolled_users(site: FakeSite, courseid: int, *, onlyactive: bool = False,
                   onlysuspended: bool = False) -> list[int]:
    """User ids enrolled in a course (``get_enrolled_sql``), in id order."""
    states: dict[int, bool] = {}
    now = site.now()
    users = site.db["user"]
    for instance in site.db["enrol"].select(courseid=int(courseid)):
        for ue in site.db["user_enrolments"].select(enrolid=instance["id"]):
            userid = int(ue["userid"])
            user = users.get(userid)
            if user is None or user.get("deleted"):
                continue
            states[userid] = states.get(userid, False) or is_active(site, ue, instance, now)
    if onlyactive:
        return sorted(userid for userid, active in states.items() if active)
    if onlysuspended:
        return sorted(userid for userid, active in states.items() if not active)
    return sorted(states)


def unsuspended_users(site: FakeSite, courseid: int) -> list[int]:
    """Users with an enrolment that is not suspended, whatever its dates or method's state: whom the
    fake's grade reports and assignment participant lists show."""
    return sorted({row["userid"] for instance in site.db["enrol"].select(courseid=courseid)
                   for row in site.db["user_enrolments"].select(enrolid=instance["id"])
                   if row["status"] == 0})


def students(site: FakeSite, courseid: int) -> list[int]:
    """Unsuspended users holding the student role (what grade reports list)."""
    ctx = course_context(site, courseid)
    holders = {row["userid"] for row in site.db["role_assignments"].select(contextid=ctx["id"])
               if row["roleid"] == 5}
    return [userid for userid in unsuspended_users(site, courseid) if userid in holders]


def enrolled_course_ids(site: FakeSite, userid: int) -> list[int]:
    """Courses the user holds an active enrolment in (``enrol_get_my_courses``)."""
    courseids: set[int] = set()
    for row in site.db["user_enrolments"].select(userid=userid):
        instance = site.db["enrol"].get(row["enrolid"])
        if instance is not None and is_active(site, row, instance):
            courseids.add(int(instance["courseid"]))
    return sorted(courseids)


def users_courses(site: FakeSite, userid: int) -> list[Row]:
    """``enrol_get_users_courses($userid, true)``: courses with an active enrolment, visible first,
    in course sort order; hidden courses only for users who may see them."""
    courses: dict[int, Row] = {}
    now = site.now()
    instances, all_courses = site.db["enrol"], site.db["course"]
    for ue in site.db["user_enrolments"].select(userid=int(userid)):
        instance = instances.get(ue["enrolid"])
        if instance is None or not is_active(site, ue, instance, now):
            continue
        course = all_courses.get(instance["courseid"])
        if course is None or int(course["id"]) == 1:
            continue
        if not course.get("visible", 1) and not course_has_capability(
                site, userid, "moodle/course:viewhiddencourses", int(course["id"])):
            continue
        courses[int(course["id"])] = course
    return sorted(courses.values(), key=lambda c: (-int(c.get("visible", 1)), int(c.get("sortorder") or 0)))


def shares_course(site: FakeSite, userid: int, other: int) -> bool:
    """``enrol_sharing_course``: both hold an enabled enrolment in one course, whatever its dates."""
    def courses(user: int) -> set[int]:
        found = set()
        for ue in site.db["user_enrolments"].select(userid=user):
            if ue.get("status", 0) == 0:
                instance = site.db["enrol"].get(ue["enrolid"])
                if instance is not None and instance.get("status", 0) == 0:
                    found.add(instance["courseid"])
        return found
    return bool(courses(userid) & courses(other))


def user_can_view_profile(site: FakeSite, viewerid: int, user: Row) -> bool:
    """``user_can_view_profile($user)`` without a course, on a site that forces login for profiles (the
    default): never a deleted user; oneself, a course contact (an editing teacher somewhere), anyone with
    ``moodle/user:viewdetails`` or ``viewalldetails``; else only someone sharing a course."""
    if user.get("deleted"):
        return False
    userid = int(user["id"])
    if userid == viewerid or site.has_capability(viewerid, "moodle/user:viewdetails") or \
            site.has_capability(viewerid, "moodle/user:viewalldetails"):
        return True
    if any(int(row["roleid"]) == 3 for row in site.db["role_assignments"].select(userid=userid)):
        return True
    return shares_course(site, viewerid, userid)


# --- logging in to a course (external_api::validate_context) --------------------------------------------

def can_access_course(site: FakeSite, userid: int, course: Row) -> str | None:
    """None when ``require_login($course)`` passes, else the reason (Moodle's debuginfo)."""
    courseid = int(course["id"])
    if courseid == 1:
        return None
    if not course.get("visible", 1) and not course_has_capability(
            site, userid, "moodle/course:viewhiddencourses", courseid):
        return "Course is hidden"
    if course_has_capability(site, userid, "moodle/course:view", courseid):
        return None
    if is_active_enrolled(site, userid, courseid):
        return None
    return "Not enrolled"


def require_course_login(site: FakeSite, userid: int, course: Row) -> None:
    reason = can_access_course(site, userid, course)
    if reason is not None:
        raise require_login(reason)


def validate_context(site: FakeSite, userid: int, ctx: Row | None) -> None:
    """``external_api::validate_context``: a missing context is invalidparameter; course and module
    contexts need ``require_login``, which a hidden activity fails for those who may not see it."""
    if ctx is None:
        raise invalid_parameter("Context does not exist")
    level = int(ctx["contextlevel"])
    if level == CONTEXT_COURSE:
        course = site.db["course"].get(ctx["instanceid"])
        if course is None:
            raise invalid_parameter("Context does not exist")
        require_course_login(site, userid, course)
    elif level == CONTEXT_MODULE:
        cm = site.db["course_modules"].get(ctx["instanceid"])
        if cm is None or site.db["course"].get(cm["course"]) is None:
            raise invalid_parameter("Context does not exist")
        validate_module(site, userid, cm)


def validate_course(site: FakeSite, userid: int, courseid: int) -> None:
    """``validate_context`` of a course as most course functions report its failure: one
    ``errorcoursecontextnotvalid`` whatever the reason (no such course, not enrolled, hidden)."""
    ctx = course_context(site, courseid) if site.db["course"].get(courseid) is not None else None
    try:
        validate_context(site, userid, ctx)
    except WSError as exc:
        raise context_not_valid("course", courseid, exc) from None


def validate_module(site: FakeSite, userid: int, cm: Row) -> Row:
    """``validate_context`` of a course module's context; returns the module's course."""
    course = site.db["course"].get(cm["course"])
    if course is None:
        raise missing_record("course", cm["course"])
    require_course_login(site, userid, course)
    if not cm.get("visible", 1) and not course_has_capability(
            site, userid, "moodle/course:viewhiddenactivities", int(course["id"])):
        raise require_login("Activity is hidden")
    return course


def validate_courses(site: FakeSite, userid: int, courseids: list[int]
                     ) -> tuple[list[Row], list[dict[str, Any]]]:
    """``external_util::validate_courses``: the courses the user can use, a warning for the others."""
    courses: list[Row] = []
    warnings: list[dict[str, Any]] = []
    for courseid in dict.fromkeys(courseids):
        course = site.db["course"].get(courseid)
        if course is None or can_access_course(site, userid, course) is not None:
            warnings.append({"item": "course", "itemid": courseid, "warningcode": "1",
                             "message": "No access rights in course context"})
            continue
        courses.append(course)
    return courses, warnings


def requested_courses(site: FakeSite, userid: int, courseids: list[int]
                      ) -> tuple[list[Row], list[dict[str, Any]]]:
    """The courses an activity listing asks for (the user's own when none are named), validated."""
    return validate_courses(site, userid, courseids or enrolled_course_ids(site, userid))


def visible_modules(site: FakeSite, userid: int, course: Row, modname: str) -> list[Row]:
    """The course's modules of one kind the user can see, in course order."""
    cms = [cm for cm in site.db["course_modules"].select(course=course["id"], modname=modname)
           if not cm.get("deletioninprogress")]
    if not course_has_capability(site, userid, "moodle/course:viewhiddenactivities", int(course["id"])):
        cms = [cm for cm in cms if cm.get("visible", 1)]
    return cms
