"""The "Course participants" report source: its columns and filters, its rows, and their values.

What the recorded site did and the fake does: a row per enrolment of every course, and a row with empty
user columns for an enrolment method nobody is enrolled through; values are display strings in the
viewer's language and timezone (``Yes``/``No``/empty, ``Friday, 27 November 2026, 8:22 PM``); a condition
without an operator filters nothing; filter values are kept per user. "Last access to course" is the
user's ``user_lastaccess`` time in the course, empty when they never opened it. Date filters and
conditions compare the stored timestamps as Moodle's SQL does (``datefilter``), whatever the viewer sees.
The course entity offers each course custom field of the site as a column, condition and filter
(``course:customfield_<shortname>``, titled with the field's name) after its own; the report editor lists
the columns per entity in Moodle's order, the release's own (``column_cards``).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .access import course_roles
from .completion import course_activities
from .courses import course_customfields as course_field_values
from .courses import customfield_definitions
from .datefilter import Dated, DateTest, date_test, dated_test, php_int
from .db import Row
from .records import fullname
from .site import FakeSite
from .text import Userdates, escape, format_string

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
# Filters and conditions the recorded 4.5 site did not offer yet.
ONLY_IN_5_1: frozenset[str] = frozenset({"course_category:coursecount", "user:picture", "user:firstaccess",
                                         "user:neveraccessed"})
FILTERS: dict[str, tuple[str, str]] = {
    f"{entity}:{name}": (title, entityname)
    for entity, entityname, names in ENTITIES for name, title in names
}
# The columns of the source's entities, in the order the report editor lists them ("Add column"), as
# the recorded 5.1 site listed them; the course's custom fields follow the course's own columns.
COLUMN_CARDS: list[tuple[str, list[tuple[str, str]]]] = [
    ("course", [
        ("coursefullnamewithlink", "Course full name with link"),
        ("courseshortnamewithlink", "Course short name with link"),
        ("courseidnumberewithlink", "Course ID number with link"), ("url", "Course URL"),
        ("fullname", "Course full name"), ("shortname", "Course short name"),
        ("idnumber", "Course ID number"),
        ("summary", "Course summary"), ("format", "Format"), ("startdate", "Course start date"),
        ("enddate", "Course end date"), ("visible", "Course visibility"), ("groupmode", "Group mode"),
        ("groupmodeforce", "Force group mode"), ("lang", "Force language"),
        ("calendartype", "Force calendar"),
        ("theme", "Theme"), ("enablecompletion", "Enable completion tracking"),
        ("downloadcontent", "Download course content"), ("timecreated", "Time created"),
        ("timemodified", "Time modified")]),
    ("course_category", [
        ("name", "Category name"), ("namewithlink", "Category name with link"), ("path", "Category path"),
        ("idnumber", "Category ID number"), ("description", "Description"), ("theme", "Theme"),
        ("coursecount", "Course count")]),
    ("enrol", [
        ("plugin", "Plugin"), ("name", "Name"), ("enabled", "Enabled"), ("period", "Enrolment duration"),
        ("startdate", "Enrolment starts"), ("enddate", "Enrolment ends")]),
    ("enrolment", [
        ("timecreated", "Time created"), ("timestarted", "Time started"), ("timeended", "Time ended"),
        ("status", "Status")]),
    ("user", [
        ("fullname", "Full name"), ("fullnamewithlink", "Full name with link"),
        ("fullnamewithpicture", "Full name with picture"),
        ("fullnamewithpicturelink", "Full name with picture and link"), ("picture", "Picture"),
        ("firstname", "First name"), ("lastname", "Last name"), ("email", "Email address"),
        ("city", "City/town"), ("country", "Country"), ("lang", "Language"), ("timezone", "Timezone"),
        ("theme", "Theme"), ("description", "Description"), ("firstnamephonetic", "First name - phonetic"),
        ("lastnamephonetic", "Last name - phonetic"), ("middlename", "Middle name"),
        ("alternatename", "Alternate name"), ("idnumber", "ID number"), ("institution", "Institution"),
        ("department", "Department"), ("phone1", "Phone"), ("phone2", "Mobile phone"), ("address", "Address"),
        ("firstaccess", "First access"), ("lastaccess", "Last access"), ("suspended", "Suspended"),
        ("confirmed", "Confirmed"), ("username", "Username"), ("auth", "Authentication"),
        ("moodlenetprofile", "MoodleNet profile ID"), ("timecreated", "Time created"),
        ("timemodified", "Time modified"), ("lastip", "Last IP address")]),
    ("role", [
        ("name", "Role name"), ("originalname", "Original name"), ("shortname", "Short name"),
        ("archetype", "Role archetype"), ("description", "Description")]),
    ("group", [
        ("name", "Name"), ("idnumber", "ID number"), ("description", "Description"),
        ("enrolmentkey", "Enrolment key"), ("visibility", "Visibility"), ("participation", "Participation"),
        ("picture", "Picture"), ("timecreated", "Time created"), ("timemodified", "Time modified")]),
    ("cohort", [("name", "Name"), ("idnumber", "Cohort ID"), ("description", "Description")]),
    ("completion", [
        ("completed", "Completed"), ("criteria", "Criteria"), ("progresspercent", "Student progress"),
        ("timeenrolled", "Time enrolled"), ("timestarted", "Time started"),
        ("timecompleted", "Time completed"),
        ("reaggregate", "Time reaggregated"), ("dayscourse", "Time taking course"),
        ("daysuntilcompletion", "Time until completion"), ("grade", "Grade")]),
    ("access", [("timeaccess", "Last access to course")]),
]
# Columns the recorded 4.5 site did not list, and the titles it gave others.
COLUMNS_ONLY_IN_5_1: frozenset[str] = frozenset({"course:url", "user:firstaccess"})
COLUMN_TITLES_4_5 = {"user:picture": "User picture"}
# Columns Moodle deprecated: a report may still add them, the editor no longer lists them.
_DEPRECATED_COLUMNS = {"enrol:customname": "Custom instance name"}
COLUMNS: dict[str, str] = {f"{entity}:{name}": title
                           for entity, names in COLUMN_CARDS for name, title in names}
COLUMNS.update(_DEPRECATED_COLUMNS)
#: A course custom field's columns, conditions and filters: ``course:customfield_<shortname>``.
CUSTOMFIELD = "course:customfield_"


def course_customfields(site: FakeSite) -> list[tuple[str, str]]:
    """The site's course custom fields as the course entity offers them: (name, title), in order."""
    return [(f"customfield_{field['shortname']}", format_string(field.get("name") or field["shortname"]))
            for field in customfield_definitions(site)]


