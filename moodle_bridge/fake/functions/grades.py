"""The gradebook: gradereport_user, gradereport_overview and core_grades.

Grade items are derived from the course's activities the first time the gradebook is read, as Moodle
creates them when activities are added: a top category and the course total item per course, and one
item per assignment and SCORM package (``course_modules`` rows with modname ``assign`` or ``scorm``; the
maximum is the ``assign`` instance's ``grade``, the ``scorm`` instance's ``maxgrade``, 100 when unset).
Tables: ``grade_categories``, ``grade_items`` and ``grade_grades``. As Moodle aggregates a course total,
every item has a row for each user with any grade row in the course (empty where they have no grade:
``novalue``).

Assignment grades live in ``assign_grades`` (written by the grading site action and
``mod_assign_save_grade``); they reach ``grade_grades`` whenever the gradebook is read and the
assignment's grade changed since, as Moodle pushes them with ``grade_update``. A saved submission pushes
its time (``timesubmitted``; a row without a grade where there was none, shown as ``novalue``), a grade
pushed later clears it.
``core_grades_update_grades`` writes ``grade_grades`` directly (and, as on the recorded site, drops the
``str_feedback`` it is given). The course total is the Natural aggregation: the sum of the item grades.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..access import (
    course_has_capability,
    require_course_capability,
    require_course_login,
    students,
    unsuspended_users,
)
from ..courses import get_cm, get_course
from ..db import Row
from ..records import fullname, get_user
from ..registry import function
from ..site import Call, FakeSite
from ..text import escape
from ..wserror import moodle_exception, no_permissions

GRADE_UPDATE_OK = 0
GRADE_UPDATE_FAILED = 1
GRADED_MODULES = ("assign", "scorm")


# --- gradebook model ----------------------------------------------------------------------------

def course_category(site: FakeSite, courseid: int) -> tuple[Row, Row]:
    """The course's top grade category and its course total item, created on first use."""
    categories = site.db["grade_categories"]
    category = categories.first(courseid=courseid, depth=1)
    if category is None:
        category = categories.insert({"courseid": courseid, "parent": None, "depth": 1, "path": "",
                                      "fullname": "?", "aggregation": 13, "timecreated": site.now(),
                                      "timemodified": site.now()})
        category["path"] = f"/{category['id']}/"
    items = site.db["grade_items"]
    course_item = items.first(courseid=courseid, itemtype="course")
    if course_item is None:
        course_item = items.insert({
            "courseid": courseid, "categoryid": None, "itemname": None, "itemtype": "course",
            "itemmodule": None, "iteminstance": category["id"], "itemnumber": None, "idnumber": None,
            "grademin": 0.0, "grademax": 100.0, "gradetype": 1, "scaleid": None, "outcomeid": None,
            "cmid": None, "sortorder": 1, "locked": 0, "hidden": 0, "timecreated": site.now(),
            "timemodified": site.now()})
    return category, course_item


def grade_items(site: FakeSite, courseid: int) -> tuple[Row, Row, list[Row]]:
    """(category, course item, activity items in course order), in step with the course's activities."""
    category, course_item = course_category(site, courseid)
    items = site.db["grade_items"]
    activity_items: list[Row] = []
    for cm in sorted(site.db["course_modules"].select(course=courseid), key=lambda row: row["id"]):
        if cm["modname"] not in GRADED_MODULES or cm.get("deletioninprogress"):
            continue
        instance = site.db[cm["modname"]].get(cm["instance"])
        if instance is None:
            continue
        grademax = _grademax(site, cm["modname"], instance)
        item = items.first(courseid=courseid, itemmodule=cm["modname"], iteminstance=instance["id"])
        if grademax <= 0:
            continue
        if item is None:
            item = items.insert({
                "courseid": courseid, "categoryid": category["id"], "itemname": instance.get("name"),
                "itemtype": "mod", "itemmodule": cm["modname"], "iteminstance": instance["id"],
                "itemnumber": 0, "idnumber": cm.get("idnumber") or "", "grademin": 0.0,
                "grademax": grademax, "gradetype": 1, "scaleid": None, "outcomeid": None,
                "cmid": cm["id"], "sortorder": len(activity_items) + 2, "locked": 0, "hidden": 0,
                "timecreated": site.now(), "timemodified": site.now()})
        else:
            items.update(item, itemname=instance.get("name"), grademax=grademax,
                         idnumber=cm.get("idnumber") or "", cmid=cm["id"])
        activity_items.append(item)
    course_item["grademax"] = float(sum(item["grademax"] for item in activity_items) or 100.0)
    _sync_assign_grades(site, activity_items)
    _aggregated(site, activity_items)
    return category, course_item, activity_items


