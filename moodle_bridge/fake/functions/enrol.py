"""enrol_manual and core_enrol: enrolling, unenrolling, and reading who is enrolled where.

An enrolment is a ``user_enrolments`` row in one of the course's ``enrol`` instances plus a role
assignment in the course context. It is *active* when both the enrolment and the instance are enabled
and now lies between ``timestart`` and ``timeend`` (Moodle's ``get_enrolled_sql`` with onlyactive):
a future start date counts as enrolled, not active.
"""

from __future__ import annotations

from typing import Any

from ..db import Row
from ..records import fullname, profile_image_urls
from ..registry import function
from ..site import Call, FakeSite
from ..wserror import MOODLE_EXCEPTION, WSError, invalid_parameter, moodle_exception
from .core_course import format_string, format_text, get_course_or_missing, missing
from .core_role import (
    assignable_roles,
    course_context,
    course_context_error,
    course_has_capability,
    has_capability_in,
    is_siteadmin,
    require,
    role_assign,
    role_unassign_all,
    system_context,
    validate_context,
)

ENROL_USER_ACTIVE = 0
ENROL_USER_SUSPENDED = 1


# --- enrolment state ----------------------------------------------------------------------------------

def is_active(site: FakeSite, ue: Row, instance: Row) -> bool:
    now = site.now()
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
    for instance in site.db["enrol"].select(courseid=int(courseid)):
        for ue in site.db["user_enrolments"].select(enrolid=instance["id"]):
            userid = int(ue["userid"])
            user = site.db["user"].get(userid)
            if user is None or user.get("deleted"):
                continue
            states[userid] = states.get(userid, False) or is_active(site, ue, instance)
    if onlyactive:
        return sorted(userid for userid, active in states.items() if active)
    if onlysuspended:
        return sorted(userid for userid, active in states.items() if not active)
    return sorted(states)


def users_courses(site: FakeSite, userid: int) -> list[Row]:
    """``enrol_get_users_courses($userid, true)``: courses with an active enrolment, visible first,
    in course sort order; hidden courses only for users who may see them."""
    courses: dict[int, Row] = {}
    for ue in site.db["user_enrolments"].select(userid=int(userid)):
        instance = site.db["enrol"].get(ue["enrolid"])
        if instance is None or not is_active(site, ue, instance):
            continue
        course = site.db["course"].get(instance["courseid"])
        if course is None or int(course["id"]) == 1:
            continue
        if not course.get("visible", 1) and not course_has_capability(
                site, userid, "moodle/course:viewhiddencourses", int(course["id"])):
            continue
        courses[int(course["id"])] = course
    return sorted(courses.values(), key=lambda c: (-int(c.get("visible", 1)), int(c.get("sortorder") or 0)))


def manual_instance_enabled(site: FakeSite, courseid: int) -> Row | None:
    for instance in sorted(site.db["enrol"].select(courseid=int(courseid)),
                           key=lambda row: (int(row.get("sortorder") or 0), int(row["id"]))):
        if instance["enrol"] == "manual" and int(instance.get("status") or 0) == 0:
            return instance
    return None


def enrol_user(site: FakeSite, instance: Row, userid: int, roleid: int | None, timestart: int = 0,
               timeend: int = 0, status: int | None = None) -> bool:
    """``enrol_plugin::enrol_user``; True when it re-activated a suspended enrolment."""
    table = site.db["user_enrolments"]
    now = site.now()
    ue = table.first(userid=int(userid), enrolid=instance["id"])
    reactivated = False
    if ue is not None:
        if (int(ue.get("timestart") or 0) != timestart or int(ue.get("timeend") or 0) != timeend
                or (status is not None and int(ue.get("status") or 0) != status)):
            if status is not None:
                was = int(ue.get("status") or 0)
                reactivated = was == ENROL_USER_SUSPENDED and status == ENROL_USER_ACTIVE
                table.update(ue, status=status)
            ue.update({"timestart": timestart, "timeend": timeend, "timemodified": now})
    else:
        table.insert({"enrolid": instance["id"], "userid": int(userid),
                      "status": ENROL_USER_ACTIVE if status is None else status, "timestart": timestart,
                      "timeend": timeend, "modifierid": 0, "timecreated": now, "timemodified": now})
    if roleid:
        ctx = course_context(site, int(instance["courseid"]))
        role_assign(site, int(roleid), int(userid), int(ctx["id"]))
    return reactivated


