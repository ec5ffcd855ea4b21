"""core_user lookups: ``core_user_get_users_by_field`` and ``core_user_get_users``, and what the caller may
see of each user (``user_get_user_details_courses``).

Users the caller may not see are left out silently, and so are users whose searched field the caller
may not see: without ``moodle/user:viewdetails`` (or ``moodle/user:viewalldetails`` for usernames and
idnumbers) the answer is empty for users that exist. A criteria key ``core_user_get_users`` does not
know is ignored (so it may return every user) and adds a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..access import is_siteadmin, shares_course
from ..db import Row, like
from ..records import profile_image_urls
from ..registry import function
from ..site import Call, FakeSite
from ..text import format_string, format_text, strip_tags
from ..wserror import coding_error, invalid_parameter, moodle_exception
from .core_user import clean_username, error_string, fullname


def _is_course_contact(site: FakeSite, userid: int) -> bool:
    return any(row["roleid"] == 3 for row in site.db["role_assignments"].select(userid=userid))


def _preferences(site: FakeSite, user: Row) -> list[dict[str, Any]]:
    """The caller's own preferences, as Moodle's cache holds them (``_lastloaded`` last)."""
    prefs: dict[str, Any] = user.setdefault("preferences", {})
    now = site.now()
    if user.get("auth") == "manual" and "auth_manual_passwordupdatetime" not in prefs:
        prefs["auth_manual_passwordupdatetime"] = str(user.get("timecreated") or now)
    # A web-service request logs the token's user in, which syncs enrolments at most once a minute.
    synced = prefs.get("last_time_enrolments_synced")
    if synced is None or now - int(synced) >= 60:
        prefs["last_time_enrolments_synced"] = str(now)
    listed: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in prefs.items()]
    listed.append({"name": "_lastloaded", "value": now})
    return listed


def user_details(call: Call, user: Row) -> dict[str, Any] | None:
    """``user_get_user_details_courses``: what the caller may see of ``user``, or None. A deleted account
    is never shown: its user context went with it, and ``user_get_user_details`` gives nothing without one."""
    if user.get("deleted"):
        return None
    site = call.site
    current = user["id"] == call.userid
    admin = is_siteadmin(call.userid)
    viewdetails = call.has_capability("moodle/user:viewdetails")
    if not (current or viewdetails or _is_course_contact(site, user["id"])):
        if not shares_course(site, call.userid, user["id"]):
            return None
        return _details(call, user, current=False, admin=admin, course=True)
    return _details(call, user, current=current, admin=admin, course=False)


def _details(call: Call, user: Row, *, current: bool, admin: bool, course: bool) -> dict[str, Any]:
    site = call.site
    viewall = call.has_capability("moodle/user:viewalldetails")
    identity = call.has_capability("moodle/site:viewuseridentity")
    details: dict[str, Any] = {"id": user["id"], "fullname": fullname(user),
                               "firstname": user.get("firstname") or "",
                               "lastname": user.get("lastname") or ""}
    if current or viewall:
        details["username"] = user["username"]
    custom = _custom_details(site, user, current or viewall)
    if custom:
        details["customfields"] = custom
    details.update(profile_image_urls(site, user))
    if user.get("address"):
        details["address"] = user["address"]
    for phone in ("phone1", "phone2"):
        if user.get(phone) and admin:
            details[phone] = user[phone]
    if user.get("description"):
        details["description"], details["descriptionformat"] = format_text(
            user["description"], int(user.get("descriptionformat", 1)))
    for key in ("country", "city", "timezone"):
        if user.get(key):
            details[key] = user[key]
    details["suspended"] = bool(user.get("suspended"))
    details["firstaccess"] = user.get("firstaccess") or 0
    details["lastaccess"] = user.get("lastaccess") or 0
    maildisplay = int(user.get("maildisplay", 2))
    if current or maildisplay == 1 or identity or (
            maildisplay == 2 and (course or shares_course(site, user["id"], call.userid))):
        details["email"] = user.get("email") or ""
    if user.get("interests"):
        details["interests"] = user["interests"]
    if current or viewall:
        for key in ("idnumber", "institution"):
            if user.get(key):
                details[key] = user[key]
        if user.get("department") is not None:
            details["department"] = user["department"]
    if current and not course:
        details["preferences"] = _preferences(site, user)
    if current or viewall:
        for key in ("auth", "confirmed", "lang", "theme", "mailformat", "trackforums"):
            if user.get(key) is not None:
                details[key] = user[key]
    return details


def _custom_details(site: FakeSite, user: Row, privileged: bool) -> list[dict[str, Any]]:
    data = user.get("customfields") or {}
    shown = []
    for field in site.db["user_info_field"]:
        value = data.get(field["shortname"], "")
        visible = int(field.get("visible", 2))
        if value in ("", None) or (visible == 0 and not privileged) or (visible == 1 and not privileged):
            continue
        shown.append({"name": format_string(field["name"]), "value": value,
                      "displayvalue": format_string(value), "type": field.get("datatype", "text"),
                      "shortname": field["shortname"]})
    return shown


BY_FIELD = {"id": "int", "idnumber": "raw", "username": "username", "email": "raw_trimmed"}


@function("core_user_get_users_by_field", items="values")
def get_users_by_field(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    field = params["field"]
    if field not in BY_FIELD:
        raise coding_error("invalid field parameter",
                           f"The search field '{field}' is not supported, look at the web service "
                           "documentation")
    cleaned: list[Any] = []
    for value in params["values"]:
        text = "" if value is None else str(value)
        clean: Any
        if field == "id":
            match = re.match(r"^\s*-?\d+", text)
            clean = int(match.group(0)) if match else 0
            same = text.strip() == str(clean) or _numeric_equal(text, clean)
        elif field == "username":
            clean = clean_username(text)
            same = clean == text
        elif field == "email":
            clean = text.strip()
            same = clean == text
        else:
            clean = text
            same = True
        if not same:
            raise invalid_parameter(f"The field '{field}' value is invalid: {text}(cleaned value: "
                                    f"{clean})")
        cleaned.append(clean)
    table = call.site.db["user"]
    found: dict[int, Row] = {}
    for value in cleaned:
        for row in table.select(**{field: value}):
            found[row["id"]] = row
    answer = []
    for userid in sorted(found):
        details = user_details(call, found[userid])
        if details and details.get(field):
            answer.append(details)
    return answer


def _numeric_equal(text: str, number: int) -> bool:
    try:
        return float(text) == number
    except ValueError:
        return False


CRITERIA = ("id", "idnumber", "username", "email", "auth", "lastname", "firstname")


@function("core_user_get_users", items="criteria")
def get_users(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    warnings: list[dict[str, Any]] = []
    used: set[str] = set()
    tests: list[Callable[[Row], bool]] = []
    valid_keys: list[str] = []
    for criterion in params["criteria"]:
        key = criterion["key"]
        if key in used:
            raise moodle_exception("keyalreadyset", error_string("keyalreadyset"),
                                   f"The key {key} can only be sent once")
        used.add(key)
        if key not in CRITERIA:
            warnings.append({"item": key, "warningcode": "invalidfieldparameter",
                             "message": f"The search key '{key}' is not supported, look at the web "
                                        "service documentation"})
            continue
        valid_keys.append(key)
        tests.append(_criterion(key, "" if criterion["value"] is None else str(criterion["value"])))
    users = []
    for row in call.site.db["user"].select(deleted=0):
        if not all(test(row) for test in tests):
            continue
        details = user_details(call, row)
        if details and all(details.get(key) for key in valid_keys):
            users.append(details)
    return {"users": users, "warnings": warnings}


def _criterion(key: str, value: str) -> Callable[[Row], bool]:
    if key == "id":
        match = re.match(r"^\s*-?\d+", value)
        wanted = int(match.group(0)) if match else 0
        return lambda row: row["id"] == wanted
    if key in ("idnumber", "auth"):
        return lambda row: row.get(key) == value
    if key == "username":
        cleaned = clean_username(value)
        return lambda row: row.get("username") == cleaned
    pattern = like(strip_tags(value) if key in ("firstname", "lastname") else value.strip())
    return lambda row: bool(pattern.fullmatch(str(row.get(key) or "")))


