"""Rows as Moodle stores them, shared by the function modules so every path creates (and fails to find)
the same thing.

Contexts follow Moodle's levels (system 10, user 30, category 40, course 50, module 70); ids of every
table start where a fresh site's would.
"""

from __future__ import annotations

from typing import Any

from .db import Row
from .site import FakeSite
from .wserror import missing_record, missing_user

CONTEXT_SYSTEM = 10
CONTEXT_USER = 30
CONTEXT_COURSECAT = 40
CONTEXT_COURSE = 50
CONTEXT_MODULE = 70

ROLES = [
    (1, "manager"), (2, "coursecreator"), (3, "editingteacher"), (4, "teacher"),
    (5, "student"), (6, "guest"), (7, "user"), (8, "frontpage"),
]


def context(site: FakeSite, level: int, instanceid: int) -> Row:
    """The context row of an instance, created on first use.

    Every capability check asks for one, so the site remembers each row it found, and trusts it while
    it is still the table's row for that instance."""
    table = site.db["context"]
    known: dict[tuple[int, Any], Row] = site.ext.setdefault("contexts", {})
    row = known.get((level, instanceid))
    if (row is not None and table.rows.get(row["id"]) is row and row["instanceid"] == instanceid
            and row["contextlevel"] == level):
        return row
    row = table.first(instanceid=instanceid, contextlevel=level)
    if row is None:
        row = table.insert({"contextlevel": level, "instanceid": instanceid})
    known[(level, instanceid)] = row
    return row


def new_user(site: FakeSite, **fields: Any) -> Row:
    """Inserts a user with Moodle's defaults for every field a web service reads back."""
    now = site.now()
    row: Row = {
        "username": "", "firstname": "", "lastname": "", "email": "", "idnumber": "",
        "department": "", "institution": "", "phone1": "", "phone2": "", "city": "", "country": "",
        "address": "", "description": "", "descriptionformat": 1, "auth": "manual",
        "password": "", "suspended": 0, "deleted": 0, "confirmed": 1, "lang": "en", "theme": "",
        "timezone": "99", "mailformat": 1, "maildisplay": 2, "trackforums": 0, "firstaccess": 0,
        "lastaccess": 0, "timecreated": now, "timemodified": now, "customfields": {},
        "preferences": {}, "mnethostid": 1, "calendartype": "gregorian", "firstnamephonetic": "",
        "lastnamephonetic": "", "middlename": "", "alternatename": "",
    }
    row.update(fields)
    row = site.db["user"].insert(row)
    context(site, CONTEXT_USER, row["id"])
    return row


def must_exist(site: FakeSite, table: str, rowid: Any) -> Row:
    """``$DB->get_record($table, ['id' => $rowid], '*', MUST_EXIST)``."""
    row = site.db[table].get(rowid)
    if row is None:
        raise missing_record(table, rowid)
    return row


def get_user(site: FakeSite, userid: int) -> Row:
    """``core_user::get_user(..., MUST_EXIST)``: deleted accounts count as gone."""
    user = site.db["user"].get(userid)
    if user is None or user.get("deleted"):
        raise missing_user(userid)
    return user


def fullname(user: Row) -> str:
    """Moodle's default full name format for the sites recorded: first name, then last name."""
    return f"{user['firstname']} {user['lastname']}".strip()


def profile_image_urls(site: FakeSite, user: Row) -> dict[str, str]:
    base = f"{site.siteurl}/theme/image.php/boost/core/1795810144/u"
    return {"profileimageurlsmall": f"{base}/f2", "profileimageurl": f"{base}/f1"}


def new_module(site: FakeSite, courseid: int, modname: str, name: str, *, section: int = 0,
               completion: int = 0, **instance_fields: Any) -> tuple[Row, Row]:
    """Adds an activity: its instance row (table named after the module) and its course module.

    Everything an activity keeps per instance lives in its instance row, so duplicating a course can
    copy activities without knowing their kinds.
    """
    now = site.now()
    instance: Row = {"course": courseid, "name": name, "intro": "", "introformat": 1,
                     "timemodified": now}
    instance.update(instance_fields)
    instance = site.db[modname].insert(instance)
    cm = site.db["course_modules"].insert({
        "course": courseid, "modname": modname, "instance": instance["id"], "section": section,
        "idnumber": "", "visible": 1, "completion": completion, "completionview": 0,
        "completionexpected": 0, "added": now, "deletioninprogress": 0,
    })
    context(site, CONTEXT_MODULE, cm["id"])
    return cm, instance


def manual_instance(site: FakeSite, courseid: int) -> Row:
    """The course's manual enrolment instance, added with the course as Moodle does."""
    row = site.db["enrol"].first(courseid=courseid, enrol="manual")
    if row is None:
        row = site.db["enrol"].insert({"courseid": courseid, "enrol": "manual", "status": 0,
                                       "roleid": 5, "sortorder": 0, "name": None,
                                       "enrolperiod": 0, "timecreated": site.now(),
                                       "timemodified": site.now()})
    return row
