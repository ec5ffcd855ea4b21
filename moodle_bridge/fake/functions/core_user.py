"""core_user: create, update, find and delete accounts, as ``user/externallib.php`` does.

What the recordings showed and this module keeps:

- ``core_user_create_users`` is all-or-nothing: the first bad user (duplicate username or email, invalid
  email, weak password...) fails the whole call and none of the call's users exist afterwards (the ids
  they took are not given back, as a database sequence does not give them back either).
- A user's ``idnumber`` is not unique: a second account with the same idnumber is accepted.
- ``core_user_update_users`` reports each failed user as a warning and goes on with the others.
- ``core_user_get_users_by_field`` / ``core_user_get_users`` only return users whose details the caller
  may see, and only when the searched field is among what the caller may see: without
  ``moodle/user:viewdetails`` (or ``moodle/user:viewalldetails`` for usernames and idnumbers) the answer
  is silently empty.
- ``core_user_get_users`` with a criteria key it does not know ignores the key (so it may return every
  user) and adds a warning.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Iterable
from typing import Any

from ..db import Row
from ..records import CONTEXT_USER, new_user, profile_image_urls
from ..registry import function, site_action
from ..site import CAPABILITY_NAMES as SITE_CAPABILITY_NAMES
from ..site import Call, FakeSite
from ..wserror import WSError, coding_error, invalid_parameter, moodle_exception, no_permissions

SITE_ADMINS = frozenset({2})
GUEST_ID = 1
MNET_LOCALHOST = 1

CAPABILITY_NAMES = {
    "moodle/user:create": "Create users",
    "moodle/user:update": "Update user profiles",
    "moodle/user:delete": "Delete users",
}

AUTH_PLUGINS = frozenset({"cas", "db", "email", "ldap", "lti", "manual", "mnet", "nologin", "none",
                          "oauth2", "shibboleth", "webservice"})
INTERNAL_AUTHS = frozenset({"manual", "email", "nologin", "none", "webservice"})
LANGS = frozenset({"en"})
THEMES = frozenset({"boost", "classic"})

# Moodle's own strings (lang/en/error.php) for the codes these functions raise; a code without a
# string reads "error/<code>", as Moodle shows it.
ERROR_STRINGS = {
    "invaliduserid": "Invalid user ID",
    "useremailduplicate": "Duplicate address",
    "usernotupdatedadmin": "Cannot update admin accounts",
    "useradminodelete": "Administrator accounts cannot be deleted.",
    "usernotdeletederror": "User not deleted - error",
    "usernamelowercase": "The username must be in lower case",
}

EMAIL_KEY = "_emaillower"  # an indexed lower-case copy of ``email``, kept by this module
_EMAIL = re.compile(r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")
_TAG = re.compile(r"<[^\s>][^>]*(?:>|$)")  # PHP's strip_tags: "<" not followed by a space opens a tag
_ENTITY_AMP = re.compile(r"&(?![a-zA-Z0-9#]{1,8};)")


# --- Moodle's PARAM cleaning, text formatting and errors, shared with core_cohort -------------------

def clean_username(value: str) -> str:
    """``PARAM_USERNAME`` without extended characters: lower case, only ``a-z 0-9 - . @ _``."""
    return re.sub(r"[^-.@_a-z0-9]", "", value.strip().lower().replace(" ", ""))


def strip_tags(value: str) -> str:
    return _TAG.sub("", value)


def format_string(text: str | None) -> str:
    """``format_string`` as web services apply it: tags stripped, ``&``, ``<``, ``>`` escaped."""
    if not text:
        return ""
    escaped = _ENTITY_AMP.sub("&amp;", text)
    return strip_tags(escaped).replace("<", "&lt;").replace(">", "&gt;")


def format_text(text: str | None, fmt: int) -> tuple[str, int]:
    """``util::format_text``: the text as HTML, and FORMAT_HTML (1) as its format."""
    if not text:
        return "", 1
    if fmt == 2:  # FORMAT_PLAIN
        return html.escape(text, quote=False).replace("\n", "<br />\n"), 1
    if fmt == 0:  # FORMAT_MOODLE
        body = _ENTITY_AMP.sub("&amp;", text).replace("\n", "<br />\n")
        return f'<div class="text_to_html">{body}</div>', 1
    return _ENTITY_AMP.sub("&amp;", text), 1


def error_string(code: str, module: str = "error") -> str:
    return ERROR_STRINGS.get(code, f"{module}/{code}")


def missing_record(site: FakeSite, table: str, sql: str, values: Iterable[Any]) -> WSError:
    """``dml_missing_record_exception``: 5.1 names the table only when the site debugs."""
    listed = "".join(f"  {i} => {_php_export(v)},\n" for i, v in enumerate(values))
    debuginfo = f"{sql}\n[array (\n{listed})]"
    if site.debug:
        return WSError("dml_missing_record_exception", "invalidrecord",
                       f"Can't find data record in database table {table}.", debuginfo)
    return WSError("dml_missing_record_exception", "invalidrecordunknown",
                   "Can't find data record in database.", debuginfo)


def _php_export(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def type_error(path: list[str], value: Any, ptype: str) -> WSError:
    """The invalidparameter Moodle raises for a value its PARAM type cleans differently."""
    debuginfo = (f'Invalid external api parameter: the value is "{value}", '
                 f'the server was expecting "{ptype}" type')
    for key in reversed(path):
        debuginfo = f"{key} => Invalid parameter value detected: {debuginfo}"
    return invalid_parameter(debuginfo)


def require(call: Call, capability: str, names: dict[str, str] | None = None) -> None:
    if not call.has_capability(capability):
        name = (names or CAPABILITY_NAMES).get(capability) or SITE_CAPABILITY_NAMES.get(capability)
        raise no_permissions(capability, name or capability)


def like(pattern: str) -> re.Pattern[str]:
    """SQL ``LIKE`` (``%``, ``_``, ``\\`` escapes) as a case-insensitive regular expression."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


