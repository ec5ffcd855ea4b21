"""Courses as Moodle keeps them: the row and what hangs off it (sections, modules, enrolment methods,
custom fields), made and removed as ``create_course`` and ``delete_course`` do.

Several function modules create, copy, read or delete courses (courses, contents, duplication,
enrolment, groups): they all go through here, so a course made one way reads the same every other way.
``course_modules.section`` holds the section *number*.
"""

from __future__ import annotations

from typing import Any

from .access import course_context, is_active_enrolled
from .activities import news_forum_fields
from .db import Row
from .records import (
    CONTEXT_COURSE,
    CONTEXT_MODULE,
    context,
    fullname,
    manual_instance,
    must_exist,
    new_module,
)
from .site import FakeSite
from .text import format_string
from .wserror import missing_course_module, missing_record, moodle_exception

DEFAULT_NUMSECTIONS = 4


def get_course(site: FakeSite, courseid: Any) -> Row:
    """``get_course($courseid)``: the course, or Moodle's missing-record error."""
    return must_exist(site, "course", courseid)


def get_cm(site: FakeSite, cmid: int) -> Row:
    """``get_coursemodule_from_id(..., MUST_EXIST)``: modules being deleted count as gone."""
    cm = site.db["course_modules"].get(cmid)
    if cm is None or cm.get("deletioninprogress"):
        raise missing_course_module(cmid)
    return cm


def course_sections(site: FakeSite, courseid: int) -> list[Row]:
    """The course's sections by number, adding rows for numbers only modules refer to."""
    table = site.db["course_sections"]
    rows = {int(row["section"]): row for row in table.select(course=int(courseid))}
    for cm in site.db["course_modules"].select(course=int(courseid)):
        number = int(cm.get("section") or 0)
        if number not in rows:
            rows[number] = new_section(site, courseid, number)
    return [rows[number] for number in sorted(rows)]


def new_section(site: FakeSite, courseid: int, number: int, **fields: Any) -> Row:
    row: Row = {"course": int(courseid), "section": int(number), "name": None, "summary": "",
                "summaryformat": 1, "visible": 1, "sequence": "", "availability": None,
                "component": None, "itemid": None, "timemodified": site.now()}
    row.update(fields)
    return site.db["course_sections"].insert(row)


def section_row(site: FakeSite, courseid: int, number: int) -> Row:
    row = site.db["course_sections"].first(course=int(courseid), section=int(number))
    return row if row is not None else new_section(site, courseid, number)


def course_modules(site: FakeSite, courseid: int) -> list[Row]:
    return [cm for cm in site.db["course_modules"].select(course=int(courseid))
            if not cm.get("deletioninprogress")]


def instance_of(site: FakeSite, cm: Row) -> Row:
    """The activity's instance row (in the table named after the module), empty when it is gone."""
    return site.db[str(cm["modname"])].get(cm["instance"]) or {}


def module_of(site: FakeSite, modname: str, instanceid: int) -> Row | None:
    """The course module of an activity instance."""
    return site.db["course_modules"].first(modname=modname, instance=int(instanceid))


def get_activity(site: FakeSite, modname: str, instanceid: int) -> tuple[Row, Row]:
    """An activity instance and its course module, or the missing-record error of whichever is gone
    (``get_coursemodule_from_instance(..., MUST_EXIST)`` after reading the instance)."""
    instance = site.db[modname].get(instanceid)
    if instance is None:
        raise missing_record(modname, instanceid)
    cm = module_of(site, modname, instance["id"])
    if cm is None:
        raise missing_record("course_modules", instanceid, field="instance")
    return instance, cm


def log_course_access(site: FakeSite, userid: int, courseid: int) -> None:
    """``user_accesstime_log``: a user opens a course now; their last access to it (``user_lastaccess``,
    what ``lastcourseaccess`` and the report builder's course access show) and to the site move on."""
    now = site.now()
    accesses = site.db["user_lastaccess"]
    row = accesses.first(userid=int(userid), courseid=int(courseid))
    if row is None:
        accesses.insert({"userid": int(userid), "courseid": int(courseid), "timeaccess": now})
    elif int(row.get("timeaccess") or 0) < now:
        accesses.update(row, timeaccess=now)
    user = site.db["user"].get(userid)
    if user is not None:
        changes = {"lastaccess": max(now, int(user.get("lastaccess") or 0))}
        if not user.get("firstaccess") or int(user["firstaccess"]) > now:
            changes["firstaccess"] = now
        site.db["user"].update(user, **changes)


def enrol_methods(site: FakeSite, courseid: int) -> list[str]:
    rows = sorted(site.db["enrol"].select(courseid=int(courseid)),
                  key=lambda row: (int(row.get("sortorder") or 0), int(row["id"])))
    return [str(row["enrol"]) for row in rows if int(row.get("status") or 0) == 0]


