"""core_enrol: who is enrolled in a course, in which courses a user is, and a course's enrolment methods.

Listings count every enrolment (suspended and not yet started too) unless ``onlyactive``; what a viewer
sees of each user follows ``user_get_user_details`` (see ``user_details``).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from ..access import (
    course_context,
    course_has_capability,
    enrolled_users,
    is_siteadmin,
    require_capability_in,
    require_course_capability,
    shares_course,
    system_context,
    users_courses,
    validate_context,
    validate_course,
)
from ..courses import course_image, get_course
from ..db import Row
from ..params import int_or_zero, param_bool
from ..records import fullname, profile_image_urls
from ..registry import function
from ..site import Call, FakeSite
from ..text import format_string, format_text
from ..wserror import WSError, invalid_parameter

DEFAULT_USER_FIELDS = ("id", "username", "fullname", "firstname", "lastname", "email", "address", "phone1",
                       "phone2", "department", "institution", "interests", "firstaccess", "lastaccess",
                       "lastcourseaccess", "idnumber", "description", "city", "country", "customfields",
                       "enrolledcourses", "groups", "roles", "preferences", "profileimageurl",
                       "profileimageurlsmall")


def user_details(site: FakeSite, viewer: int, user: Row, course: Row | None,
                 fields: list[str] | tuple[str, ...]) -> dict[str, Any] | None:
    """``user_get_user_details`` for a viewer, in a course: what they may see of a user."""
    wanted = set(fields or DEFAULT_USER_FIELDS)
    userid = int(user["id"])
    current = userid == int(viewer)
    admin = is_siteadmin(viewer)
    courseid = int(course["id"]) if course is not None else 1

    def can(capability: str) -> bool:
        return course_has_capability(site, viewer, capability, courseid)

    if not current and not can("moodle/user:viewdetails"):
        return None
    details: dict[str, Any] = {"id": userid, "fullname": fullname(user)}
    if "firstname" in wanted:
        details["firstname"] = user.get("firstname", "")
    if "lastname" in wanted:
        details["lastname"] = user.get("lastname", "")
    viewall = current or can("moodle/user:viewalldetails")
    if "username" in wanted and viewall:
        details["username"] = user.get("username", "")
    if "customfields" in wanted:
        custom = user.get("customfields") or {}
        items = custom.items() if isinstance(custom, dict) else ((c.get("shortname"), c.get("value"))
                                                                  for c in custom)
        values = [{"type": "text", "value": str(value), "name": str(name), "shortname": str(name)}
                  for name, value in items if value not in (None, "")]
        if values:
            details["customfields"] = values
    images = profile_image_urls(site, user)
    if "profileimageurl" in wanted:
        details["profileimageurl"] = images["profileimageurl"]
    if "profileimageurlsmall" in wanted:
        details["profileimageurlsmall"] = images["profileimageurlsmall"]
    if user.get("address") and ("address" in wanted or admin):
        details["address"] = user["address"]
    for phone in ("phone1", "phone2"):
        if user.get(phone) and admin:
            details[phone] = user[phone]
    if user.get("description") and "description" in wanted:
        details["description"], details["descriptionformat"] = format_text(
            user["description"], int(user.get("descriptionformat") or 1))
    for field in ("country", "city"):
        if field in wanted and user.get(field):
            details[field] = user[field]
    for field in ("firstaccess", "lastaccess"):
        if field in wanted:
            details[field] = int(user.get(field) or 0)
    if "lastcourseaccess" in wanted:
        access = site.db["user_lastaccess"].first(userid=userid, courseid=courseid)
        details["lastcourseaccess"] = int(access["timeaccess"]) if access else 0
    maildisplay = int(user.get("maildisplay", 2))
    if "email" in wanted and (current or maildisplay == 1 or can("moodle/course:useremail")
                              or can("moodle/site:viewuseridentity")
                              or (maildisplay == 2 and shares_course(site, viewer, userid))):
        details["email"] = user.get("email", "")
    for field in ("idnumber", "institution"):
        if field in wanted and user.get(field) and viewall:
            details[field] = user[field]
    if "department" in wanted and user.get("department") is not None and viewall:
        details["department"] = user["department"]
    if course is not None and "roles" in wanted:
        ctx = course_context(site, courseid)
        roles: list[dict[str, Any]] = []
        for ra in site.db["role_assignments"].select(userid=userid, contextid=ctx["id"]):
            role = site.db["role"].get(ra["roleid"])
            if role is not None and all(r["roleid"] != role["id"] for r in roles):
                roles.append({"roleid": role["id"], "name": role.get("name") or "",
                              "shortname": role["shortname"], "sortorder": int(ra.get("sortorder") or 0),
                              "_order": int(role.get("sortorder") or role["id"])})
        roles.sort(key=lambda r: r.pop("_order"))
        details["roles"] = roles
    if course is not None and "groups" in wanted:
        groups = []
        for group in site.db["groups"].select(courseid=courseid):
            if site.db["groups_members"].first(userid=userid, groupid=group["id"]):
                description, descriptionformat = format_text(group.get("description"),
                                                             int(group.get("descriptionformat") or 1))
                groups.append({"id": group["id"], "name": format_string(group["name"]),
                               "description": description, "descriptionformat": descriptionformat})
        if groups:
            details["groups"] = groups
    if "enrolledcourses" in wanted:
        courses = [{"id": c["id"], "fullname": format_string(c["fullname"]),
                    "shortname": format_string(c["shortname"])} for c in users_courses(site, userid)]
        if courses:
            details["enrolledcourses"] = courses
    if "preferences" in wanted and current:
        prefs = user.get("preferences") or {}
        details["preferences"] = [{"name": k, "value": v} for k, v in dict(prefs).items()]
    return details


def _view_participants(site: FakeSite, userid: int, courseid: int) -> None:
    if courseid == 1:
        require_capability_in(site, userid, "moodle/site:viewparticipants", system_context(site))
    else:
        require_course_capability(site, userid, "moodle/course:viewparticipants", courseid)


def _user_fields(value: Any) -> list[str]:
    fields = []
    for part in str(value).split(","):
        clean = "".join(ch for ch in part if ch.isalnum() or ch in "_-")
        if clean:
            fields.append(clean)
    return fields


@dataclass
class _Listing:
    """The options of the two participant listings, read as Moodle reads them (unknown names ignored)."""

    withcapability: str = ""
    groupid: int = 0
    onlyactive: bool = False
    onlysuspended: bool = False
    fields: list[str] = dataclass_field(default_factory=list)
    limitfrom: int = 0
    limitnumber: int = 0
    sortby: str = "id"
    descending: bool = False

    @classmethod
    def read(cls, options: list[dict[str, Any]], *, sortable: bool) -> _Listing:
        listing = cls()
        for option in options:
            name, value = option["name"], option["value"]
            if name == "withcapability":
                listing.withcapability = str(value)
            elif name in ("groupid", "limitfrom", "limitnumber"):
                setattr(listing, name, int_or_zero(value))
            elif name in ("onlyactive", "onlysuspended"):
                setattr(listing, name, param_bool(value))
            elif name == "userfields":
                listing.fields = _user_fields(value)
            elif sortable and name == "sortby":
                if value not in ("id", "firstname", "lastname", "siteorder"):
                    raise invalid_parameter(f"Invalid value for sortby parameter (value: {value}), allowed "
                                            "values are: id,firstname,lastname,siteorder")
                listing.sortby = str(value)
            elif sortable and name == "sortdirection":
                direction = str(value).upper()
                if direction not in ("ASC", "DESC"):
                    raise invalid_parameter("Invalid value for sortdirection parameter\n" + " " * 24
                                            + f"(value: {direction}),allowed values are: ASC,DESC")
                listing.descending = direction == "DESC"
        return listing

    def page(self, items: list[Any]) -> list[Any]:
        """``limitfrom``/``limitnumber``: 0 means from the start, and no limit."""
        items = items[self.limitfrom:] if self.limitfrom > 0 else items
        return items[:self.limitnumber] if self.limitnumber > 0 else items

    def in_group(self, site: FakeSite, userids: list[int]) -> list[int]:
        if not self.groupid:
            return userids
        members = {int(m["userid"]) for m in site.db["groups_members"].select(groupid=self.groupid)}
        return [u for u in userids if u in members]


def _listed_course(site: FakeSite, userid: int, courseid: Any) -> Row:
    """The course a listing reads, once the caller may see its participants."""
    course = get_course(site, courseid)
    validate_course(site, userid, int(course["id"]))
    _view_participants(site, userid, int(course["id"]))
    return course


@function("core_enrol_get_enrolled_users")
def get_enrolled_users(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    listing = _Listing.read(params.get("options") or [], sortable=True)
    course = _listed_course(site, call.userid, params["courseid"])
    courseid = int(course["id"])
    if listing.withcapability:
        require_course_capability(site, call.userid, "moodle/role:review", courseid)
    if listing.groupid and not site.db["groups_members"].first(userid=call.userid, groupid=listing.groupid):
        require_course_capability(site, call.userid, "moodle/site:accessallgroups", courseid)
    if listing.onlyactive or listing.onlysuspended:
        require_course_capability(site, call.userid, "moodle/course:enrolreview", courseid)
    userids = enrolled_users(site, courseid, onlyactive=listing.onlyactive,
                             onlysuspended=listing.onlysuspended)
    if listing.withcapability:
        userids = [u for u in userids if course_has_capability(site, u, listing.withcapability, courseid)]
    users = [site.db["user"].get(u) for u in listing.in_group(site, userids)]
    rows = [u for u in users if u is not None]
    rows.sort(key=lambda u: _sort_key(u, listing.sortby), reverse=listing.descending)
    result = []
    for user in listing.page(rows):
        details = user_details(site, call.userid, user, course, listing.fields)
        if details is None:
            details = {"id": user["id"], "fullname": fullname(user),
                       "profileimageurl": profile_image_urls(site, user)["profileimageurl"]}
        result.append(details)
    return result


def _sort_key(user: Row, sortby: str) -> tuple[Any, ...]:
    if sortby == "firstname":
        return (str(user.get("firstname", "")), int(user["id"]))
    if sortby == "lastname":
        return (str(user.get("lastname", "")), int(user["id"]))
    if sortby == "siteorder":
        return (str(user.get("lastname", "")), str(user.get("firstname", "")), int(user["id"]))
    return (int(user["id"]),)


@function("core_enrol_get_enrolled_users_with_capability")
def get_enrolled_users_with_capability(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    if not params.get("coursecapabilities"):
        raise invalid_parameter("Parameter can not be empty")
    listing = _Listing.read(params.get("options") or [], sortable=False)
    result = []
    for item in params["coursecapabilities"]:
        course = _listed_course(site, call.userid, item["courseid"])
        courseid = int(course["id"])
        if listing.groupid and site.db["groups_members"].first(userid=call.userid, groupid=listing.groupid):
            require_course_capability(site, call.userid, "moodle/site:accessallgroups", courseid)
        if listing.onlyactive:
            require_course_capability(site, call.userid, "moodle/course:enrolreview", courseid)
        require_course_capability(site, call.userid, "moodle/role:review", courseid)
        for capability in item["capabilities"]:
            userids = [u for u in enrolled_users(site, courseid, onlyactive=listing.onlyactive)
                       if course_has_capability(site, u, capability, courseid)]
            users = []
            for userid in listing.page(listing.in_group(site, userids)):
                user = site.db["user"].get(userid)
                details = user_details(site, call.userid, user, course, listing.fields) if user else None
                if details is not None:
                    for group in details.get("groups", []):
                        group.pop("descriptionformat", None)
                    users.append(details)
            result.append({"courseid": courseid, "capability": capability, "users": users})
    return result


@function("core_enrol_get_users_courses")
def get_users_courses(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    userid = int(params["userid"])
    returnusercount = params.get("returnusercount", True)
    returnusercount = True if returnusercount is None else bool(returnusercount)
    user = site.db["user"].get(userid)
    if user is None:
        return []
    sameuser = userid == call.userid
    result = []
    for course in users_courses(site, userid):
        courseid = int(course["id"])
        try:
            validate_context(site, call.userid, course_context(site, courseid))
        except WSError:
            continue
        if not sameuser and not (course_has_capability(site, call.userid, "moodle/course:viewparticipants",
                                                       courseid)
                                 and course_has_capability(site, call.userid, "moodle/user:viewdetails",
                                                           courseid)):
            continue
        progress: float | None = None
        completed: bool | None = None
        hascriteria = False
        tracked = False
        if course.get("enablecompletion") and (
                sameuser or course_has_capability(site, call.userid, "moodle/grade:viewall", courseid)
                or course_has_capability(site, call.userid, "report/completion:view", courseid)):
            hascriteria = bool(site.db["course_completion_criteria"].select(course=courseid))
            tracked = course_has_capability(site, userid, "moodle/course:isincompletionreports", courseid)
            row = site.db["course_completions"].first(userid=userid, course=courseid)
            completed = bool(row and row.get("timecompleted"))
            progress = _progress(site, userid, courseid) if tracked else None
        summary, summaryformat = format_text(course.get("summary"), int(course.get("summaryformat") or 1))
        entry: dict[str, Any] = {
            "id": courseid, "shortname": format_string(course["shortname"]),
            "fullname": format_string(course["fullname"]), "displayname": format_string(course["fullname"]),
            "idnumber": course.get("idnumber", ""), "visible": int(course.get("visible", 1)),
            "summary": summary, "summaryformat": summaryformat, "format": course.get("format", "topics"),
            "courseimage": course_image(site, courseid), "showgrades": bool(course.get("showgrades", 1)),
            "lang": course.get("lang", ""), "enablecompletion": bool(course.get("enablecompletion", 0)),
            "completionhascriteria": hascriteria, "completionusertracked": tracked,
            "category": int(course.get("category") or 0), "progress": progress, "completed": completed,
            "startdate": course.get("startdate", 0), "enddate": course.get("enddate", 0),
            "marker": course.get("marker", 0), "lastaccess": _lastaccess(site, userid, courseid),
            "isfavourite": False, "hidden": bool(sameuser and (user.get("preferences") or {}).get(
                f"block_myoverview_hidden_course_{courseid}")),
            "overviewfiles": [], "showactivitydates": bool(course.get("showactivitydates", 1)),
            "showcompletionconditions": bool(course.get("showcompletionconditions", 1)),
            "timemodified": course.get("timemodified", 0),
        }
        if returnusercount:
            entry["enrolledusercount"] = len(enrolled_users(site, courseid))
        result.append(entry)
    return result


def _lastaccess(site: FakeSite, userid: int, courseid: int) -> int | None:
    row = site.db["user_lastaccess"].first(userid=userid, courseid=courseid)
    return int(row["timeaccess"]) if row else None


def _progress(site: FakeSite, userid: int, courseid: int) -> float | None:
    """``progress::get_course_progress_percentage``: share of completion-tracked activities done."""
    tracked = [cm for cm in site.db["course_modules"].select(course=courseid)
               if int(cm.get("completion") or 0) and int(cm.get("visible", 1))]
    if not tracked:
        return None
    done = 0
    for cm in tracked:
        row = site.db["course_modules_completion"].first(userid=userid, coursemoduleid=cm["id"])
        if row is not None and int(row.get("completionstate") or 0) in (1, 2):
            done += 1
    return done * 100.0 / len(tracked)


@function("core_enrol_get_course_enrolment_methods")
def get_course_enrolment_methods(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Enabled instances whose plugin offers enrolment info (self, guest); manual and cohort sync
    never appear, as on a real site."""
    site = call.site
    course = get_course(site, params["courseid"])
    courseid = int(course["id"])
    names = {"self": "Self enrolment", "guest": "Guest access"}
    result = []
    for instance in sorted(site.db["enrol"].select(courseid=courseid),
                           key=lambda row: (int(row.get("sortorder") or 0), int(row["id"]))):
        plugin = str(instance["enrol"])
        if plugin not in names or int(instance.get("status") or 0) != 0:
            continue
        result.append({"id": instance["id"], "courseid": courseid, "type": plugin,
                       "name": format_string(instance.get("name") or names[plugin]), "status": True,
                       "wsfunction": f"enrol_{plugin}_get_instance_info"})
    return result