# --- users ---------------------------------------------------------------------------------------

def fullname(user: Row) -> str:
    """Moodle's ``fullname()`` for the recorded sites: first name, a space, last name (untrimmed)."""
    return f"{user.get('firstname') or ''} {user.get('lastname') or ''}"


def is_siteadmin(userid: int) -> bool:
    return userid in SITE_ADMINS


def validate_email(address: str | None) -> bool:
    return bool(address) and bool(_EMAIL.match(address or "")) and not re.search(r"[<>]", address or "")


def password_problems(password: str) -> str:
    """Moodle's default password policy; an empty string when the password passes."""
    problems = []
    if len(password) < 8:
        problems.append("Passwords must be at least 8 characters long.")
    if not re.search(r"\d", password):
        problems.append("Passwords must have at least 1 digit(s).")
    if not any(c.islower() for c in password):
        problems.append("Passwords must have at least 1 lower case letter(s).")
    if not any(c.isupper() for c in password):
        problems.append("Passwords must have at least 1 upper case letter(s).")
    if all(c.isalnum() for c in password):
        problems.append("The password must have at least 1 special character(s) such as *, -, or #.")
    return "".join(f"<div>{text}</div>" for text in problems)


def _hash(password: str) -> str:
    return "$fake$" + hashlib.sha256(password.encode("utf-8")).hexdigest()


_TEXT = ("notags", strip_tags)
_CHECKS: dict[str, tuple[str, Callable[[str], str]]] = {
    "username": ("username", clean_username),
    "firstname": _TEXT, "lastname": _TEXT, "middlename": _TEXT, "alternatename": _TEXT,
    "firstnamephonetic": _TEXT, "lastnamephonetic": _TEXT, "phone1": _TEXT, "phone2": _TEXT,
    "city": ("text", strip_tags), "institution": ("text", strip_tags),
    "department": ("text", strip_tags), "address": ("text", strip_tags),
    "interests": ("text", strip_tags),
    "email": ("raw_trimmed", str.strip),
    "auth": ("auth", lambda v: v if v in AUTH_PLUGINS else ""),
    "lang": ("lang", lambda v: v if v in LANGS else ""),
    "theme": ("theme", lambda v: v if v in THEMES else ""),
}


def _check_types(users: list[dict[str, Any]]) -> None:
    """The PARAM types the fake's generic validator does not clean (username, notags, auth...)."""
    for user in users:
        for key, value in user.items():
            check = _CHECKS.get(key)
            if check is None or value is None or not isinstance(value, str):
                continue
            ptype, clean = check
            if clean(value) != value:
                raise type_error(["users", key], value, ptype)


def _custom_fields(site: FakeSite) -> dict[str, Row]:
    return {row["shortname"]: row for row in site.db["user_info_field"]}


