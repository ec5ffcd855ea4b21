"""mod_feedback: surveys, their questions, responses and analysis; ``create_feedback``/``feedback_respond``.

Tables: ``feedback`` (instances, made here with ``records.new_module``), ``feedback_item`` (feedback,
template, name, label, presentation, typ, hasvalue, position, required, dependitem, dependvalue,
options), ``feedback_completed`` (feedback, userid, timemodified, random_response,
anonymous_response, courseid), ``feedback_value`` (completed, item, value, course_id),
``feedback_completedtmp`` (a started, unsubmitted response).
"""

from __future__ import annotations

from typing import Any

from ..access import (
    course_context,
    course_has_capability,
    is_active_enrolled,
    requested_courses,
    validate_module,
    visible_modules,
)
from ..completion import set_activity_complete
from ..courses import get_activity
from ..db import Row
from ..php import php_json
from ..records import fullname, new_module
from ..registry import function, site_action
from ..site import Call, FakeSite
from ..text import format_string
from ..wserror import invalid_parameter, moodle_exception, no_permissions

ANONYMOUS_YES, ANONYMOUS_NO = 1, 2
DEFAULT_PAGE_COUNT = 20
TYPE_SEP, ADJUST_SEP, LINE_SEP = ">>>>>", "<<<<<", "|"

_FEEDBACK_DEFAULTS: dict[str, Any] = {
    "intro": "", "introformat": 1, "lang": None, "anonymous": ANONYMOUS_NO, "email_notification": 0,
    "multiple_submit": 0, "autonumbering": 0, "site_after_submit": "", "page_after_submit": "",
    "page_after_submitformat": 1, "publish_stats": 0, "timeopen": 0, "timeclose": 0,
    "completionsubmit": 0,
}
#: The summary's optional fields: only someone who may edit the feedback's questions gets them.
_EDITOR_ONLY = ("email_notification", "site_after_submit", "page_after_submit", "timeopen", "timeclose",
                "timemodified", "pageaftersubmitfiles")

DEFAULT_ITEMS: list[dict[str, Any]] = [
    {"name": "课程满意度 Satisfaction", "label": "q1", "typ": "multichoice",
     "presentation": "r>>>>>非常满意|满意|一般|不满意<<<<<1", "required": 1},
    {"name": "建议 Suggestions", "label": "q2", "typ": "textarea", "presentation": "30|5",
     "required": 0},
]
_HASVALUE = {"multichoice": 1, "multichoicerated": 1, "textarea": 1, "textfield": 1, "numeric": 1,
             "info": 1, "label": 0, "captcha": 0, "pagebreak": 0}


def setting(feedback: Row, name: str) -> Any:
    value = feedback.get(name)
    return _FEEDBACK_DEFAULTS.get(name) if value is None and name in _FEEDBACK_DEFAULTS else value


def _validate_feedback(site: FakeSite, userid: int, feedbackid: int) -> tuple[Row, Row, Row]:
    feedback, cm = get_activity(site, "feedback", feedbackid)
    course = validate_module(site, userid, cm)
    return feedback, cm, course


def _items(site: FakeSite, feedbackid: int, *, hasvalue_only: bool = False) -> list[Row]:
    items = sorted(site.db["feedback_item"].select(feedback=feedbackid),
                   key=lambda item: (int(item.get("position", 0)), item["id"]))
    return [item for item in items if item.get("hasvalue")] if hasvalue_only else items


def _export_item(item: Row, itemnumber: int | None) -> dict[str, Any]:
    return {
        "id": item["id"], "feedback": item["feedback"], "template": item.get("template", 0),
        "name": item.get("name", ""), "nameformat": 1, "label": item.get("label", ""),
        "presentation": item.get("presentation", ""), "presentationformat": 1,
        "typ": item.get("typ", ""), "hasvalue": item.get("hasvalue", 0),
        "position": item.get("position", 0), "required": bool(item.get("required")),
        "dependitem": item.get("dependitem", 0), "dependvalue": item.get("dependvalue", ""),
        "options": item.get("options", ""), "itemfiles": [], "itemnumber": itemnumber,
        "otherdata": None,
    }


def _numbered(items: list[Row]) -> list[tuple[Row, int | None]]:
    numbered: list[tuple[Row, int | None]] = []
    number = 0
    for item in items:
        if item.get("hasvalue"):
            number += 1
            numbered.append((item, number))
        else:
            numbered.append((item, None))
    return numbered


