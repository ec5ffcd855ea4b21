"""core_webservice, and the site administration actions that change who may do what."""

from __future__ import annotations

import secrets
from typing import Any

from ..records import fullname
from ..registry import function, site_action
from ..site import Call, FakeSite

ADVANCED_FEATURES = [
    ("usecomments", 1), ("usetags", 1), ("enablenotes", 1), ("messaging", 1), ("enableblogs", 1),
    ("enablecompletion", 1), ("enablebadges", 1), ("messagingallusers", 0),
    ("enablecustomreports", 1), ("enableglobalsearch", 0), ("mnet_dispatcher_mode", 0),
    ("enablecompetencies", 1),
]


@function("core_webservice_get_site_info")
def get_site_info(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    user = call.user
    service = site.services[site.tokens[call.token][1]]
    return {
        "sitename": site.sitename,
        "username": user["username"],
        "firstname": user["firstname"],
        "lastname": user["lastname"],
        "fullname": fullname(user),
        "lang": user["lang"],
        "userid": user["id"],
        "siteurl": site.siteurl,
        "userpictureurl": f"{site.siteurl}/theme/image.php/boost/core/1795810144/u/f1",
        "functions": [{"name": name, "version": site.version} for name in sorted(service.functions)],
        "downloadfiles": 1,
        "uploadfiles": 1,
        "release": site.release,
        "version": site.version,
        "mobilecssurl": "",
        "advancedfeatures": [{"name": n, "value": v} for n, v in ADVANCED_FEATURES],
        "usercanmanageownfiles": True,
        "userquota": 0,
        "usermaxuploadfilesize": -1,
        "userhomepage": 1,
        "userprivateaccesskey": "0" * 32,
        "siteid": 1,
        "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian",
        "userissiteadmin": user["id"] == 2,
        "theme": "boost",
        "limitconcurrentlogins": 0,
        "policyagreed": 0,
    }


@site_action("set_config")
def set_config(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin changes a setting (``debug`` adds ``debuginfo`` to error answers)."""
    site.config[str(args["name"])] = args["value"]
    return {"name": str(args["name"]), "value": str(args["value"])}


@site_action("issue_token")
def issue_token(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin issues a user a token (learners act through their own tokens)."""
    userid = int(args["userid"])
    if site.db["user"].get(userid) is None:
        raise ValueError(f"no user {userid}")
    shortname = str(args.get("service") or "cadre_companion")
    service = next(s for s in site.services.values() if s.shortname == shortname)
    token = str(args.get("token") or secrets.token_hex(16))
    site.add_token(token, userid, service)
    if userid not in site.capabilities:
        site.grant(userid, {"webservice/rest:use"})
    return {"userid": userid, "token": token}


@site_action("allow_role_assign")
def allow_role_assign(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """Site administration > Define roles > Allow role assignments."""
    role = site.db["role"].first(shortname=str(args["role"]))
    if role is None:
        raise ValueError(f"no role {args['role']!r}")
    targets = [int(t) for t in args["targets"]]
    row = site.db["role_allow_assign"].first(roleid=role["id"])
    if row is None:
        site.db["role_allow_assign"].insert({"roleid": role["id"], "allowassign": targets})
    else:
        row["allowassign"] = sorted(set(row["allowassign"]) | set(targets))
    return {"roleid": role["id"], "allowassign": targets}


@site_action("set_capabilities")
def set_capabilities(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin changes the capabilities a user holds at system level (``*`` for all, ``-name`` to
    prohibit one whatever else is held, as a role's "Prohibit" does)."""
    userid = int(args["userid"])
    site.grant(userid, set(args["capabilities"]))
    return {"userid": userid, "capabilities": sorted(site.capabilities[userid])}


@site_action("set_service_functions")
def set_service_functions(site: FakeSite, args: dict[str, Any]) -> dict[str, Any]:
    """An admin adds or removes functions of an external service."""
    service = next(s for s in site.services.values() if s.shortname == args["service"])
    service.functions = set(args["functions"])
    return {"service": service.shortname, "functions": sorted(service.functions)}
