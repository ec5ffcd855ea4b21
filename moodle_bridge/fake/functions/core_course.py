"""core_course courses: creating, updating, deleting, finding and listing courses.

A course is created as Moodle's ``create_course`` does (see ``courses.create_course``): a context,
sections 0..numsections, the enrolment instances a fresh site adds (manual enabled, guest and self
disabled) and the Announcements forum. Which fields a listing shows depends on the caller's rights in
the course: without access only the public ones.
"""

from __future__ import annotations

from typing import Any

from ..access import (
    can_access_course,
    category_context,
    course_context,
    course_has_capability,
    has_capability_in,
    is_active_enrolled,
    require_capability_in,
    require_course_capability,
    validate_context,
    validate_course,
)
from ..courses import (
    category_name,
    check_course_unique,
    contacts,
    course_customfields,
    course_image,
    course_modules,
    create_course,
    delete_course_data,
    enrol_methods,
    format_options,
    get_course,
    last_section_number,
    log_course_access,
    move_to_top,
    new_section,
    recount,
    set_customfields,
)
from ..db import Row
from ..params import int_or_zero
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..text import format_string, format_text
from ..wserror import WSError, context_not_valid, invalid_param, invalid_parameter, moodle_exception

AVAILABLE_LANGS = {"en"}
FILTERS = ["displayh5p", "activitynames", "mathjaxloader", "emoticon", "urltolink", "mediaplugin"]


def _category_context_for_course(site: FakeSite, call: Call, categoryid: int) -> Row:
    ctx = category_context(site, categoryid) if categoryid else None
    try:
        validate_context(site, call.userid, ctx)
    except WSError as exc:
        raise context_not_valid("category", categoryid, exc) from None
    assert ctx is not None
    return ctx


@function("core_course_create_courses", items="courses")
def create_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """All or nothing, as Moodle's delegated transaction: a failure removes the courses already made."""
    site = call.site
    created: list[Row] = []
    try:
        for item in params["courses"]:
            data = dict(item)
            ctx = _category_context_for_course(site, call, int(data["categoryid"]))
            require_capability_in(site, call.userid, "moodle/course:create", ctx)
            if not str(data["fullname"]).strip():
                raise invalid_param("fullname")
            if not str(data["shortname"]).strip():
                raise invalid_param("shortname")
            if data.get("lang") is not None:
                if data["lang"] not in AVAILABLE_LANGS:
                    raise invalid_param("lang")
                if not has_capability_in(site, call.userid, "moodle/course:setforcedlanguage", ctx):
                    data.pop("lang")
            if not has_capability_in(site, call.userid, "moodle/course:visibility", ctx):
                category = site.db["course_categories"].get(data["categoryid"])
                data["visible"] = category.get("visible", 1) if category else 1
            created.append(create_course(site, data))
    except WSError:
        for row in created:
            delete_course_data(site, row)
        raise
    return [{"id": row["id"], "shortname": row["shortname"]} for row in created]


_UPDATE_CAPABILITIES = {
    "categoryid": "moodle/course:changecategory", "fullname": "moodle/course:changefullname",
    "shortname": "moodle/course:changeshortname", "idnumber": "moodle/course:changeidnumber",
    "summary": "moodle/course:changesummary", "summaryformat": "moodle/course:changesummary",
    "visible": "moodle/course:visibility", "lang": "moodle/course:setforcedlanguage"}
_COURSE_FIELD = {"categoryid": "category", "forcetheme": "theme"}


