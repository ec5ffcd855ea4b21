"""core_course categories: creating, moving, renaming and listing course categories.

A category's ``path`` lists its ancestors' ids (``/1/5``) and its ``depth`` their count; moving a category
moves its subtree. Idnumbers are unique (``categoryidnumbertaken``); creating is all or nothing.
"""

from __future__ import annotations

from typing import Any

from ..access import (
    category_context,
    has_capability_in,
    require_capability_in,
    system_context,
    validate_context,
)
from ..db import Row
from ..params import int_or_zero
from ..records import CONTEXT_COURSECAT, context
from ..registry import function
from ..site import Call, FakeSite
from ..text import format_string, format_text
from ..wserror import WSError, missing_record, moodle_exception

MAX_COURSES_IN_CATEGORY = 10000


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
                ctx = category_context(site, parent)
                if ctx is None:
                    raise moodle_exception("unknowcategory", "Category not known!")
            else:
                ctx = system_context(site)
            validate_context(site, call.userid, ctx)
            require_capability_in(site, call.userid, "moodle/category:manage", ctx)
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
            raise missing_record("course_categories", item["id"])
        ctx = context(site, CONTEXT_COURSECAT, row["id"])
        validate_context(site, call.userid, ctx)
        require_capability_in(site, call.userid, "moodle/category:manage", ctx)
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
                conditions[key] = int_or_zero(value)
            elif key == "ids":
                conditions[key] = {int_or_zero(part) for part in str(value).split(",") if part.strip()}
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
        description, descriptionformat = format_text(row.get("description"),
                                                     int(row.get("descriptionformat") or 1))
        info: dict[str, Any] = {
            "id": row["id"], "name": format_string(row["name"]), "description": description,
            "descriptionformat": descriptionformat, "parent": row["parent"],
            "sortorder": row["sortorder"], "coursecount": row.get("coursecount", 0),
            "depth": row["depth"], "path": row["path"]}
        if has_capability_in(site, call.userid, "moodle/category:manage", ctx):
            info.update({"idnumber": row.get("idnumber"), "visible": row.get("visible", 1),
                         "visibleold": row.get("visibleold", 1),
                         "timemodified": row.get("timemodified", 0), "theme": row.get("theme") or ""})
        result.append(info)
    return result


def _category_matches(row: Row, key: str, value: Any) -> bool:
    if key == "ids":
        return bool(int(row["id"]) in value)
    current = row.get(key)
    if key in ("id", "parent", "visible"):
        return bool(int(current or 0) == value)
    return bool(("" if current is None else str(current)) == value)