def unenrol_user(site: FakeSite, instance: Row, userid: int) -> None:
    """``enrol_plugin::unenrol_user``: when it was the user's last enrolment in the course, their roles,
    group memberships and last access there go too."""
    db = site.db
    ue = db["user_enrolments"].first(userid=int(userid), enrolid=instance["id"])
    if ue is None:
        return
    courseid = int(instance["courseid"])
    ctx = course_context(site, courseid)
    for ra in db["role_assignments"].select(userid=int(userid), contextid=ctx["id"]):
        if (ra.get("component") == f"enrol_{instance['enrol']}"
                and int(ra.get("itemid") or 0) == instance["id"]):
            db["role_assignments"].delete(ra)
    db["user_enrolments"].delete(ue)
    if is_enrolled_any(site, userid, courseid):
        return
    contextids = [int(ctx["id"])]
    for cm in db["course_modules"].select(course=courseid):
        mctx = db["context"].first(instanceid=cm["id"], contextlevel=70)
        if mctx is not None:
            contextids.append(int(mctx["id"]))
    role_unassign_all(site, userid, contextids)
    for group in db["groups"].select(courseid=courseid):
        for member in db["groups_members"].select(userid=int(userid), groupid=group["id"]):
            db["groups_members"].delete(member)
    for row in db["user_lastaccess"].select(userid=int(userid), courseid=courseid):
        db["user_lastaccess"].delete(row)


def _message_not_sent() -> WSError:
    return WSError(MOODLE_EXCEPTION, "Message was not sent.", "error/Message was not sent.")


def _get_user(site: FakeSite, userid: int) -> Row:
    """``core_user::get_user(MUST_EXIST)`` and ``require_active_user``."""
    user = site.db["user"].get(userid)
    if user is None:
        raise missing(site, "user", userid, code="invaliduser", message="Invalid user")
    if int(userid) == 1:
        raise moodle_exception("guestsarenotallowed", "The guest user cannot do this")
    if user.get("deleted"):
        raise moodle_exception("userdeleted", "The user account has been deleted")
    if not user.get("confirmed", 1):
        raise moodle_exception("usernotconfirmed", f"Could not confirm {user['username']}")
    return user


# --- enrol_manual -------------------------------------------------------------------------------------

@function("enrol_manual_enrol_users", items="enrolments")
def enrol_users(call: Call, params: dict[str, Any]) -> None:
    """All or nothing (Moodle's transaction): every enrolment is checked before any is made.

    Re-activating a suspended enrolment queues a welcome message; the lab site has no mail server, so
    after committing the call answers an error, as recorded (set config ``noemailever`` to stop it).
    """
    site = call.site
    todo: list[tuple[Row, int, int, int, int, int]] = []
    for enrolment in params["enrolments"]:
        courseid = int(enrolment["courseid"])
        course = site.db["course"].get(courseid)
        ctx = course_context(site, courseid) if course is not None else None
        validate_context(site, call.userid, ctx)
        assert ctx is not None
        require(has_capability_in(site, call.userid, "enrol/manual:enrol", ctx), "enrol/manual:enrol")
        user = _get_user(site, int(enrolment["userid"]))
        roleid = int(enrolment["roleid"])
        if roleid not in assignable_roles(site, call.userid, ctx):
            raise moodle_exception(
                "wsusercannotassign",
                f"You don't have the permission to assign this role ({roleid}) to this user "
                f"({user['id']}) in this course ({courseid}).")
        instance = manual_instance_enabled(site, courseid)
        if instance is None:
            raise moodle_exception("wsnoinstance", "Manual enrolment plugin instance doesn't exist or is "
                                   f"disabled for the course (id = {courseid})")
        status = ENROL_USER_SUSPENDED if enrolment.get("suspend") else ENROL_USER_ACTIVE
        todo.append((instance, int(user["id"]), roleid, int(enrolment.get("timestart") or 0),
                     int(enrolment.get("timeend") or 0), status))
    reactivated = False
    for instance, userid, roleid, timestart, timeend, status in todo:
        reactivated = enrol_user(site, instance, userid, roleid, timestart, timeend, status) or reactivated
    if reactivated and not site.config.get("noemailever"):
        raise _message_not_sent()
    return None


