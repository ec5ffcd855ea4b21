"""A fresh Moodle site as the contract recordings started from.

Default roles 1-8, user 1 guest, user 2 admin, course 1 the site course, category 1 the default
category; a service user ``wsbot`` (id 3) with every capability through a role of its own, a user
``wsweak`` (id 4) with only ``webservice/rest:use``; the services the recordings used.
"""

from __future__ import annotations

from . import functions, progress  # noqa: F401 - registers every web-service function and site action
from .records import (
    CONTEXT_COURSE,
    CONTEXT_COURSECAT,
    CONTEXT_SYSTEM,
    ROLES,
    context,
    new_user,
)
from .registry import FUNCTIONS
from .releases import DEFAULT
from .site import ALL, FakeSite

SERVICE_ROLE = "cadrecompanion"
SMALL_SERVICE_FUNCTIONS = {"core_webservice_get_site_info", "core_user_get_users_by_field"}
MOBILE_SERVICE = "moodle_mobile_app"


def stock_site(*, sitename: str = "Fake Moodle", tokens: dict[str, str] | None = None,
               role_can_assign: bool = True, release: str = DEFAULT) -> FakeSite:
    """A fresh site. ``tokens`` maps ``wsbot``/``weak``/``small`` to token strings to accept;
    ``release`` is "5.1" or "4.5" (``releases.RELEASES``), or a full release string.

    ``role_can_assign=False`` leaves the service role unable to assign roles, as on a stock site before
    an admin allows it (``allow_role_assign``), which makes enrolments fail with ``wsusercannotassign``.
    """
    site = FakeSite(sitename=sitename, release=release)
    db = site.db
    context(site, CONTEXT_SYSTEM, 0)
    for roleid, shortname in ROLES:
        db["role"].insert({"id": roleid, "shortname": shortname, "name": "",
                           "archetype": shortname, "sortorder": roleid})
    service_role = db["role"].insert({"shortname": SERVICE_ROLE, "name": "Cadre Companion service",
                                      "archetype": "", "sortorder": 9})
    new_user(site, username="guest", firstname="Guest user", lastname=" ", auth="manual",
             email="root@localhost")
    new_user(site, username="admin", firstname="Admin", lastname="User",
             email="admin@college.example")
    wsbot = new_user(site, username="wsbot", firstname="Companion", lastname="Bot",
                     email="wsbot@college.example")
    weak = new_user(site, username="wsweak", firstname="Weak", lastname="Bot",
                    email="wsweak@college.example")
    site.grant(2, ALL)
    site.grant(wsbot["id"], ALL)
    site.grant(weak["id"], {"webservice/rest:use"})
    db["role_assignments"].insert({"roleid": service_role["id"], "userid": wsbot["id"],
                                   "contextid": 1, "component": "", "itemid": 0})
    db["role_allow_assign"].insert({"roleid": 1, "allowassign": [1, 2, 3, 4, 5, 6, 7, 8]})
    db["role_allow_assign"].insert({"roleid": service_role["id"],
                                    "allowassign": [3, 4, 5] if role_can_assign else []})
    category = db["course_categories"].insert({
        "name": "Category 1", "idnumber": "", "description": "", "descriptionformat": 1,
        "parent": 0, "sortorder": 10000, "coursecount": 0, "visible": 1, "visibleold": 1,
        "timemodified": site.now(), "depth": 1, "path": "/1", "theme": ""})
    context(site, CONTEXT_COURSECAT, category["id"])
    db["course"].insert({
        "category": 0, "fullname": sitename, "shortname": sitename, "idnumber": "", "summary": "",
        "summaryformat": 1, "format": "site", "showgrades": 1, "newsitems": 3, "startdate": 0,
        "enddate": 0, "visible": 1, "enablecompletion": 0, "timecreated": site.now(),
        "timemodified": site.now(), "lang": "", "customfields": []})
    context(site, CONTEXT_COURSE, 1)
    full = site.add_service("Cadre Companion", set(FUNCTIONS), shortname="cadre_companion")
    small = site.add_service("Small", SMALL_SERVICE_FUNCTIONS, shortname="small")
    site.add_service("Moodle mobile web service", set(FUNCTIONS), shortname=MOBILE_SERVICE)
    names = tokens or {}
    if "wsbot" in names:
        site.add_token(names["wsbot"], wsbot["id"], full)
    if "weak" in names:
        site.add_token(names["weak"], weak["id"], full)
    if "small" in names:
        site.add_token(names["small"], wsbot["id"], small)
    return site


def service(site: FakeSite, shortname: str) -> int:
    """The id of a service by its short name."""
    for candidate in site.services.values():
        if candidate.shortname == shortname:
            return candidate.id
    raise KeyError(shortname)
