"""core_cohort: site-wide and category cohorts and their members, as ``cohort/externallib.php`` does.

What the recordings showed and this module keeps:

- Warnings of ``core_cohort_add_cohort_members`` are ``{warningcode, message}`` only: ``"1"`` an
  unsupported type (users by ``id`` or ``username`` only, cohorts by ``id`` or ``idnumber``), ``"2"``
  the cohort or user does not exist, ``"3"`` already a member. The other members are still added.
- ``core_cohort_create_cohorts`` refuses an idnumber another cohort has (plain ``invalidparameter``,
  debuginfo ``record already exists: idnumber=...``) and is all-or-nothing; ``core_cohort_update_cohorts``
  accepts a duplicate idnumber.
- Names come back through ``format_string`` (``&`` as ``&amp;``), descriptions through ``format_text``.
- A cohort id that does not exist fails the whole ``get_cohort_members`` / ``delete_cohort_members``
  call; ``get_cohorts`` just leaves it out; removing a non-member answers ``null``.
"""

from __future__ import annotations

from typing import Any

from ..access import CONTEXT_LEVELS, CONTEXT_TABLES, parent_context_ids, system_context
from ..db import Row, like
from ..records import CONTEXT_COURSECAT, CONTEXT_SYSTEM, context
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..text import format_string, format_text
from ..wserror import (
    WSError,
    coding_error,
    invalid_parameter,
    missing_record,
    missing_record_where,
    moodle_exception,
    no_permissions,
)
from .core_user import MNET_LOCALHOST

FORMATS = (0, 1, 2, 4)


# --- contexts ----------------------------------------------------------------------------------

def _context_from_params(site: FakeSite, param: dict[str, Any]) -> Row:
    """``external_api::get_context_from_params`` followed by ``validate_context``."""
    table = site.db["context"]
    found: Row | None
    if param.get("contextid"):
        found = table.get(int(param["contextid"]))
    elif param.get("contextlevel") and param.get("instanceid") is not None:
        level = CONTEXT_LEVELS.get(str(param["contextlevel"]))
        if level is None:
            raise invalid_parameter(f"Invalid context level = {param['contextlevel']}")
        instanceid = int(param["instanceid"])
        if level == CONTEXT_SYSTEM:
            found = system_context(site)
        else:
            found = table.first(contextlevel=level, instanceid=instanceid)
            if found is None and _instance_exists(site, level, instanceid):
                found = context(site, level, instanceid)
    else:
        raise invalid_parameter("Missing parameters, please provide either context level with "
                                "instance id or contextid")
    if found is None:
        raise invalid_parameter("Context does not exist")
    return found


def _instance_exists(site: FakeSite, level: int, instanceid: int) -> bool:
    table = CONTEXT_TABLES.get(level)
    return table is not None and site.db[table].get(instanceid) is not None


def _category_context(site: FakeSite, categorytype: dict[str, Any], *, creating: bool) -> int:
    kind = categorytype["type"]
    value = categorytype["value"]
    if kind not in ("idnumber", "id", "system"):
        raise invalid_parameter(f"category type must be id, idnumber or system:{kind}")
    if kind == "system":
        return int(system_context(site)["id"])
    categories = site.db["course_categories"]
    category: Row | None
    if kind == "id":
        text = "" if value is None else str(value).strip()
        category = categories.get(int(text)) if text.lstrip("-").isdigit() else None
    else:
        category = categories.first(idnumber="" if value is None else str(value))
    if category is None:
        if creating:
            raise invalid_parameter(f"category not exists: category {kind} = {value}")
        raise invalid_parameter(f"category not exists: category={value}")
    return int(context(site, CONTEXT_COURSECAT, category["id"])["id"])


def _cohort_context(site: FakeSite, cohort: Row) -> Row:
    ctx = site.db["context"].get(cohort["contextid"])
    if ctx is None or ctx["contextlevel"] not in (CONTEXT_SYSTEM, CONTEXT_COURSECAT):
        raise invalid_parameter("Invalid context")
    return ctx


def _require_any(call: Call, capabilities: tuple[str, ...], reported: str) -> None:
    if not any(call.has_capability(cap) for cap in capabilities):
        raise no_permissions(reported)


def _validate_format(fmt: Any) -> int:
    value = int(fmt) if fmt is not None else 1
    if value not in FORMATS:
        raise moodle_exception("formatnotsupported", "error/formatnotsupported")
    return value


def _missing_cohort(cohortid: Any) -> WSError:
    return missing_record("cohort", int(cohortid))


# --- cohorts ---------------------------------------------------------------------------------------