@function("enrol_manual_unenrol_users", items="enrolments")
def unenrol_users(call: Call, params: dict[str, Any]) -> None:
    """All or nothing; unenrolling someone who is not enrolled is not an error."""
    site = call.site
    todo: list[tuple[Row, int]] = []
    for enrolment in params["enrolments"]:
        courseid = int(enrolment["courseid"])
        if site.db["course"].get(courseid) is None:
            raise missing(site, "course", courseid)
        ctx = course_context(site, courseid)
        validate_context(site, call.userid, ctx)
        require(has_capability_in(site, call.userid, "enrol/manual:unenrol", ctx), "enrol/manual:unenrol")
        instance = site.db["enrol"].first(courseid=courseid, enrol="manual")
        if instance is None:
            raise moodle_exception("wsnoinstance", "Manual enrolment plugin instance doesn't exist or is "
                                   f"disabled for the course (id = {courseid})")
        user = _get_user(site, int(enrolment["userid"]))
        todo.append((instance, int(user["id"])))
    for instance, userid in todo:
        unenrol_user(site, instance, userid)
    return None


# --- core_enrol ---------------------------------------------------------------------------------------

DEFAULT_USER_FIELDS = ("id", "username", "fullname", "firstname", "lastname", "email", "address", "phone1",
                       "phone2", "department", "institution", "interests", "firstaccess", "lastaccess",
                       "lastcourseaccess", "idnumber", "description", "city", "country", "customfields",
                       "enrolledcourses", "groups", "roles", "preferences", "profileimageurl",
                       "profileimageurlsmall")


def _shares_course(site: FakeSite, userid: int, other: int) -> bool:
    mine = {int(c["id"]) for c in users_courses(site, userid)}
    return any(int(c["id"]) in mine for c in users_courses(site, other))


def user_details(site: FakeSite, viewer: int, user: Row, course: Row | None,
                 fields: list[str] | tuple[str, ...]) -> dict[str, Any] | None:
    """``user_get_user_details`` for a viewer, in a course: what they may see of a user."""
    wanted = set(fields or DEFAULT_USER_FIELDS)
    userid = int(user["id"])
    current = userid == int(viewer)
    admin = is_siteadmin(viewer)
    courseid = int(course["id"]) if course is not None else 1

    def can(capability: str) -> bool:
        return course_has_capability(site, viewer, capability, courseid)

    if not current and not can("moodle/user:viewdetails"):
        return None
    details: dict[str, Any] = {"id": userid, "fullname": fullname(user)}
    if "firstname" in wanted:
        details["firstname"] = user.get("firstname", "")
    if "lastname" in wanted:
        details["lastname"] = user.get("lastname", "")
    viewall = current or can("moodle/user:viewalldetails")
    if "username" in wanted and viewall:
        details["username"] = user.get("username", "")
    if "customfields" in wanted:
        custom = user.get("customfields") or {}
        items = custom.items() if isinstance(custom, dict) else ((c.get("shortname"), c.get("value"))
                                                                  for c in custom)
        values = [{"type": "text", "value": str(value), "name": str(name), "shortname": str(name)}
                  for name, value in items if value not in (None, "")]
        if values:
            details["customfields"] = values
    images = profile_image_urls(site, user)
    if "profileimageurl" in wanted:
        details["profileimageurl"] = images["profileimageurl"]
    if "profileimageurlsmall" in wanted:
        details["profileimageurlsmall"] = images["profileimageurlsmall"]
    if user.get("address") and ("address" in wanted or admin):
        details["address"] = user["address"]
    for phone in ("phone1", "phone2"):
        if user.get(phone) and admin:
            details[phone] = user[phone]
    if user.get("description") and "description" in wanted:
        details["description"] = format_text(user["description"], int(user.get("descriptionformat") or 1))
        details["descriptionformat"] = int(user.get("descriptionformat") or 1)
    for field in ("country", "city"):
        if field in wanted and user.get(field):
            details[field] = user[field]
    for field in ("firstaccess", "lastaccess"):
        if field in wanted:
            details[field] = int(user.get(field) or 0)
    if "lastcourseaccess" in wanted:
        access = site.db["user_lastaccess"].first(userid=userid, courseid=courseid)
        details["lastcourseaccess"] = int(access["timeaccess"]) if access else 0
    maildisplay = int(user.get("maildisplay", 2))
    if "email" in wanted and (current or maildisplay == 1 or can("moodle/course:useremail")
                              or can("moodle/site:viewuseridentity")
                              or (maildisplay == 2 and _shares_course(site, viewer, userid))):
        details["email"] = user.get("email", "")
    for field in ("idnumber", "institution"):
        if field in wanted and user.get(field) and viewall:
            details[field] = user[field]
    if "department" in wanted and user.get("department") is not None and viewall:
        details["department"] = user["department"]
    if course is not None and "roles" in wanted:
        ctx = course_context(site, courseid)
        roles: list[dict[str, Any]] = []
        for ra in site.db["role_assignments"].select(userid=userid, contextid=ctx["id"]):
            role = site.db["role"].get(ra["roleid"])
            if role is not None and all(r["roleid"] != role["id"] for r in roles):
                roles.append({"roleid": role["id"], "name": role.get("name") or "",
                              "shortname": role["shortname"], "sortorder": int(ra.get("sortorder") or 0),
                              "_order": int(role.get("sortorder") or role["id"])})
        roles.sort(key=lambda r: r.pop("_order"))
        details["roles"] = roles
    if course is not None and "groups" in wanted:
        groups = []
        for group in site.db["groups"].select(courseid=courseid):
            if site.db["groups_members"].first(userid=userid, groupid=group["id"]):
                groups.append({"id": group["id"], "name": format_string(group["name"]),
                               "description": format_text(group.get("description"),
                                                          int(group.get("descriptionformat") or 1)),
                               "descriptionformat": int(group.get("descriptionformat") or 1)})
        if groups:
            details["groups"] = groups
    if "enrolledcourses" in wanted:
        courses = [{"id": c["id"], "fullname": format_string(c["fullname"]),
                    "shortname": format_string(c["shortname"])} for c in users_courses(site, userid)]
        if courses:
            details["enrolledcourses"] = courses
    if "preferences" in wanted and current:
        prefs = user.get("preferences") or {}
        details["preferences"] = [{"name": k, "value": v} for k, v in dict(prefs).items()]
    return details


