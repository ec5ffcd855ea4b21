"""core_group: course groups and their members.

Group names are unique in a course (``invalidparameter``), idnumbers too (``idnumbertaken``); only users
enrolled in the course (in any state) may join a group; adding a member twice is not an error.
"""

from __future__ import annotations

from typing import Any

from ..db import Row
from ..registry import function
from ..site import Call, FakeSite
from ..wserror import WSError, invalid_parameter, moodle_exception
from .core_course import format_string, format_text, missing
from .core_role import course_context, course_context_error, course_has_capability, require, validate_context
from .enrol import is_enrolled_any


def _course_access(site: FakeSite, call: Call, courseid: int) -> None:
    ctx = course_context(site, courseid) if site.db["course"].get(courseid) is not None else None
    try:
        validate_context(site, call.userid, ctx)
    except WSError as exc:
        raise course_context_error(courseid, exc) from None
    require(course_has_capability(site, call.userid, "moodle/course:managegroups", courseid),
            "moodle/course:managegroups")


def _get_group(site: FakeSite, groupid: int) -> Row:
    group = site.db["groups"].get(groupid)
    if group is None:
        raise missing(site, "groups", groupid)
    return group


@function("core_group_create_groups", items="groups")
def create_groups(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """All or nothing: every group is checked before any is made."""
    site = call.site
    table = site.db["groups"]
    pending: list[dict[str, Any]] = []
    for item in params["groups"]:
        name = str(item["name"])
        courseid = int(item["courseid"])
        if not name.strip():
            raise invalid_parameter("Invalid group name")
        if table.first(courseid=courseid, name=name) or any(
                p["courseid"] == courseid and p["name"] == name for p in pending):
            raise invalid_parameter("Group with the same name already exists in the course")
        _course_access(site, call, courseid)
        descriptionformat = int(item.get("descriptionformat") or 1)
        if descriptionformat not in (0, 1, 2, 4):
            raise invalid_parameter("Invalid format: " + str(descriptionformat))
        idnumber = item.get("idnumber")
        if idnumber not in (None, "") and (table.first(courseid=courseid, idnumber=str(idnumber)) or any(
                p["courseid"] == courseid and p["idnumber"] == idnumber for p in pending)):
            raise moodle_exception("idnumbertaken", "This ID number is already in use")
        pending.append({
            "courseid": courseid, "name": name, "description": item.get("description") or "",
            "descriptionformat": descriptionformat, "idnumber": "" if idnumber is None else str(idnumber),
            "enrolmentkey": item.get("enrolmentkey"), "visibility": int(item.get("visibility") or 0),
            "participation": True if item.get("participation") is None else bool(item["participation"]),
            "customfields": list(item.get("customfields") or []), "picture": 0,
            "timecreated": site.now(), "timemodified": site.now()})
    result = []
    for row in pending:
        created = table.insert(row)
        answer = {key: created[key] for key in ("id", "courseid", "name", "description", "descriptionformat",
                                                 "idnumber", "visibility", "participation")}
        answer["enrolmentkey"] = created["enrolmentkey"] if created["enrolmentkey"] is not None else ""
        if created["customfields"]:
            answer["customfields"] = created["customfields"]
        result.append(answer)
    return result


@function("core_group_get_course_groups")
def get_course_groups(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    courseid = int(params["courseid"])
    _course_access(site, call, courseid)
    groups = sorted(site.db["groups"].select(courseid=courseid), key=lambda g: (str(g["name"]), g["id"]))
    return [{"id": g["id"], "courseid": g["courseid"], "name": format_string(g["name"]),
             "description": format_text(g.get("description"), int(g.get("descriptionformat") or 1)),
             "descriptionformat": int(g.get("descriptionformat") or 1), "enrolmentkey": g.get("enrolmentkey"),
             "idnumber": g.get("idnumber", ""), "visibility": int(g.get("visibility") or 0),
             "participation": bool(g.get("participation", True))} for g in groups]


@function("core_group_add_group_members", items="members")
def add_group_members(call: Call, params: dict[str, Any]) -> None:
    """All or nothing; a user already in the group is left as is."""
    site = call.site
    todo: list[tuple[int, int]] = []
    for member in params["members"]:
        group = _get_group(site, int(member["groupid"]))
        userid = int(member["userid"])
        user = site.db["user"].get(userid)
        if user is None or user.get("deleted"):
            raise missing(site, "user", userid)
        courseid = int(group["courseid"])
        _course_access(site, call, courseid)
        if not is_enrolled_any(site, userid, courseid):
            raise invalid_parameter("Only enrolled users may be members of groups")
        todo.append((int(group["id"]), userid))
    table = site.db["groups_members"]
    for groupid, userid in todo:
        if table.first(userid=userid, groupid=groupid) is None:
            table.insert({"groupid": groupid, "userid": userid, "timeadded": site.now(), "component": "",
                          "itemid": 0})
    return None


@function("core_group_get_group_members")
def get_group_members(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    result = []
    for groupid in params["groupids"]:
        group = _get_group(site, int(groupid))
        _course_access(site, call, int(group["courseid"]))
        members = site.db["groups_members"].select(groupid=group["id"])
        users = [site.db["user"].get(m["userid"]) for m in members]
        ordered = sorted((u for u in users if u is not None),
                         key=lambda u: (str(u.get("lastname", "")), str(u.get("firstname", "")), u["id"]))
        result.append({"groupid": group["id"], "userids": [u["id"] for u in ordered]})
    return result
