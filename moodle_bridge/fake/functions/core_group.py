"""core_group: course groups and their members.

Group names are unique in a course (``invalidparameter``), idnumbers too (``idnumbertaken``); only users
enrolled in the course (in any state) may join a group; adding a member twice is not an error.
"""

from __future__ import annotations

from typing import Any

from ..access import (
    is_enrolled_any,
    require_course_capability,
    validate_course,
)
from ..records import must_exist
from ..registry import function
from ..site import Call, FakeSite
from ..text import format_string, format_text
from ..wserror import invalid_parameter, missing_record, moodle_exception


def _course_access(site: FakeSite, call: Call, courseid: int) -> None:
    validate_course(site, call.userid, courseid)
    require_course_capability(site, call.userid, "moodle/course:managegroups", courseid)


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
    answer = []
    for group in groups:
        description, descriptionformat = format_text(group.get("description"),
                                                     int(group.get("descriptionformat") or 1))
        answer.append({"id": group["id"], "courseid": group["courseid"], "name": format_string(group["name"]),
                       "description": description, "descriptionformat": descriptionformat,
                       "enrolmentkey": group.get("enrolmentkey"), "idnumber": group.get("idnumber", ""),
                       "visibility": int(group.get("visibility") or 0),
                       "participation": bool(group.get("participation", True))})
    return answer


@function("core_group_add_group_members", items="members")
def add_group_members(call: Call, params: dict[str, Any]) -> None:
    """All or nothing; a user already in the group is left as is."""
    site = call.site
    todo: list[tuple[int, int]] = []
    for member in params["members"]:
        group = must_exist(site, "groups", int(member["groupid"]))
        userid = int(member["userid"])
        user = site.db["user"].get(userid)
        if user is None or user.get("deleted"):
            raise missing_record("user", userid)
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
        group = must_exist(site, "groups", int(groupid))
        _course_access(site, call, int(group["courseid"]))
        members = site.db["groups_members"].select(groupid=group["id"])
        users = [site.db["user"].get(m["userid"]) for m in members]
        ordered = sorted((u for u in users if u is not None),
                         key=lambda u: (str(u.get("lastname", "")), str(u.get("firstname", "")), u["id"]))
        result.append({"groupid": group["id"], "userids": [u["id"] for u in ordered]})
    return result