@function("core_course_update_courses", items="courses")
def update_courses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Each course on its own: a failure becomes a warning naming the course, the others are updated."""
    site = call.site
    warnings = []
    for item in params["courses"]:
        try:
            _update_course(site, call, item)
        except WSError as exc:
            answer = site.error_body(exc)
            warnings.append({"item": "course", "itemid": item["id"],
                             "warningcode": answer.get("errorcode") or "", "message": answer["message"]})
    return {"warnings": warnings}


def _update_course(site: FakeSite, call: Call, item: dict[str, Any]) -> None:
    course = get_course(site, item["id"])
    validate_context(site, call.userid, course_context(site, course["id"]))
    courseid = int(course["id"])
    require_course_capability(site, call.userid, "moodle/course:update", courseid)
    changes: dict[str, Any] = {}
    for key, value in item.items():
        if key in ("id", "courseformatoptions", "customfields") or value is None:
            continue
        field = _COURSE_FIELD.get(key, key)
        if course.get(field) == value:
            continue
        capability = _UPDATE_CAPABILITIES.get(key)
        if capability:
            require_course_capability(site, call.userid, capability, courseid)
        if key in ("fullname", "shortname") and not str(value).strip():
            raise invalid_param(key)
        if key == "lang" and value and value not in AVAILABLE_LANGS:
            raise invalid_param("lang")
        if key == "categoryid" and site.db["course_categories"].get(value) is None:
            raise moodle_exception("unknowcategory", "Category not known!")
        changes[field] = value
    for option in item.get("courseformatoptions") or []:
        if option.get("name") in ("hiddensections", "coursedisplay", "automaticenddate"):
            changes[str(option["name"])] = int(option["value"])
        elif option.get("name") == "numsections":
            changes["numsections"] = int(option["value"])
    check_course_unique(site, changes.get("shortname"), changes.get("idnumber"), exclude=courseid)
    numsections = changes.pop("numsections", None)
    old_category = int(course.get("category") or 0)
    table = site.db["course"]
    indexed = {key: changes.pop(key) for key in ("category", "shortname", "idnumber", "visible")
               if key in changes}
    course.update(changes)
    if indexed:
        table.update(course, **indexed)
    if "customfields" in item and item["customfields"] is not None:
        set_customfields(site, course, list(item["customfields"]))
    if numsections is not None:
        for number in range(last_section_number(site, courseid) + 1, int(numsections) + 1):
            new_section(site, courseid, number)
    if "category" in indexed and int(indexed["category"]) != old_category:
        move_to_top(site, course, int(indexed["category"]))
        recount(site, old_category)
    course["timemodified"] = site.now()
    course["cacherev"] = site.now()


@function("core_course_delete_courses", items="courseids")
def delete_courses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    warnings = []
    for courseid in params["courseids"]:
        course = site.db["course"].get(courseid)
        if course is None:
            warnings.append({"item": "course", "itemid": courseid, "warningcode": "unknowncourseidnumber",
                             "message": f"Unknown course ID {courseid}"})
            continue
        validate_context(site, call.userid, course_context(site, course["id"]))
        if int(course["id"]) == 1 or not course_has_capability(
                site, call.userid, "moodle/course:delete", int(course["id"])):
            warnings.append({"item": "course", "itemid": courseid, "warningcode": "cannotdeletecourse",
                             "message": f"You do not have the permission to delete this course{courseid}"})
            continue
        delete_course_data(site, course)
    return {"warnings": warnings}


def course_public_info(site: FakeSite, course: Row) -> dict[str, Any]:
    courseid = int(course["id"])
    is_site = courseid == 1
    summary, summaryformat = format_text(course.get("summary"), int(course.get("summaryformat") or 1))
    info: dict[str, Any] = {
        "id": courseid, "fullname": format_string(course["fullname"]),
        "displayname": format_string(course["fullname"]), "shortname": format_string(course["shortname"]),
        "courseimage": course_image(site, courseid), "categoryid": int(course.get("category") or 0),
        "categoryname": category_name(site, course), "sortorder": int(course.get("sortorder") or 0),
        "summary": summary, "summaryformat": summaryformat, "summaryfiles": [], "overviewfiles": [],
        "showactivitydates": bool(course.get("showactivitydates", 0 if is_site else 1)),
        "showcompletionconditions": (None if is_site and "showcompletionconditions" not in course
                                     else bool(course.get("showcompletionconditions", 1))),
        "contacts": contacts(site, courseid), "enrollmentmethods": enrol_methods(site, courseid),
    }
    customfields = course_customfields(site, course)
    if customfields:
        info["customfields"] = customfields
    return info


def course_full_info(site: FakeSite, call: Call, course: Row) -> dict[str, Any]:
    courseid = int(course["id"])
    info = course_public_info(site, course)
    info["filters"] = [{"filter": name, "localstate": 0, "inheritedstate": 1} for name in FILTERS]
    for field, default in (("format", "topics"), ("showgrades", 1), ("newsitems", 5), ("startdate", 0),
                           ("enddate", 0), ("maxbytes", 0), ("showreports", 0), ("visible", 1),
                           ("groupmode", 0), ("groupmodeforce", 0), ("defaultgroupingid", 0),
                           ("enablecompletion", 0), ("completionnotify", 0), ("lang", ""), ("theme", ""),
                           ("marker", 0)):
        info[field] = course.get(field, default)
    if course_has_capability(site, call.userid, "moodle/course:update", courseid):
        for field, default in (("idnumber", ""), ("legacyfiles", 0), ("calendartype", ""),
                               ("timecreated", 0), ("timemodified", 0), ("requested", 0),
                               ("cacherev", 0)):
            info[field] = course.get(field, default)
    options = format_options(course, external=True)
    if options:
        info["courseformatoptions"] = options
    return info


@function("core_course_get_courses_by_field")
def get_courses_by_field(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    field = str(params.get("field") or "")
    value = params.get("value")
    table = site.db["course"]
    if field == "":
        courses = list(table)
    elif field == "id":
        course = table.get(int_or_zero(value))
        courses = [course] if course else []
    elif field == "ids":
        ids = sorted({int_or_zero(part) for part in str(value).split(",") if part.strip()})
        courses = [row for row in (table.get(courseid) for courseid in ids) if row is not None]
    elif field in ("shortname", "idnumber"):
        courses = table.select(**{field: str(value)}) if str(value) != "" else []
    elif field == "category":
        courses = table.select(category=int_or_zero(value))
    else:
        raise invalid_parameter("Invalid field name")
    result = []
    for course in sorted(courses, key=lambda row: int(row["id"])):
        courseid = int(course["id"])
        canupdate = course_has_capability(site, call.userid, "moodle/course:update", courseid)
        canhidden = course_has_capability(site, call.userid, "moodle/course:viewhiddencourses", courseid)
        if not course.get("visible", 1) and not canhidden and not canupdate:
            continue
        if can_access_course(site, call.userid, course) is None:
            result.append(course_full_info(site, call, course))
        else:
            result.append(course_public_info(site, course))
    return {"courses": result, "warnings": []}


@function("core_course_get_courses")
def get_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    ids = (params.get("options") or {}).get("ids") or []
    table = site.db["course"]
    courses = [row for row in (table.get(i) for i in ids) if row is not None] if ids else list(table)
    result = []
    for course in courses:
        courseid = int(course["id"])
        validate_course(site, call.userid, courseid)
        if courseid != 1:
            require_course_capability(site, call.userid, "moodle/course:view", courseid)
        summary, summaryformat = format_text(course.get("summary"), int(course.get("summaryformat") or 1))
        info: dict[str, Any] = {
            "id": courseid, "fullname": format_string(course["fullname"]),
            "shortname": format_string(course["shortname"]), "displayname": format_string(course["fullname"]),
            "categoryid": int(course.get("category") or 0), "summary": summary,
            "summaryformat": summaryformat, "format": course.get("format", "topics"),
            "startdate": course.get("startdate", 0), "enddate": course.get("enddate", 0),
            "showactivitydates": bool(course.get("showactivitydates", 0 if courseid == 1 else 1)),
            "showcompletionconditions": (None if courseid == 1 and "showcompletionconditions" not in course
                                         else bool(course.get("showcompletionconditions", 1))),
        }
        customfields = course_customfields(site, course)
        if customfields:
            info["customfields"] = customfields
        admin = course_has_capability(site, call.userid, "moodle/course:update", courseid)
        if admin:
            options = format_options(course, external=False)
            info.update({
                "categorysortorder": course.get("sortorder", 0), "idnumber": course.get("idnumber", ""),
                "showgrades": course.get("showgrades", 1), "showreports": course.get("showreports", 0),
                "newsitems": course.get("newsitems", 5), "visible": course.get("visible", 1),
                "maxbytes": course.get("maxbytes", 0),
                "numsections": last_section_number(site, courseid),
                "groupmode": course.get("groupmode", 0), "groupmodeforce": course.get("groupmodeforce", 0),
                "defaultgroupingid": course.get("defaultgroupingid", 0), "lang": course.get("lang", ""),
                "timecreated": course.get("timecreated", 0), "timemodified": course.get("timemodified", 0),
                "forcetheme": course.get("theme", ""), "enablecompletion": course.get("enablecompletion", 0),
                "completionnotify": course.get("completionnotify", 0), "courseformatoptions": options})
            if any(option["name"] == "hiddensections" for option in options):
                info["hiddensections"] = course.get("hiddensections", 1)
        if admin or course.get("visible", 1) or course_has_capability(
                site, call.userid, "moodle/course:viewhiddencourses", courseid):
            result.append(info)
    return result


@function("core_course_search_courses")
def search_courses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    name = str(params["criterianame"])
    value = str(params["criteriavalue"])
    if name not in ("search", "modulelist", "blocklist", "tags"):
        raise invalid_parameter("Invalid value for criterianame parameter (value: " + name + "), allowed "
                                "values are: search,modulelist,blocklist,tags")
    if name == "search" and value.strip() == "":
        raise moodle_exception("invalidsearchstring", "Invalid search string")
    found = []
    for course in site.db["course"]:
        if int(course["id"]) == 1:
            continue
        if not course.get("visible", 1) and not course_has_capability(
                site, call.userid, "moodle/course:viewhiddencourses", int(course["id"])):
            continue
        if name == "search":
            text = " ".join(str(course.get(k) or "")
                            for k in ("fullname", "shortname", "idnumber", "summary"))
            if not all(word.lower() in text.lower() for word in value.split()):
                continue
        elif name == "modulelist":
            if not any(cm["modname"] == value for cm in course_modules(site, int(course["id"]))):
                continue
        else:
            continue
        if params.get("limittoenrolled") and not is_active_enrolled(site, call.userid, int(course["id"])):
            continue
        if params.get("onlywithcompletion") and not course.get("enablecompletion"):
            continue
        required = params.get("requiredcapabilities") or []
        if any(not course_has_capability(site, call.userid, cap, int(course["id"])) for cap in required):
            continue
        found.append(course)
    found.sort(key=lambda row: (str(row["fullname"]), int(row["id"])))
    total = len(found)
    perpage = int(params.get("perpage") or 0)
    page = int(params.get("page") or 0)
    if perpage > 0:
        found = found[page * perpage:(page + 1) * perpage]
    courses = []
    for course in found:
        info = course_public_info(site, course)
        courses.append(info)
    return {"total": total, "courses": courses, "warnings": []}


# --- site actions -------------------------------------------------------------------------------

@site_action("view_course")
def view_course(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A user opens a course's page: their last access to the course (and to the site) is now."""
    userid, courseid = int(args["userid"]), int(args["courseid"])
    user, course = site.db["user"].get(userid), site.db["course"].get(courseid)
    if user is None or course is None:
        raise ValueError(f"no user {userid} or course {courseid}")
    reason = can_access_course(site, userid, course)
    if reason is not None:
        raise ValueError(f"user {userid} cannot enter course {courseid}: {reason}")
    log_course_access(site, userid, courseid)
    return {"userid": userid, "courseid": courseid, "timeaccess": site.now()}