def _view_participants(site: FakeSite, userid: int, courseid: int) -> None:
    if courseid == 1:
        require(has_capability_in(site, userid, "moodle/site:viewparticipants", system_context(site)),
                "moodle/site:viewparticipants")
    else:
        require(course_has_capability(site, userid, "moodle/course:viewparticipants", courseid),
                "moodle/course:viewparticipants")


def _user_fields(value: Any) -> list[str]:
    fields = []
    for part in str(value).split(","):
        clean = "".join(ch for ch in part if ch.isalnum() or ch in "_-")
        if clean:
            fields.append(clean)
    return fields


@function("core_enrol_get_enrolled_users")
def get_enrolled_users(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    withcapability = ""
    groupid = 0
    onlyactive = onlysuspended = False
    fields: list[str] = []
    limitfrom = limitnumber = 0
    sortby, descending = "id", False
    for option in params.get("options") or []:
        name, value = option["name"], option["value"]
        if name == "withcapability":
            withcapability = str(value)
        elif name == "groupid":
            groupid = _as_int(value)
        elif name == "onlyactive":
            onlyactive = _truthy(value)
        elif name == "onlysuspended":
            onlysuspended = _truthy(value)
        elif name == "userfields":
            fields = _user_fields(value)
        elif name == "limitfrom":
            limitfrom = _as_int(value)
        elif name == "limitnumber":
            limitnumber = _as_int(value)
        elif name == "sortby":
            if value not in ("id", "firstname", "lastname", "siteorder"):
                raise invalid_parameter(f"Invalid value for sortby parameter (value: {value}), allowed "
                                        "values are: id,firstname,lastname,siteorder")
            sortby = str(value)
        elif name == "sortdirection":
            direction = str(value).upper()
            if direction not in ("ASC", "DESC"):
                raise invalid_parameter(f"Invalid value for sortdirection parameter\n                        "
                                        f"(value: {direction}),allowed values are: ASC,DESC")
            descending = direction == "DESC"
    course = get_course_or_missing(site, params["courseid"])
    courseid = int(course["id"])
    try:
        validate_context(site, call.userid, course_context(site, courseid))
    except WSError as exc:
        raise course_context_error(courseid, exc) from None
    _view_participants(site, call.userid, courseid)
    if withcapability:
        require(course_has_capability(site, call.userid, "moodle/role:review", courseid),
                "moodle/role:review")
    if groupid and not site.db["groups_members"].first(userid=call.userid, groupid=groupid):
        require(course_has_capability(site, call.userid, "moodle/site:accessallgroups", courseid),
                "moodle/site:accessallgroups")
    if onlyactive or onlysuspended:
        require(course_has_capability(site, call.userid, "moodle/course:enrolreview", courseid),
                "moodle/course:enrolreview")
    userids = enrolled_users(site, courseid, onlyactive=onlyactive, onlysuspended=onlysuspended)
    if withcapability:
        userids = [u for u in userids if course_has_capability(site, u, withcapability, courseid)]
    if groupid:
        members = {int(m["userid"]) for m in site.db["groups_members"].select(groupid=groupid)}
        userids = [u for u in userids if u in members]
    users = [site.db["user"].get(u) for u in userids]
    rows = [u for u in users if u is not None]
    rows.sort(key=lambda u: _sort_key(u, sortby), reverse=descending)
    rows = rows[limitfrom:] if limitfrom > 0 else rows
    if limitnumber > 0:
        rows = rows[:limitnumber]
    result = []
    for user in rows:
        details = user_details(site, call.userid, user, course, fields)
        if details is None:
            details = {"id": user["id"], "fullname": fullname(user),
                       "profileimageurl": profile_image_urls(site, user)["profileimageurl"]}
        result.append(details)
    return result


def _sort_key(user: Row, sortby: str) -> tuple[Any, ...]:
    if sortby == "firstname":
        return (str(user.get("firstname", "")), int(user["id"]))
    if sortby == "lastname":
        return (str(user.get("lastname", "")), int(user["id"]))
    if sortby == "siteorder":
        return (str(user.get("lastname", "")), str(user.get("firstname", "")), int(user["id"]))
    return (int(user["id"]),)


def _as_int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def _truthy(value: Any) -> bool:
    return str(value).strip() not in ("", "0", "false", "False")


@function("core_enrol_get_enrolled_users_with_capability")
def get_enrolled_users_with_capability(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    if not params.get("coursecapabilities"):
        raise invalid_parameter("Parameter can not be empty")
    groupid = limitfrom = limitnumber = 0
    onlyactive = False
    fields: list[str] = []
    for option in params.get("options") or []:
        name, value = option["name"], option["value"]
        if name == "groupid":
            groupid = _as_int(value)
        elif name == "onlyactive":
            onlyactive = _truthy(value)
        elif name == "userfields":
            fields = _user_fields(value)
        elif name == "limitfrom":
            limitfrom = _as_int(value)
        elif name == "limitnumber":
            limitnumber = _as_int(value)
    result = []
    for item in params["coursecapabilities"]:
        course = get_course_or_missing(site, item["courseid"])
        courseid = int(course["id"])
        try:
            validate_context(site, call.userid, course_context(site, courseid))
        except WSError as exc:
            raise course_context_error(courseid, exc) from None
        _view_participants(site, call.userid, courseid)
        if groupid and site.db["groups_members"].first(userid=call.userid, groupid=groupid):
            require(course_has_capability(site, call.userid, "moodle/site:accessallgroups", courseid),
                    "moodle/site:accessallgroups")
        if onlyactive:
            require(course_has_capability(site, call.userid, "moodle/course:enrolreview", courseid),
                    "moodle/course:enrolreview")
        require(course_has_capability(site, call.userid, "moodle/role:review", courseid),
                "moodle/role:review")
        for capability in item["capabilities"]:
            userids = [u for u in enrolled_users(site, courseid, onlyactive=onlyactive)
                       if course_has_capability(site, u, capability, courseid)]
            if groupid:
                members = {int(m["userid"]) for m in site.db["groups_members"].select(groupid=groupid)}
                userids = [u for u in userids if u in members]
            userids = userids[limitfrom:] if limitfrom > 0 else userids
            if limitnumber > 0:
                userids = userids[:limitnumber]
            users = []
            for userid in userids:
                user = site.db["user"].get(userid)
                details = user_details(site, call.userid, user, course, fields) if user else None
                if details is not None:
                    for group in details.get("groups", []):
                        group.pop("descriptionformat", None)
                    users.append(details)
            result.append({"courseid": courseid, "capability": capability, "users": users})
    return result


@function("core_enrol_get_users_courses")
def get_users_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    userid = int(params["userid"])
    returnusercount = params.get("returnusercount", True)
    returnusercount = True if returnusercount is None else bool(returnusercount)
    user = site.db["user"].get(userid)
    if user is None:
        return []
    sameuser = userid == call.userid
    result = []
    for course in users_courses(site, userid):
        courseid = int(course["id"])
        try:
            validate_context(site, call.userid, course_context(site, courseid))
        except WSError:
            continue
        if not sameuser and not (course_has_capability(site, call.userid, "moodle/course:viewparticipants",
                                                       courseid)
                                 and course_has_capability(site, call.userid, "moodle/user:viewdetails",
                                                           courseid)):
            continue
        progress: float | None = None
        completed: bool | None = None
        hascriteria = False
        tracked = False
        if course.get("enablecompletion") and (
                sameuser or course_has_capability(site, call.userid, "moodle/grade:viewall", courseid)
                or course_has_capability(site, call.userid, "report/completion:view", courseid)):
            hascriteria = bool(site.db["course_completion_criteria"].select(course=courseid))
            tracked = course_has_capability(site, userid, "moodle/course:isincompletionreports", courseid)
            row = site.db["course_completions"].first(userid=userid, course=courseid)
            completed = bool(row and row.get("timecompleted"))
            progress = _progress(site, userid, courseid) if tracked else None
        entry: dict[str, Any] = {
            "id": courseid, "shortname": format_string(course["shortname"]),
            "fullname": format_string(course["fullname"]), "displayname": format_string(course["fullname"]),
            "idnumber": course.get("idnumber", ""), "visible": int(course.get("visible", 1)),
            "summary": format_text(course.get("summary"), int(course.get("summaryformat") or 1)),
            "summaryformat": int(course.get("summaryformat") or 1), "format": course.get("format", "topics"),
            "courseimage": _course_image(site, courseid), "showgrades": bool(course.get("showgrades", 1)),
            "lang": course.get("lang", ""), "enablecompletion": bool(course.get("enablecompletion", 0)),
            "completionhascriteria": hascriteria, "completionusertracked": tracked,
            "category": int(course.get("category") or 0), "progress": progress, "completed": completed,
            "startdate": course.get("startdate", 0), "enddate": course.get("enddate", 0),
            "marker": course.get("marker", 0), "lastaccess": _lastaccess(site, userid, courseid),
            "isfavourite": False, "hidden": bool(sameuser and (user.get("preferences") or {}).get(
                f"block_myoverview_hidden_course_{courseid}")),
            "overviewfiles": [], "showactivitydates": bool(course.get("showactivitydates", 1)),
            "showcompletionconditions": bool(course.get("showcompletionconditions", 1)),
            "timemodified": course.get("timemodified", 0),
        }
        if returnusercount:
            entry["enrolledusercount"] = len(enrolled_users(site, courseid))
        result.append(entry)
    return result


def _course_image(site: FakeSite, courseid: int) -> str:
    from .core_course import course_image

    return course_image(site, courseid)


def _lastaccess(site: FakeSite, userid: int, courseid: int) -> int | None:
    row = site.db["user_lastaccess"].first(userid=userid, courseid=courseid)
    return int(row["timeaccess"]) if row else None


def _progress(site: FakeSite, userid: int, courseid: int) -> float | None:
    """``progress::get_course_progress_percentage``: share of completion-tracked activities done."""
    tracked = [cm for cm in site.db["course_modules"].select(course=courseid)
               if int(cm.get("completion") or 0) and int(cm.get("visible", 1))]
    if not tracked:
        return None
    done = 0
    for cm in tracked:
        row = site.db["course_modules_completion"].first(userid=userid, coursemoduleid=cm["id"])
        if row is not None and int(row.get("completionstate") or 0) in (1, 2):
            done += 1
    return done * 100.0 / len(tracked)


@function("core_enrol_get_course_enrolment_methods")
def get_course_enrolment_methods(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Enabled instances whose plugin offers enrolment info (self, guest); manual and cohort sync
    never appear, as on a real site."""
    site = call.site
    course = get_course_or_missing(site, params["courseid"])
    courseid = int(course["id"])
    names = {"self": "Self enrolment", "guest": "Guest access"}
    result = []
    for instance in sorted(site.db["enrol"].select(courseid=courseid),
                           key=lambda row: (int(row.get("sortorder") or 0), int(row["id"]))):
        plugin = str(instance["enrol"])
        if plugin not in names or int(instance.get("status") or 0) != 0:
            continue
        result.append({"id": instance["id"], "courseid": courseid, "type": plugin,
                       "name": format_string(instance.get("name") or names[plugin]), "status": True,
                       "wsfunction": f"enrol_{plugin}_get_instance_info"})
    return result