def entity_names(site: FakeSite) -> dict[str, str]:
    return {entity: entityname for entity, entityname, _names in ENTITIES}


def column_cards(site: FakeSite) -> list[tuple[str, list[tuple[str, str]]]]:
    """The columns the report editor lists per entity on this release, custom fields included."""
    old = site.branch < (5, 0)
    cards = []
    for entity, names in COLUMN_CARDS:
        listed = [(name, COLUMN_TITLES_4_5.get(f"{entity}:{name}", title) if old else title)
                  for name, title in names if not (old and f"{entity}:{name}" in COLUMNS_ONLY_IN_5_1)]
        if entity == "course":
            listed += course_customfields(site)
        cards.append((entity, listed))
    return cards


def filter_entities(site: FakeSite) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The conditions and filters the source offers per entity, custom fields included."""
    return [(entity, entityname, names + course_customfields(site) if entity == "course" else names)
            for entity, entityname, names in ENTITIES]


def column_title(site: FakeSite, key: str) -> str | None:
    """A column's default heading on this release, None when the source has no such column."""
    if key.startswith(CUSTOMFIELD):
        return dict(course_customfields(site)).get(key.partition(":")[2])
    if site.branch < (5, 0) and key in COLUMNS_ONLY_IN_5_1:
        return None
    title = COLUMNS.get(key)
    return COLUMN_TITLES_4_5.get(key, title) if title is not None and site.branch < (5, 0) else title