def _save_custom(site: FakeSite, user: Row, values: list[dict[str, Any]] | None) -> None:
    """``profile_save_data``: values of fields the site does not define are ignored."""
    if not values:
        return
    defined = _custom_fields(site)
    data = dict(user.get("customfields") or {})
    for item in values:
        if item["type"] in defined:
            data[item["type"]] = "" if item["value"] is None else str(item["value"])
    user["customfields"] = data


def _save_preferences(user: Row, values: list[dict[str, Any]] | None) -> None:
    if not values:
        return
    prefs = dict(user.get("preferences") or {})
    for item in values:
        prefs[str(item["type"])] = "" if item["value"] is None else str(item["value"])
    user["preferences"] = prefs


CREATE_FIELDS = ("username", "auth", "firstname", "lastname", "email", "maildisplay", "city", "country",
                 "timezone", "description", "firstnamephonetic", "lastnamephonetic", "middlename",
                 "alternatename", "interests", "idnumber", "institution", "department", "phone1",
                 "phone2", "address", "lang", "calendartype", "theme", "mailformat")


@function("core_user_create_users", items="users")
def create_users(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    require(call, "moodle/user:create")
    users: list[dict[str, Any]] = params["users"]
    _check_types(users)
    site = call.site
    table = site.db["user"]
    created: list[Row] = []
    try:
        result = []
        for user in users:
            for key in ("username", "firstname", "lastname"):
                if str(user[key]).strip() == "":
                    raise invalid_parameter(f"The field {key} cannot be blank")
            username = user["username"]
            if table.first(username=username, mnethostid=MNET_LOCALHOST) is not None:
                raise invalid_parameter(f"Username already exists: {username}")
            auth = user.get("auth") or "manual"
            if auth not in AUTH_PLUGINS or auth in ("mnet", "webservice"):
                raise invalid_parameter(f"Invalid authentication type: {auth}")
            lang = user.get("lang") or "en"
            if lang not in LANGS:
                raise invalid_parameter(f"Invalid language code: {lang}")
            if user.get("theme") and user["theme"] not in THEMES:
                raise invalid_parameter(f"Invalid theme: {user['theme']}")
            internal = auth in INTERNAL_AUTHS
            if internal and not user.get("password") and not user.get("createpassword"):
                raise invalid_parameter("Invalid password: you must provide a password, or set "
                                        "createpassword.")
            email = user["email"]
            if not validate_email(email):
                raise invalid_parameter(f"Email address is invalid: {email}")
            if _email_taken(site, email):
                raise invalid_parameter(f"Email address already exists: {email}")
            password = user.get("password")
            createpassword = bool(user.get("createpassword"))
            if internal and not createpassword and password is not None:
                problems = password_problems(password)
                if problems:
                    raise moodle_exception(problems, f"error/{problems}")
            fields = {key: user[key] for key in CREATE_FIELDS if user.get(key) is not None}
            fields.setdefault("auth", "manual")
            fields.setdefault("lang", "en")
            fields.setdefault("calendartype", "gregorian")
            fields.setdefault("description", None)
            fields["password"] = _hash(password) if internal and password and not createpassword else ""
            fields["confirmed"] = 1
            fields["mnethostid"] = MNET_LOCALHOST
            fields["customfields"] = {}
            fields["preferences"] = {}
            fields[EMAIL_KEY] = str(fields.get("email") or "").lower()
            row = new_user(site, **fields)
            created.append(row)
            if internal and password and not createpassword and row["auth"] == "manual":
                row["preferences"]["auth_manual_passwordupdatetime"] = str(site.now())
            if createpassword:
                row["preferences"]["auth_forcepasswordchange"] = "1"
            _save_custom(site, row, user.get("customfields"))
            _save_preferences(row, user.get("preferences"))
            result.append({"id": row["id"], "username": row["username"]})
    except WSError:
        for row in created:
            _forget(site, row)
        raise
    return result


def _forget(site: FakeSite, row: Row) -> None:
    """Rolls back an insert of this call (the id stays used, as a database sequence's would)."""
    site.db["user"].delete(row)
    ctx = site.db["context"].first(contextlevel=CONTEXT_USER, instanceid=row["id"])
    if ctx is not None:
        site.db["context"].delete(ctx)


def _email_taken(site: FakeSite, email: str, *, exclude: int | None = None) -> bool:
    """A case-insensitive match on ``email`` (``allowaccountssameemail`` is off on a stock site)."""
    table = site.db["user"]
    for row in table.select(**{EMAIL_KEY: None}):  # rows nobody indexed yet (stock, other modules)
        table.update(row, **{EMAIL_KEY: str(row.get("email") or "").lower()})
    wanted = email.lower()
    return any(str(row.get("email") or "").lower() == wanted and row["id"] != exclude
               for row in table.select(**{EMAIL_KEY: wanted, "mnethostid": MNET_LOCALHOST}))


def _set_email(site: FakeSite, row: Row, email: str) -> None:
    site.db["user"].update(row, email=email, **{EMAIL_KEY: email.lower()})


UPDATE_FIELDS = ("username", "auth", "suspended", "firstname", "lastname", "email", "maildisplay", "city",
                 "country", "timezone", "description", "firstnamephonetic", "lastnamephonetic",
                 "middlename", "alternatename", "interests", "idnumber", "institution", "department",
                 "phone1", "phone2", "address", "lang", "calendartype", "theme", "mailformat")


class _Skip(Exception):
    """A user of ``update_users`` that fails: Moodle reports it as a warning and goes on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@function("core_user_update_users", items="users")
def update_users(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    require(call, "moodle/user:update")
    users: list[dict[str, Any]] = params["users"]
    _check_types(users)
    site = call.site
    table = site.db["user"]
    warnings: list[dict[str, Any]] = []
    for user in users:
        userid = int(user["id"])
        try:
            existing = table.get(userid)
            if existing is None:
                raise _Skip("invaliduserid", error_string("invaliduserid"))
            if existing["id"] != call.userid and is_siteadmin(existing["id"]) \
                    and not is_siteadmin(call.userid):
                raise _Skip("usernotupdatedadmin", error_string("usernotupdatedadmin"))
            if existing.get("deleted"):
                raise _Skip("usernotupdateddeleted", error_string("usernotupdateddeleted"))
            if existing.get("mnethostid", MNET_LOCALHOST) != MNET_LOCALHOST:
                raise _Skip("usernotupdatedremote", error_string("usernotupdatedremote"))
            if existing["id"] == GUEST_ID:
                raise _Skip("usernotupdatedguest", error_string("usernotupdatedguest"))
            email = user.get("email")
            if email is not None and email != existing.get("email"):
                if not validate_email(email):
                    raise _Skip("useremailinvalid", error_string("useremailinvalid"))
                if _email_taken(site, email, exclude=userid):
                    raise _Skip("useremailduplicate", error_string("useremailduplicate"))
            password = user.get("password")
            if password is not None:
                problems = password_problems(password)
                if problems:
                    raise _Skip(problems, f"error/{problems}")
            username = user.get("username")
            if username is not None and username != existing["username"]:
                other = table.first(username=username, mnethostid=MNET_LOCALHOST)
                if other is not None and other["id"] != userid:
                    raise _Skip("dmlwriteexception", "Error writing to database")
            changes = {key: user[key] for key in UPDATE_FIELDS if key in user and user[key] is not None}
            if "suspended" in changes:
                changes["suspended"] = int(bool(changes["suspended"]))
            if changes.get("calendartype") == "":
                del changes["calendartype"]
            changed = {k: v for k, v in changes.items() if existing.get(k) != v}
            if "email" in changed:
                changed[EMAIL_KEY] = str(changed["email"]).lower()
            if changed:
                changed["timemodified"] = site.now()
                table.update(existing, **changed)
            if password is not None and existing.get("auth") in INTERNAL_AUTHS:
                existing["password"] = _hash(password)
                if existing.get("auth") == "manual":
                    existing.setdefault("preferences", {})["auth_manual_passwordupdatetime"] = \
                        str(site.now())
            _save_custom(site, existing, user.get("customfields"))
            _save_preferences(existing, user.get("preferences"))
        except _Skip as skip:
            warnings.append({"item": "user", "itemid": userid, "warningcode": skip.code,
                             "message": skip.message})
    for warning in warnings:
        if not re.fullmatch(r"[A-Za-z0-9]*", warning["warningcode"]):
            # A weak password's policy text is the warning code, which Moodle's own answer
            # cleaning (PARAM_ALPHANUM) refuses: the call fails although the other users were saved.
            raise WSError("core\\exception\\invalid_response_exception", "invalidresponse",
                          "Invalid response value detected",
                          "warnings => Invalid response value detected: warningcode => Invalid response "
                          "value detected: Invalid external api response: the value is "
                          f"\"{warning['warningcode']}\", the server was expecting \"alphanum\" type")
    return {"warnings": warnings}


@function("core_user_delete_users", items="userids")
def delete_users(call: Call, params: dict[str, Any]) -> None:
    require(call, "moodle/user:delete")
    site = call.site
    table = site.db["user"]
    doomed: list[Row] = []
    seen: set[int] = set()
    for userid in params["userids"]:
        user = table.get(userid)
        if user is None or user.get("deleted") or int(userid) in seen:
            raise missing_record(site, "user", "SELECT * FROM {user} WHERE id = ? AND deleted = ?",
                                 [int(userid), 0])
        if is_siteadmin(user["id"]):
            raise moodle_exception("useradminodelete", error_string("useradminodelete"))
        if user["id"] == call.userid:
            raise moodle_exception("usernotdeletederror", error_string("usernotdeletederror"))
        seen.add(user["id"])
        doomed.append(user)
    for user in doomed:
        delete_user(site, user)
    return None


def delete_user(site: FakeSite, user: Row) -> None:
    """``delete_user()``: the account stays as a deleted row, its identity fields scrambled."""
    if user["id"] == GUEST_ID or is_siteadmin(user["id"]):
        return
    now = site.now()
    delname = clean_username(f"{user.get('email') or ''}.{now}")
    while site.db["user"].first(username=delname) is not None:
        delname += "1"
    for table, field in (("cohort_members", "userid"), ("groups_members", "userid"),
                         ("role_assignments", "userid"), ("user_enrolments", "userid")):
        for row in site.db[table].select(**{field: user["id"]}):
            site.db[table].delete(row)
    for token, (owner, _service) in list(site.tokens.items()):
        if owner == user["id"]:
            del site.tokens[token]
    _set_email(site, user, hashlib.md5(user["username"].encode("utf-8")).hexdigest())
    site.db["user"].update(user, deleted=1, username=delname, idnumber="", timemodified=now)


# --- reading users ---------------------------------------------------------------------------------

def _shared_course(site: FakeSite, a: int, b: int) -> bool:
    def courses(userid: int) -> set[int]:
        found = set()
        for ue in site.db["user_enrolments"].select(userid=userid):
            if ue.get("status", 0) == 0:
                instance = site.db["enrol"].get(ue["enrolid"])
                if instance is not None and instance.get("status", 0) == 0:
                    found.add(instance["courseid"])
        return found
    return bool(courses(a) & courses(b))


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
    """``user_get_user_details_courses``: what the caller may see of ``user``, or None."""
    site = call.site
    current = user["id"] == call.userid
    admin = is_siteadmin(call.userid)
    viewdetails = call.has_capability("moodle/user:viewdetails")
    if not (current or viewdetails or _is_course_contact(site, user["id"])):
        if not _shared_course(site, call.userid, user["id"]):
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
            maildisplay == 2 and (course or _shared_course(site, user["id"], call.userid))):
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


# --- what admins do ------------------------------------------------------------------------------

@site_action("create_user_profile_field")
def create_user_profile_field(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin adds a custom user profile field (Site administration > Users > User profile fields).

    ``visible``: 2 everyone, 1 the user only, 0 nobody but those who see all details.
    """
    shortname = str(args["shortname"])
    if site.db["user_info_field"].first(shortname=shortname) is not None:
        raise ValueError(f"profile field {shortname!r} exists")
    row = site.db["user_info_field"].insert({
        "shortname": shortname, "name": str(args.get("name") or shortname),
        "datatype": str(args.get("datatype") or "text"), "visible": int(args.get("visible", 2)),
        "defaultdata": str(args.get("defaultdata") or "")})
    return {"id": row["id"], "shortname": shortname}


@site_action("create_user")
def create_user(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin adds an account by hand (no web-service checks); returns its id and username."""
    fields = {key: args[key] for key in CREATE_FIELDS if key in args}
    fields.setdefault("description", None)
    fields["customfields"] = dict(args.get("customfields") or {})
    fields["preferences"] = {}
    row = new_user(site, **fields)
    return {"id": row["id"], "username": row["username"]}
