"""What a fake Moodle holds for a plan year, read straight from its tables (the ground truth)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from moodle_bridge.fake.external import signatures
from moodle_bridge.fake.site import FakeSite


def snapshot(site: FakeSite, year: int) -> dict[str, Any]:
    """Classes with members, courses, enrolments (with roles and status) and users of a year."""
    db = site.db
    users = {row["id"]: row for row in db["user"]}
    prefix = f"cadre:{year}"
    classes = {}
    for cohort in db["cohort"]:
        if str(cohort.get("idnumber", "")).startswith(prefix + ":class:"):
            members = sorted(users[m["userid"]]["idnumber"] for m in db["cohort_members"].select(
                cohortid=cohort["id"]))
            classes[cohort["idnumber"]] = {"name": cohort["name"], "members": members}
    courses = {}
    enrolments = {}
    for course in db["course"]:
        if not str(course.get("idnumber", "")).startswith(prefix + ":course:"):
            continue
        courses[course["idnumber"]] = {"shortname": course["shortname"], "fullname": course["fullname"]}
        context = db["context"].first(instanceid=course["id"], contextlevel=50)
        roles: dict[int, set[str]] = {}
        if context is not None:
            for assignment in db["role_assignments"].select(contextid=context["id"]):
                role = db["role"].get(assignment["roleid"])
                roles.setdefault(assignment["userid"], set()).add(role["shortname"] if role else "?")
        for instance in db["enrol"].select(courseid=course["id"]):
            for row in db["user_enrolments"].select(enrolid=instance["id"]):
                who = users[row["userid"]]["idnumber"]
                enrolments[(course["idnumber"], who)] = (
                    tuple(sorted(roles.get(row["userid"], set()))),
                    "suspended" if row["status"] else "active")
    return {"classes": classes, "courses": courses, "enrolments": enrolments}


def cadre_users(site: FakeSite) -> dict[str, dict[str, Any]]:
    """Users with an idnumber, by idnumber (several per idnumber would be a duplicate)."""
    found: dict[str, dict[str, Any]] = {}
    for row in site.db["user"]:
        if row.get("idnumber") and not row.get("deleted"):
            assert row["idnumber"] not in found, f"duplicate user idnumber {row['idnumber']}"
            found[row["idnumber"]] = {"username": row["username"], "suspended": bool(row["suspended"]),
                                      "name": row["lastname"] + row["firstname"]}
    return found


def duplicates(site: FakeSite) -> dict[str, list[str]]:
    """Every value that should be unique and is not: shortnames, idnumbers, usernames."""
    found = {
        "course shortname": Counter(c["shortname"] for c in site.db["course"]),
        "course idnumber": Counter(c["idnumber"] for c in site.db["course"] if c.get("idnumber")),
        "cohort idnumber": Counter(c["idnumber"] for c in site.db["cohort"] if c.get("idnumber")),
        "category idnumber": Counter(c["idnumber"] for c in site.db["course_categories"]
                                     if c.get("idnumber")),
        "username": Counter(u["username"] for u in site.db["user"]),
        "user idnumber": Counter(u["idnumber"] for u in site.db["user"] if u.get("idnumber")),
    }
    return {kind: sorted(v for v, n in counts.items() if n > 1)
            for kind, counts in found.items() if any(n > 1 for n in counts.values())}


def write_calls(site: FakeSite) -> dict[str, int]:
    """Calls the site received to functions that write."""
    declared = signatures()
    return {name: count for name, count in site.calls.items()
            if declared.get(name, {}).get("type") == "write"}