def _save_custom(site: FakeSite, cohort: Row, values: list[dict[str, Any]] | None) -> None:
    if not values:
        return
    defined = {row["shortname"] for row in site.db["cohort_custom_field"]}
    data = dict(cohort.get("customfields") or {})
    for item in values:
        if item["shortname"] in defined:
            data[item["shortname"]] = "" if item["value"] is None else str(item["value"])
    cohort["customfields"] = data


def _custom_answer(site: FakeSite, cohort: Row) -> list[dict[str, Any]]:
    """Every field the site defines, for every cohort (empty ones with ``value`` null)."""
    data = cohort.get("customfields") or {}
    answer = []
    for field in site.db["cohort_custom_field"]:
        raw = data.get(field["shortname"], field.get("defaultvalue", ""))
        answer.append({"name": format_string(field["name"]), "shortname": field["shortname"],
                       "type": field.get("type", "text"), "valueraw": raw,
                       "value": format_string(raw) if raw not in ("", None) else None})
    return answer


def cohort_answer(site: FakeSite, cohort: Row, *, customfields: bool = True) -> dict[str, Any]:
    description, descriptionformat = format_text(cohort.get("description"),
                                                 int(cohort.get("descriptionformat", 1)))
    answer: dict[str, Any] = {
        "id": cohort["id"], "name": format_string(cohort["name"]),
        "idnumber": cohort.get("idnumber"), "description": description,
        "descriptionformat": descriptionformat, "visible": bool(cohort.get("visible", 1)),
        "theme": cohort.get("theme", ""),
    }
    if customfields:
        answer["customfields"] = _custom_answer(site, cohort)
    return answer