def _grademax(site: FakeSite, modname: str, instance: Row) -> float:
    """The activity's maximum grade as its module gives it to the gradebook: an assignment's ``grade``;
    a SCORM package's ``maxgrade``, or its launchable SCOs when it grades by SCOs (``GRADESCOES``)."""
    if modname == "scorm":
        if str(instance.get("grademethod", 1)) == "0":
            scoes = site.db["scorm_scoes"].select(scorm=instance["id"])
            return float(sum(1 for sco in scoes if sco.get("launch")))
        return float(instance["maxgrade"] if instance.get("maxgrade") is not None else 100)
    return float(instance["grade"] if instance.get("grade") is not None else 100)


def _aggregated(site: FakeSite, items: list[Row]) -> None:
    """``grade_category::aggregate_grades``: the course total of a user with any grade row is aggregated
    over every item, and each item gets a row for them first (empty where there was none), so an item
    added later shows them ``novalue``."""
    table = site.db["grade_grades"]
    held: dict[Any, set[int]] = {item["id"]: {int(table.rows[gradeid]["userid"])
                                              for gradeid in table.ids_where("itemid", item["id"])}
                                 for item in items}
    users: set[int] = set().union(*held.values()) if held else set()
    for item in items:
        for userid in sorted(users - held[item["id"]]):
            table.insert({"itemid": item["id"], "userid": userid, "rawgrade": None, "finalgrade": None,
                          "feedback": None, "feedbackformat": 0, "overridden": 0, "locked": 0, "hidden": 0,
                          "usermodified": None, "timecreated": None, "timemodified": None})


def push_grade(site: FakeSite, courseid: int, modname: str, instanceid: int, userid: int,
               rawgrade: float | None, *, usermodified: int) -> None:
    """``grade_update`` from an activity (SCORM's ``scorm_update_grades``): the user's raw grade written to
    the activity's item, which the gradebook makes if it has not yet; nothing for an activity without a
    grade (``GRADE_TYPE_NONE``)."""
    _category, _course_item, items = grade_items(site, courseid)
    item = next((i for i in items
                 if i["itemmodule"] == modname and int(i["iteminstance"]) == int(instanceid)), None)
    if item is not None:
        write_grade(site, item, userid, rawgrade, usermodified=usermodified)
        _aggregated(site, items)


def _sync_assign_grades(site: FakeSite, items: list[Row]) -> None:
    """Pushes each learner's latest assignment grade into the gradebook when it changed."""
    for item in items:
        if item["itemmodule"] != "assign":
            continue
        latest: dict[int, Row] = {}
        for row in site.db["assign_grades"].select(assignment=item["iteminstance"]):
            seen = latest.get(row["userid"])
            if seen is None or (int(row.get("attemptnumber") or 0), row["id"]) >= (
                    int(seen.get("attemptnumber") or 0), seen["id"]):
                latest[row["userid"]] = row
        for userid, row in latest.items():
            if row.get("grade") is None or float(row["grade"]) < 0:
                continue
            feedback, feedbackformat = _assign_feedback(site, row)
            key = (row["id"], row.get("timemodified"), float(row["grade"]), feedback)
            grade = site.db["grade_grades"].first(itemid=item["id"], userid=userid)
            if grade is not None and grade.get("assign_key") == key:
                continue
            if (grade is not None and grade.get("assign_key") is None
                    and int(grade.get("timemodified") or 0) > int(row.get("timemodified") or 0)):
                grade["assign_key"] = key  # the gradebook was written later (core_grades_update_grades)
                continue
            grade = write_grade(site, item, userid, float(row["grade"]), usermodified=row.get("grader"),
                                when=row.get("timemodified") or site.now(), feedback=feedback,
                                feedbackformat=feedbackformat)
            grade["assign_key"] = key
        _sync_submission_dates(site, item, latest)


