"""core_role, and what every course-level function needs: contexts, role capabilities, role assignment.

Moodle decides what a user may do in a course from the roles they hold in the course context and its
parents (category, system). The fake keeps system-level grants in ``site.capabilities`` (wsbot holds
``*``) and gives the standard roles the capabilities their archetypes have on a fresh site, for the
checks the fake's functions make. Assigning a role needs ``moodle/role:assign`` *and* an entry in
``role_allow_assign`` for one of the caller's roles (Define roles > Allow role assignments): a role with
every capability still cannot assign anything until an admin allows it.
"""

from __future__ import annotations

from typing import Any

from ..db import Row
from ..records import (
    CONTEXT_COURSE,
    CONTEXT_COURSECAT,
    CONTEXT_MODULE,
    CONTEXT_SYSTEM,
    CONTEXT_USER,
    context,
)
from ..registry import function
from ..site import CAPABILITY_NAMES, Call, FakeSite
from ..wserror import WSError, invalid_parameter, no_permissions, require_login

ADMIN_USERID = 2
GUEST_USERID = 1

CONTEXT_LEVELS = {"system": CONTEXT_SYSTEM, "user": CONTEXT_USER, "coursecat": CONTEXT_COURSECAT,
                  "course": CONTEXT_COURSE, "module": CONTEXT_MODULE, "block": 80}

MORE_CAPABILITY_NAMES = {
    "moodle/category:manage": "Manage categories",
    "moodle/course:viewparticipants": "View participants",
    "moodle/course:viewhiddencourses": "View hidden courses",
    "moodle/course:manageactivities": "Manage activities",
    "moodle/course:delete": "Delete courses",
    "moodle/course:changecategory": "Change course category",
    "moodle/course:changefullname": "Change course full name",
    "moodle/course:changeshortname": "Change course short name",
    "moodle/course:changeidnumber": "Change course ID number",
    "moodle/course:changesummary": "Change course summary",
    "moodle/course:visibility": "Hide/show courses",
    "moodle/role:review": "Review permissions for others",
    "moodle/site:accessallgroups": "Access all groups",
    "moodle/backup:userinfo": "Backup user data",
    "moodle/restore:userinfo": "Restore user data",
    "moodle/backup:configure": "Configure backup options",
    "moodle/restore:configure": "Configure restore options",
    "moodle/category:viewhiddencategories": "See hidden categories",
    "moodle/site:viewparticipants": "View participants",
}

_STUDENT = frozenset({
    "moodle/course:viewparticipants", "moodle/course:isincompletionreports", "moodle/user:viewdetails",
    "moodle/grade:view", "gradereport/user:view", "gradereport/overview:view",
    "mod/forum:viewdiscussion", "mod/forum:startdiscussion", "mod/forum:replypost",
    "mod/forum:createattachment", "mod/assign:view", "mod/assign:submit", "mod/feedback:view",
    "mod/feedback:complete", "mod/page:view", "moodle/course:togglecompletion",
})
_TEACHER = frozenset({
    "moodle/course:viewparticipants", "moodle/user:viewdetails", "moodle/course:useremail",
    "moodle/site:accessallgroups", "moodle/course:viewhiddenactivities", "moodle/course:viewhiddencourses",
    "moodle/course:viewhiddensections", "moodle/course:enrolreview", "moodle/course:markcomplete",
    "moodle/role:review", "moodle/grade:viewall", "moodle/grade:edit", "moodle/site:viewuseridentity",
    "moodle/user:viewhiddendetails", "moodle/course:viewhiddenuserfields", "moodle/site:viewfullnames",
    "mod/assign:view", "mod/assign:grade", "mod/assign:viewgrades", "mod/forum:viewdiscussion",
    "mod/forum:startdiscussion", "mod/forum:replypost", "mod/forum:viewanyrating",
    "mod/feedback:view", "mod/feedback:viewreports", "mod/page:view",
    "gradereport/user:view", "gradereport/overview:view", "gradereport/grader:view",
})
_EDITINGTEACHER = _TEACHER | frozenset({
    "moodle/course:manageactivities", "moodle/course:update", "moodle/course:managegroups",
    "moodle/course:overridecompletion", "moodle/course:changefullname", "moodle/course:changeshortname",
    "moodle/course:changesummary", "moodle/course:visibility", "moodle/role:assign",
    "enrol/manual:enrol", "enrol/manual:unenrol", "enrol/manual:manage", "moodle/course:enrolconfig",
    "mod/forum:addnews", "mod/forum:pindiscussions", "mod/assign:grantextension",
    "moodle/backup:backupcourse", "moodle/restore:restorecourse",
})
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    "student": _STUDENT,
    "teacher": _TEACHER,
    "editingteacher": _EDITINGTEACHER,
    "guest": frozenset({"mod/forum:viewdiscussion"}),
    "user": frozenset(),
    "frontpage": frozenset(),
    "coursecreator": frozenset({"moodle/course:create", "moodle/course:view"}),
}
# Moodle's defaults for roles a fresh site allows to assign when no row says otherwise.
DEFAULT_ALLOW_ASSIGN = {3: [4, 5]}