def course_image(site: FakeSite, courseid: int) -> str:
    ctx = course_context(site, courseid)
    return f"{site.siteurl}/pluginfile.php/{ctx['id']}/course/generated/course.svg"


def category_name(site: FakeSite, course: Row) -> str:
    category = site.db["course_categories"].get(course.get("category") or 0)
    return format_string(category["name"]) if category else ""


def contacts(site: FakeSite, courseid: int) -> list[dict[str, Any]]:
    """Course contacts: users holding the editing teacher role ($CFG->coursecontact) in the course."""
    ctx = course_context(site, courseid)
    result = []
    seen: set[int] = set()
    for assignment in site.db["role_assignments"].select(contextid=ctx["id"]):
        userid = int(assignment["userid"])
        if int(assignment["roleid"]) != 3 or userid in seen:
            continue
        user = site.db["user"].get(userid)
        if user is not None and is_active_enrolled(site, userid, courseid):
            seen.add(userid)
            result.append({"id": userid, "fullname": fullname(user)})
    return result


def customfield_definitions(site: FakeSite) -> list[Row]:
    return [row for row in site.db["customfield_field"]
            if row.get("component", "core_course") == "core_course"]


def course_customfields(site: FakeSite, course: Row) -> list[dict[str, Any]]:
    """``export_instance_data``: every course custom field of the site with this course's value."""
    values = {str(item["shortname"]): item.get("value") for item in course.get("customfields") or []}
    result = []
    for field in customfield_definitions(site):
        raw = values.get(str(field["shortname"]))
        raw_text = "" if raw is None else str(raw)
        shown: str | None = raw_text or None  # ``export_value``: an empty value is null
        if field.get("type") == "checkbox":
            shown = "Yes" if raw_text not in ("", "0") else "No"
            raw_text = "1" if shown == "Yes" else "0"
        result.append({"type": field.get("type", "text"), "value": shown, "valueraw": raw_text,
                       "name": format_string(field.get("name", field["shortname"])),
                       "shortname": field["shortname"]})
    return result


def set_customfields(site: FakeSite, course: Row, items: list[dict[str, Any]]) -> None:
    known = {str(field["shortname"]) for field in customfield_definitions(site)}
    current = {str(item["shortname"]): item.get("value") for item in course.get("customfields") or []}
    for item in items:
        if str(item["shortname"]) in known:
            current[str(item["shortname"])] = item.get("value")
    course["customfields"] = [{"shortname": key, "value": value} for key, value in current.items()]


def format_options(course: Row, *, external: bool) -> list[dict[str, Any]]:
    fmt = str(course.get("format") or "topics")
    if fmt == "site":
        return []
    options: list[dict[str, Any]] = [
        {"name": "hiddensections", "value": int(course.get("hiddensections", 1))},
        {"name": "coursedisplay", "value": int(course.get("coursedisplay", 0))},
    ]
    if fmt == "weeks":
        options.append({"name": "automaticenddate", "value": int(course.get("automaticenddate", 1))})
    if external:
        options.append({"name": "indentation", "value": "1"})
    return options


def last_section_number(site: FakeSite, courseid: int) -> int:
    sections = course_sections(site, courseid)
    return max((int(row["section"]) for row in sections), default=0)


def check_course_unique(site: FakeSite, shortname: Any, idnumber: Any,
                         exclude: int | None = None) -> None:
    if idnumber not in (None, ""):
        for row in site.db["course"].select(idnumber=str(idnumber)):
            if row["id"] != exclude:
                raise moodle_exception("courseidnumbertaken",
                                       f"ID number is already used for another course ({idnumber})")
    if shortname not in (None, ""):
        for row in site.db["course"].select(shortname=str(shortname)):
            if row["id"] != exclude:
                raise moodle_exception("shortnametaken",
                                       f"Short name is already used for another course ({shortname})")


def move_to_top(site: FakeSite, course: Row, categoryid: int) -> None:
    """fix_course_sortorder: a new (or moved) course comes first in its category."""
    table = site.db["course"]
    category = site.db["course_categories"].get(categoryid)
    base = int(category["sortorder"]) if category else 0
    others = sorted((row for row in table.select(category=int(categoryid)) if row["id"] != course["id"]),
                    key=lambda row: int(row.get("sortorder") or 0))
    for position, row in enumerate(others, start=2):
        row["sortorder"] = base + position
    course["sortorder"] = base + 1
    recount(site, categoryid)


def recount(site: FakeSite, categoryid: int) -> None:
    category = site.db["course_categories"].get(categoryid)
    if category is not None:
        category["coursecount"] = len(site.db["course"].select(category=int(categoryid)))


