"""core_course contents: a course's sections and activities as ``get_contents`` and ``get_course_module``
list them, and what a teacher or admin does by hand (adding activities, defining a course custom field).

Activities live in ``course_modules`` plus an instance row in the table named after the module (``page``,
``forum``, ``assign``...); their completion state is the calling user's.
"""

from __future__ import annotations

import re
from typing import Any

from .. import external
from ..access import (
    course_has_capability,
    has_capability_in,
    is_active_enrolled,
    module_context,
    validate_context,
    validate_course,
)
from ..activities import assign_fields, forum_fields, page_fields
from ..courses import course_modules, course_sections, get_course, instance_of, section_row
from ..db import Row
from ..params import param_bool
from ..records import new_module
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..text import format_string, format_text
from ..wserror import invalid_param, missing_record

THEME_REV = "1795810144"
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


def _completion_data(site: FakeSite, call: Call, course: Row, cm: Row, instance: Row) -> dict[str, Any]:
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
            filters[name] = param_bool(value)
        elif name in ("sectionid", "sectionnumber", "cmid", "modid"):
            if not re.fullmatch(r"-?\d+", str(value).strip()):
                raise invalid_param(name)
            filters[name] = int(str(value).strip())
        elif name == "modname":
            if not re.fullmatch(r"[a-z][a-z0-9_]*", str(value)):
                raise invalid_param(name)
            filters[name] = str(value)
        else:
            raise invalid_param(name)
    return filters


@function("core_course_get_contents")
def get_contents(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    filters = _content_filters(params.get("options") or [])
    course = get_course(site, params["courseid"])
    courseid = int(course["id"])
    validate_course(site, call.userid, courseid)
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
        summary, summaryformat = format_text(section.get("summary"), int(section.get("summaryformat") or 1))
        result.append({
            "id": section["id"], "name": format_string(section.get("name") or default_name),
            "visible": int(section.get("visible", 1)), "summary": summary,
            "summaryformat": summaryformat, "section": number,
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
        raise missing_record("course_modules", params["cmid"])
    return _course_module_info(call.site, call, cm)


@function("core_course_get_course_module_by_instance")
def get_course_module_by_instance(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    cm = call.site.db["course_modules"].first(instance=int(params["instance"]), modname=str(params["module"]))
    if cm is None:
        raise missing_record("course_modules", params["instance"])
    return _course_module_info(call.site, call, cm)


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
    made: dict[str, Any] = {}
    kinds = ["page"] if param_bool(args.get("only_page")) else ["page", "forum", "assign"]
    if "assignment" in args and not param_bool(args["assignment"]):
        kinds = [kind for kind in kinds if kind != "assign"]
    for modname in kinds:
        fields = {"page": page_fields, "forum": forum_fields, "assign": assign_fields}[modname]()
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
