"""core_reportbuilder: custom reports, read and paged by web services (their source is ``reportsource``).

Tables: ``reportbuilder_report`` (name, source, type 0, conditiondata, usercreated, ``audience`` user ids),
``reportbuilder_column`` (reportid, uniqueidentifier, columnorder), ``reportbuilder_filter`` (reportid,
uniqueidentifier, iscondition, filterorder) and ``reportbuilder_user_filters`` (reportid, userid, filterdata:
the values one user set with ``core_reportbuilder_set_filters``, replaced whole by the next set). As 4.5
does, the fake as 4.5 also keeps those values in the user's preferences (``reportbuilder-report-<id>-0``:
what ``core_user_get_users_by_field`` lists, ``[]`` once cleared); 5.0 moved them out of the preferences.

Permissions as in Moodle's ``reportbuilder/classes/permission.php``: viewing needs
``moodle/reportbuilder:viewall``, the right to edit, or a place in the audience; editing (adding
columns, conditions, filters) needs ``moodle/reportbuilder:editall``, or ``moodle/reportbuilder:edit``
on one's own report. Setting one's filter values needs only the right to view. (The recording sites'
signatures hold neither ``core_reportbuilder_filters_reset`` nor ``_delete``: the fake serves neither.)

What the recorded site did and the fake does: a condition added by web service has no value and filters
nothing; ``perpage`` has no cap and 0 returns every row; a page beyond the end returns no rows and, on 5.1,
a total of 0 (4.5 still counts every row there: on 5.1 a caller cannot tell the end from the total alone,
only from a short page). No web service creates a report: the ``create_report`` site action is the admin
doing it.
"""

from __future__ import annotations

import json
from typing import Any

from ..db import Row
from ..php import php_json
from ..records import fullname, must_exist, profile_image_urls
from ..registry import function, site_action
from ..reportsource import (
    DATES,
    ONLY_IN_5_1,
    applied_filters,
    column_cards,
    column_title,
    columns_of,
    entity_names,
    filter_entities,
    filter_title,
    filters_of,
    json_object,
    report_page,
)
from ..site import Call, FakeSite
from ..wserror import WSError, invalid_parameter

PARTICIPANTS = "\\core_course\\reportbuilder\\datasource\\participants"
SOURCE_NAMES = {PARTICIPANTS: "Course participants"}
ACCESS_EXCEPTION = "core_reportbuilder\\exception\\report_access_exception"

DETAIL_FIELDS = ["name", "source", "type", "uniquerows", "conditiondata", "settingsdata", "contextid",
                 "component", "area", "itemid", "usercreated", "id", "timecreated", "timemodified",
                 "usermodified"]


# --- access -------------------------------------------------------------------------------------

def get_report(site: FakeSite, reportid: int) -> Row:
    return must_exist(site, "reportbuilder_report", reportid)


def can_view(call: Call, report: Row) -> bool:
    if call.has_capability("moodle/reportbuilder:viewall") or can_edit(call, report):
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


def add_column(site: FakeSite, report: Row, uniqueidentifier: str, *, usermodified: int) -> Row:
    if column_title(site, uniqueidentifier) is None:
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
    kind = "condition" if condition else "filter"
    if filter_title(site, uniqueidentifier) is None:
        raise invalid_parameter(f"Invalid {kind}")
    if uniqueidentifier in present:
        raise invalid_parameter(f"Duplicate {kind}")
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
    page, perpage = max(int(params.get("page") or 0), 0), max(int(params.get("perpage") or 0), 0)
    headers, chosen, total = report_page(site, call.userid, report, page * perpage if perpage else 0,
                                         perpage)
    if not chosen and page > 0 and site.branch >= (5, 0):
        total = 0  # 5.1 counts the rows of the page it read; 4.5 the report's
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
    _page_header(site, call.userid)
    pagesize = int(params.get("pagesize") or 0) or 30
    headers, rows, total = report_page(site, call.userid, report, 0, max(pagesize, 0))
    if pagesize < 0:
        rows = rows[:pagesize]
    filters = filters_of(site, report["id"], condition=False) if not editmode else []
    result: dict[str, Any] = {
        **base_details(report),
        "table": _table_html(report, headers, rows, total, pagesize),
        "infocontainer": "",
        "filtersapplied": applied_filters(site, call.userid, report) if not editmode else 0,
        "filterspresent": bool(filters),
        "filtersform": _filters_form(site, report, filters) if filters else "",
        "attributes": [],
        "classes": "",
        "editmode": editmode,
        "javascript": "",
    }
    if editmode:
        entities = entity_names(site)
        result.update({
            "sidebarmenucards": {"menucards": [
                {"name": entities[entity], "key": entity,
                 "items": [{"name": title, "identifier": f"{entity}:{name}",
                            "title": f"Add column '{title}'", "action": "report-add-column"}
                           for name, title in names]}
                for entity, names in column_cards(site)]},
            "conditions": _conditions_answer(site, report),
            "filters": _filters_answer(site, report),
            "sorting": _sorting_answer(site, report),
            "cardview": {"form": "", "helpicon": ""},
        })
    return result


