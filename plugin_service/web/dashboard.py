"""The dashboard: the year's progress at a glance (``services.read_models.dashboard``), within the
reader's scope."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..db import session_scope
from ..services.read_models.dashboard import dashboard
from .access import EVERYONE, allow, scope, settings
from .common import selected_year

blueprint = Blueprint("dashboard", __name__)


@blueprint.get("/")
@allow(*EVERYONE)
def index() -> str:
    with session_scope(settings().database_url) as db:
        year, _years = selected_year(db)
        found = dashboard(db, year, scope(year))
    return render_template("dashboard/index.html", d=found, year=year)
