"""core_course_duplicate_course: backup and restore of a course into a new one.

What is copied: settings, sections, activities (every kind, generically, from their instance rows),
completion criteria and groups; users (enrolments, roles, group members) only with the ``users``
option. The course idnumber is not copied. Any backup option, even ``users=0``, needs the configure
capabilities of backup and restore, as on the recorded site.
"""

from __future__ import annotations

import copy
from typing import Any

from ..access import (
    category_context,
    course_context,
    course_has_capability,
    has_capability_in,
    require_capability_in,
    require_course_capability,
    role_assign,
    validate_context,
)
from ..courses import course_modules, course_sections, create_course, new_section
from ..db import Row
from ..records import CONTEXT_MODULE, context
from ..registry import function
from ..site import Call, FakeSite
from ..wserror import WSError, missing_record, moodle_exception
from .enrol_manual import enrol_user

_BACKUP_DEFAULTS = {"activities": 1, "blocks": 1, "filters": 1, "users": 0, "enrolments": 1,
                    "role_assignments": 0, "comments": 0, "userscompletion": 0, "logs": 0,
                    "grade_histories": 0}


def _setting_locked() -> WSError:
    return WSError("base_setting_exception", "setting_locked_by_permission",
                   "error/setting_locked_by_permission")


@function("core_course_duplicate_course")
def duplicate_course(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Backup and restore into a new course: settings, sections, activities, completion criteria and
    groups; users (enrolments, roles, group members) only with the ``users`` option. The course
    idnumber is not copied."""
    site = call.site
    source = site.db["course"].get(params["courseid"])
    if source is None:
        raise moodle_exception("invalidcourseid", "You are trying to use an invalid course ID")
    categoryid = int(params["categoryid"])
    catctx = category_context(site, categoryid)
    if catctx is None:
        raise missing_record("course_categories", categoryid)
    validate_context(site, call.userid, catctx)
    validate_context(site, call.userid, course_context(site, int(source["id"])))
    settings: dict[str, int] = {}
    for option in params.get("options") or []:
        name = str(option["name"])
        value = str(option["value"]).strip()
        if value not in ("0", "1") or name not in _BACKUP_DEFAULTS:
            raise moodle_exception("invalidextparam", f"Invalid external api parameter: {name}")
        settings[name] = int(value)
    sourceid = int(source["id"])
    require_capability_in(site, call.userid, "moodle/course:create", catctx)
    require_capability_in(site, call.userid, "moodle/restore:restorecourse", catctx)
    require_course_capability(site, call.userid, "moodle/backup:backupcourse", sourceid)
    if settings.get("users"):
        require_course_capability(site, call.userid, "moodle/backup:userinfo", sourceid)
        require_capability_in(site, call.userid, "moodle/restore:userinfo", catctx)
    shortname = str(params["shortname"])
    taken = site.db["course"].select(shortname=shortname)
    if taken:
        names = ",".join(str(row["fullname"]) for row in taken)
        raise moodle_exception("shortnametaken", f"Short name is already used for another course ({names})")
    if settings and not (course_has_capability(site, call.userid, "moodle/backup:configure", sourceid)
                         and has_capability_in(site, call.userid, "moodle/restore:configure", catctx)):
        raise _setting_locked()
    if "users" in settings and not course_has_capability(site, call.userid, "moodle/backup:userinfo",
                                                         sourceid):
        raise _setting_locked()
    merged = dict(_BACKUP_DEFAULTS)
    merged.update(settings)
    copy_ = _copy_course(site, source, str(params["fullname"]), shortname, categoryid,
                         int(params.get("visible", 1) if params.get("visible") is not None else 1), merged)
    return {"id": copy_["id"], "shortname": copy_["shortname"]}


def _copy_course(site: FakeSite, source: Row, fullname_: str, shortname: str, categoryid: int,
                 visible: int, settings: dict[str, int]) -> Row:
    db = site.db
    sourceid = int(source["id"])
    data = {key: source.get(key) for key in (
        "summary", "summaryformat", "format", "showgrades", "newsitems", "startdate", "enddate", "maxbytes",
        "showreports", "groupmode", "groupmodeforce", "defaultgroupingid", "lang", "enablecompletion",
        "completionnotify", "hiddensections")}
    data.update({"fullname": fullname_, "shortname": shortname, "categoryid": categoryid, "idnumber": "",
                 "visible": visible, "customfields": copy.deepcopy(source.get("customfields") or []),
                 "courseformatoptions": [{"name": "coursedisplay", "value": source.get("coursedisplay", 0)}]})
    new = create_course(site, data, news_forum=False, sections=False)
    newid = int(new["id"])
    for key in ("showactivitydates", "showcompletionconditions", "relativedatesmode", "theme",
                "calendartype"):
        if key in source:
            new[key] = source[key]
    new["originalcourseid"] = sourceid
    for section in course_sections(site, sourceid):
        fields = {k: v for k, v in section.items() if k not in ("id", "course", "section", "timemodified")}
        new_section(site, newid, int(section["section"]), **fields)
    cm_map: dict[int, int] = {}
    if settings.get("activities", 1):
        for cm in course_modules(site, sourceid):
            modname = str(cm["modname"])
            instance = db[modname].get(cm["instance"])
            if instance is None:
                continue
            row = copy.deepcopy({k: v for k, v in instance.items() if k != "id"})
            row["course"] = newid
            new_instance = db[modname].insert(row)
            _copy_children(site, modname, int(instance["id"]), int(new_instance["id"]))
            new_cm = copy.deepcopy({k: v for k, v in cm.items() if k != "id"})
            new_cm.update({"course": newid, "instance": new_instance["id"], "added": site.now()})
            new_cm = db["course_modules"].insert(new_cm)
            context(site, CONTEXT_MODULE, new_cm["id"])
            cm_map[int(cm["id"])] = int(new_cm["id"])
    for table in ("course_completion_criteria", "course_completion_aggr_methd"):
        for row in db[table].select(course=sourceid):
            if table == "course_completion_criteria" and row.get("moduleinstance") is not None:
                if int(row["moduleinstance"]) not in cm_map:
                    continue
                moduleinstance: Any = cm_map[int(row["moduleinstance"])]
            else:
                moduleinstance = row.get("moduleinstance")
            copied = copy.deepcopy({k: v for k, v in row.items() if k != "id"})
            copied["course"] = newid
            if "moduleinstance" in copied:
                copied["moduleinstance"] = moduleinstance
            db[table].insert(copied)
    group_map: dict[int, int] = {}
    for group in db["groups"].select(courseid=sourceid):
        copied = copy.deepcopy({k: v for k, v in group.items() if k != "id"})
        copied.update({"courseid": newid, "timecreated": site.now(), "timemodified": site.now()})
        group_map[int(group["id"])] = int(db["groups"].insert(copied)["id"])
    if settings.get("users"):
        _copy_users(site, sourceid, newid, group_map)
    return new


#: Rows an activity's backup carries besides the activity itself: (table, the column naming the activity).
_CHILDREN = {"feedback": (("feedback_item", "feedback"),), "scorm": (("scorm_scoes", "scorm"),)}


def _copy_children(site: FakeSite, modname: str, oldid: int, newid: int) -> None:
    """The activity's own rows (a feedback's questions), as a backup and restore copies them; a question
    that depends on another depends on that one's copy."""
    for table, column in _CHILDREN.get(modname, ()):
        copies: dict[int, dict[str, Any]] = {}
        for row in sorted(site.db[table].select(**{column: oldid}), key=lambda r: int(r["id"])):
            copied = copy.deepcopy({k: v for k, v in row.items() if k != "id"})
            copied[column] = newid
            copies[int(row["id"])] = site.db[table].insert(copied)
        for copied in copies.values():
            if int(copied.get("dependitem") or 0) in copies:
                site.db[table].update(copied, dependitem=copies[int(copied["dependitem"])]["id"])
        if table == "scorm_scoes":  # a SCO's data goes with it, and the package launches the launch's copy
            for oldsco, newsco in copies.items():
                for data in site.db["scorm_scoes_data"].select(scoid=oldsco):
                    site.db["scorm_scoes_data"].insert({"scoid": newsco["id"], "name": data["name"],
                                                        "value": data["value"]})
            package = site.db["scorm"].get(newid)
            if package is not None and int(package.get("launch") or 0) in copies:
                site.db["scorm"].update(package, launch=copies[int(package["launch"])]["id"])


def _copy_users(site: FakeSite, sourceid: int, newid: int, group_map: dict[int, int]) -> None:
    db = site.db
    newctx = course_context(site, newid)
    oldctx = course_context(site, sourceid)
    for instance in db["enrol"].select(courseid=sourceid):
        target = db["enrol"].first(courseid=newid, enrol=instance["enrol"])
        if target is None:
            target = db["enrol"].insert({**{k: v for k, v in instance.items() if k != "id"},
                                         "courseid": newid})
        for ue in db["user_enrolments"].select(enrolid=instance["id"]):
            enrol_user(site, target, int(ue["userid"]), None, int(ue.get("timestart") or 0),
                       int(ue.get("timeend") or 0), int(ue.get("status") or 0))
    for ra in db["role_assignments"].select(contextid=oldctx["id"]):
        role_assign(site, int(ra["roleid"]), int(ra["userid"]), int(newctx["id"]),
                    str(ra.get("component") or ""), int(ra.get("itemid") or 0))
    for oldgroup, newgroup in group_map.items():
        for member in db["groups_members"].select(groupid=oldgroup):
            db["groups_members"].insert({**{k: v for k, v in member.items() if k != "id"},
                                         "groupid": newgroup})