def _page_header(site: FakeSite, userid: int) -> None:
    """``$OUTPUT->header()``, which the function renders before the report: a web-service request counts as
    just logged in, so the header's login information resets the caller's failed logins
    (``user_count_login_failures``): the preference ``login_failed_count_since_success`` is ``0`` after."""
    user = site.db["user"].get(userid)
    if user is not None and int(userid) != 1:
        user.setdefault("preferences", {})["login_failed_count_since_success"] = "0"


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


def _filters_form(site: FakeSite, report: Row, rows: list[Row]) -> str:
    """The viewer's filters form as Moodle renders it: per filter a header, then its fields named
    ``<id>_operator``, ``<id>_value``... (a date filter's also ``<id>_unit``, ``<id>_from``, ``<id>_to``)."""
    parts = [f'<form autocomplete="off" action="{site.siteurl}/webservice/rest/server.php" method="post" '
             f'class="mform" data-reportid="{report["id"]}"><input name="reportid" type="hidden" '
             f'value="{report["id"]}"><input name="parameters" type="hidden" value="[]">']
    for row in rows:
        key = row["uniqueidentifier"]
        parts.append(f'<div class="filter-header"><h5>{_heading(site, key)}</h5></div>'
                     f'<select class="form-select" name="{key}_operator" id="id_{key}_operator"></select>')
        if key in DATES:
            parts.append(f'<input type="text" name="{key}_value" id="id_{key}_value" value="1">'
                         f'<select class="form-select" name="{key}_unit" id="id_{key}_unit"></select>'
                         f'<select name="{key}_from[day]"></select><select name="{key}_to[day]"></select>')
        else:
            parts.append(f'<input type="text" name="{key}_value" id="id_{key}_value" value="">')
    parts.append('<input type="submit" name="submitbutton" value="Apply"></form>')
    return "".join(parts)


def _form_html(site: FakeSite, kind: str, rows: list[Row]) -> str:
    items = "".join(f'<div data-region="active-{kind[:-1]}" data-{kind[:-1]}-id="{row["id"]}">'
                    f'{_heading(site, row["uniqueidentifier"])}</div>' for row in rows)
    return (f'<form autocomplete="off" action="{site.siteurl}/webservice/rest/server.php" method="post" '
            f'class="mform"><div class="list-group mt-2" data-region="active-{kind}">{items}</div></form>')


def _help(topic: str, text: str) -> str:
    return (f'<a class="btn btn-link p-0 me-2 icon-no-margin" role="button" data-bs-toggle="popover" '
            f'data-bs-content="&lt;div class=&quot;no-overflow&quot;&gt;&lt;p&gt;{text}&lt;/p&gt;'
            f'&lt;/div&gt; " aria-label="Help"><i class="icon fa fa-circle-question text-info fa-fw " '
            f'title="Help with {topic}" role="img" aria-label="Help with {topic}"></i></a>')


def _available(site: FakeSite, active: set[str]) -> list[dict[str, Any]]:
    """The filters (or conditions) a report may still add, grouped by entity, as this release offers them."""
    hidden = active | (ONLY_IN_5_1 if site.branch < (5, 0) else set())
    groups = []
    for entity, entityname, names in filter_entities(site):
        values = [{"value": f"{entity}:{name}", "visiblename": title}
                  for name, title in names if f"{entity}:{name}" not in hidden]
        if values:
            groups.append({"optiongroup": {"text": entityname, "values": values}})
    return groups


def _conditions_answer(site: FakeSite, report: Row, *, javascript: bool = False) -> dict[str, Any]:
    """The report's conditions as the editor shows them; an answer of a function changing them carries
    the form's JavaScript too (empty here), the report's own (``reports_get``) does not."""
    active = filters_of(site, report["id"], condition=True)
    answer = {
        "hasavailableconditions": True,
        "availableconditions": _available(site, {row["uniqueidentifier"] for row in active}),
        "hasactiveconditions": bool(active),
        "activeconditionsform": _form_html(site, "conditions", active) if active else "",
        "helpicon": _help("Conditions", "Report conditions allow you to limit which data is displayed when "
                                        "the report is viewed. Users viewing the report cannot override "
                                        "these condition values."),
    }
    return {**answer, "javascript": ""} if javascript else answer