@function("core_cohort_create_cohorts", items="cohorts")
def create_cohorts(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    table = site.db["cohort"]
    created: list[Row] = []
    answer = []
    try:
        for item in params["cohorts"]:
            contextid = _category_context(site, item["categorytype"], creating=True)
            idnumber = item["idnumber"]
            if table.first(idnumber=idnumber) is not None:
                raise invalid_parameter(f"record already exists: idnumber={idnumber}")
            _cohort_context(site, {"contextid": contextid})
            call.require_capability("moodle/cohort:manage")
            descriptionformat = _validate_format(item.get("descriptionformat"))
            now = site.now()
            row = table.insert({
                "contextid": contextid, "name": item["name"], "idnumber": idnumber,
                "description": item.get("description") or "", "descriptionformat": descriptionformat,
                "visible": 1 if item.get("visible") is None else int(bool(item["visible"])),
                "component": "", "theme": "", "timecreated": now, "timemodified": now,
                "customfields": {},
            })
            created.append(row)
            _save_custom(site, row, item.get("customfields"))
            answer.append(cohort_answer(site, row, customfields=False))
    except WSError:
        for row in created:
            table.delete(row)
        raise
    return answer


@function("core_cohort_update_cohorts", items="cohorts")
def update_cohorts(call: Call, params: dict[str, Any]) -> None:
    site = call.site
    table = site.db["cohort"]
    plans: list[tuple[Row, dict[str, Any], list[dict[str, Any]] | None]] = []
    for item in params["cohorts"]:
        if str(item["name"]).strip() == "":
            raise invalid_parameter("Invalid cohort name")
        old = table.get(item["id"])
        if old is None:
            raise _missing_cohort(item["id"])
        call.require_capability("moodle/cohort:manage")
        contextid = _category_context(site, item["categorytype"], creating=False)
        if contextid != old["contextid"]:
            _cohort_context(site, {"contextid": contextid})
            call.require_capability("moodle/cohort:manage")
        changes: dict[str, Any] = {"name": item["name"], "idnumber": item["idnumber"],
                                   "contextid": contextid, "timemodified": site.now()}
        if item.get("description") is not None:
            changes["description"] = item["description"]
        if item.get("description"):
            changes["descriptionformat"] = _validate_format(item.get("descriptionformat"))
        elif item.get("descriptionformat") is not None:
            changes["descriptionformat"] = int(item["descriptionformat"])
        if item.get("visible") is not None:
            changes["visible"] = int(bool(item["visible"]))
        plans.append((old, changes, item.get("customfields")))
    for row, changes, custom in plans:  # one transaction: nothing changes unless every cohort passes
        table.update(row, **changes)
        _save_custom(site, row, custom)
    return None


@function("core_cohort_delete_cohorts", items="cohortids")
def delete_cohorts(call: Call, params: dict[str, Any]) -> None:
    site = call.site
    table = site.db["cohort"]
    doomed: list[Row] = []
    for cohortid in params["cohortids"]:
        cohort = table.get(cohortid)
        if cohort is None or any(row["id"] == cohort["id"] for row in doomed):
            raise _missing_cohort(cohortid)
        _cohort_context(site, cohort)
        call.require_capability("moodle/cohort:manage")
        doomed.append(cohort)
    for cohort in doomed:
        for member in site.db["cohort_members"].select(cohortid=cohort["id"]):
            site.db["cohort_members"].delete(member)
        table.delete(cohort)
    return None


@function("core_cohort_get_cohorts", items="cohortids")
def get_cohorts(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    table = site.db["cohort"]
    ids = params.get("cohortids") or []
    if ids:
        wanted = {int(i) for i in ids}
        cohorts = [row for row in table if row["id"] in wanted]
    else:
        cohorts = list(table)
    answer = []
    for cohort in cohorts:
        _cohort_context(site, cohort)
        _require_any(call, ("moodle/cohort:manage", "moodle/cohort:view"), "moodle/cohort:view")
        answer.append(cohort_answer(site, cohort))
    return answer


def _search(rows: list[Row], query: str) -> list[Row]:
    if not query:
        return rows
    pattern = like("%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    return [row for row in rows if any(pattern.fullmatch(str(row.get(key) or ""))
                                       for key in ("name", "idnumber", "description"))]


def _ordered(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda row: (str(row["name"]), str(row.get("idnumber") or ""), row["id"]))


def _limit(rows: list[Row], offset: int, limit: int) -> list[Row]:
    offset = max(offset, 0)
    return rows[offset:offset + limit] if limit > 0 else rows[offset:]


@function("core_cohort_search_cohorts")
def search_cohorts(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    query = params["query"] or ""
    includes = params["includes"]
    limitfrom = int(params["limitfrom"])
    limitnum = int(params["limitnum"])
    ctx = _context_from_params(site, params["context"])
    manager = call.has_capability("moodle/cohort:manage")
    if not manager:
        call.require_capability("moodle/cohort:view")
    table = site.db["cohort"]
    # cohort_get_cohorts() and cohort_get_all_cohorts() take (page, perpage): Moodle passes limitfrom
    # as the page number; cohort_get_available_cohorts() takes it as an offset.
    found: list[tuple[Row, bool]]
    if includes == "self" or includes == "parents":
        own = _ordered(_search(table.select(contextid=ctx["id"]), query))
        found = [(row, True) for row in _limit(own, limitfrom * limitnum, limitnum)]
        if includes == "parents" and ctx["contextlevel"] != CONTEXT_SYSTEM:
            parents = set(parent_context_ids(site, ctx))
            seeall = call.has_capability("moodle/cohort:view")
            available = _ordered(_search([row for row in table if row["contextid"] in parents
                                          and (seeall or row.get("visible"))], query))
            ids = {row["id"] for row, _ in found}
            found += [(row, False) for row in _limit(available, limitfrom, limitnum)
                      if row["id"] not in ids]
    elif includes == "all":
        if ctx["contextlevel"] != CONTEXT_SYSTEM and not (
                call.has_capability("moodle/cohort:view") or manager):
            raise no_permissions("moodle/cohort:view")
        everything = _ordered(_search(list(table), query))
        found = [(row, True) for row in _limit(everything, limitfrom * limitnum, limitnum)]
    else:
        raise coding_error("Invalid parameter value for 'includes'.")
    answer = []
    for row, full in found:
        if full:
            answer.append(cohort_answer(site, row))
        else:  # cohort_get_available_cohorts() selects id, name, contextid, idnumber, visible only
            answer.append({"id": row["id"], "name": format_string(row["name"]),
                           "idnumber": row.get("idnumber"), "description": "",
                           "descriptionformat": 1, "visible": bool(row.get("visible", 1)),
                           "customfields": _custom_answer(site, row)})
    return {"cohorts": answer}


# --- members ---------------------------------------------------------------------------------------

def _member_order(site: FakeSite, userid: int) -> tuple[str, str, int]:
    user = site.db["user"].get(userid) or {}
    return (str(user.get("lastname") or ""), str(user.get("firstname") or ""), userid)


@function("core_cohort_get_cohort_members", items="cohortids")
def get_cohort_members(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    answer = []
    for cohortid in params["cohortids"]:
        cohort = site.db["cohort"].get(cohortid)
        if cohort is None:
            raise _missing_cohort(cohortid)
        _cohort_context(site, cohort)
        _require_any(call, ("moodle/cohort:manage", "moodle/cohort:view"), "moodle/cohort:view")
        userids = [row["userid"] for row in site.db["cohort_members"].select(cohortid=cohort["id"])
                   if site.db["user"].get(row["userid"]) is not None]
        answer.append({"cohortid": cohortid,
                       "userids": sorted(userids, key=lambda uid: _member_order(site, uid))})
    return answer


def _warning(code: str, message: str) -> dict[str, Any]:
    return {"warningcode": code, "message": message}


def _lookup(site: FakeSite, table: str, field: str, value: Any, **extra: Any) -> Row | None:
    if field == "id":
        text = "" if value is None else str(value).strip()
        if not text.lstrip("-").isdigit():
            # PostgreSQL refuses to compare an integer column with text: Moodle wraps the error.
            raise moodle_exception("Error", "cohort/Error",
                                   f"Error reading from database: invalid input syntax for type "
                                   f"bigint: \"{text}\"")
        row = site.db[table].get(int(text))
        return row if row is not None and all(row.get(k) == v for k, v in extra.items()) else None
    return site.db[table].first(**{field: "" if value is None else str(value)}, **extra)


@function("core_cohort_add_cohort_members", items="members")
def add_cohort_members(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    warnings: list[dict[str, Any]] = []
    added: list[Row] = []
    try:
        for member in params["members"]:
            ctype, cvalue = member["cohorttype"]["type"], member["cohorttype"]["value"]
            utype, uvalue = member["usertype"]["type"], member["usertype"]["value"]
            if ctype not in ("id", "idnumber"):
                warnings.append(_warning("1", f"invalid parameter: cohortype={ctype}"))
                continue
            if utype not in ("id", "username"):
                warnings.append(_warning("1", f"invalid parameter: usertype={utype}"))
                continue
            cohort = _lookup(site, "cohort", ctype, cvalue)
            if cohort is None:
                warnings.append(_warning("2", f"cohort {ctype}={cvalue} not exists"))
                continue
            user = _lookup(site, "user", utype, uvalue, deleted=0, mnethostid=MNET_LOCALHOST)
            if user is None:
                warnings.append(_warning("2", f"user {utype}={uvalue} not exists"))
                continue
            if site.db["cohort_members"].first(cohortid=cohort["id"], userid=user["id"]) is not None:
                warnings.append(_warning("3", f"record already exists: cohort({ctype}={cvalue} "
                                              f"{utype}={uvalue})"))
                continue
            ctx = site.db["context"].get(cohort["contextid"])
            if ctx is None or ctx["contextlevel"] not in (CONTEXT_SYSTEM, CONTEXT_COURSECAT):
                level = ctx["contextlevel"] if ctx else 0
                warnings.append(_warning("1", f"Invalid context: {level}"))
                continue
            _require_any(call, ("moodle/cohort:manage", "moodle/cohort:assign"), "moodle/cohort:assign")
            added.append(site.db["cohort_members"].insert({"cohortid": cohort["id"],
                                                           "userid": user["id"],
                                                           "timeadded": site.now()}))
    except WSError:
        for row in added:
            site.db["cohort_members"].delete(row)
        raise
    return {"warnings": warnings}


@function("core_cohort_delete_cohort_members", items="members")
def delete_cohort_members(call: Call, params: dict[str, Any]) -> None:
    site = call.site
    pairs: list[tuple[int, int]] = []
    for member in params["members"]:
        cohort = site.db["cohort"].get(member["cohortid"])
        if cohort is None:
            raise _missing_cohort(member["cohortid"])
        user = site.db["user"].get(member["userid"])
        if user is None or user.get("deleted") or user.get("mnethostid", 1) != MNET_LOCALHOST:
            raise missing_record_where("user",
                                       "SELECT * FROM {user} WHERE id = ? AND deleted = ? AND mnethostid = ?",
                                       [int(member["userid"]), 0, MNET_LOCALHOST])
        _cohort_context(site, cohort)
        _require_any(call, ("moodle/cohort:manage", "moodle/cohort:assign"), "moodle/cohort:assign")
        pairs.append((cohort["id"], user["id"]))
    for cohortid, userid in pairs:
        for row in site.db["cohort_members"].select(cohortid=cohortid, userid=userid):
            site.db["cohort_members"].delete(row)
    return None


# --- what admins do ------------------------------------------------------------------------------

@site_action("create_cohort_custom_field")
def create_cohort_custom_field(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin adds a cohort custom field (Site administration > Users > Cohort custom fields)."""
    shortname = str(args["shortname"])
    if site.db["cohort_custom_field"].first(shortname=shortname) is not None:
        raise ValueError(f"cohort custom field {shortname!r} exists")
    row = site.db["cohort_custom_field"].insert({
        "shortname": shortname, "name": str(args.get("name") or shortname),
        "type": str(args.get("type") or "text"), "defaultvalue": str(args.get("defaultvalue") or "")})
    return {"id": row["id"], "shortname": shortname}
