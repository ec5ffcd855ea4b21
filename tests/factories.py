"""People, courses, enrolments and activities written straight into a fake site's tables.

Tests of one area build the rest of the site here rather than through other areas' functions, so a
failure points at the area under test; rows are made the way the fake's own functions make them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from moodle_bridge import MoodleClient
from moodle_bridge.fake import FakeSite, RunningFake
from moodle_bridge.fake.db import Row
from moodle_bridge.fake.records import CONTEXT_COURSE, context, manual_instance, new_module, new_user

STUDENT, TEACHER, EDITINGTEACHER = 5, 4, 3
TRAINING_COURSE = "领导干部能力提升专题培训班"


def add_user(site: FakeSite, username: str, firstname: str = "红", lastname: str = "李",
             **fields: Any) -> Row:
    """An account with an email and an idnumber derived from the username unless given."""
    fields.setdefault("email", f"{username}@college.example")
    fields.setdefault("idnumber", f"ID-{username}")
    with site.lock:
        return new_user(site, username=username, firstname=firstname, lastname=lastname, **fields)


def numbered_user(site: FakeSite, n: int, *, first: str = "红", last: str = "李", **fields: Any) -> int:
    """Learner number ``n``: ``it-comp-u<n>``, idnumber ``EMP<nnnn>``."""
    return int(add_user(site, f"it-comp-u{n}", first, last, idnumber=f"EMP{n:04d}", **fields)["id"])


def make_users(site: FakeSite, count: int, prefix: str = "u") -> list[int]:
    """``count`` accounts ``<prefix>0``... named F<i> L<i>, idnumber ``EMP-<prefix><i>``."""
    return [int(add_user(site, f"{prefix}{i}", f"F{i}", f"L{i}", email=f"{prefix}{i}@example.com",
                         idnumber=f"EMP-{prefix}{i}", department="Dept")["id"]) for i in range(count)]


def add_course(site: FakeSite, shortname: str = "C1", *, methods: Iterable[str] = ("manual",),
               **fields: Any) -> Row:
    """A course with its context and enrolment methods: ``manual`` enabled, any other disabled."""
    with site.lock:
        now = site.now()
        row: Row = {"category": 1, "fullname": f"Course {shortname}", "shortname": shortname,
                    "idnumber": shortname, "summary": "", "summaryformat": 1, "format": "topics",
                    "startdate": 0, "enddate": 0, "visible": 1, "enablecompletion": 1,
                    "timecreated": now, "timemodified": now, "lang": "", "showgrades": 1, "newsitems": 5,
                    "customfields": []}
        row.update(fields)
        course = site.db["course"].insert(row)
        context(site, CONTEXT_COURSE, course["id"])
        manual_instance(site, course["id"])
        for sortorder, plugin in enumerate((m for m in methods if m != "manual"), start=1):
            site.db["enrol"].insert({"courseid": course["id"], "enrol": plugin, "status": 1, "roleid": 5,
                                     "sortorder": sortorder, "name": None, "enrolperiod": 0,
                                     "timecreated": now, "timemodified": now})
        return course


def training_course(site: FakeSite, shortname: str, *, completion: int = 1, idnumber: str | None = None,
                    fullname: str = TRAINING_COURSE) -> int:
    """A training course as a fresh site has it: starting now, guest and self enrolment disabled."""
    return int(add_course(site, shortname, methods=("manual", "guest", "self"), fullname=fullname,
                          idnumber=idnumber or f"{shortname}-ID", startdate=site.now(),
                          enablecompletion=completion)["id"])


def enrol(site: FakeSite, userid: int, courseid: int, roleid: int = STUDENT, *, status: int = 0,
          timestart: int = 0, timeend: int = 0) -> None:
    """A manual enrolment and the role that comes with it."""
    with site.lock:
        now = site.now()
        instance = manual_instance(site, courseid)
        site.db["user_enrolments"].insert({"enrolid": instance["id"], "userid": userid, "status": status,
                                           "timestart": timestart, "timeend": timeend, "timecreated": now,
                                           "timemodified": now})
        site.db["role_assignments"].insert({"roleid": roleid, "contextid": context(site, CONTEXT_COURSE,
                                                                                    courseid)["id"],
                                            "userid": userid, "component": "", "itemid": 0,
                                            "timemodified": now})


def add_activity(site: FakeSite, courseid: int, modname: str, name: str, *, completion: int = 0,
                 **fields: Any) -> tuple[Row, Row]:
    """An activity in section 1: its course module and its instance row."""
    with site.lock:
        return new_module(site, courseid, modname, name, section=1, completion=completion, **fields)


def add_page(site: FakeSite, courseid: int, name: str = "课程导读 Reading page", *,
             completion: int = 1, **cm_fields: Any) -> int:
    """A page learners mark complete themselves; returns its course module id."""
    cm, _instance = add_activity(site, courseid, "page", name, completion=completion)
    cm.update(cm_fields)
    return int(cm["id"])


def add_assign(site: FakeSite, courseid: int, name: str = "心得体会 Reflection essay",
               grade: int = 100) -> tuple[int, int]:
    """An assignment graded out of ``grade``; returns (course module id, assignment id)."""
    cm, instance = add_activity(site, courseid, "assign", name, grade=grade)
    cm["idnumber"] = f"assign-{cm['id']}"
    return int(cm["id"]), int(instance["id"])


def learner(fake: RunningFake, userid: int) -> MoodleClient:
    """A client acting with a user's own token (close it, or use it in ``with``)."""
    token = fake.site.site_action("issue_token", {"userid": userid})["token"]
    return MoodleClient(fake.url, str(token), timeout=10, retries=0)