def capability_name(capability: str) -> str:
    return MORE_CAPABILITY_NAMES.get(capability) or CAPABILITY_NAMES.get(capability, capability)


def require(ok: bool, capability: str) -> None:
    if not ok:
        raise no_permissions(capability, capability_name(capability))


# --- contexts -----------------------------------------------------------------------------------------

def system_context(site: FakeSite) -> Row:
    return context(site, CONTEXT_SYSTEM, 0)


def course_context(site: FakeSite, courseid: int) -> Row:
    return context(site, CONTEXT_COURSE, int(courseid))


def module_context(site: FakeSite, cmid: int) -> Row:
    return context(site, CONTEXT_MODULE, int(cmid))


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
    if level in (CONTEXT_MODULE, CONTEXT_USER, 80):
        chain.append(ctx)
    return _unique(chain)


def _unique(rows: list[Row]) -> list[Row]:
    seen: set[int] = set()
    result = []
    for row in rows:
        if row["id"] not in seen:
            seen.add(row["id"])
            result.append(row)
    return result


# --- roles and capabilities ---------------------------------------------------------------------------

def role_shortname(site: FakeSite, roleid: int) -> str:
    role = site.db["role"].get(roleid)
    return str(role["shortname"]) if role else ""


def user_roles_in(site: FakeSite, userid: int, ctx: Row) -> list[int]:
    """Role ids the user holds in the context or any parent context."""
    roles: list[int] = []
    for row in context_chain(site, ctx):
        for assignment in site.db["role_assignments"].select(userid=int(userid), contextid=row["id"]):
            roles.append(int(assignment["roleid"]))
    return roles


def role_has_capability(site: FakeSite, roleid: int, capability: str) -> bool:
    role = site.db["role"].get(roleid)
    if role is None:
        return False
    archetype = str(role.get("archetype") or role.get("shortname") or "")
    if archetype == "manager":
        return True
    return capability in ROLE_CAPABILITIES.get(archetype, frozenset())


def has_capability_in(site: FakeSite, userid: int, capability: str, ctx: Row) -> bool:
    """``has_capability``: a system-level grant, or a role held in the context or a parent."""
    if site.has_capability(userid, capability):
        return True
    return any(role_has_capability(site, roleid, capability)
               for roleid in user_roles_in(site, userid, ctx))


def course_has_capability(site: FakeSite, userid: int, capability: str, courseid: int) -> bool:
    return has_capability_in(site, userid, capability, course_context(site, courseid))


def is_siteadmin(userid: int) -> bool:
    return int(userid) == ADMIN_USERID


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