def _filters_answer(site: FakeSite, report: Row) -> dict[str, Any]:
    active = filters_of(site, report["id"], condition=False)
    return {
        "hasavailablefilters": True,
        "availablefilters": _available(site, {row["uniqueidentifier"] for row in active}),
        "hasactivefilters": bool(active),
        "activefilters": [{
            "id": row["id"],
            "heading": _heading(site, row["uniqueidentifier"]),
            "headingeditable": (f'<span class="inplaceeditable inplaceeditable-text" '
                                f'data-itemtype="filterheading" data-itemid="{row["id"]}">'
                                f'{_heading(site, row["uniqueidentifier"])}</span>'),
            "sortorder": index,
            "movetitle": f"Move filter '{_heading(site, row['uniqueidentifier'])}'",
            "entityname": (filter_title(site, row["uniqueidentifier"]) or ("", ""))[1],
        } for index, row in enumerate(active, start=1)],
        "helpicon": _help("Filters", "Report filters allow users viewing the report to further limit the "
                                     "data being displayed, by selecting their own values for each filter. "
                                     "Filter values are stored on a per-user basis."),
    }


def _sorting_answer(site: FakeSite, report: Row) -> dict[str, Any]:
    columns = columns_of(site, report["id"])
    sortable = []
    for index, column in enumerate(columns, start=1):
        title = column.get("heading") or column_title(site, column["uniqueidentifier"]) or ""
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


def _editable(call: Call, params: dict[str, Any]) -> tuple[Row, str]:
    """The report an editing function changes, once the caller may edit it, and what to add."""
    report = get_report(call.site, int(params["reportid"]))
    require_edit(call, report)
    return report, str(params["uniqueidentifier"])


@function("core_reportbuilder_columns_add")
def columns_add(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    report, key = _editable(call, params)
    add_column(call.site, report, key, usermodified=call.userid)
    return _sorting_answer(call.site, report)


@function("core_reportbuilder_conditions_add")
def conditions_add(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    report, key = _editable(call, params)
    add_filter(call.site, report, key, condition=True, usermodified=call.userid)
    return _conditions_answer(call.site, report, javascript=True)


@function("core_reportbuilder_filters_add")
def filters_add(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    report, key = _editable(call, params)
    add_filter(call.site, report, key, condition=False, usermodified=call.userid)
    return _filters_answer(call.site, report)


@function("core_reportbuilder_set_filters")
def set_filters(call: Call, params: dict[str, Any]) -> bool:
    site = call.site
    report = get_report(site, int(params["reportid"]))
    require_view(call, report)
    values = json_object(params.get("values"))
    table = site.db["reportbuilder_user_filters"]
    saved = table.first(reportid=report["id"], userid=call.userid)
    text = json.dumps(values) if values else None
    if saved is None:
        table.insert({"reportid": report["id"], "userid": call.userid, "filterdata": text,
                      "timemodified": site.now()})
    else:
        saved.update(filterdata=text, timemodified=site.now())
    if site.branch < (5, 0):
        _keep_in_preferences(site, call.userid, report["id"], values)
    return True


def _heading(site: FakeSite, key: str) -> str:
    return (filter_title(site, key) or (key, ""))[0]


def _keep_in_preferences(site: FakeSite, userid: int, reportid: int, values: dict[str, Any]) -> None:
    """Moodle 4.5 keeps a user's filter values in their preferences (``user_filter_manager::set``): the
    values' ``json_encode`` in chunks of 1333 characters, ``reportbuilder-report-<id>-<n>``, the chunks
    beyond the last unset; no values are ``[]``, still kept. (5.0 moved them to a table of their own.)"""
    user = site.db["user"].get(userid)
    if user is None:
        return
    prefs: dict[str, Any] = user.setdefault("preferences", {})
    text = php_json(values) if values else "[]"
    chunks = [text[start:start + 1333] for start in range(0, len(text), 1333)]
    for index, chunk in enumerate(chunks):
        prefs[f"reportbuilder-report-{reportid}-{index}"] = chunk
    index = len(chunks)
    while prefs.pop(f"reportbuilder-report-{reportid}-{index}", None) is not None:
        index += 1


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
