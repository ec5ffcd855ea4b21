"""The audit log: every Moodle write and every admin action, filterable (admins only)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request

from ..db import session_scope
from ..services.platform.audit_log import OUTCOMES, AuditFilters, actions, search
from .access import ADMIN, allow, settings
from .common import page_number, text_arg

blueprint = Blueprint("audit", __name__, url_prefix="/audit")


def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@blueprint.get("/")
@allow(ADMIN)
def index() -> str:
    outcome = request.args.get("outcome", "")
    filters = AuditFilters(actor=text_arg("actor", 128), action=text_arg("action", 128),
                           target=text_arg("target", 255), outcome=outcome if outcome in OUTCOMES else "",
                           since=_day("since"), until=_day("until"))
    with session_scope(settings().database_url) as db:
        found = search(db, filters, page=page_number())
        kinds = actions(db)
    return render_template("audit/index.html", found=found, f=filters, kinds=kinds, outcomes=OUTCOMES,
                           args={k: v for k, v in request.args.items() if k != "page"})