def _sync_submission_dates(site: FakeSite, item: Row, grades: dict[int, Row]) -> None:
    """``gradebook_item_update``: saving a submission pushes its time to the gradebook (a row without
    a grade where there was none), pushing a grade clears it; the later push stands."""
    submissions: dict[int, Row] = {}
    for row in site.db["assign_submission"].select(assignment=item["iteminstance"]):
        seen = submissions.get(row["userid"])
        if row.get("status") == "new":  # made by grading, never saved: nothing was pushed
            continue
        if seen is None or (int(row.get("attemptnumber") or 0), row["id"]) >= (
                int(seen.get("attemptnumber") or 0), seen["id"]):
            submissions[row["userid"]] = row
    for userid, submission in submissions.items():
        submitted = int(submission.get("timemodified") or 0)
        graded = grades.get(userid)
        later = graded is None or submitted > int(graded.get("timemodified") or 0)
        grade = site.db["grade_grades"].first(itemid=item["id"], userid=userid)
        if grade is None:
            grade = write_grade(site, item, userid, None, usermodified=userid, when=submitted)
        grade["timesubmitted"] = submitted if later else None


def _assign_feedback(site: FakeSite, row: Row) -> tuple[str | None, int]:
    comment = site.db["assignfeedback_comments"].first(grade=row["id"])
    if comment is not None and comment.get("commenttext"):
        return str(comment["commenttext"]), int(comment.get("commentformat") or 1)
    for key in ("feedback", "feedbacktext", "commenttext"):
        if row.get(key):
            return str(row[key]), int(row.get("feedbackformat") or row.get("commentformat") or 1)
    return None, 0


def write_grade(site: FakeSite, item: Row, userid: int, rawgrade: float | None, *,
                usermodified: Any = None, when: Any = None, feedback: str | bool | None = False,
                feedbackformat: int = 0) -> Row:
    """``grade_item::update_raw_grade``: the final grade is the raw grade bounded by the item's range;
    ``feedback=False`` keeps the feedback there is."""
    table = site.db["grade_grades"]
    grade = table.first(itemid=item["id"], userid=userid)
    final = None if rawgrade is None else min(max(rawgrade, float(item["grademin"])),
                                              float(item["grademax"]))
    changes: dict[str, Any] = {"rawgrade": rawgrade, "finalgrade": final,
                               "usermodified": usermodified, "timemodified": int(when or site.now())}
    if feedback is not False:
        changes["feedback"] = feedback
        changes["feedbackformat"] = feedbackformat
    if grade is None:
        grade = table.insert({"itemid": item["id"], "userid": userid, "feedback": None,
                              "feedbackformat": 0, "overridden": 0, "locked": 0, "hidden": 0,
                              "timecreated": int(when or site.now())})
    table.update(grade, **changes)
    return grade


GradeLookup = Callable[[Row, int], "Row | None"]


def grade_of(site: FakeSite) -> GradeLookup:
    """A user's grade for an item, read from the table each time."""
    return lambda item, userid: site.db["grade_grades"].first(itemid=item["id"], userid=userid)


def grades_by_user(site: FakeSite, items: list[Row]) -> GradeLookup:
    """A user's grade for an item, from every grade of the items read once (for reports on everyone)."""
    table = site.db["grade_grades"]
    found: dict[tuple[Any, Any], Row] = {}
    for item in items:
        for gradeid in sorted(table.ids_where("itemid", item["id"])):
            grade = table.rows[gradeid]
            found.setdefault((item["id"], grade.get("userid")), grade)
    return lambda item, userid: found.get((item["id"], userid))


def course_total(site: FakeSite, userid: int, items: list[Row], grade_lookup: GradeLookup | None = None
                 ) -> tuple[float | None, int | None]:
    """The Natural course total (sum of the graded items) and the latest time an item was graded."""
    lookup = grade_lookup or grade_of(site)
    total: float | None = None
    graded: int | None = None
    for item in items:
        grade = lookup(item, userid)
        if grade is None or grade.get("finalgrade") is None:
            continue
        total = (total or 0.0) + float(grade["finalgrade"])
        graded = max(graded or 0, int(grade.get("timemodified") or 0))
    return total, graded


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _percent(value: float | None, item: Row) -> str:
    if value is None:
        return "-"
    span = float(item["grademax"]) - float(item["grademin"])
    return f"{(value - float(item['grademin'])) / span * 100 if span else 0:.2f} %"


def _range(item: Row) -> str:
    return f"{float(item['grademin']):.0f}&ndash;{float(item['grademax']):.0f}"


# --- gradereport_user ---------------------------------------------------------------------------

