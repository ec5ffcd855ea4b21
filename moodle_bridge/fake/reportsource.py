"""The "Course participants" report source: its columns and filters, its rows, and their values.

What the recorded site did and the fake does: a row per enrolment of every course, and a row with empty
user columns for an enrolment method nobody is enrolled through; values are display strings in the
viewer's language and timezone (``Yes``/``No``/empty, ``Friday, 27 November 2026, 8:22 PM``); a condition
without an operator filters nothing; filter values are kept per user.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .access import course_roles
from .completion import course_activities, course_completion
from .db import Row
from .records import fullname
from .site import FakeSite
from .text import escape
from .text import userdate as moodle_userdate

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
def columns_of(site: FakeSite, reportid: int) -> list[Row]:
    rows = site.db["reportbuilder_column"].select(reportid=reportid)
    return sorted(rows, key=lambda row: (row["columnorder"], row["id"]))


def filters_of(site: FakeSite, reportid: int, *, condition: bool) -> list[Row]:
    rows = site.db["reportbuilder_filter"].select(reportid=reportid, iscondition=1 if condition else 0)
    return sorted(rows, key=lambda row: (row["filterorder"], row["id"]))


# --- rows -------------------------------------------------------------

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
    """A date cell: the date in the viewer's timezone, empty when there is none."""
    return moodle_userdate(int(timestamp), tz) if timestamp else ""


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
    return "" if value is None else escape(value)


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


def report_data(site: FakeSite, userid: int, report: Row) -> tuple[list[str], list[list[str]]]:
    """(headers, every row as display strings) of a report for one viewer."""
    tz = viewer_timezone(site, site.db["user"].get(userid))
    columns = columns_of(site, report["id"])
    headers = [column.get("heading") or COLUMNS[column["uniqueidentifier"]] for column in columns]
    conditions = {row["uniqueidentifier"] for row in filters_of(site, report["id"], condition=True)}
    conditiondata = json_object(report.get("conditiondata"))
    filters = {row["uniqueidentifier"] for row in filters_of(site, report["id"], condition=False)}
    saved = site.db["reportbuilder_user_filters"].first(reportid=report["id"], userid=userid)
    filterdata = json_object(saved.get("filterdata") if saved else None)
    rows = []
    for ctx in participant_rows(site):
        if not all(_matches(site, key, conditiondata, ctx, tz) for key in conditions):
            continue
        if not all(_matches(site, key, filterdata, ctx, tz) for key in filters):
            continue
        rows.append([column_value(site, column["uniqueidentifier"], ctx, tz) for column in columns])
    return headers, rows


def json_object(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


