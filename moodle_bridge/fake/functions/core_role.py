"""core_role: assigning roles in a context.

Assigning a role needs ``moodle/role:assign`` *and* an entry in ``role_allow_assign`` for one of the
caller's roles (Define roles > Allow role assignments): a role with every capability still cannot assign
anything until an admin allows it (see ``access.assignable_roles``).
"""

from __future__ import annotations

from typing import Any

from ..access import (
    CONTEXT_LEVELS,
    CONTEXT_TABLES,
    assignable_roles,
    require_capability_in,
    role_assign,
    system_context,
    validate_context,
)
from ..db import Row
from ..records import CONTEXT_SYSTEM, context
from ..registry import function
from ..site import Call, FakeSite
from ..wserror import coding_error, invalid_parameter, missing_record


def context_from_params(site: FakeSite, params: dict[str, Any]) -> Row:
    """``external_api::get_context_from_params``: by ``contextid`` or ``contextlevel`` + ``instanceid``."""
    if params.get("contextid"):
        row = site.db["context"].get(params["contextid"])
        if row is None:
            raise missing_record("context", params["contextid"])
        return row
    level_name = params.get("contextlevel")
    if level_name and params.get("instanceid") is not None:
        level = CONTEXT_LEVELS.get(str(level_name))
        if level is None:
            raise invalid_parameter("Invalid context level = " + str(level_name))
        instanceid = int(params["instanceid"])
        if level == CONTEXT_SYSTEM:
            return system_context(site)
        table = CONTEXT_TABLES.get(level)
        if table is None or site.db[table].get(instanceid) is None:
            raise missing_record(table or "context", instanceid)
        return context(site, level, instanceid)
    raise invalid_parameter("Missing parameters: contextid or contextlevel+instanceid")


@function("core_role_assign_roles", items="assignments")
def assign_roles(call: Call, params: dict[str, Any]) -> None:
    """All or nothing: checks every assignment first, as Moodle's transaction would roll back."""
    site = call.site
    todo: list[tuple[int, int, int]] = []
    for assignment in params["assignments"]:
        ctx = context_from_params(site, assignment)
        validate_context(site, call.userid, ctx)
        require_capability_in(site, call.userid, "moodle/role:assign", ctx)
        roleid = int(assignment["roleid"])
        if roleid not in assignable_roles(site, call.userid, ctx):
            contextid = assignment.get("contextid")
            raise invalid_parameter(f"Can not assign roleid={roleid} in contextid="
                                    f"{'' if contextid is None else contextid}")
        userid = int(assignment["userid"])
        user = site.db["user"].get(userid)
        if user is None or user.get("deleted"):
            raise coding_error("User ID does not exist or is deleted!")
        todo.append((roleid, userid, int(ctx["id"])))
    for roleid, userid, contextid in todo:
        role_assign(site, roleid, userid, contextid)
    return None