def _report_people(call: Call, params: dict[str, Any]) -> tuple[Row, list[Row]]:
    """The course of a user report and the people it shows, once the caller may see their grades."""
    course, user = _check_report_access(call, params)
    return course, _report_users(call.site, course, user, int(params.get("groupid") or 0))


def _check_report_access(call: Call, params: dict[str, Any]) -> tuple[Row, Row | None]:
    site = call.site
    course = get_course(site, int(params["courseid"]))
    require_course_login(site, call.userid, course)
    require_course_capability(site, call.userid, "gradereport/user:view", course["id"])
    userid = int(params.get("userid") or 0)
    user = None
    if userid == 0:
        require_course_capability(site, call.userid, "moodle/grade:viewall", course["id"])
    else:
        user = get_user(site, userid)
    if course_has_capability(site, call.userid, "moodle/grade:viewall", course["id"]):
        return course, user
    if userid == call.userid and int(course.get("showgrades", 1) or 0):
        return course, user
    raise moodle_exception("nopermissiontoviewgrades", "Cannot view grades.")


def _report_users(site: FakeSite, course: Row, user: Row | None, groupid: int) -> list[Row]:
    if user is not None:
        return [user]
    userids = set(students(site, course["id"]))
    if groupid:
        members = {row["userid"] for row in site.db["groups_members"].select(groupid=groupid)}
        userids &= members
    users = [site.db["user"].get(userid) for userid in userids]
    present = [row for row in users if row is not None and not row.get("deleted")]
    return sorted(present, key=lambda row: (row["lastname"], row["firstname"], row["id"]))


