"""core_reportbuilder: custom reports on the "Course participants" source, read and paged by web services.

Tables: ``reportbuilder_report`` (name, source, type 0, conditiondata, usercreated, ``audience`` user ids),
``reportbuilder_column`` (reportid, uniqueidentifier, columnorder), ``reportbuilder_filter`` (reportid,
uniqueidentifier, iscondition, filterorder) and ``reportbuilder_user_filters`` (reportid, userid, filterdata:
the values one user set with ``core_reportbuilder_set_filters``).

What the recorded site did and the fake does: a row per enrolment of every course, and a row with empty
user columns for an enrolment method nobody is enrolled through; values are display strings in the
viewer's language and timezone (``Yes``/``No``/empty, ``Friday, 27 November 2026, 8:22 PM``); a condition
added by web service has no value and filters nothing; filter values are kept per user; ``perpage`` has no
cap and 0 returns every row; a page beyond the end returns no rows and a total of 0. No web service creates
a report: the ``create_report`` site action is the admin doing it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..db import Row
from ..records import course_roles, fullname, profile_image_urls
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..wserror import WSError, invalid_parameter
from .core_completion import course_activities, course_completion, missing

PARTICIPANTS = "\\core_course\\reportbuilder\\datasource\\participants"
SOURCE_NAMES = {PARTICIPANTS: "Course participants"}
ACCESS_EXCEPTION = "core_reportbuilder\\exception\\report_access_exception"

# The "Course participants" source's filters and conditions, as the recorded site listed them.
ENTITIES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("course", "Course", [
        ("fullname", "Course full name"), ("shortname", "Course short name"),
        ("idnumber", "Course ID number"), ("summary", "Course summary"), ("format", "Format"),
        ("startdate", "Course start date"),
        ("enddate", "Course end date"), ("visible", "Course visibility"), ("groupmode", "Group mode"),
        ("groupmodeforce", "Force group mode"), ("lang", "Force language"),
        ("calendartype", "Force calendar"),
        ("theme", "Theme"), ("enablecompletion", "Enable completion tracking"),
        ("downloadcontent", "Download course content"), ("timecreated", "Time created"),
        ("timemodified", "Time modified"), ("courseselector", "Select course")]),
    ("course_category", "Course category", [
        ("name", "Select category"), ("text", "Category name"), ("idnumber", "Category ID number"),
        ("theme", "Theme"), ("coursecount", "Course count")]),
    ("enrol", "Enrolment method", [
        ("plugin", "Plugin"), ("customname", "Custom instance name"), ("enabled", "Enabled"),
        ("period", "Enrolment duration"), ("startdate", "Enrolment starts"), ("enddate", "Enrolment ends")]),
    ("enrolment", "Enrolment", [
        ("timecreated", "Time created"), ("timestarted", "Time started"), ("timeended", "Time ended"),
        ("status", "Status")]),
    ("user", "User", [
        ("fullname", "Full name"), ("picture", "Picture"), ("firstname", "First name"),
        ("lastname", "Last name"), ("email", "Email address"), ("city", "City/town"), ("country", "Country"),
        ("lang", "Language"), ("timezone", "Timezone"), ("theme", "Theme"), ("description", "Description"),
        ("firstnamephonetic", "First name - phonetic"), ("lastnamephonetic", "Last name - phonetic"),
        ("middlename", "Middle name"), ("alternatename", "Alternate name"), ("idnumber", "ID number"),
        ("institution", "Institution"), ("department", "Department"), ("phone1", "Phone"),
        ("phone2", "Mobile phone"), ("address", "Address"), ("firstaccess", "First access"),
        ("lastaccess", "Last access"), ("suspended", "Suspended"), ("confirmed", "Confirmed"),
        ("username", "Username"), ("auth", "Authentication"), ("moodlenetprofile", "MoodleNet profile ID"),
        ("timecreated", "Time created"), ("timemodified", "Time modified"), ("lastip", "Last IP address"),
        ("neveraccessed", "Never accessed"), ("userselect", "Select user")]),
    ("role", "Role", [("name", "Role name"), ("archetype", "Role archetype")]),
    ("group", "Group", [
        ("name", "Name"), ("idnumber", "ID number"), ("visibility", "Visibility"),
        ("participation", "Participation"), ("timecreated", "Time created")]),
    ("cohort", "Cohort", [("cohortselect", "Select cohort"), ("name", "Name"), ("idnumber", "Cohort ID")]),
    ("completion", "Course completion", [
        ("completed", "Completed"), ("timecompleted", "Time completed"), ("timeenrolled", "Time enrolled"),
        ("timestarted", "Time started"), ("reaggregate", "Time reaggregated")]),
    ("access", "Course access", [("timeaccess", "Last access to course")]),
]
FILTERS: dict[str, tuple[str, str]] = {
    f"{entity}:{name}": (title, entityname)
    for entity, entityname, names in ENTITIES for name, title in names
}
_SELECTORS = {"course:courseselector", "user:userselect", "cohort:cohortselect", "course_category:name",
              "user:neveraccessed"}
COLUMNS: dict[str, str] = {key: title for key, (title, _entity) in FILTERS.items() if key not in _SELECTORS}
COLUMNS.update({
    "course_category:name": "Category name",
    "course:coursefullnamewithlink": "Course full name with link",
    "course:courseshortnamewithlink": "Course short name with link",
    "course:courseidnumberewithlink": "Course ID number with link",
    "user:fullnamewithlink": "Full name with link",
    "user:fullnamewithpicture": "Full name with picture",
    "user:fullnamewithpicturelink": "Full name with picture and link",
    "completion:progresspercent": "Student progress",
    "completion:dayscourse": "Days taking course",
    "completion:daysuntilcompletion": "Days until completion",
})
BOOLEAN = {"course:visible", "course:enablecompletion", "course:groupmodeforce", "user:suspended",
           "user:confirmed", "user:neveraccessed", "enrol:enabled", "completion:completed"}
DATES = {"course:startdate", "course:enddate", "course:timecreated", "course:timemodified",
         "enrol:startdate", "enrol:enddate", "enrolment:timecreated", "enrolment:timestarted",
         "enrolment:timeended", "user:firstaccess", "user:lastaccess", "user:timecreated",
         "user:timemodified", "completion:timecompleted", "completion:timeenrolled",
         "completion:timestarted", "completion:reaggregate", "access:timeaccess", "group:timecreated"}
ENROL_PLUGINS = {"manual": "Manual enrolments", "guest": "Guest access", "self": "Self enrolment",
                 "cohort": "Cohort sync", "meta": "Course meta link"}
ROLE_NAMES = {"manager": "Manager", "coursecreator": "Course creator", "editingteacher": "Teacher",
              "teacher": "Non-editing teacher", "student": "Student", "guest": "Guest",
              "user": "Authenticated user", "frontpage": "Authenticated user on site home"}
FORMATS = {"topics": "Custom sections", "weeks": "Weekly sections", "singleactivity": "Single activity",
           "social": "Social", "site": "Site home"}
DETAIL_FIELDS = ["name", "source", "type", "uniquerows", "conditiondata", "settingsdata", "contextid",
                 "component", "area", "itemid", "usercreated", "id", "timecreated", "timemodified",
                 "usermodified"]


# --- access -------------------------------------------------------------------------------------

def get_report(site: FakeSite, reportid: int) -> Row:
    report = site.db["reportbuilder_report"].get(reportid)
    if report is None:
        raise missing(site, "reportbuilder_report", reportid)
    return report


def can_view(call: Call, report: Row) -> bool:
    if call.has_capability("moodle/reportbuilder:viewall"):
        return True
    return report["usercreated"] == call.userid or call.userid in (report.get("audience") or [])


def can_edit(call: Call, report: Row) -> bool:
    if call.has_capability("moodle/reportbuilder:editall"):
        return True
    return report["usercreated"] == call.userid and call.has_capability("moodle/reportbuilder:edit")


def require_view(call: Call, report: Row) -> None:
    if not can_view(call, report):
        raise WSError(ACCESS_EXCEPTION, "errorreportview", "You cannot view this report")


def require_edit(call: Call, report: Row) -> None:
    if not can_edit(call, report):
        raise WSError(ACCESS_EXCEPTION, "errorreportedit", "You cannot edit this report")


# --- report details -----------------------------------------------------------------------------

def base_details(report: Row) -> dict[str, Any]:
    return {name: report.get(name) for name in DETAIL_FIELDS}


def details(site: FakeSite, report: Row) -> dict[str, Any]:
    """``report_details_exporter``: the report row, its source name and who modified it last."""
    modifier = site.db["user"].get(report["usermodified"]) or {"id": report["usermodified"]}
    images = profile_image_urls(site, modifier) if "username" in modifier else {
        "profileimageurl": "", "profileimageurlsmall": ""}
    return {
        **base_details(report),
        "sourcename": SOURCE_NAMES.get(report["source"], report["source"]),
        "tags": [],
        "customfields": {"data": []},
        "modifiedby": {
            "id": modifier["id"], "email": modifier.get("email", ""),
            "idnumber": modifier.get("idnumber", ""), "phone1": modifier.get("phone1", ""),
            "phone2": modifier.get("phone2", ""), "department": modifier.get("department", ""),
            "institution": modifier.get("institution", ""),
            "fullname": fullname(modifier) if "firstname" in modifier else "",
            "identity": modifier.get("email", ""),
            "profileurl": f"{site.siteurl}/user/profile.php?id={modifier['id']}",
            "profileimageurl": images["profileimageurl"],
            "profileimageurlsmall": images["profileimageurlsmall"],
        },
    }


def columns_of(site: FakeSite, reportid: int) -> list[Row]:
    rows = site.db["reportbuilder_column"].select(reportid=reportid)
    return sorted(rows, key=lambda row: (row["columnorder"], row["id"]))


def filters_of(site: FakeSite, reportid: int, *, condition: bool) -> list[Row]:
    rows = site.db["reportbuilder_filter"].select(reportid=reportid, iscondition=1 if condition else 0)
    return sorted(rows, key=lambda row: (row["filterorder"], row["id"]))


def add_column(site: FakeSite, report: Row, uniqueidentifier: str, *, usermodified: int) -> Row:
    if uniqueidentifier not in COLUMNS:
        raise invalid_parameter("Invalid column")
    order = len(columns_of(site, report["id"])) + 1
    row = site.db["reportbuilder_column"].insert({
        "reportid": report["id"], "uniqueidentifier": uniqueidentifier, "aggregation": None,
        "heading": None, "columnorder": order, "sortenabled": 0, "sortdirection": 4, "sortorder": order,
        "usercreated": usermodified, "usermodified": usermodified, "timecreated": site.now(),
        "timemodified": site.now()})
    _touch(site, report, usermodified)
    return row


def add_filter(site: FakeSite, report: Row, uniqueidentifier: str, *, condition: bool,
               usermodified: int) -> Row:
    present = {row["uniqueidentifier"] for row in filters_of(site, report["id"], condition=condition)}
    if uniqueidentifier not in FILTERS or uniqueidentifier in present:
        raise invalid_parameter("Invalid condition" if condition else "Invalid filter")
    row = site.db["reportbuilder_filter"].insert({
        "reportid": report["id"], "uniqueidentifier": uniqueidentifier, "heading": None,
        "iscondition": 1 if condition else 0, "filterorder": len(present) + 1,
        "usercreated": usermodified, "usermodified": usermodified, "timecreated": site.now(),
        "timemodified": site.now()})
    _touch(site, report, usermodified)
    return row


def _touch(site: FakeSite, report: Row, userid: int) -> None:
    report["timemodified"] = site.now()
    report["usermodified"] = userid


# --- the "Course participants" rows -------------------------------------------------------------

def viewer_timezone(site: FakeSite, viewer: Row | None) -> ZoneInfo | Any:
    """The viewer's timezone; ``99`` means the site's (``config['timezone']``, UTC by default)."""
    for name in ((viewer or {}).get("timezone"), site.config.get("timezone"), "UTC"):
        if name and str(name) != "99":
            try:
                return ZoneInfo(str(name))
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


def userdate(timestamp: Any, tz: Any) -> str:
    """Moodle's ``strftimedatetime`` in English: ``Friday, 27 November 2026, 8:22 PM``."""
    if not timestamp:
        return ""
    moment = datetime.fromtimestamp(int(timestamp), tz)
    hour = moment.hour % 12 or 12
    return (f"{moment.strftime('%A')}, {moment.day} {moment.strftime('%B')} {moment.year}, "
            f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}")


