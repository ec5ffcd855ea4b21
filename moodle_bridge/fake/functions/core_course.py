"""core_course: categories, courses, their sections and activities, duplication; and the site actions a
teacher or admin does by hand (adding activities, defining a course custom field).

A course is created as Moodle's ``create_course`` does: a context, sections 0..numsections, the
enrolment instances a fresh site adds (manual enabled, guest and self disabled) and the Announcements
forum. Activities live in ``course_modules`` plus an instance row in the table named after the module
(``page``, ``forum``, ``assign``...), so duplicating a course copies every kind of activity generically.
``course_modules.section`` holds the section *number*.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .. import external
from ..db import Row
from ..records import CONTEXT_COURSE, CONTEXT_COURSECAT, CONTEXT_MODULE, context, fullname, new_module
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..wserror import MOODLE_EXCEPTION, WSError, invalid_parameter, moodle_exception
from .core_role import (
    can_access_course,
    course_context,
    course_context_error,
    course_has_capability,
    has_capability_in,
    module_context,
    require,
    system_context,
    validate_context,
)

THEME_REV = "1795810144"
DEFAULT_NUMSECTIONS = 4
MAX_COURSES_IN_CATEGORY = 10000
AVAILABLE_LANGS = {"en"}
FILTERS = ["displayh5p", "activitynames", "mathjaxloader", "emoticon", "urltolink", "mediaplugin"]
MODULE_IDS = {
    "assign": 1, "bigbluebuttonbn": 2, "book": 3, "choice": 4, "data": 5, "feedback": 6, "folder": 7,
    "forum": 8, "glossary": 9, "h5pactivity": 10, "imscp": 11, "label": 12, "lesson": 13, "lti": 14,
    "page": 15, "qbank": 16, "quiz": 17, "resource": 18, "scorm": 19, "subsection": 20, "url": 21,
    "wiki": 22, "workshop": 23,
}
MODULE_META = {  # modname -> (purpose, plural)
    "assign": ("assessment", "Assignments"), "forum": ("collaboration", "Forums"),
    "page": ("content", "Pages"), "feedback": ("communication", "Feedback"),
    "quiz": ("assessment", "Quizzes"), "label": ("content", "Text and media areas"),
    "url": ("content", "URLs"), "resource": ("content", "Files"), "book": ("content", "Books"),
    "folder": ("content", "Folders"), "choice": ("communication", "Choices"),
    "glossary": ("collaboration", "Glossaries"), "wiki": ("collaboration", "Wikis"),
    "lesson": ("content", "Lessons"), "workshop": ("assessment", "Workshops"),
}
ACTIVITY_NAMES = {"page": "课程导读 Reading page", "forum": "讨论区 Discussion forum",
                  "assign": "心得体会 Reflection essay"}

def _empty_array_for_object() -> bool:
    """Whether ``clean_returns`` passes PHP's empty array (``[]``) for an object, as Moodle's
    ``activitybadge`` is when there is no badge; without that the key is left out."""
    try:
        return bool(external.clean_returns({"kind": "object", "required": 2, "keys": {}}, []) == [])
    except external.InvalidResponse:
        return False


_BARE_AMPERSAND = re.compile(r"&(?!(?:[A-Za-z][A-Za-z0-9]*|#\d+|#x[0-9A-Fa-f]+);)")
_TAG = re.compile(r"<[^>]*>")


# --- shared helpers ------------------------------------------------------------------------------------

def missing(site: FakeSite, table: str, value: Any, *, code: str = "invalidrecord",
            message: str | None = None) -> WSError:
    """``dml_missing_record_exception``: with debugging on Moodle 5.1 names the table (or uses the
    caller's code, e.g. ``invaliduser``); with it off it says ``invalidrecordunknown``."""
    debuginfo = f"SELECT * FROM {{{table}}} WHERE id = ?\n[array (\n  0 => {value},\n)]"
    if site.debug:
        return WSError("dml_missing_record_exception", code,
                       message or f"Can't find data record in database table {table}.", debuginfo)
    return WSError("dml_missing_record_exception", "invalidrecordunknown",
                   "Can't find data record in database.", debuginfo)


def format_string(text: Any) -> str:
    """``format_string``: bare ampersands escaped, tags stripped (formatstringstriptags is on)."""
    return _TAG.sub("", _BARE_AMPERSAND.sub("&amp;", "" if text is None else str(text)))


def format_text(text: Any, textformat: int = 1) -> str:
    """``format_text`` of HTML: the purifier escapes bare ampersands and keeps the markup."""
    value = "" if text is None else str(text)
    if int(textformat or 0) in (0, 1, 4):
        return _BARE_AMPERSAND.sub("&amp;", value)
    return value


def flag(value: Any) -> bool:
    """A site-action argument read as a boolean (JSON true, 1, "1", "true")."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def get_course_or_missing(site: FakeSite, courseid: Any) -> Row:
    course = site.db["course"].get(courseid)
    if course is None:
        raise missing(site, "course", courseid)
    return course


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
    return site.db[str(cm["modname"])].get(cm["instance"]) or {}


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
    from .enrol import is_active_enrolled

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
        shown = raw_text
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


# --- categories ----------------------------------------------------------------------------------------

def _category_context(site: FakeSite, categoryid: int) -> Row | None:
    if site.db["course_categories"].get(categoryid) is None:
        return None
    return context(site, CONTEXT_COURSECAT, int(categoryid))


def _check_category_idnumber(site: FakeSite, idnumber: Any, exclude: int | None = None) -> None:
    if idnumber in (None, ""):
        return
    for row in site.db["course_categories"].select(idnumber=str(idnumber)):
        if row["id"] != exclude:
            raise moodle_exception("categoryidnumbertaken",
                                   "ID number is already used for another category")


def _place_category(site: FakeSite, row: Row, parent: int) -> None:
    parent_row = site.db["course_categories"].get(parent) if parent else None
    row["depth"] = int(parent_row["depth"]) + 1 if parent_row else 1
    row["path"] = f"{parent_row['path'] if parent_row else ''}/{row['id']}"
    if parent_row is not None and not parent_row.get("visible", 1):
        row["visible"] = 0


@function("core_course_create_categories", items="categories")
def create_categories(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    table = site.db["course_categories"]
    created: list[Row] = []
    try:
        for item in params["categories"]:
            parent = int(item.get("parent") or 0)
            if parent:
                ctx = _category_context(site, parent)
                if ctx is None:
                    raise moodle_exception("unknowcategory", "Category not known!")
            else:
                ctx = system_context(site)
            validate_context(site, call.userid, ctx)
            require(has_capability_in(site, call.userid, "moodle/category:manage", ctx),
                    "moodle/category:manage")
            name = str(item["name"])
            if not name.strip():
                raise moodle_exception("categorynamerequired", "The category name is required")
            if len(name) > 255:
                raise moodle_exception("categorytoolong", "Category name too long")
            _check_category_idnumber(site, item.get("idnumber"))
            sortorder = max((int(row.get("sortorder") or 0) for row in table), default=0)
            row = table.insert({
                "name": name, "idnumber": item.get("idnumber"),
                "description": item.get("description") or "",
                "descriptionformat": int(item.get("descriptionformat") or 1), "parent": parent,
                "sortorder": sortorder + MAX_COURSES_IN_CATEGORY, "coursecount": 0, "visible": 1,
                "visibleold": 1, "timemodified": site.now(), "depth": 1, "path": "",
                "theme": item.get("theme") or ""})
            _place_category(site, row, parent)
            context(site, CONTEXT_COURSECAT, row["id"])
            created.append(row)
    except WSError:
        for row in created:
            table.delete(row)
        raise
    return [{"id": row["id"], "name": format_string(row["name"])} for row in created]


@function("core_course_update_categories", items="categories")
def update_categories(call: Call, params: dict[str, Any]) -> None:
    site = call.site
    table = site.db["course_categories"]
    for item in params["categories"]:
        row = table.get(item["id"])
        if row is None:
            raise missing(site, "course_categories", item["id"])
        ctx = context(site, CONTEXT_COURSECAT, row["id"])
        validate_context(site, call.userid, ctx)
        require(has_capability_in(site, call.userid, "moodle/category:manage", ctx),
                "moodle/category:manage")
        if "name" in item:
            if not str(item["name"]).strip():
                raise moodle_exception("categorynamerequired", "The category name is required")
            row["name"] = item["name"]
        if "idnumber" in item:
            _check_category_idnumber(site, item["idnumber"], exclude=row["id"])
            table.update(row, idnumber=item["idnumber"])
        if "description" in item:
            row["description"] = item["description"] or ""
        if item.get("descriptionformat") is not None:
            row["descriptionformat"] = int(item["descriptionformat"])
        if "theme" in item:
            row["theme"] = item["theme"] or ""
        if "parent" in item and int(item["parent"] or 0) != int(row["parent"]):
            parent = int(item["parent"] or 0)
            parent_row = table.get(parent) if parent else None
            if parent and parent_row is None:
                raise moodle_exception("unknowcategory", "Category not known!")
            if parent_row is not None and str(row["id"]) in str(parent_row["path"]).split("/"):
                raise moodle_exception("cannotmovecategory", "Cannot move category to its own child")
            table.update(row, parent=parent)
            _place_category(site, row, parent)
            for child in table:
                if child["id"] != row["id"] and f"/{row['id']}/" in f"{child['path']}/":
                    _place_category(site, child, int(child["parent"]))
        row["timemodified"] = site.now()
    return None


_CATEGORY_CRITERIA = {"id", "ids", "idnumber", "name", "parent", "visible", "theme"}


@function("core_course_get_categories")
def get_categories(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    table = site.db["course_categories"]
    system = system_context(site)
    criteria = params.get("criteria") or []
    if criteria:
        conditions: dict[str, Any] = {}
        for crit in criteria:
            key = str(crit["key"]).strip()
            if key in conditions:
                continue
            if key not in _CATEGORY_CRITERIA:
                raise moodle_exception("criteriaerror", "Missing permissions to search on a criterion.",
                                       "You can not search on this criteria: " + key)
            if key in ("idnumber", "theme") and not has_capability_in(
                    site, call.userid, "moodle/category:manage", system):
                raise moodle_exception("criteriaerror", "Missing permissions to search on a criterion.")
            value = crit["value"]
            if key in ("id", "parent", "visible"):
                conditions[key] = _int_or_zero(value)
            elif key == "ids":
                conditions[key] = {_int_or_zero(part) for part in str(value).split(",") if part.strip()}
            else:
                conditions[key] = str(value)
        found = [row for row in table if all(_category_matches(row, key, value)
                                             for key, value in conditions.items())]
        if found and params.get("addsubcategories", True):
            ids = {row["id"] for row in found}
            for row in list(found):
                prefix = f"{row['path']}/"
                for sub in table:
                    if (sub["id"] not in ids and str(sub["path"]).startswith(prefix)
                            and all(_category_matches(sub, key, conditions[key])
                                    for key in ("visible", "theme") if key in conditions)):
                        ids.add(sub["id"])
                        found.append(sub)
    else:
        found = list(table)
    canhidden = has_capability_in(site, call.userid, "moodle/category:viewhiddencategories", system)
    result = []
    for row in sorted(found, key=lambda r: int(r.get("sortorder") or 0)):
        if not row.get("visible", 1) and not canhidden:
            continue
        ctx = context(site, CONTEXT_COURSECAT, row["id"])
        info: dict[str, Any] = {
            "id": row["id"], "name": format_string(row["name"]),
            "description": format_text(row.get("description"), int(row.get("descriptionformat") or 1)),
            "descriptionformat": int(row.get("descriptionformat") or 1), "parent": row["parent"],
            "sortorder": row["sortorder"], "coursecount": row.get("coursecount", 0),
            "depth": row["depth"], "path": row["path"]}
        if has_capability_in(site, call.userid, "moodle/category:manage", ctx):
            info.update({"idnumber": row.get("idnumber"), "visible": row.get("visible", 1),
                         "visibleold": row.get("visibleold", 1),
                         "timemodified": row.get("timemodified", 0), "theme": row.get("theme") or ""})
        result.append(info)
    return result


def _int_or_zero(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def _category_matches(row: Row, key: str, value: Any) -> bool:
    if key == "ids":
        return bool(int(row["id"]) in value)
    current = row.get(key)
    if key in ("id", "parent", "visible"):
        return bool(int(current or 0) == value)
    return bool(("" if current is None else str(current)) == value)


# --- courses -------------------------------------------------------------------------------------------

def _check_course_unique(site: FakeSite, shortname: Any, idnumber: Any,
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


def _move_to_top(site: FakeSite, course: Row, categoryid: int) -> None:
    """fix_course_sortorder: a new (or moved) course comes first in its category."""
    table = site.db["course"]
    category = site.db["course_categories"].get(categoryid)
    base = int(category["sortorder"]) if category else 0
    others = sorted((row for row in table.select(category=int(categoryid)) if row["id"] != course["id"]),
                    key=lambda row: int(row.get("sortorder") or 0))
    for position, row in enumerate(others, start=2):
        row["sortorder"] = base + position
    course["sortorder"] = base + 1
    _recount(site, categoryid)


def _recount(site: FakeSite, categoryid: int) -> None:
    category = site.db["course_categories"].get(categoryid)
    if category is not None:
        category["coursecount"] = len(site.db["course"].select(category=int(categoryid)))


def create_course(site: FakeSite, data: dict[str, Any], *, news_forum: bool = True,
                  sections: bool = True) -> Row:
    """``create_course``: the row, its context, sections, enrolment instances and news forum."""
    _check_course_unique(site, data.get("shortname"), data.get("idnumber"))
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
    _move_to_top(site, row, row["category"])
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
    from ..records import manual_instance

    manual_instance(site, courseid)
    now = site.now()
    for sortorder, plugin in ((1, "guest"), (2, "self")):
        if site.db["enrol"].first(courseid=int(courseid), enrol=plugin) is None:
            site.db["enrol"].insert({"courseid": int(courseid), "enrol": plugin, "status": 1,
                                     "roleid": 5 if plugin == "self" else 0, "sortorder": sortorder,
                                     "name": None, "enrolperiod": 0, "password": "",
                                     "customint6": 1 if plugin == "self" else None,
                                     "timecreated": now, "timemodified": now})


def news_forum_fields() -> dict[str, Any]:
    fields = forum_fields()
    fields.update({"type": "news", "intro": "General news and announcements", "maxbytes": 512000,
                   "forcesubscribe": 1})
    return fields


def forum_fields() -> dict[str, Any]:
    return {"type": "general", "intro": "", "introformat": 1, "lang": "", "duedate": 0, "cutoffdate": 0,
            "assessed": 0, "assesstimestart": 0, "assesstimefinish": 0, "scale": 0, "grade_forum": 0,
            "grade_forum_notify": 0, "maxbytes": 0, "maxattachments": 1, "forcesubscribe": 0,
            "trackingtype": 1, "rsstype": 0, "rssarticles": 0, "warnafter": 0, "blockafter": 0,
            "blockperiod": 0, "completiondiscussions": 0, "completionreplies": 0, "completionposts": 0,
            "displaywordcount": 0, "lockdiscussionafter": 0}


def page_fields(now: int) -> dict[str, Any]:
    return {"intro": "", "introformat": 1,
            "content": "<p>请在学习前阅读本页。Please read this page first.</p>",
            "contentformat": 1, "legacyfiles": 0, "display": 5,
            "displayoptions": 'a:2:{s:10:"printintro";s:1:"0";s:17:"printlastmodified";s:1:"1";}',
            "revision": 1, "printintro": 0, "printlastmodified": 1, "completionview": 0}


def assign_fields() -> dict[str, Any]:
    return {"intro": "", "introformat": 1, "alwaysshowdescription": 1, "nosubmissions": 0,
            "submissiondrafts": 0, "sendnotifications": 0, "sendlatenotifications": 0,
            "sendstudentnotifications": 1, "duedate": 0, "allowsubmissionsfromdate": 0, "grade": 100,
            "gradepenalty": 0, "completionsubmit": 0, "cutoffdate": 0, "gradingduedate": 0,
            "teamsubmission": 0, "requireallteammemberssubmit": 0, "teamsubmissiongroupingid": 0,
            "blindmarking": 0, "hidegrader": 0, "revealidentities": 0, "attemptreopenmethod": "untilpass",
            "maxattempts": 1, "markingworkflow": 0, "markingallocation": 0, "markinganonymous": 0,
            "requiresubmissionstatement": 0, "preventsubmissionnotingroup": 0, "timelimit": 0,
            "submissionattachments": 0, "activity": "", "activityformat": 1,
            "configs": [
                {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "enabled", "value": "1"},
                {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "wordlimit", "value": "0"},
                {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "wordlimitenabled",
                 "value": "0"},
                {"plugin": "file", "subtype": "assignsubmission", "name": "enabled", "value": "0"},
                {"plugin": "comments", "subtype": "assignsubmission", "name": "enabled", "value": "0"},
                {"plugin": "comments", "subtype": "assignfeedback", "name": "enabled", "value": "1"},
            ]}


def _category_context_for_course(site: FakeSite, call: Call, categoryid: int) -> Row:
    ctx = _category_context(site, categoryid) if categoryid else None
    try:
        validate_context(site, call.userid, ctx)
    except WSError as exc:
        raise WSError(MOODLE_EXCEPTION, "errorcatcontextnotvalid",
                      f"You cannot execute functions in the category context (category id:{categoryid}). "
                      f"The context error message was: {exc.message}") from None
    assert ctx is not None
    return ctx


def _invalid_param(name: str) -> WSError:
    return moodle_exception("errorinvalidparam", f'The param "{name}" is invalid.')


@function("core_course_create_courses", items="courses")
def create_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """All or nothing, as Moodle's delegated transaction: a failure removes the courses already made."""
    site = call.site
    created: list[Row] = []
    try:
        for item in params["courses"]:
            data = dict(item)
            ctx = _category_context_for_course(site, call, int(data["categoryid"]))
            require(has_capability_in(site, call.userid, "moodle/course:create", ctx),
                    "moodle/course:create")
            if not str(data["fullname"]).strip():
                raise _invalid_param("fullname")
            if not str(data["shortname"]).strip():
                raise _invalid_param("shortname")
            if data.get("lang") is not None:
                if data["lang"] not in AVAILABLE_LANGS:
                    raise _invalid_param("lang")
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
            warnings.append({"item": "course", "itemid": item["id"], "warningcode": exc.errorcode or "",
                             "message": exc.message})
    return {"warnings": warnings}


def _update_course(site: FakeSite, call: Call, item: dict[str, Any]) -> None:
    course = get_course_or_missing(site, item["id"])
    validate_context(site, call.userid, course_context(site, course["id"]))
    courseid = int(course["id"])
    require(course_has_capability(site, call.userid, "moodle/course:update", courseid),
            "moodle/course:update")
    changes: dict[str, Any] = {}
    for key, value in item.items():
        if key in ("id", "courseformatoptions", "customfields") or value is None:
            continue
        field = _COURSE_FIELD.get(key, key)
        if course.get(field) == value:
            continue
        capability = _UPDATE_CAPABILITIES.get(key)
        if capability:
            require(course_has_capability(site, call.userid, capability, courseid), capability)
        if key in ("fullname", "shortname") and not str(value).strip():
            raise _invalid_param(key)
        if key == "lang" and value and value not in AVAILABLE_LANGS:
            raise _invalid_param("lang")
        if key == "categoryid" and site.db["course_categories"].get(value) is None:
            raise moodle_exception("unknowcategory", "Category not known!")
        changes[field] = value
    for option in item.get("courseformatoptions") or []:
        if option.get("name") in ("hiddensections", "coursedisplay", "automaticenddate"):
            changes[str(option["name"])] = int(option["value"])
        elif option.get("name") == "numsections":
            changes["numsections"] = int(option["value"])
    _check_course_unique(site, changes.get("shortname"), changes.get("idnumber"), exclude=courseid)
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
        _move_to_top(site, course, int(indexed["category"]))
        _recount(site, old_category)
    course["timemodified"] = site.now()
    course["cacherev"] = site.now()


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
    _recount(site, int(course.get("category") or 0))


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
    info: dict[str, Any] = {
        "id": courseid, "fullname": format_string(course["fullname"]),
        "displayname": format_string(course["fullname"]), "shortname": format_string(course["shortname"]),
        "courseimage": course_image(site, courseid), "categoryid": int(course.get("category") or 0),
        "categoryname": category_name(site, course), "sortorder": int(course.get("sortorder") or 0),
        "summary": format_text(course.get("summary"), int(course.get("summaryformat") or 1)),
        "summaryformat": int(course.get("summaryformat") or 1), "summaryfiles": [], "overviewfiles": [],
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
        course = table.get(_int_or_zero(value))
        courses = [course] if course else []
    elif field == "ids":
        ids = sorted({_int_or_zero(part) for part in str(value).split(",") if part.strip()})
        courses = [row for row in (table.get(courseid) for courseid in ids) if row is not None]
    elif field in ("shortname", "idnumber"):
        courses = table.select(**{field: str(value)}) if str(value) != "" else []
    elif field == "category":
        courses = table.select(category=_int_or_zero(value))
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
        try:
            validate_context(site, call.userid, course_context(site, courseid))
        except WSError as exc:
            raise course_context_error(courseid, exc) from None
        if courseid != 1:
            require(course_has_capability(site, call.userid, "moodle/course:view", courseid),
                    "moodle/course:view")
        info: dict[str, Any] = {
            "id": courseid, "fullname": format_string(course["fullname"]),
            "shortname": format_string(course["shortname"]), "displayname": format_string(course["fullname"]),
            "categoryid": int(course.get("category") or 0),
            "summary": format_text(course.get("summary"), int(course.get("summaryformat") or 1)),
            "summaryformat": int(course.get("summaryformat") or 1), "format": course.get("format", "topics"),
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
        if params.get("limittoenrolled"):
            from .enrol import is_active_enrolled

            if not is_active_enrolled(site, call.userid, int(course["id"])):
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


# --- contents and course modules ----------------------------------------------------------------------

def _completion_data(site: FakeSite, call: Call, course: Row, cm: Row, instance: Row) -> dict[str, Any]:
    from .enrol import is_active_enrolled

    completion = int(cm.get("completion") or 0)
    state_row = site.db["course_modules_completion"].first(userid=call.userid, coursemoduleid=cm["id"])
    state = int(state_row["completionstate"]) if state_row else 0
    timecompleted = int(state_row.get("timemodified") or 0) if state_row and state else 0
    details = []
    if completion == 2:
        if cm.get("completionview") or instance.get("completionview"):
            viewed = site.db["course_modules_viewed"].first(userid=call.userid, coursemoduleid=cm["id"])
            details.append({"rulename": "completionview",
                            "rulevalue": {"status": 1 if viewed or state else 0, "description": "View"}})
        if instance.get("completionsubmit"):
            details.append({"rulename": "completionsubmit",
                            "rulevalue": {"status": 1 if state else 0, "description": "Make a submission"}})
        for rule, label in (("completiondiscussions", "Start discussions: {}"),
                            ("completionreplies", "Post replies: {}"),
                            ("completionposts", "Make forum posts: {}")):
            if instance.get(rule):
                value = {"status": 1 if state else 0, "description": label.format(instance[rule])}
                details.append({"rulename": rule, "rulevalue": value})
    tracked = is_active_enrolled(site, call.userid, int(course["id"])) and course_has_capability(
        site, call.userid, "moodle/course:isincompletionreports", int(course["id"]))
    return {"state": state, "timecompleted": timecompleted,
            "overrideby": state_row.get("overrideby") if state_row else None, "valueused": False,
            "hascompletion": True, "isautomatic": completion == 2, "istrackeduser": tracked,
            "uservisible": True, "details": details, "isoverallcomplete": state in (1, 2)}


def _dates(modname: str, instance: Row) -> list[dict[str, Any]]:
    dates = []
    if modname == "assign":
        if instance.get("allowsubmissionsfromdate"):
            dates.append({"label": "Opened:", "timestamp": instance["allowsubmissionsfromdate"],
                          "dataid": "allowsubmissionsfromdate"})
        if instance.get("duedate"):
            dates.append({"label": "Due:", "timestamp": instance["duedate"], "dataid": "duedate"})
    elif modname == "forum":
        if instance.get("duedate"):
            dates.append({"label": "Due:", "timestamp": instance["duedate"], "dataid": "duedate"})
        if instance.get("cutoffdate"):
            dates.append({"label": "Cut-off date:", "timestamp": instance["cutoffdate"],
                          "dataid": "cutoffdate"})
    return dates


def content_module(site: FakeSite, call: Call, course: Row, cm: Row, *,
                   include_contents: bool = True) -> dict[str, Any]:
    """One module as ``core_course_get_contents`` lists it."""
    modname = str(cm["modname"])
    instance = instance_of(site, cm)
    ctx = module_context(site, int(cm["id"]))
    purpose, plural = MODULE_META.get(modname, ("other", modname.capitalize() + "s"))
    module: dict[str, Any] = {
        "id": cm["id"], "url": f"{site.siteurl}/mod/{modname}/view.php?id={cm['id']}",
        "name": format_string(instance.get("name", "")), "instance": cm["instance"], "contextid": ctx["id"],
        "visible": int(cm.get("visible", 1)), "uservisible": True,
        "visibleoncoursepage": int(cm.get("visibleoncoursepage", 1)),
        "modicon": f"{site.siteurl}/theme/image.php/boost/{modname}/{THEME_REV}/monologo?filtericon=1",
        "modname": modname, "purpose": purpose, "branded": False, "modplural": plural,
        "availability": cm.get("availability"), "indent": int(cm.get("indent") or 0), "onclick": "",
        "afterlink": None, "customdata": '""', "noviewlink": modname == "label",
        "completion": int(cm.get("completion") or 0), "downloadcontent": int(cm.get("downloadcontent", 1)),
        "dates": _dates(modname, instance), "groupmode": int(cm.get("groupmode") or 0),
    }
    if modname == "forum":
        if _empty_array_for_object():
            module["activitybadge"] = []
        module["customdata"] = '{"trackingtype":"' + str(instance.get("trackingtype", 1)) + '"}'
    if int(cm.get("completion") or 0) and course.get("enablecompletion"):
        module["completiondata"] = _completion_data(site, call, course, cm, instance)
    if modname == "page":
        modified = int(instance.get("timemodified") or 0)
        module["contents"] = [{
            "type": "file", "filename": "index.html", "filepath": "/", "filesize": 0,
            "fileurl": f"{site.siteurl}/webservice/pluginfile.php/{ctx['id']}/mod_page/content/index.html"
                       "?forcedownload=1",
            "timecreated": None, "timemodified": modified, "sortorder": 1, "userid": None, "author": None,
            "license": None}] if include_contents else []
        module["contentsinfo"] = {"filescount": 1, "filessize": 0, "lastmodified": modified,
                                  "mimetypes": [], "repositorytype": ""}
    return module


def _content_filters(options: list[dict[str, Any]]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for option in options:
        name = str(option["name"]).strip()
        if name in filters:
            continue
        value = option["value"]
        if name in ("excludemodules", "excludecontents", "includestealthmodules"):
            filters[name] = flag(value)
        elif name in ("sectionid", "sectionnumber", "cmid", "modid"):
            if not re.fullmatch(r"-?\d+", str(value).strip()):
                raise _invalid_param(name)
            filters[name] = int(str(value).strip())
        elif name == "modname":
            if not re.fullmatch(r"[a-z][a-z0-9_]*", str(value)):
                raise _invalid_param(name)
            filters[name] = str(value)
        else:
            raise _invalid_param(name)
    return filters


@function("core_course_get_contents")
def get_contents(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    filters = _content_filters(params.get("options") or [])
    course = get_course_or_missing(site, params["courseid"])
    courseid = int(course["id"])
    try:
        validate_context(site, call.userid, course_context(site, courseid))
    except WSError as exc:
        raise course_context_error(courseid, exc) from None
    canupdate = course_has_capability(site, call.userid, "moodle/course:update", courseid)
    if not (canupdate or course.get("visible", 1) or course_has_capability(
            site, call.userid, "moodle/course:viewhiddencourses", courseid)):
        return []
    canhiddenact = course_has_capability(site, call.userid, "moodle/course:viewhiddenactivities", courseid)
    canhiddensec = course_has_capability(site, call.userid, "moodle/course:viewhiddensections", courseid)
    modules = course_modules(site, courseid)
    result = []
    for section in course_sections(site, courseid):
        number = int(section["section"])
        if "sectionid" in filters and int(section["id"]) != filters["sectionid"]:
            continue
        if "sectionnumber" in filters and number != filters["sectionnumber"]:
            continue
        if not section.get("visible", 1) and not canhiddensec:
            continue
        listed = []
        if not filters.get("excludemodules"):
            for cm in modules:
                if int(cm.get("section") or 0) != number:
                    continue
                if "cmid" in filters and int(cm["id"]) != filters["cmid"]:
                    continue
                if "modname" in filters and cm["modname"] != filters["modname"]:
                    continue
                if "modid" in filters and int(cm["instance"]) != filters["modid"]:
                    continue
                if not cm.get("visible", 1) and not canhiddenact:
                    continue
                listed.append(content_module(site, call, course, cm,
                                             include_contents=not filters.get("excludecontents")))
        if "cmid" in filters and not listed:
            continue
        default_name = "General" if number == 0 else "New section"
        result.append({
            "id": section["id"], "name": format_string(section.get("name") or default_name),
            "visible": int(section.get("visible", 1)),
            "summary": format_text(section.get("summary"), int(section.get("summaryformat") or 1)),
            "summaryformat": int(section.get("summaryformat") or 1), "section": number,
            "hiddenbynumsections": 0, "uservisible": bool(section.get("visible", 1)) or canhiddensec,
            "component": section.get("component"), "itemid": section.get("itemid"), "modules": listed})
    return result


def _course_module_info(site: FakeSite, call: Call, cm: Row) -> dict[str, Any]:
    courseid = int(cm["course"])
    ctx = module_context(site, int(cm["id"]))
    validate_context(site, call.userid, ctx)
    instance = instance_of(site, cm)
    section = section_row(site, courseid, int(cm.get("section") or 0))
    base: dict[str, Any] = {
        "id": cm["id"], "course": courseid, "module": MODULE_IDS.get(str(cm["modname"]), 0),
        "modname": cm["modname"], "instance": cm["instance"], "section": section["id"],
        "sectionnum": int(cm.get("section") or 0), "groupmode": int(cm.get("groupmode") or 0),
        "groupingid": int(cm.get("groupingid") or 0), "completion": int(cm.get("completion") or 0),
        "downloadcontent": int(cm.get("downloadcontent", 1)),
    }
    if has_capability_in(site, call.userid, "moodle/course:manageactivities", ctx):
        base.update({
            "idnumber": cm.get("idnumber", ""), "added": cm.get("added", 0), "score": 0,
            "indent": int(cm.get("indent") or 0), "visible": int(cm.get("visible", 1)),
            "visibleoncoursepage": int(cm.get("visibleoncoursepage", 1)),
            "visibleold": int(cm.get("visibleold") or cm.get("visible", 1) or 0),
            "completiongradeitemnumber": cm.get("completiongradeitemnumber"),
            "completionview": int(cm.get("completionview") or 0),
            "completionexpected": int(cm.get("completionexpected") or 0),
            "completionpassgrade": int(cm.get("completionpassgrade") or 0),
            "showdescription": int(cm.get("showdescription") or 0), "availability": cm.get("availability"),
        })
        if cm["modname"] == "assign" or ("grade" in instance and cm["modname"] != "forum"):
            if instance.get("grade") is not None:
                base["grade"] = float(instance["grade"])
                base["gradepass"] = "0.00000"
            if cm["modname"] == "assign":
                base["advancedgrading"] = [{"area": "submissions", "method": ""}]
        if cm["modname"] == "forum" and instance.get("grade_forum"):
            base["grade"] = float(instance["grade_forum"])
    base["name"] = format_string(instance.get("name", ""))
    return {"cm": base, "warnings": []}


@function("core_course_get_course_module")
def get_course_module(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    cm = call.site.db["course_modules"].get(params["cmid"])
    if cm is None:
        raise missing(call.site, "course_modules", params["cmid"])
    return _course_module_info(call.site, call, cm)


@function("core_course_get_course_module_by_instance")
def get_course_module_by_instance(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    cm = call.site.db["course_modules"].first(instance=int(params["instance"]), modname=str(params["module"]))
    if cm is None:
        raise missing(call.site, "course_modules", params["instance"])
    return _course_module_info(call.site, call, cm)


# --- duplication --------------------------------------------------------------------------------------

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
    catctx = _category_context(site, categoryid)
    if catctx is None:
        raise missing(site, "course_categories", categoryid)
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
    require(has_capability_in(site, call.userid, "moodle/course:create", catctx), "moodle/course:create")
    require(has_capability_in(site, call.userid, "moodle/restore:restorecourse", catctx),
            "moodle/restore:restorecourse")
    require(course_has_capability(site, call.userid, "moodle/backup:backupcourse", sourceid),
            "moodle/backup:backupcourse")
    if settings.get("users"):
        require(course_has_capability(site, call.userid, "moodle/backup:userinfo", sourceid),
                "moodle/backup:userinfo")
        require(has_capability_in(site, call.userid, "moodle/restore:userinfo", catctx),
                "moodle/restore:userinfo")
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


def _copy_users(site: FakeSite, sourceid: int, newid: int, group_map: dict[int, int]) -> None:
    from .enrol import enrol_user

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
        from .core_role import role_assign

        role_assign(site, int(ra["roleid"]), int(ra["userid"]), int(newctx["id"]),
                    str(ra.get("component") or ""), int(ra.get("itemid") or 0))
    for oldgroup, newgroup in group_map.items():
        for member in db["groups_members"].select(groupid=oldgroup):
            db["groups_members"].insert({**{k: v for k, v in member.items() if k != "id"},
                                         "groupid": newgroup})


# --- site actions -------------------------------------------------------------------------------------

@site_action("create_activities")
def create_activities(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A teacher adds a page (manual completion), a forum (general) and an assignment (online text,
    graded out of 100) to section 1 of a course; ``only_page`` adds the page alone, ``assignment``
    false leaves the assignment out. ``prefix`` becomes the activities' idnumber prefix."""
    courseid = int(args["courseid"])
    if site.db["course"].get(courseid) is None:
        raise ValueError(f"no course {courseid}")
    prefix = str(args.get("prefix") or "")
    section_row(site, courseid, 1)
    now = site.now()
    made: dict[str, Any] = {}
    kinds = ["page"] if flag(args.get("only_page")) else ["page", "forum", "assign"]
    if "assignment" in args and not flag(args["assignment"]):
        kinds = [kind for kind in kinds if kind != "assign"]
    for modname in kinds:
        fields = {"page": page_fields(now), "forum": forum_fields(), "assign": assign_fields()}[modname]
        cm, instance = new_module(site, courseid, modname, ACTIVITY_NAMES[modname], section=1,
                                  completion=1 if modname == "page" else 0, **fields)
        if prefix:
            cm["idnumber"] = f"{prefix}-{modname}"
        made[modname] = {"cmid": cm["id"], "instance": instance["id"], "name": instance["name"],
                         "modname": modname}
    return made


@site_action("create_course_customfield")
def create_course_customfield(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin adds a course custom field (Site administration > Courses > Course custom fields)."""
    shortname = str(args["shortname"])
    if not re.fullmatch(r"[A-Za-z0-9_]+", shortname):
        raise ValueError(f"invalid custom field short name {shortname!r}")
    kind = str(args.get("type") or "text")
    if kind not in ("text", "textarea", "number", "checkbox", "select", "date"):
        raise ValueError(f"unknown custom field type {kind!r}")
    table = site.db["customfield_field"]
    row = table.first(shortname=shortname)
    if row is None:
        row = table.insert({"shortname": shortname, "name": str(args.get("name") or shortname),
                            "type": kind, "component": "core_course", "area": "course",
                            "sortorder": table.count(), "timecreated": site.now()})
    return {"id": row["id"], "shortname": row["shortname"], "name": row["name"], "type": row["type"]}