@function("gradereport_user_get_grade_items")
def get_grade_items(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    course, people = _report_people(call, params)
    _category, course_item, items = grade_items(site, course["id"])
    lookup = grades_by_user(site, items) if len(people) > 1 else grade_of(site)
    usergrades = []
    for person in people:
        usergrades.append({
            "courseid": course["id"],
            "courseidnumber": course.get("idnumber") or "",
            "userid": person["id"],
            "userfullname": fullname(person),
            "useridnumber": person.get("idnumber") or "",
            "maxdepth": 2,
            "gradeitems": _user_grade_items(site, person["id"], course_item, items, lookup),
        })
    return {"usergrades": usergrades, "warnings": []}


def _user_grade_items(site: FakeSite, userid: int, course_item: Row, items: list[Row],
                      grade_lookup: GradeLookup | None = None) -> list[dict[str, Any]]:
    lookup = grade_lookup or grade_of(site)
    grades = {item["id"]: lookup(item, userid) for item in items}
    graded_max = 0.0
    for item in items:
        grade = grades[item["id"]]
        if grade is not None and grade.get("finalgrade") is not None:
            graded_max += float(item["grademax"])
    result = []
    for item in items:
        grade = grades[item["id"]]
        entry = _item_entry(item, grade)
        entry.update({"itemtype": "mod", "itemmodule": item["itemmodule"],
                      "itemnumber": item["itemnumber"], "idnumber": item["idnumber"],
                      "categoryid": item["categoryid"], "cmid": item["cmid"]})
        if grade is not None and grade.get("finalgrade") is not None and graded_max:
            weight = float(item["grademax"]) / graded_max
            entry["weightraw"] = weight
            entry["weightformatted"] = f"{weight * 100:.2f} %"
        elif grade is not None:  # a row without a grade (a submission): aggregated as "novalue"
            entry.update({"weightraw": 0, "weightformatted": "0.00 %", "status": "novalue"})
        result.append(entry)
    total, graded = course_total(site, userid, items, lookup)
    course_entry = _item_entry(course_item, None)
    course_entry.update({"itemtype": "course", "itemmodule": None, "itemnumber": None, "idnumber": None,
                         "categoryid": None, "graderaw": total, "gradedategraded": graded,
                         "gradeformatted": _fmt(total), "percentageformatted": _percent(total, course_item),
                         "feedback": "", "feedbackformat": 2 if total is not None else 0})
    result.append(course_entry)
    return result


def _item_entry(item: Row, grade: Row | None) -> dict[str, Any]:
    final = None if grade is None or grade.get("finalgrade") is None else float(grade["finalgrade"])
    feedback = (grade or {}).get("feedback") or ""
    if final is None and not feedback:
        feedbackformat = 0
    elif feedback:
        feedbackformat = int((grade or {}).get("feedbackformat") or 1)
    else:
        feedbackformat = 2
    return {
        "id": item["id"], "itemname": item["itemname"], "iteminstance": item["iteminstance"],
        "outcomeid": None, "scaleid": None, "locked": bool(item.get("locked")),
        "graderaw": final, "gradedatesubmitted": (grade or {}).get("timesubmitted"),
        "gradedategraded": int(grade["timemodified"]) if final is not None and grade is not None else None,
        "gradehiddenbydate": False, "gradeneedsupdate": False, "gradeishidden": False,
        "gradeislocked": False, "gradeisoverridden": False, "gradeformatted": _fmt(final),
        "grademin": float(item["grademin"]), "grademax": float(item["grademax"]),
        "rangeformatted": _range(item), "percentageformatted": _percent(final, item),
        "feedback": feedback, "feedbackformat": feedbackformat,
    }


@function("gradereport_user_get_grades_table")
def get_grades_table(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    course, people = _report_people(call, params)
    category, course_item, items = grade_items(site, course["id"])
    lookup = grades_by_user(site, items) if len(people) > 1 else grade_of(site)
    tables = []
    for person in people:
        tables.append({"courseid": course["id"], "userid": person["id"],
                       "userfullname": fullname(person), "maxdepth": 2,
                       "tabledata": _table_rows(site, course, category, course_item, items, person["id"],
                                                lookup)})
    return {"tables": tables, "warnings": []}


def _cell(classes: str, content: str, headers: str) -> dict[str, Any]:
    return {"class": classes, "content": content, "headers": headers}


def _table_rows(site: FakeSite, course: Row, category: Row, course_item: Row, items: list[Row],
                userid: int, grade_lookup: GradeLookup) -> list[dict[str, Any]]:
    catid = category["id"]
    cat = f"cat_{catid}_{userid}"
    name = escape(course.get("fullname") or "")
    rows: list[dict[str, Any]] = [
        {"itemname": {"class": "level1 d1 b1b b1t category column-itemname", "colspan": 8,
                      "content": f'<div class="d-flex category-content">\n    <span>{name}</span>\n</div>',
                      "id": cat},
         "parentcategories": []},
        {"leader": {"class": "level1 d1 b1t b2b b1l", "rowspan": len(items) + 2},
         "parentcategories": [catid]},
    ]
    entries = _user_grade_items(site, userid, course_item, items, grade_lookup)
    for item, entry in zip(items, entries, strict=False):
        row = f"row_{item['id']}_{userid}"
        level = "level2 item b1b"
        itemname = escape(item["itemname"] or "")
        grade = entry["gradeformatted"]
        if entry["graderaw"] is not None:
            grade = (f'<div class="d-flex align-items-center"><div>{grade}</div>'
                     f'<div class="ps-1 d-flex align-items-center">'
                     f'<div class="action-menu moodle-actionmenu">'
                     f'<a href="{site.siteurl}/mod/assign/grade.php?id={item["cmid"]}&amp;itemid={item["id"]}'
                     f'&amp;itemnumber=0&amp;userid={userid}" class="dropdown-item menu-action">'
                     f'<span class="menu-action-text">Grade analysis</span></a></div></div></div>')
        contribution = "-"
        if entry.get("weightraw") is not None and entry["graderaw"] is not None:
            contribution = f"{entry['weightraw'] * entry['graderaw'] / float(item['grademax']) * 100:.2f} %"
        rows.append({
            "itemname": {"class": f"{level} column-itemname", "colspan": 1, "id": row,
                         "content": f'<div class="item d-flex align-items-center"><div class="rowtitle">'
                                    f'<a class="gradeitemheader " '
                                    f'href="{site.siteurl}/mod/{item["itemmodule"]}'
                                    f'/view.php?id={item["cmid"]}">{itemname}</a></div></div>'},
            "weight": _cell(f"{level} itemcenter  column-weight", entry.get("weightformatted") or "-",
                            f"{cat} {row} weight{userid}"),
            "grade": _cell(f"{level} itemcenter   column-grade", grade, f"{cat} {row} grade{userid}"),
            "range": _cell(f"{level} itemcenter  column-range", entry["rangeformatted"],
                           f"{cat} {row} range{userid}"),
            "percentage": _cell(f"{level} itemcenter  column-percentage", entry["percentageformatted"],
                                f"{cat} {row} percentage{userid}"),
            "feedback": _cell(f"{level} feedbacktext column-feedback", entry["feedback"] or "&nbsp;",
                              f"{cat} {row} feedback{userid}"),
            "contributiontocoursetotal": _cell(
                f"{level} itemcenter  column-contributiontocoursetotal", contribution,
                f"{cat} {row} contributiontocoursetotal{userid}"),
            "parentcategories": [catid],
        })
    total = entries[-1]
    row = f"row_{course_item['id']}_{userid}"
    level = "level1 d1 baggt b2b"
    rows.append({
        "itemname": {"class": f"{level} column-itemname", "colspan": 1, "id": row,
                     "content": '<div class="courseitem d-flex align-items-center"><div class="rowtitle">'
                                '<span class="gradeitemheader " title="Course total" tabindex="0">'
                                'Course total</span></div></div>'},
        "weight": _cell(f"{level} itemcenter  column-weight", "-", f"{cat} {row} weight{userid}"),
        "grade": _cell(f"{level} itemcenter   column-grade", total["gradeformatted"],
                       f"{cat} {row} grade{userid}"),
        "range": _cell(f"{level} itemcenter  column-range", total["rangeformatted"],
                       f"{cat} {row} range{userid}"),
        "percentage": _cell(f"{level} itemcenter  column-percentage", total["percentageformatted"],
                            f"{cat} {row} percentage{userid}"),
        "feedback": _cell(f"{level} feedbacktext column-feedback", "&nbsp;", f"{cat} {row} feedback{userid}"),
        "contributiontocoursetotal": _cell(f"{level} itemcenter  column-contributiontocoursetotal", "-",
                                           f"{cat} {row} contributiontocoursetotal{userid}"),
        "parentcategories": [catid],
    })
    return rows


# --- gradereport_overview -----------------------------------------------------------------------

@function("gradereport_overview_get_course_grades")
def get_course_grades(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    userid = int(params.get("userid") or 0) or call.userid
    user = get_user(site, userid)
    if userid != call.userid and not call.has_capability("moodle/grade:viewall"):
        raise no_permissions("moodle/grade:viewall")
    grades = []
    for course in site.db["course"]:
        if course["id"] == 1 or user["id"] not in unsuspended_users(site, course["id"]):
            continue
        _category, _course_item, items = grade_items(site, course["id"])
        total, _graded = course_total(site, user["id"], items)
        grades.append({"courseid": course["id"], "grade": _fmt(total),
                       "rawgrade": None if total is None else f"{total:.5f}"})
    return {"grades": grades, "warnings": []}


# --- core_grades --------------------------------------------------------------------------------

@function("core_grades_get_gradeitems")
def get_gradeitems(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    course = get_course(site, int(params["courseid"]))
    require_course_login(site, call.userid, course)
    _category, _course_item, items = grade_items(site, course["id"])
    return {"gradeItems": [{"id": str(item["id"]), "itemname": item["itemname"],
                            "category": course.get("fullname") or ""} for item in items],
            "warnings": []}


@function("core_grades_update_grades", items="grades")
def update_grades(call: Call, params: dict[str, Any]) -> int:
    site = call.site
    component = str(params["component"])
    itemmodule = component[4:] if component.startswith("mod_") else component
    cm = site.db["course_modules"].get(int(params["activityid"]))
    if cm is None or cm["modname"] != itemmodule:
        raise moodle_exception("invalidcoursemodule", "Invalid course module ID")
    course = get_course(site, int(params["courseid"]))
    try:
        require_course_login(site, call.userid, course)
    except Exception:  # noqa: BLE001 - Moodle re-raises any context failure as this one
        raise moodle_exception("errorcoursecontextnotvalid",
                               "Cannot execute the function in the course context "
                               f"(course id:{course['id']})") from None
    grades = params.get("grades") or []
    if grades and not course_has_capability(site, call.userid, "moodle/grade:edit", course["id"]):
        raise moodle_exception("nopermissiontoviewgrades", "Cannot view grades.")
    get_cm(site, cm["id"])
    _category, _course_item, items = grade_items(site, course["id"])
    item = next((row for row in items if row["cmid"] == cm["id"]
                 and int(row["itemnumber"] or 0) == int(params["itemnumber"])), None)
    if item is None:
        return GRADE_UPDATE_FAILED
    for grade in grades:
        write_grade(site, item, int(grade["studentid"]),
                    None if grade.get("grade") is None else float(grade["grade"]),
                    usermodified=call.userid, when=site.now())
    return GRADE_UPDATE_OK