# --- login to a course (external_api::validate_context) ---------------------------------------------

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
    from .enrol import is_active_enrolled

    if is_active_enrolled(site, userid, courseid):
        return None
    return "Not enrolled"


def require_course_login(site: FakeSite, userid: int, course: Row) -> None:
    reason = can_access_course(site, userid, course)
    if reason is not None:
        raise require_login(reason)


def validate_context(site: FakeSite, userid: int, ctx: Row | None) -> None:
    """``external_api::validate_context``: a missing context is invalidparameter; course and module
    contexts need ``require_login``."""
    if ctx is None:
        raise invalid_parameter("Context does not exist")
    level = int(ctx["contextlevel"])
    courseid: int | None = None
    if level == CONTEXT_COURSE:
        courseid = int(ctx["instanceid"])
    elif level == CONTEXT_MODULE:
        cm = site.db["course_modules"].get(ctx["instanceid"])
        courseid = int(cm["course"]) if cm else None
    if courseid is not None:
        course = site.db["course"].get(courseid)
        if course is None:
            raise invalid_parameter("Context does not exist")
        require_course_login(site, userid, course)


def course_context_error(courseid: int, exc: WSError) -> WSError:
    """``errorcoursecontextnotvalid``: how most course functions report a failed validate_context."""
    return WSError("core\\exception\\moodle_exception", "errorcoursecontextnotvalid",
                   f"You cannot execute functions in the course context (course id:{courseid}). "
                   f"The context error message was: {exc.message}")


# --- core_role_assign_roles ---------------------------------------------------------------------------

def context_from_params(site: FakeSite, params: dict[str, Any]) -> Row:
    """``external_api::get_context_from_params``: by ``contextid`` or ``contextlevel`` + ``instanceid``."""
    from .core_course import missing

    if params.get("contextid"):
        row = site.db["context"].get(params["contextid"])
        if row is None:
            raise missing(site, "context", params["contextid"])
        return row
    level_name = params.get("contextlevel")
    if level_name and params.get("instanceid") is not None:
        level = CONTEXT_LEVELS.get(str(level_name))
        if level is None:
            raise invalid_parameter("Invalid context level = " + str(level_name))
        instanceid = int(params["instanceid"])
        if level == CONTEXT_SYSTEM:
            return system_context(site)
        table = {CONTEXT_USER: "user", CONTEXT_COURSECAT: "course_categories", CONTEXT_COURSE: "course",
                 CONTEXT_MODULE: "course_modules"}.get(level)
        if table is None or site.db[table].get(instanceid) is None:
            raise missing(site, table or "context", instanceid)
        return context(site, level, instanceid)
    raise invalid_parameter("Missing parameters: contextid or contextlevel+instanceid")


@function("core_role_assign_roles", items="assignments")
def assign_roles(call: Call, params: dict[str, Any]) -> None:
    """All or nothing: checks every assignment first, as Moodle's transaction would roll back."""
    site = call.site
    todo: list[tuple[int, int, int]] = []
    for assignment in params["assignments"]:
        ctx = context_from_params(site, assignment)
        validate_context(site, call.userid, ctx)
        require(has_capability_in(site, call.userid, "moodle/role:assign", ctx), "moodle/role:assign")
        roleid = int(assignment["roleid"])
        if roleid not in assignable_roles(site, call.userid, ctx):
            contextid = assignment.get("contextid")
            raise invalid_parameter(f"Can not assign roleid={roleid} in contextid="
                                    f"{'' if contextid is None else contextid}")
        userid = int(assignment["userid"])
        user = site.db["user"].get(userid)
        if user is None or user.get("deleted"):
            raise WSError("core\\exception\\coding_exception", "codingerror",
                          "Coding error detected, it must be fixed by a programmer: "
                          "User ID does not exist or is deleted!")
        todo.append((roleid, userid, int(ctx["id"])))
    for roleid, userid, contextid in todo:
        role_assign(site, roleid, userid, contextid)
    return None