def create_course(site: FakeSite, data: dict[str, Any], *, news_forum: bool = True,
                  sections: bool = True) -> Row:
    """``create_course``: the row, its context, sections, enrolment instances and news forum."""
    check_course_unique(site, data.get("shortname"), data.get("idnumber"))
    now = site.now()
    options = {str(o["name"]): o["value"] for o in data.get("courseformatoptions") or []}
    numsections = data.get("numsections")
    if numsections is None:
        numsections = options.get("numsections", DEFAULT_NUMSECTIONS)
    fmt = str(data.get("format") or "topics")
    row: Row = {
        "category": int(data["categoryid"]), "sortorder": 0, "fullname": str(data["fullname"]),
        "shortname": str(data["shortname"]), "idnumber": str(data.get("idnumber") or ""),
        "summary": data.get("summary") or "", "summaryformat": int(data.get("summaryformat") or 1),
        "format": fmt, "showgrades": int(_or(data.get("showgrades"), 1)),
        "newsitems": int(_or(data.get("newsitems"), 5)), "startdate": int(_or(data.get("startdate"), 0)),
        "enddate": int(_or(data.get("enddate"), 0)), "relativedatesmode": 0, "marker": 0,
        "maxbytes": int(_or(data.get("maxbytes"), 0)), "legacyfiles": 0,
        "showreports": int(_or(data.get("showreports"), 0)), "visible": int(_or(data.get("visible"), 1)),
        "visibleold": int(_or(data.get("visible"), 1)), "downloadcontent": None,
        "groupmode": int(_or(data.get("groupmode"), 0)),
        "groupmodeforce": int(_or(data.get("groupmodeforce"), 0)),
        "defaultgroupingid": int(_or(data.get("defaultgroupingid"), 0)), "lang": data.get("lang") or "",
        "calendartype": "", "theme": data.get("forcetheme") or "", "timecreated": now,
        "timemodified": now, "requested": 0, "enablecompletion": int(_or(data.get("enablecompletion"), 1)),
        "completionnotify": int(_or(data.get("completionnotify"), 0)), "cacherev": now,
        "originalcourseid": None, "showactivitydates": 1, "showcompletionconditions": 1,
        "pdfexportfont": None, "hiddensections": int(_or(data.get("hiddensections"),
                                                         options.get("hiddensections", 1))),
        "coursedisplay": int(options.get("coursedisplay", 0)), "customfields": [],
    }
    row = site.db["course"].insert(row)
    set_customfields(site, row, list(data.get("customfields") or []))
    context(site, CONTEXT_COURSE, row["id"])
    move_to_top(site, row, row["category"])
    if sections:
        for number in range(0, int(numsections) + 1):
            new_section(site, row["id"], number)
    add_default_enrol_instances(site, row["id"])
    if news_forum and row["newsitems"] > 0:
        new_module(site, row["id"], "forum", "Announcements", section=0, **news_forum_fields())
    return row


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def add_default_enrol_instances(site: FakeSite, courseid: int) -> None:
    """What ``enrol_course_updated`` adds to a new course on a fresh site."""
    manual_instance(site, courseid)
    now = site.now()
    for sortorder, plugin in ((1, "guest"), (2, "self")):
        if site.db["enrol"].first(courseid=int(courseid), enrol=plugin) is None:
            site.db["enrol"].insert({"courseid": int(courseid), "enrol": plugin, "status": 1,
                                     "roleid": 5 if plugin == "self" else 0, "sortorder": sortorder,
                                     "name": None, "enrolperiod": 0, "password": "",
                                     "customint6": 1 if plugin == "self" else None,
                                     "timecreated": now, "timemodified": now})


def delete_course_data(site: FakeSite, course: Row) -> None:
    """``delete_course``: the course and everything that belongs to it."""
    courseid = int(course["id"])
    db = site.db
    ctx = course_context(site, courseid)
    for cm in db["course_modules"].select(course=courseid):
        instance = db[str(cm["modname"])].get(cm["instance"])
        if instance is not None:
            db[str(cm["modname"])].delete(instance)
        mctx = db["context"].first(instanceid=cm["id"], contextlevel=CONTEXT_MODULE)
        if mctx is not None:
            for ra in db["role_assignments"].select(contextid=mctx["id"]):
                db["role_assignments"].delete(ra)
            db["context"].delete(mctx)
        db["course_modules"].delete(cm)
    for instance in db["enrol"].select(courseid=courseid):
        for ue in db["user_enrolments"].select(enrolid=instance["id"]):
            db["user_enrolments"].delete(ue)
        db["enrol"].delete(instance)
    for ra in db["role_assignments"].select(contextid=ctx["id"]):
        db["role_assignments"].delete(ra)
    for group in db["groups"].select(courseid=courseid):
        for member in db["groups_members"].select(groupid=group["id"]):
            db["groups_members"].delete(member)
        db["groups"].delete(group)
    for table in ("course_sections", "course_completion_criteria", "course_completion_aggr_methd",
                  "course_completions"):
        for row in db[table].select(course=courseid):
            db[table].delete(row)
    db["context"].delete(ctx)
    db["course"].delete(course)
    recount(site, int(course.get("category") or 0))