def _choices(item: Row) -> tuple[str, list[str]]:
    """A multichoice item's subtype (r radio, c checkbox, d dropdown) and its answers."""
    presentation = str(item.get("presentation", ""))
    subtype, _, rest = presentation.partition(TYPE_SEP)
    if not rest:
        subtype, rest = "r", presentation
    answers = rest.split(ADJUST_SEP)[0].split(LINE_SEP)
    if item.get("typ") == "multichoicerated":
        answers = [a.split("####", 1)[-1] for a in answers]
    return subtype or "r", answers


def _printval(item: Row, value: str) -> str:
    if item.get("typ") in ("multichoice", "multichoicerated"):
        _subtype, answers = _choices(item)
        chosen = [answers[int(v) - 1] for v in value.split(LINE_SEP)
                  if v.strip().isdigit() and 0 < int(v) <= len(answers)]
        return "; ".join(chosen)
    return value


def _completions(site: FakeSite, feedback: Row) -> list[Row]:
    return site.db["feedback_completed"].select(feedback=feedback["id"])


def _values(site: FakeSite, completedid: int) -> dict[int, str]:
    return {int(row["item"]): str(row.get("value") or "")
            for row in site.db["feedback_value"].select(completed=completedid)}


def _analysed(site: FakeSite, feedback: Row, item: Row) -> list[str]:
    """``get_analysed_for_external`` of one question."""
    values = []
    for completed in _completions(site, feedback):
        value = _values(site, completed["id"]).get(item["id"])
        if value is not None:
            values.append(value)
    typ = item.get("typ")
    if typ in ("multichoice", "multichoicerated"):
        ignore_empty = "i" in str(item.get("options", ""))
        if ignore_empty:
            values = [v for v in values if v not in ("", "0")]
        if not values:
            return []
        subtype, answers = _choices(item)
        data = []
        for index, answer in enumerate(answers, start=1):
            if subtype == "c":
                count = sum(1 for v in values for part in v.split(LINE_SEP) if part == str(index))
            else:
                count = sum(1 for v in values if v == str(index))
            quotient: float | int = count / len(values)
            if float(quotient).is_integer():
                quotient = int(quotient)
            data.append(php_json({"answertext": answer, "answercount": count, "quotient": quotient}))
        return data
    if typ == "numeric":
        numbers = [v for v in values if v.strip() != ""]
        return [str(v) for v in numbers]
    return [v for v in values if v != ""]


def _can_view_analysis(site: FakeSite, userid: int, feedback: Row, courseid: int) -> bool:
    if course_has_capability(site, userid, "mod/feedback:viewreports", courseid):
        return True
    if int(setting(feedback, "publish_stats") or 0) != 1 or not course_has_capability(
            site, userid, "mod/feedback:viewanalysepage", courseid):
        return False
    return site.db["feedback_completed"].first(feedback=feedback["id"], userid=userid) is not None


def _who_can_complete(site: FakeSite, courseid: int) -> list[Row]:
    """``get_users_by_capability(mod/feedback:complete)``: course roles plus system-level role holders."""
    userids: set[int] = set()
    for row in site.db["role_assignments"].select(contextid=1):
        if site.has_capability(int(row["userid"]), "mod/feedback:complete"):
            userids.add(int(row["userid"]))
    for row in site.db["role_assignments"].select(contextid=course_context(site, courseid)["id"]):
        if course_has_capability(site, int(row["userid"]), "mod/feedback:complete", courseid):
            userids.add(int(row["userid"]))
    users = [site.db["user"].get(u) for u in sorted(userids)]
    return [u for u in users if u is not None and not u.get("deleted")]


# ---------------------------------------------------------------------------------------------------
# Web-service functions.
# ---------------------------------------------------------------------------------------------------


