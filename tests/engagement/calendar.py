"""What the site and the plan say happened, read independently of the service: the messages each person
received from the service user, the discussion topics in the forums, and who the plan's rules concern
according to the harvest tests' truth."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from moodle_bridge.fake.site import FakeSite

from ..conftest import TOKEN
from ..harvest.truth import Truth
from ..harvest.world import Year, moment


def service_userid(site: FakeSite) -> int:
    return int(site.tokens[TOKEN][0])


def inbox(year: Year) -> dict[str, list[str]]:
    """Every message the service user sent, by recipient's employee number, oldest first."""
    site = year.site
    sender = service_userid(site)
    by_userid = {userid: no for no, userid in year.users.items()}
    found: dict[str, list[str]] = defaultdict(list)
    with site.lock:
        for row in sorted(site.db["messages"], key=lambda r: (r["timecreated"], r["id"])):
            if int(row["useridfrom"]) == sender:
                to = int(row["useridto"])
                found[by_userid.get(to, str(to))].append(str(row["fullmessage"]))
    return dict(found)


def counts(year: Year, marker: str) -> Counter[str]:
    """How many messages holding ``marker`` each person received."""
    return Counter({no: sum(marker in text for text in texts) for no, texts in inbox(year).items()
                    if any(marker in text for text in texts)})


def day_start(day: dt.date) -> int:
    return moment(day.isoformat(), "08:00:00")


def below(truth: Truth, hours: float, tiers: frozenset[str]) -> set[str]:
    return {no for no, record in truth.records.items()
            if record.tier in tiers and record.status != "excluded" and record.total_hours < hours - 1e-9}


def without_reflection(truth: Truth, course: str, tiers: frozenset[str]) -> set[str]:
    plan = truth.plan
    spec = plan.course(course)
    assert spec is not None
    found = set()
    for no, record in truth.records.items():
        if record.tier is None or record.status == "excluded" or record.tier not in tiers:
            continue
        if record.tier not in spec.tiers():
            continue
        reflection = truth.reflections.get((no, course))
        if reflection is None or reflection.status != "submitted":
            found.add(no)
    return found


def in_tiers(truth: Truth, tiers: frozenset[str]) -> set[str]:
    return {no for no, record in truth.records.items()
            if record.tier in tiers and record.status != "excluded"}


def topics(site: FakeSite, title: str) -> list[dict[str, object]]:
    with site.lock:
        return [dict(d) for d in site.db["forum_discussions"] if d.get("name") == title]