def participant_rows(site: FakeSite) -> list[dict[str, Any]]:
    """One context per enrolment of every course; an enrolment method nobody uses gives one, user-less."""
    rows: list[dict[str, Any]] = []
    for course in site.db["course"]:
        if course["id"] == 1:
            continue
        instances = sorted(site.db["enrol"].select(courseid=course["id"]),
                           key=lambda row: (row.get("sortorder") or 0, row["id"]))
        for instance in instances:
            enrolments = site.db["user_enrolments"].select(enrolid=instance["id"])
            users = [(ue, site.db["user"].get(ue["userid"])) for ue in enrolments]
            users = [(ue, user) for ue, user in users if user is not None and not user.get("deleted")]
            if not users:
                rows.append({"course": course, "enrol": instance, "ue": None, "user": None})
            for ue, user in users:
                rows.append({"course": course, "enrol": instance, "ue": ue, "user": user})
    return rows


def column_value(site: FakeSite, key: str, ctx: dict[str, Any], tz: Any) -> str:
    entity, _, field = key.partition(":")
    course: Row = ctx["course"]
    user: Row | None = ctx["user"]
    if entity == "course":
        return _course_value(site, field, course, tz)
    if entity == "course_category":
        category = site.db["course_categories"].get(course.get("category")) or {}
        if field in ("name", "text"):
            return _text(category.get("name"))
        if field == "coursecount":
            return str(category.get("coursecount", ""))
        return _text(category.get(field))
    if entity == "enrol":
        return _enrol_value(field, ctx["enrol"], tz)
    if user is None:
        return ""
    ue: Row = ctx["ue"]
    if entity == "enrolment":
        if field == "status":
            return _enrolment_status(site, ue, ctx["enrol"])
        source = {"timecreated": "timecreated", "timestarted": "timestart", "timeended": "timeend"}
        return userdate(ue.get(source.get(field, field)), tz)
    if entity == "user":
        return _user_value(site, field, user, tz)
    if entity == "completion":
        return _completion_value(site, field, course, user, tz)
    if entity == "role":
        roles = _roles(site, user["id"], course["id"])
        if field == "name":
            return ", ".join(str(role.get("name") or ROLE_NAMES.get(role["shortname"], role["shortname"]))
                             for role in roles)
        return ", ".join(ROLE_NAMES.get(role.get("archetype") or "", "") for role in roles)
    if entity == "group":
        return ""
    if entity == "cohort":
        return ""
    return ""


