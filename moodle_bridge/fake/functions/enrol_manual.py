"""enrol_manual: enrolling users in courses and unenrolling them through the manual enrolment method.

An enrolment is a ``user_enrolments`` row in one of the course's ``enrol`` instances plus a role
assignment in the course context. Both functions are all or nothing: every enrolment of a call is
checked before any is made.
"""

from __future__ import annotations

from typing import Any

from ..access import (
    ENROL_USER_ACTIVE,
    ENROL_USER_SUSPENDED,
    assignable_roles,
    course_context,
    is_enrolled_any,
    require_capability_in,
    role_assign,
    role_unassign_all,
    validate_context,
)
from ..db import Row
from ..records import CONTEXT_MODULE
from ..registry import function
from ..site import Call, FakeSite
from ..wserror import missing_record, missing_user, moodle_exception, php_error


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
        mctx = db["context"].first(instanceid=cm["id"], contextlevel=CONTEXT_MODULE)
        if mctx is not None:
            contextids.append(int(mctx["id"]))
    role_unassign_all(site, userid, contextids)
    for group in db["groups"].select(courseid=courseid):
        for member in db["groups_members"].select(userid=int(userid), groupid=group["id"]):
            db["groups_members"].delete(member)
    for row in db["user_lastaccess"].select(userid=int(userid), courseid=courseid):
        db["user_lastaccess"].delete(row)




def _get_user(site: FakeSite, userid: int, *, enrolling: bool = False) -> Row:
    """``core_user::get_user(MUST_EXIST)`` and ``require_active_user``. When enrolling, 4.5 reads the
    user without ``MUST_EXIST`` and fails in ``enrol_user`` with a PHP TypeError (no errorcode) instead."""
    user = site.db["user"].get(userid)
    if user is None and enrolling and site.branch < (5, 0):
        raise php_error("core\\user::get_name_placeholders(): Argument #1 ($user) must be of type stdClass, "
                        "bool given, called in [dirroot]/lib/enrollib.php on line 3674", "TypeError")
    if user is None:
        raise missing_user(userid)
    if int(userid) == 1:
        raise moodle_exception("guestsarenotallowed", "The guest user cannot do this")
    if user.get("deleted"):
        raise moodle_exception("userdeleted", "The user account has been deleted")
    if not user.get("confirmed", 1):
        raise moodle_exception("usernotconfirmed", f"Could not confirm {user['username']}")
    return user


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
        require_capability_in(site, call.userid, "enrol/manual:enrol", ctx)
        user = _get_user(site, int(enrolment["userid"]), enrolling=True)
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
        raise moodle_exception("Message was not sent.", "error/Message was not sent.")
    return None


@function("enrol_manual_unenrol_users", items="enrolments")
def unenrol_users(call: Call, params: dict[str, Any]) -> None:
    """All or nothing; unenrolling someone who is not enrolled is not an error."""
    site = call.site
    todo: list[tuple[Row, int]] = []
    for enrolment in params["enrolments"]:
        courseid = int(enrolment["courseid"])
        if site.db["course"].get(courseid) is None:
            raise missing_record("course", courseid)
        ctx = course_context(site, courseid)
        validate_context(site, call.userid, ctx)
        require_capability_in(site, call.userid, "enrol/manual:unenrol", ctx)
        instance = site.db["enrol"].first(courseid=courseid, enrol="manual")
        if instance is None:
            raise moodle_exception("wsnoinstance", "Manual enrolment plugin instance doesn't exist or is "
                                   f"disabled for the course (id = {courseid})")
        user = _get_user(site, int(enrolment["userid"]))
        todo.append((instance, int(user["id"])))
    for instance, userid in todo:
        unenrol_user(site, instance, userid)
    return None