def filter_title(site: FakeSite, key: str) -> tuple[str, str] | None:
    """A condition's or filter's (heading, entity name), None when the source has no such one."""
    if key.startswith(CUSTOMFIELD):
        title = dict(course_customfields(site)).get(key.partition(":")[2])
        return (title, "Course") if title is not None else None
    if site.branch < (5, 0) and key in ONLY_IN_5_1:
        return None
    return FILTERS.get(key)


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

Ctx = dict[str, Any]  # one row's course, enrolment method ("enrol"), enrolment ("ue") and user
_BLOCK_ENTITIES = frozenset({"course", "course_category", "enrol"})
_ROW_DATE_ENTITIES = frozenset({"completion", "access", "enrolment"})  # date tests made on each enrolment
_USER_FIELDS_SHOWN_OTHERWISE = frozenset({
    "fullname", "fullnamewithlink", "fullnamewithpicture", "fullnamewithpicturelink", "firstaccess",
    "lastaccess", "timecreated", "timemodified", "suspended", "confirmed", "auth", "picture"})


def viewer_timezone(site: FakeSite, viewer: Row | None) -> ZoneInfo | Any:
    """The viewer's timezone; ``99`` means the site's (``config['timezone']``, UTC by default)."""
    for name in ((viewer or {}).get("timezone"), site.config.get("timezone"), "UTC"):
        if name and str(name) != "99":
            try:
                return ZoneInfo(str(name))
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


class Reader:
    """What one request reads of the site, each thing once: the viewer's timezone, the dates it shows,
    and a course's completions and last accesses by user (a report of 200,000 enrolments looks each
    up by index instead of scanning a table per cell)."""

    def __init__(self, site: FakeSite, viewerid: int) -> None:
        self.site = site
        self.tz = viewer_timezone(site, site.db["user"].get(viewerid))
        self._userdate = Userdates(self.tz)
        self._per_user: dict[tuple[str, int], dict[Any, Row]] = {}

    def date(self, timestamp: Any) -> str:
        """A date cell: the date in the viewer's timezone, empty when there is none."""
        return self._userdate(timestamp) if timestamp else ""

    def per_user(self, table: str, courseid: int, field: str = "course") -> dict[Any, Row]:
        """A course's rows of ``table`` by user id (the lowest id where a user has several)."""
        key = (table, courseid)
        found = self._per_user.get(key)
        if found is None:
            rows = self.site.db[table]
            found = {}
            for rowid in sorted(rows.ids_where(field, courseid)):
                row = rows.rows[rowid]
                found.setdefault(row.get("userid"), row)
            self._per_user[key] = found
        return found