def _text(value: Any) -> str:
    return "" if value is None else html.escape(str(value), quote=False)


def _yes(value: Any) -> str:
    return "Yes" if value and str(value) != "0" else "No"


def _course_value(site: FakeSite, field: str, course: Row, tz: Any) -> str:
    if field in ("fullname", "shortname", "idnumber", "summary", "lang", "calendartype", "theme"):
        return _text(course.get(field))
    link = {"coursefullnamewithlink": "fullname", "courseshortnamewithlink": "shortname",
            "courseidnumberewithlink": "idnumber"}
    if field in link:
        return (f'<a href="{site.siteurl}/course/view.php?id={course["id"]}">'
                f"{_text(course.get(link[field]))}</a>")
    if field == "format":
        return FORMATS.get(str(course.get("format")), str(course.get("format") or ""))
    if field in ("startdate", "enddate", "timecreated", "timemodified"):
        return userdate(course.get(field), tz)
    if field in ("visible", "enablecompletion", "groupmodeforce"):
        return _yes(course.get(field))
    if field == "groupmode":
        return {0: "No groups", 1: "Separate groups", 2: "Visible groups"}.get(
            int(course.get("groupmode") or 0), "")
    return _text(course.get(field))


def _enrol_value(field: str, instance: Row, tz: Any) -> str:
    if field == "plugin":
        return ENROL_PLUGINS.get(str(instance.get("enrol")), str(instance.get("enrol")))
    if field == "customname":
        return _text(instance.get("name"))
    if field == "enabled":
        return "Yes" if int(instance.get("status") or 0) == 0 else "No"
    if field == "period":
        period = int(instance.get("enrolperiod") or 0)
        return f"{period // 86400} days" if period else ""
    if field in ("startdate", "enddate"):
        return userdate(instance.get("enrolstartdate" if field == "startdate" else "enrolenddate"), tz)
    return ""