@function("mod_feedback_get_feedbacks_by_courses", items="courseids")
def get_feedbacks_by_courses(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    courses, warnings = requested_courses(site, call.userid, [int(c) for c in params.get("courseids") or []])
    feedbacks = []
    for course in courses:
        for cm in visible_modules(site, call.userid, course, "feedback"):
            feedback = site.db["feedback"].get(cm["instance"])
            if feedback is None:
                continue
            data = {key: setting(feedback, key) for key in _FEEDBACK_DEFAULTS}
            data.update({"id": feedback["id"], "course": feedback["course"],
                         "name": format_string(feedback.get("name")),
                         "timemodified": feedback.get("timemodified", 0),
                         "coursemodule": cm["id"], "introfiles": []})
            for key in ("email_notification", "multiple_submit", "autonumbering", "publish_stats",
                        "completionsubmit"):
                data[key] = bool(data[key])
            if not course_has_capability(site, call.userid, "mod/feedback:edititems", course["id"]):
                for key in _EDITOR_ONLY:
                    data.pop(key, None)
            feedbacks.append(data)
    return {"feedbacks": feedbacks, "warnings": warnings}


@function("mod_feedback_get_items")
def get_items(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    feedback, _cm, _course = _validate_feedback(site, call.userid, int(params["feedbackid"]))
    return {"items": [_export_item(item, number) for item, number in _numbered(_items(site, feedback["id"]))],
            "warnings": []}


@function("mod_feedback_get_analysis")
def get_analysis(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    feedback, _cm, course = _validate_feedback(site, call.userid, int(params["feedbackid"]))
    if not _can_view_analysis(site, call.userid, feedback, course["id"]):
        raise no_permissions("mod/feedback:viewanalysepage")
    numbers = dict((item["id"], number) for item, number in _numbered(_items(site, feedback["id"])))
    valued = _items(site, feedback["id"], hasvalue_only=True)
    return {
        "completedcount": len(_completions(site, feedback)),
        "itemscount": len(valued),
        "itemsdata": [{"item": _export_item(item, numbers.get(item["id"])),
                       "data": _analysed(site, feedback, item)} for item in valued],
        "warnings": [],
    }


def _response_rows(site: FakeSite, feedback: Row, completed: Row, items: list[Row]) -> list[dict[str, Any]]:
    values = _values(site, completed["id"])
    rows = []
    for item in items:
        raw = values.get(item["id"], "")
        label = str(item.get("label") or "")
        name = f"({label}) {item.get('name', '')}" if label else str(item.get("name", ""))
        rows.append({"id": item["id"], "name": name, "printval": _printval(item, raw), "rawval": raw})
    return rows


def _page(rows: list[Any], page: int, perpage: int) -> list[Any]:
    if perpage <= 0:
        return rows
    start = max(page, 0) * perpage
    return rows[start:start + perpage]


@function("mod_feedback_get_responses_analysis")
def get_responses_analysis(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    feedback, _cm, course = _validate_feedback(site, call.userid, int(params["feedbackid"]))
    if not course_has_capability(site, call.userid, "mod/feedback:viewreports", course["id"]):
        raise no_permissions("mod/feedback:viewreports")
    page = int(params.get("page") or 0)
    perpage = int(params.get("perpage") or 0)
    items = _items(site, feedback["id"], hasvalue_only=True)
    completions = sorted(_completions(site, feedback), key=lambda row: row["id"])
    named = [c for c in completions if int(c.get("anonymous_response", ANONYMOUS_NO)) == ANONYMOUS_NO]
    anonymous = [c for c in completions if int(c.get("anonymous_response", ANONYMOUS_NO)) == ANONYMOUS_YES]
    attempts = []
    for completed in _page(named, page, perpage):
        user = site.db["user"].get(completed["userid"]) or {"firstname": "", "lastname": ""}
        attempts.append({"id": completed["id"], "courseid": completed.get("courseid", 0),
                         "userid": completed["userid"], "timemodified": completed.get("timemodified", 0),
                         "fullname": fullname(user),
                         "responses": _response_rows(site, feedback, completed, items)})
    anonattempts = [{"id": completed["id"], "courseid": completed.get("courseid", 0),
                     "number": int(completed.get("random_response") or 0),
                     "responses": _response_rows(site, feedback, completed, items)}
                    for completed in _page(anonymous, page, perpage)]
    return {"attempts": attempts, "totalattempts": len(named), "anonattempts": anonattempts,
            "totalanonattempts": len(anonymous), "warnings": []}


@function("mod_feedback_get_non_respondents")
def get_non_respondents(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    feedback, _cm, course = _validate_feedback(site, call.userid, int(params["feedbackid"]))
    if int(setting(feedback, "anonymous")) != ANONYMOUS_NO or course["id"] == 1:
        raise moodle_exception("anonymous", "This feedback is anonymous")
    if not course_has_capability(site, call.userid, "mod/feedback:viewreports", course["id"]):
        raise no_permissions("mod/feedback:viewreports")
    sort = str(params.get("sort") or "lastaccess")
    if sort not in ("firstname", "lastname", "lastaccess"):
        raise invalid_parameter("Invalid sort param, must be firstname, lastname or lastaccess.")
    responded = {int(c["userid"]) for c in _completions(site, feedback)}
    started = {int(c["userid"]) for c in site.db["feedback_completedtmp"].select(feedback=feedback["id"])}
    users = [u for u in _who_can_complete(site, course["id"]) if u["id"] not in responded]
    if sort == "lastaccess":
        users.sort(key=lambda u: (int(u.get("lastaccess") or 0), u["id"]))
    else:
        users.sort(key=lambda u: (str(u.get(sort) or ""), u["id"]))
    perpage = int(params.get("perpage") or 0)
    page = int(params.get("page") or 0)
    if perpage == 0:
        start, count = page, DEFAULT_PAGE_COUNT
    else:
        start, count = perpage * page, perpage
    chosen = users[start:start + count]
    return {"users": [{"courseid": 0, "userid": u["id"], "fullname": fullname(u),
                       "started": u["id"] in started} for u in chosen],
            "total": len(users), "warnings": []}


# ---------------------------------------------------------------------------------------------------
# Site actions.
# ---------------------------------------------------------------------------------------------------


@site_action("create_feedback")
def create_feedback(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A teacher adds a (non-anonymous by default) feedback with its questions to a course."""
    courseid = int(args["courseid"])
    if site.db["course"].get(courseid) is None:
        raise ValueError(f"no course {courseid}")
    settings = {key: args[key] for key in _FEEDBACK_DEFAULTS if key in args}
    settings.setdefault("anonymous", ANONYMOUS_NO)
    cm, feedback = new_module(
        site, courseid, "feedback", str(args["name"]), section=int(args.get("section", 0)),
        completion=int(args.get("completion", 0)),
        **{**{k: v for k, v in _FEEDBACK_DEFAULTS.items() if v is not None}, **settings})
    itemids = []
    for position, spec in enumerate(args.get("items") or DEFAULT_ITEMS, start=1):
        typ = str(spec.get("typ", "textfield"))
        item = site.db["feedback_item"].insert({
            "feedback": feedback["id"], "template": 0, "name": str(spec.get("name", "")),
            "label": str(spec.get("label", "")), "presentation": str(spec.get("presentation", "")),
            "typ": typ, "hasvalue": int(spec.get("hasvalue", _HASVALUE.get(typ, 1))),
            "position": position, "required": int(bool(spec.get("required"))),
            "dependitem": int(spec.get("dependitem", 0)), "dependvalue": str(spec.get("dependvalue", "")),
            "options": str(spec.get("options", ""))})
        itemids.append(item["id"])
    return {"cmid": cm["id"], "instance": feedback["id"], "name": feedback["name"],
            "modname": "feedback", "itemids": itemids}


@site_action("feedback_respond")
def feedback_respond(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """A learner answers a feedback: ``answers`` is ``[[itemid, value], ...]``."""
    userid = int(args["userid"])
    cm = site.db["course_modules"].get(int(args["cmid"]))
    if cm is None or cm.get("modname") != "feedback":
        raise ValueError(f"no feedback with course module {args['cmid']}")
    feedback = site.db["feedback"].get(cm["instance"])
    assert feedback is not None
    courseid = int(cm["course"])
    if not is_active_enrolled(site, userid, courseid) or not course_has_capability(
            site, userid, "mod/feedback:complete", courseid):
        raise ValueError(f"user {userid} cannot complete feedback {feedback['id']}")
    now = site.now()
    opens, closes = int(setting(feedback, "timeopen") or 0), int(setting(feedback, "timeclose") or 0)
    if (opens and now < opens) or (closes and now > closes):
        raise ValueError(f"feedback {feedback['id']} is not open")
    if not setting(feedback, "multiple_submit") and site.db["feedback_completed"].first(
            feedback=feedback["id"], userid=userid) is not None:
        raise ValueError(f"user {userid} already submitted feedback {feedback['id']}")
    answers = {int(itemid): str(value) for itemid, value in args.get("answers") or []}
    items = _items(site, feedback["id"], hasvalue_only=True)
    for item in items:
        if item.get("required") and not answers.get(item["id"], "").strip():
            raise ValueError(f"question {item['id']} is required")
    anonymous = int(setting(feedback, "anonymous"))
    random = 0
    if anonymous == ANONYMOUS_YES:
        random = 1 + max([int(c.get("random_response") or 0) for c in _completions(site, feedback)] or [0])
    completed = site.db["feedback_completed"].insert({
        "feedback": feedback["id"], "userid": userid, "timemodified": now, "random_response": random,
        "anonymous_response": anonymous, "courseid": 0})
    for item in items:
        site.db["feedback_value"].insert({"course_id": 0, "item": item["id"], "completed": completed["id"],
                                          "tmp_completed": 0, "value": answers.get(item["id"], "")})
    for row in site.db["feedback_completedtmp"].select(feedback=feedback["id"], userid=userid):
        site.db["feedback_completedtmp"].delete(row)
    if setting(feedback, "completionsubmit"):
        set_activity_complete(site, cm, userid)
    out = {key: str(completed[key]) for key in ("id", "feedback", "userid", "timemodified",
                                                 "random_response", "anonymous_response", "courseid")}
    return {"completed": {str(completed["id"]): out}}