def column_value(reader: Reader, key: str, ctx: Ctx) -> str:
    site = reader.site
    entity, _, field = key.partition(":")
    course: Row = ctx["course"]
    user: Row | None = ctx["user"]
    if entity == "course" and field.startswith("customfield_"):
        shortname = field.removeprefix("customfield_")
        shown = {item["shortname"]: item["value"] for item in course_field_values(site, course)}
        return _text(shown.get(shortname))
    if entity == "course":
        return _course_value(reader, field, course)
    if entity == "course_category":
        category = site.db["course_categories"].get(course.get("category")) or {}
        if field in ("name", "text"):
            return _text(category.get("name"))
        if field == "namewithlink":
            return (f'<a href="{site.siteurl}/course/index.php?categoryid={category.get("id")}">'
                    f'{_text(category.get("name"))}</a>')
        if field == "path":
            names = []
            for parent in str(category.get("path") or "").strip("/").split("/"):
                row = site.db["course_categories"].get(int(parent)) if parent.isdigit() else None
                if row is not None:
                    names.append(_text(row.get("name")))
            return " / ".join(names)
        if field == "coursecount":
            return str(category.get("coursecount", ""))
        return _text(category.get(field))
    if entity == "enrol":
        return _enrol_value(reader, field, ctx["enrol"])
    if user is None:
        return ""
    ue: Row = ctx["ue"]
    if entity == "enrolment":
        if field == "status":
            return _enrolment_status(site, ue, ctx["enrol"])
        source = {"timecreated": "timecreated", "timestarted": "timestart", "timeended": "timeend"}
        return reader.date(ue.get(source.get(field, field)))
    if entity == "user":
        return _user_value(reader, field, user)
    if entity == "completion":
        return _completion_value(reader, field, course, user)
    if entity == "access":
        # Moodle's column callback: "Never" for a participant without an access row (empty only on a
        # row without a user, answered above)
        access = reader.per_user("user_lastaccess", course["id"], "courseid").get(user["id"])
        return reader.date(access.get("timeaccess")) if access is not None else "Never"
    if entity == "role":
        roles = _roles(site, user["id"], course["id"])
        if field == "name":
            return ", ".join(str(role.get("name") or ROLE_NAMES.get(role["shortname"], role["shortname"]))
                             for role in roles)
        if field == "originalname":
            return ", ".join(str(ROLE_NAMES.get(role["shortname"], role["shortname"])) for role in roles)
        if field in ("shortname", "description"):
            return ", ".join(_text(role.get(field)) for role in roles)
        return ", ".join(ROLE_NAMES.get(role.get("archetype") or "", "") for role in roles)
    return ""  # group and cohort: the fake keeps no group or cohort rows in this source


def _text(value: Any) -> str:
    return "" if value is None else escape(value)


def _yes(value: Any) -> str:
    return "Yes" if value and str(value) != "0" else "No"


def _course_value(reader: Reader, field: str, course: Row) -> str:
    if field in ("fullname", "shortname", "idnumber", "summary", "lang", "calendartype", "theme"):
        return _text(course.get(field))
    link = {"coursefullnamewithlink": "fullname", "courseshortnamewithlink": "shortname",
            "courseidnumberewithlink": "idnumber"}
    if field in link:
        return (f'<a href="{reader.site.siteurl}/course/view.php?id={course["id"]}">'
                f"{_text(course.get(link[field]))}</a>")
    if field == "format":
        return FORMATS.get(str(course.get("format")), str(course.get("format") or ""))
    if field == "url":
        url = f"{reader.site.siteurl}/course/view.php?id={course['id']}"
        return f'<a href="{url}">{url}</a>'
    if field in ("startdate", "enddate", "timecreated", "timemodified"):
        return reader.date(course.get(field))
    if field in ("visible", "enablecompletion", "groupmodeforce"):
        return _yes(course.get(field))
    if field == "groupmode":
        return {0: "No groups", 1: "Separate groups", 2: "Visible groups"}.get(
            int(course.get("groupmode") or 0), "")
    return _text(course.get(field))


def _enrol_value(reader: Reader, field: str, instance: Row) -> str:
    if field == "plugin":
        return ENROL_PLUGINS.get(str(instance.get("enrol")), str(instance.get("enrol")))
    if field == "customname":
        return _text(instance.get("name"))
    if field == "name":  # enrol_get_instance_name: the instance's own name, else the plugin's
        return _text(instance.get("name")) or ENROL_PLUGINS.get(str(instance.get("enrol")), "")
    if field == "enabled":
        return "Yes" if int(instance.get("status") or 0) == 0 else "No"
    if field == "period":
        period = int(instance.get("enrolperiod") or 0)
        return f"{period // 86400} days" if period else ""
    if field in ("startdate", "enddate"):
        return reader.date(instance.get("enrolstartdate" if field == "startdate" else "enrolenddate"))
    return ""


def _enrolment_status(site: FakeSite, ue: Row, instance: Row) -> str:
    now = site.now()
    if int(ue.get("status") or 0) != 0 or int(instance.get("status") or 0) != 0:
        return "Suspended"
    if (ue.get("timestart") and int(ue["timestart"]) > now) or (
            ue.get("timeend") and int(ue["timeend"]) < now):
        return "Not current"
    return "Active"


