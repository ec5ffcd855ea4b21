"""core_user accounts: creating, updating and deleting them, as ``user/externallib.php`` does (the lookups
are ``core_user_lookup``'s).

What the recordings showed and this module keeps:

- ``core_user_create_users`` is all-or-nothing: the first bad user (duplicate username or email, invalid
  email, weak password...) fails the whole call and none of the call's users exist afterwards (the ids
  they took are not given back, as a database sequence does not give them back either).
- A user's ``idnumber`` is not unique: a second account with the same idnumber is accepted.
- ``core_user_update_users`` reports each failed user as a warning and goes on with the others.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from ..access import GUEST_USERID, is_siteadmin
from ..db import Row
from ..records import CONTEXT_USER, new_user
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..text import strip_tags
from ..wserror import (
    WSError,
    invalid_parameter,
    invalid_type,
    missing_record_where,
    moodle_exception,
)

MNET_LOCALHOST = 1

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


# --- Moodle's PARAM cleaning ----------------------------------------------------------------------

def clean_username(value: str) -> str:
    """``PARAM_USERNAME`` without extended characters: lower case, only ``a-z 0-9 - . @ _``."""
    return re.sub(r"[^-.@_a-z0-9]", "", value.strip().lower().replace(" ", ""))


def error_string(code: str, module: str = "error") -> str:
    return ERROR_STRINGS.get(code, f"{module}/{code}")


# --- users ---------------------------------------------------------------------------------------

def fullname(user: Row) -> str:
    """``fullname()`` as core_user functions of the recorded site answered it: first name, a space, last
    name, untrimmed (the guest user, whose last name is a space, is "Guest user  ")."""
    return f"{user.get('firstname') or ''} {user.get('lastname') or ''}"


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
                raise invalid_type(value, ptype, ["users", key])


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
    call.require_capability("moodle/user:create")
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
    call.require_capability("moodle/user:update")
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
            if existing["id"] == GUEST_USERID:
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
    call.require_capability("moodle/user:delete")
    site = call.site
    table = site.db["user"]
    doomed: list[Row] = []
    seen: set[int] = set()
    for userid in params["userids"]:
        user = table.get(userid)
        if user is None or user.get("deleted") or int(userid) in seen:
            raise missing_record_where("user", "SELECT * FROM {user} WHERE id = ? AND deleted = ?",
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
    if user["id"] == GUEST_USERID or is_siteadmin(user["id"]):
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