def _enrolment_status(site: FakeSite, ue: Row, instance: Row) -> str:
    now = site.now()
    if int(ue.get("status") or 0) != 0 or int(instance.get("status") or 0) != 0:
        return "Suspended"
    if (ue.get("timestart") and int(ue["timestart"]) > now) or (
            ue.get("timeend") and int(ue["timeend"]) < now):
        return "Not current"
    return "Active"


def _user_value(site: FakeSite, field: str, user: Row, tz: Any) -> str:
    if field == "fullname":
        return _text(fullname(user))
    if field in ("fullnamewithlink", "fullnamewithpicture", "fullnamewithpicturelink"):
        return f'<a href="{site.siteurl}/user/profile.php?id={user["id"]}">{_text(fullname(user))}</a>'
    if field in ("firstaccess", "lastaccess"):
        return userdate(user.get(field), tz) or "Never"
    if field in ("timecreated", "timemodified"):
        return userdate(user.get(field), tz)
    if field in ("suspended", "confirmed"):
        return _yes(user.get(field))
    if field == "auth":
        return {"manual": "Manual accounts", "nologin": "No login"}.get(str(user.get("auth")),
                                                                        str(user.get("auth") or ""))
    if field == "picture":
        return ""
    return _text(user.get(field))


def _completion_value(site: FakeSite, field: str, course: Row, user: Row, tz: Any) -> str:
    completion = course_completion(site, user["id"], course["id"])
    if field == "progresspercent":
        activities = course_activities(site, course["id"])
        if not activities:
            return ""
        done = sum(1 for cm in activities if (site.db["course_modules_completion"].first(
            coursemoduleid=cm["id"], userid=user["id"]) or {}).get("completionstate"))
        return f"{done / len(activities) * 100:.1f}%"
    if completion is None:
        return ""
    if field == "completed":
        return "Yes" if completion.get("timecompleted") else "No"
    if field in ("timecompleted", "timeenrolled", "timestarted", "reaggregate"):
        return userdate(completion.get(field), tz)
    if field == "dayscourse" and completion.get("timecompleted"):
        return str((int(completion["timecompleted"]) - int(course.get("startdate") or 0)) // 86400)
    return ""


def _roles(site: FakeSite, userid: int, courseid: int) -> list[Row]:
    return [role for role in (site.db["role"].get(roleid) for roleid in course_roles(site, userid, courseid))
            if role is not None]


def _raw(key: str, ctx: dict[str, Any], site: FakeSite) -> Any:
    """The value a filter compares (a state code for select filters, else the display string)."""
    if key == "enrolment:status":
        if ctx["ue"] is None:
            return None
        status = _enrolment_status(site, ctx["ue"], ctx["enrol"])
        return {"Active": 0, "Suspended": 1, "Not current": 2}[status]
    return None


def _matches(site: FakeSite, key: str, values: dict[str, Any], ctx: dict[str, Any], tz: Any) -> bool:
    """Applies one text, boolean or select filter; a filter without an operator filters nothing."""
    operator = values.get(f"{key}_operator")
    if operator in (None, ""):
        return True
    operator = int(operator)
    wanted = values.get(f"{key}_value")
    if key == "enrolment:status":
        code = _raw(key, ctx, site)
        if operator == 0 or wanted in (None, ""):
            return True
        return bool(code == int(wanted)) if operator == 1 else bool(code != int(wanted))
    if key in DATES:
        return True
    display = html.unescape(column_value(site, key, ctx, tz))
    if key in BOOLEAN:
        if operator == 0:
            return True
        return (display == "Yes") if operator == 1 else (display != "Yes")
    text = display.lower()
    needle = str(wanted or "").lower()
    checks: dict[int, Callable[[], bool]] = {
        0: lambda: True,
        1: lambda: needle in text,
        2: lambda: needle not in text,
        3: lambda: text == needle,
        4: lambda: text != needle,
        5: lambda: text.startswith(needle),
        6: lambda: text.endswith(needle),
        7: lambda: text == "",
        8: lambda: text != "",
    }
    check = checks.get(operator)
    return True if check is None else bool(check())


def report_data(call: Call, report: Row) -> tuple[list[str], list[list[str]]]:
    """(headers, every row as display strings) of a report for the calling user."""
    site = call.site
    tz = viewer_timezone(site, site.db["user"].get(call.userid))
    columns = columns_of(site, report["id"])
    headers = [column.get("heading") or COLUMNS[column["uniqueidentifier"]] for column in columns]
    conditions = {row["uniqueidentifier"] for row in filters_of(site, report["id"], condition=True)}
    conditiondata = _json_object(report.get("conditiondata"))
    filters = {row["uniqueidentifier"] for row in filters_of(site, report["id"], condition=False)}
    saved = site.db["reportbuilder_user_filters"].first(reportid=report["id"], userid=call.userid)
    filterdata = _json_object(saved.get("filterdata") if saved else None)
    rows = []
    for ctx in participant_rows(site):
        if not all(_matches(site, key, conditiondata, ctx, tz) for key in conditions):
            continue
        if not all(_matches(site, key, filterdata, ctx, tz) for key in filters):
            continue
        rows.append([column_value(site, column["uniqueidentifier"], ctx, tz) for column in columns])
    return headers, rows


def _json_object(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- web-service functions ----------------------------------------------------------------------

@function("core_reportbuilder_list_reports")
def list_reports(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    visible = [report for report in site.db["reportbuilder_report"]
               if int(report.get("type") or 0) == 0 and can_view(call, report)]
    page, perpage = max(int(params.get("page") or 0), 0), int(params.get("perpage") or 0)
    chosen = visible[page * perpage:(page + 1) * perpage] if perpage > 0 else visible
    return {"reports": [details(site, report) for report in chosen], "warnings": []}


@function("core_reportbuilder_retrieve_report")
def retrieve_report(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    report = get_report(site, int(params["reportid"]))
    require_view(call, report)
    headers, rows = report_data(call, report)
    page, perpage = max(int(params.get("page") or 0), 0), max(int(params.get("perpage") or 0), 0)
    chosen = rows[page * perpage:(page + 1) * perpage] if perpage else rows
    total = len(rows) if chosen or page == 0 else 0
    return {
        "details": details(site, report),
        "data": {"headers": headers, "rows": [{"columns": row} for row in chosen], "totalrowcount": total},
        "warnings": [],
    }


@function("core_reportbuilder_reports_get")
def reports_get(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    report = get_report(site, int(params["reportid"]))
    require_view(call, report)
    editmode = bool(params.get("editmode"))
    if editmode:
        require_edit(call, report)
    headers, rows = report_data(call, report)
    pagesize = int(params.get("pagesize") or 0) or 30
    filters = filters_of(site, report["id"], condition=False)
    result: dict[str, Any] = {
        **base_details(report),
        "table": _table_html(report, headers, rows[:pagesize], len(rows), pagesize),
        "infocontainer": "",
        "filtersapplied": 0,
        "filterspresent": bool(filters),
        "filtersform": _form_html(site, "filters", filters) if filters else "",
        "attributes": [],
        "classes": "",
        "editmode": editmode,
        "javascript": "",
    }
    if editmode:
        result.update({
            "sidebarmenucards": {"menucards": [
                {"name": entityname, "key": entity,
                 "items": [{"name": title, "identifier": f"{entity}:{name}",
                            "title": f"Add column '{title}'", "action": "report-add-column"}
                           for name, title in names if f"{entity}:{name}" in COLUMNS]}
                for entity, entityname, names in ENTITIES]},
            "conditions": _conditions_answer(site, report),
            "filters": _filters_answer(site, report),
            "sorting": _sorting_answer(site, report),
            "cardview": {"form": "", "helpicon": ""},
        })
    return result


def _table_html(report: Row, headers: list[str], rows: list[list[str]], total: int, pagesize: int) -> str:
    uniqueid = f"custom-report-table-{report['id']}"
    head = "".join(f'<th class="header c{index}" scope="col">{header}</th>'
                   for index, header in enumerate(headers))
    body = "".join(
        f'<tr id="{uniqueid}_r{r}">' + "".join(f'<td class="cell c{c}">{value}</td>'
                                               for c, value in enumerate(row)) + "</tr>"
        for r, row in enumerate(rows))
    return (f'<div class="table-dynamic position-relative" data-region="core_table/dynamic" '
            f'data-table-handler="custom_report_table_view" data-table-component="core_reportbuilder" '
            f'data-table-uniqueid="{uniqueid}" data-table-page-size="{pagesize}" '
            f'data-table-total-rows="{total}"><div class="table-responsive"><table class="flexible table '
            f'table-striped table-hover table generaltable reportbuilder-table" '
            f'data-region="reportbuilder-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            f"</table></div></div>")


def _form_html(site: FakeSite, kind: str, rows: list[Row]) -> str:
    items = "".join(f'<div data-region="active-{kind[:-1]}" data-{kind[:-1]}-id="{row["id"]}">'
                    f'{FILTERS[row["uniqueidentifier"]][0]}</div>' for row in rows)
    return (f'<form autocomplete="off" action="{site.siteurl}/webservice/rest/server.php" method="post" '
            f'class="mform"><div class="list-group mt-2" data-region="active-{kind}">{items}</div></form>')


def _help(topic: str, text: str) -> str:
    return (f'<a class="btn btn-link p-0 me-2 icon-no-margin" role="button" data-bs-toggle="popover" '
            f'data-bs-content="&lt;div class=&quot;no-overflow&quot;&gt;&lt;p&gt;{text}&lt;/p&gt;'
            f'&lt;/div&gt; " aria-label="Help"><i class="icon fa fa-circle-question text-info fa-fw " '
            f'title="Help with {topic}" role="img" aria-label="Help with {topic}"></i></a>')


def _available(active: set[str]) -> list[dict[str, Any]]:
    groups = []
    for entity, entityname, names in ENTITIES:
        values = [{"value": f"{entity}:{name}", "visiblename": title}
                  for name, title in names if f"{entity}:{name}" not in active]
        if values:
            groups.append({"optiongroup": {"text": entityname, "values": values}})
    return groups


def _conditions_answer(site: FakeSite, report: Row) -> dict[str, Any]:
    active = filters_of(site, report["id"], condition=True)
    return {
        "hasavailableconditions": True,
        "availableconditions": _available({row["uniqueidentifier"] for row in active}),
        "hasactiveconditions": bool(active),
        "activeconditionsform": _form_html(site, "conditions", active) if active else "",
        "helpicon": _help("Conditions", "Report conditions allow you to limit which data is displayed when "
                                        "the report is viewed. Users viewing the report cannot override "
                                        "these condition values."),
        "javascript": "",
    }


def _filters_answer(site: FakeSite, report: Row) -> dict[str, Any]:
    active = filters_of(site, report["id"], condition=False)
    return {
        "hasavailablefilters": True,
        "availablefilters": _available({row["uniqueidentifier"] for row in active}),
        "hasactivefilters": bool(active),
        "activefilters": [{
            "id": row["id"],
            "heading": FILTERS[row["uniqueidentifier"]][0],
            "headingeditable": (f'<span class="inplaceeditable inplaceeditable-text" '
                                f'data-itemtype="filterheading" data-itemid="{row["id"]}">'
                                f'{FILTERS[row["uniqueidentifier"]][0]}</span>'),
            "sortorder": index,
            "movetitle": f"Move filter '{FILTERS[row['uniqueidentifier']][0]}'",
            "entityname": FILTERS[row["uniqueidentifier"]][1],
        } for index, row in enumerate(active, start=1)],
        "helpicon": _help("Filters", "Report filters allow users viewing the report to further limit the "
                                     "data being displayed, by selecting their own values for each filter. "
                                     "Filter values are stored on a per-user basis."),
    }


def _sorting_answer(site: FakeSite, report: Row) -> dict[str, Any]:
    columns = columns_of(site, report["id"])
    sortable = []
    for index, column in enumerate(columns, start=1):
        title = column.get("heading") or COLUMNS[column["uniqueidentifier"]]
        enabled = bool(column.get("sortenabled"))
        sortable.append({
            "id": column["id"], "title": title, "heading": title,
            "sortdirection": int(column.get("sortdirection") or 4), "sortenabled": enabled,
            "sortorder": index,
            "sorticon": {"key": "t/sort_asc", "component": "moodle",
                         "title": f"Change initial sorting for column '{title}' to descending"},
            "movetitle": f"Move sorting for column '{title}'",
            "sortenabledtitle": f"{'Disable' if enabled else 'Enable'} initial sorting for column '{title}'",
        })
    return {
        "hassortablecolumns": bool(sortable),
        "sortablecolumns": sortable,
        "helpicon": _help("Sorting", "You can set the initial sort order of columns in the report, which can "
                                     "then be changed by users by clicking on column names."),
    }


@function("core_reportbuilder_columns_add")
def columns_add(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    report = get_report(call.site, int(params["reportid"]))
    require_edit(call, report)
    add_column(call.site, report, str(params["uniqueidentifier"]), usermodified=call.userid)
    return _sorting_answer(call.site, report)


@function("core_reportbuilder_conditions_add")
def conditions_add(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    report = get_report(call.site, int(params["reportid"]))
    require_edit(call, report)
    add_filter(call.site, report, str(params["uniqueidentifier"]), condition=True, usermodified=call.userid)
    return _conditions_answer(call.site, report)


@function("core_reportbuilder_filters_add")
def filters_add(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    report = get_report(call.site, int(params["reportid"]))
    require_edit(call, report)
    add_filter(call.site, report, str(params["uniqueidentifier"]), condition=False, usermodified=call.userid)
    return _filters_answer(call.site, report)


@function("core_reportbuilder_set_filters")
def set_filters(call: Call, params: dict[str, Any]) -> bool:
    site = call.site
    report = get_report(site, int(params["reportid"]))
    require_view(call, report)
    values = _json_object(params.get("values"))
    table = site.db["reportbuilder_user_filters"]
    saved = table.first(reportid=report["id"], userid=call.userid)
    text = json.dumps(values) if values else None
    if saved is None:
        table.insert({"reportid": report["id"], "userid": call.userid, "filterdata": text,
                      "timemodified": site.now()})
    else:
        saved.update(filterdata=text, timemodified=site.now())
    return True


# --- site actions -------------------------------------------------------------------------------

@site_action("create_report")
def create_report(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin creates a custom report (Report builder, no default setup).

    ``columns`` are unique identifiers (``course:idnumber``, ``user:username``, ``completion:completed``...);
    ``conditions`` are identifiers or ``{"uniqueidentifier", "operator", "value"}`` (a condition with an
    operator filters; ``user:username`` operator 8 drops the empty rows); ``audience`` lists user ids who may
    view it besides holders of ``moodle/reportbuilder:viewall``; ``userid`` is the creator (admin)."""
    source = str(args.get("source") or PARTICIPANTS)
    if source.lstrip("\\") != PARTICIPANTS.lstrip("\\"):
        raise ValueError(f"unsupported report source {source!r}")
    userid = int(args.get("userid") or 2)
    now = site.now()
    report = site.db["reportbuilder_report"].insert({
        "name": str(args["name"]), "source": source, "type": 0, "uniquerows": False,
        "conditiondata": None, "settingsdata": None, "contextid": 1, "component": "", "area": "",
        "itemid": 0, "usercreated": userid, "usermodified": userid, "timecreated": now,
        "timemodified": now, "audience": [int(u) for u in args.get("audience") or []]})
    try:
        columns = [add_column(site, report, str(key), usermodified=userid)
                   for key in args.get("columns") or []]
        conditions = []
        data: dict[str, Any] = {}
        for condition in args.get("conditions") or []:
            spec = condition if isinstance(condition, dict) else {"uniqueidentifier": condition}
            key = str(spec["uniqueidentifier"])
            conditions.append(add_filter(site, report, key, condition=True, usermodified=userid))
            if spec.get("operator") is not None:
                data[f"{key}_operator"] = int(spec["operator"])
                data[f"{key}_value"] = spec.get("value", "")
    except WSError as exc:
        raise ValueError(f"{exc.message}: {exc.debuginfo}") from None
    report["conditiondata"] = json.dumps(data, separators=(",", ":")) if data else None
    report["timemodified"] = now
    return {"reportid": report["id"],
            "columns": [{"id": row["id"], "uniqueidentifier": row["uniqueidentifier"]} for row in columns],
            "conditions": [{"id": row["id"], "uniqueidentifier": row["uniqueidentifier"]}
                           for row in conditions]}


@site_action("set_report_audience")
def set_report_audience(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin lets these users view the report (its audience)."""
    report = site.db["reportbuilder_report"].get(int(args["reportid"]))
    if report is None:
        raise ValueError(f"no report {args['reportid']}")
    report["audience"] = [int(u) for u in args.get("userids") or []]
    return {"reportid": report["id"], "audience": report["audience"]}