def _user_value(reader: Reader, field: str, user: Row) -> str:
    site = reader.site
    if field == "fullname":
        return _text(fullname(user))
    if field in ("fullnamewithlink", "fullnamewithpicture", "fullnamewithpicturelink"):
        return f'<a href="{site.siteurl}/user/profile.php?id={user["id"]}">{_text(fullname(user))}</a>'
    if field in ("firstaccess", "lastaccess"):
        return reader.date(user.get(field)) or "Never"
    if field in ("timecreated", "timemodified"):
        return reader.date(user.get(field))
    if field in ("suspended", "confirmed"):
        return _yes(user.get(field))
    if field == "auth":
        return {"manual": "Manual accounts", "nologin": "No login"}.get(str(user.get("auth")),
                                                                        str(user.get("auth") or ""))
    if field == "picture":
        return ""
    return _text(user.get(field))


def _completion_value(reader: Reader, field: str, course: Row, user: Row) -> str:
    site = reader.site
    completion = reader.per_user("course_completions", course["id"]).get(user["id"])
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
        return reader.date(completion.get(field))
    if field == "dayscourse" and completion.get("timecompleted"):
        return str((int(completion["timecompleted"]) - int(course.get("startdate") or 0)) // 86400)
    return ""


def _roles(site: FakeSite, userid: int, courseid: int) -> list[Row]:
    return [role for role in (site.db["role"].get(roleid) for roleid in course_roles(site, userid, courseid))
            if role is not None]


# --- conditions and filters ---------------------------------------------------------------------

def _operator(site: FakeSite, key: str, values: dict[str, Any]) -> int | None:
    """The operator a condition or filter applies, or None when it lets every row through."""
    operator = values.get(f"{key}_operator")
    if key in DATES:
        return php_int(operator) if date_test(site, key, values) is not None else None
    if operator in (None, ""):
        return None
    operator = int(operator)
    if operator == 0 or (key == "enrolment:status" and values.get(f"{key}_value") in (None, "")):
        return None
    if key not in BOOLEAN and key != "enrolment:status" and operator not in range(1, 9):
        return None
    return operator


def _text_test(operator: int, wanted: Any) -> Callable[[str], bool]:
    """A text filter's comparison of the cell as the viewer reads it (case-insensitive)."""
    needle = str(wanted or "").lower()
    tests: dict[int, Callable[[str], bool]] = {
        1: lambda text: needle in text.lower(),
        2: lambda text: needle not in text.lower(),
        3: lambda text: text.lower() == needle,
        4: lambda text: text.lower() != needle,
        5: lambda text: text.lower().startswith(needle),
        6: lambda text: text.lower().endswith(needle),
        7: lambda text: text == "",
        8: lambda text: text != "",
    }
    return tests[operator]


def _boolean_test(operator: int) -> Callable[[str], bool]:
    """A boolean filter: "Yes" (operator 1) or anything else."""
    expected = operator == 1
    return lambda text: (text == "Yes") == expected


def _plain_user_field(key: str) -> str | None:
    """The user field a cell shows as it is stored (only escaped), or None for cells made otherwise."""
    entity, _, field = key.partition(":")
    return field if entity == "user" and field not in _USER_FIELDS_SHOWN_OTHERWISE else None


def _user_test(reader: Reader, key: str, operator: int,
               values: dict[str, Any]) -> Callable[[Row | None], bool]:
    """A condition or filter on the user, applied to a user (None: a row without a user)."""
    field = _plain_user_field(key)
    if field is None:
        row_test = _row_test(reader, key, operator, values)
        return lambda user: row_test({"course": None, "enrol": None, "ue": None, "user": user})
    test = _boolean_test(operator) if key in BOOLEAN else _text_test(operator, values.get(f"{key}_value"))

    def check(user: Row | None) -> bool:
        value = None if user is None else user.get(field)
        return test("" if value is None else str(value))  # the cell with its escaping undone
    return check


def _row_test(reader: Reader, key: str, operator: int, values: dict[str, Any]) -> Callable[[Ctx], bool]:
    """A text, boolean, select or date condition or filter whose operator filters (see ``_operator``)."""
    if key in DATES:
        dated = dated_test(reader.per_user, key, _date_test(reader, key, values))
        return lambda ctx: dated(ctx["course"], ctx["enrol"], ctx["ue"], ctx["user"])
    wanted = values.get(f"{key}_value")
    if key == "enrolment:status":
        codes = {"Active": 0, "Suspended": 1, "Not current": 2}
        target = int(wanted or 0)

        def status(ctx: Ctx) -> bool:
            ue = ctx["ue"]
            code = None if ue is None else codes[_enrolment_status(reader.site, ue, ctx["enrol"])]
            return (code == target) if operator == 1 else (code != target)
        return status
    test = _boolean_test(operator) if key in BOOLEAN else _text_test(operator, wanted)
    return lambda ctx: test(html.unescape(column_value(reader, key, ctx)))


def _date_test(reader: Reader, key: str, values: dict[str, Any]) -> DateTest:
    test = date_test(reader.site, key, values)
    assert test is not None, key  # _operator let only filtering date values through
    return test


Predicate = tuple[str, int, dict[str, Any]]  # key, operator, the values it reads


def _predicates(site: FakeSite, userid: int, report: Row) -> list[Predicate]:
    """The report's conditions (values set by its creator) and the viewer's filters that filter."""
    found: list[Predicate] = []
    conditiondata = json_object(report.get("conditiondata"))
    for row in filters_of(site, report["id"], condition=True):
        operator = _operator(site, row["uniqueidentifier"], conditiondata)
        if operator is not None:
            found.append((row["uniqueidentifier"], operator, conditiondata))
    saved = site.db["reportbuilder_user_filters"].first(reportid=report["id"], userid=userid)
    filterdata = json_object(saved.get("filterdata") if saved else None)
    for row in filters_of(site, report["id"], condition=False):
        operator = _operator(site, row["uniqueidentifier"], filterdata)
        if operator is not None:
            found.append((row["uniqueidentifier"], operator, filterdata))
    return found


def applied_filters(site: FakeSite, userid: int, report: Row) -> int:
    """How many of the report's filters the viewer's values make filter (``get_applied_filter_count``)."""
    saved = site.db["reportbuilder_user_filters"].first(reportid=report["id"], userid=userid)
    values = json_object(saved.get("filterdata") if saved else None)
    return sum(1 for row in filters_of(site, report["id"], condition=False)
               if _operator(site, row["uniqueidentifier"], values) is not None)


# --- the report's rows --------------------------------------------------------------------------

class ParticipantRows:
    """The rows of the "Course participants" source that pass a report's conditions and filters.

    One row per enrolment, by course, enrolment method (sort order) and enrolment id; a method nobody
    (not deleted) is enrolled through gives one row without a user. Rows are counted from indexes
    without being built, and built a page at a time: conditions on the course, its category, the
    enrolment method or the user are checked once per course or user; any other condition is checked
    on every row.
    """

    def __init__(self, reader: Reader, predicates: list[Predicate]) -> None:
        self.reader = reader
        site = reader.site
        self._ues = site.db["user_enrolments"]
        self._users = site.db["user"].rows
        # course, method, its enrolments, how many rows it gives, whether that is the row without a user
        self._blocks: list[tuple[Row, Row, list[int], int, bool]] = []
        self._skip: set[int] = set()
        self._all: list[Ctx] | None = None
        kinds = [key.partition(":")[0] for key, _operator, _values in predicates]
        on_row = [dated_test(reader.per_user, key, _date_test(reader, key, values))
                  for (key, _operator, values), kind in zip(predicates, kinds, strict=True)
                  if kind in _ROW_DATE_ENTITIES and key in DATES]
        if any(kind not in _BLOCK_ENTITIES and kind != "user"
               and not (kind in _ROW_DATE_ENTITIES and key in DATES)
               for (key, _operator, _values), kind in zip(predicates, kinds, strict=True)):
            tests = [_row_test(reader, *predicate) for predicate in predicates]
            self._all = [ctx for ctx in self._every_row() if all(test(ctx) for test in tests)]
            self.total = len(self._all)
            return
        on_block = [_row_test(reader, *p) for p, kind in zip(predicates, kinds, strict=True)
                    if kind in _BLOCK_ENTITIES]
        on_user = [_user_test(reader, *p) for p, kind in zip(predicates, kinds, strict=True)
                   if kind == "user"]
        absent, failing = self._excluded_users(on_user)
        gone = self._enrolments_by_method(absent)
        dropped = self._enrolments_by_method(failing)
        self.total = 0
        for course, instance, ueids in self._methods():
            ctx: Ctx = {"course": course, "enrol": instance, "ue": None, "user": None}
            shown = len(ueids) - gone.get(instance["id"], 0)
            rows = 0
            if all(test(ctx) for test in on_block):
                if shown > 0 and on_row:
                    ueids = self._kept(course, instance, ueids, on_row)
                    rows = len(ueids)
                elif shown > 0:
                    rows = shown - dropped.get(instance["id"], 0)
                elif all(test(None) for test in on_user) and all(
                        test(course, instance, None, None) for test in on_row):
                    rows = 1
            self._blocks.append((course, instance, ueids, rows, shown <= 0))
            self.total += rows

    def _kept(self, course: Row, instance: Row, ueids: list[int], tests: list[Dated]) -> list[int]:
        """The enrolments of one method whose rows pass the date tests on enrolments, completions and
        accesses (the users the other conditions drop left out)."""
        ues, users, skip = self._ues.rows, self._users, self._skip
        kept = []
        for ueid in ueids:
            if ueid in skip:
                continue
            ue = ues[ueid]
            user = users[ue["userid"]]
            if all(test(course, instance, ue, user) for test in tests):
                kept.append(ueid)
        return kept

    def page(self, start: int, count: int) -> list[Ctx]:
        """``count`` rows from ``start`` (every row from ``start`` when ``count`` is 0)."""
        end = self.total if count <= 0 else min(self.total, start + count)
        if self._all is not None:
            return self._all[start:end]
        found: list[Ctx] = []
        seen = 0
        for course, instance, ueids, rows, userless in self._blocks:
            if seen >= end:
                break
            if rows and seen + rows > start:
                if userless:
                    found.append({"course": course, "enrol": instance, "ue": None, "user": None})
                else:
                    found.extend(self._block_rows(course, instance, ueids, max(0, start - seen),
                                                  min(rows, end - seen)))
            seen += rows
        return found

    def _block_rows(self, course: Row, instance: Row, ueids: list[int], first: int, last: int) -> list[Ctx]:
        ues, users, skip = self._ues.rows, self._users, self._skip
        if skip:
            ueids = [ueid for ueid in ueids if ueid not in skip]
        found = []
        for ueid in ueids[first:last]:
            ue = ues[ueid]
            found.append({"course": course, "enrol": instance, "ue": ue, "user": users[ue["userid"]]})
        return found

    def _methods(self) -> list[tuple[Row, Row, list[int]]]:
        """Every course's enrolment methods in order, with their enrolment ids in id order."""
        site = self.reader.site
        found = []
        for course in site.db["course"]:
            if course["id"] == 1:
                continue
            instances = sorted(site.db["enrol"].select(courseid=course["id"]),
                               key=lambda row: (row.get("sortorder") or 0, row["id"]))
            for instance in instances:
                found.append((course, instance, sorted(self._ues.ids_where("enrolid", instance["id"]))))
        return found

    def _excluded_users(self, on_user: list[Callable[[Row | None], bool]]) -> tuple[set[Any], set[Any]]:
        """(users whose enrolments give no row: missing or deleted, users the conditions drop)."""
        users = self._users
        absent = {userid for userid, ids in self._ues.index("userid").items()
                  if ids and (userid not in users or users[userid].get("deleted"))}
        failing: set[Any] = set()
        for test in on_user:
            failing.update(userid for userid, user in users.items()
                           if not user.get("deleted") and userid not in failing and not test(user))
        return absent, failing

    def _enrolments_by_method(self, userids: set[Any]) -> dict[Any, int]:
        """How many enrolments of these users each enrolment method has; they are skipped when listed."""
        counts: dict[Any, int] = {}
        rows = self._ues.rows
        for userid in userids:
            for ueid in self._ues.ids_where("userid", userid):
                enrolid = rows[ueid]["enrolid"]
                counts[enrolid] = counts.get(enrolid, 0) + 1
                self._skip.add(ueid)
        return counts

    def _every_row(self) -> list[Ctx]:
        ues, users = self._ues.rows, self._users
        rows: list[Ctx] = []
        for course, instance, ueids in self._methods():
            present = [(ues[ueid], users.get(ues[ueid]["userid"])) for ueid in ueids]
            present = [(ue, user) for ue, user in present if user is not None and not user.get("deleted")]
            if not present:
                rows.append({"course": course, "enrol": instance, "ue": None, "user": None})
            for ue, user in present:
                rows.append({"course": course, "enrol": instance, "ue": ue, "user": user})
        return rows


def _cell(reader: Reader, key: str) -> Callable[[Ctx], str]:
    """How a column's cell is made for a row; the columns a completion export reads are made without
    going through ``column_value`` (the same strings, a fraction of the work)."""
    entity, _, field = key.partition(":")
    if entity in ("course", "course_category"):
        by_course: dict[Any, str] = {}

        def course_cell(ctx: Ctx) -> str:
            courseid = ctx["course"]["id"]
            text = by_course.get(courseid)
            if text is None:
                text = by_course[courseid] = column_value(reader, key, ctx)
            return text
        return course_cell
    if _plain_user_field(key) is not None:
        def user_cell(ctx: Ctx) -> str:
            user = ctx["user"]
            value = None if user is None else user.get(field)
            return "" if value is None else escape(value)
        return user_cell
    if key in ("completion:completed", "completion:timecompleted", "completion:timestarted",
               "completion:timeenrolled", "completion:reaggregate", "access:timeaccess"):
        table, course_field = (("user_lastaccess", "courseid") if entity == "access"
                               else ("course_completions", "course"))
        source = "timeaccess" if entity == "access" else field

        current: list[Any] = [None, {}]  # the course of the rows being made, and its rows by user

        def dated_cell(ctx: Ctx) -> str:
            user = ctx["user"]
            if user is None:
                return ""
            courseid = ctx["course"]["id"]
            if current[0] != courseid:
                current[:] = [courseid, reader.per_user(table, courseid, course_field)]
            row = current[1].get(user["id"])
            if row is None:
                return ""
            if source == "completed":
                return "Yes" if row.get("timecompleted") else "No"
            moment = row.get(source)
            return reader.date(moment) if moment else ""
        return dated_cell
    return lambda ctx: column_value(reader, key, ctx)


def report_page(site: FakeSite, userid: int, report: Row, start: int,
                count: int) -> tuple[list[str], list[list[str]], int]:
    """(headers, ``count`` rows from ``start`` as display strings, how many rows the report has) for
    one viewer; ``count`` 0 means every row from ``start``."""
    reader = Reader(site, userid)
    columns = columns_of(site, report["id"])
    headers = [column.get("heading") or column_title(site, column["uniqueidentifier"]) or ""
               for column in columns]
    rows = ParticipantRows(reader, _predicates(site, userid, report))
    cells = [_cell(reader, column["uniqueidentifier"]) for column in columns]
    page = [[cell(ctx) for cell in cells] for ctx in rows.page(start, count)]
    return headers, page, rows.total


def json_object(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(str(text))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
