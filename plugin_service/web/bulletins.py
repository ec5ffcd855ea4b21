"""通报: the progress bulletins of a year — the plan's schedule, each bulletin issued with whom it reached
and how its messages fared, one bulletin's ranked tables with their changes, and its PDF and XLSX.

A bulletin is circulated in full to the school leaders: an admin and a reviewer (a school leader) see it
whole and download its files. A department officer sees the lines of their departments, each with its
rank among all, as the department's head was told, and not the files, which hold every department.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template
from flask_babel import lazy_gettext

from ..db import session_scope
from ..services.documents.document_batches import documents_root
from ..services.engagement.bulletin_files import pdf_bytes, xlsx_bytes
from ..services.engagement.bulletin_store import find
from ..services.read_models.bulletins import history, schedule, view
from .access import ADMIN, EVERYONE, OFFICER, REVIEWER, allow, settings, user
from .common import selected_year

blueprint = Blueprint("bulletins", __name__, url_prefix="/bulletins")
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
FILES = {"pdf": "application/pdf",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
AUDIENCE_WORDS = {"leaders": lazy_gettext("school leaders"),
                  "department_heads": lazy_gettext("department heads"),
                  "all": lazy_gettext("every cadre taking part")}
DELIVERY_WORDS = {"delivered": lazy_gettext("delivered"), "sending": lazy_gettext("still sending"),
                  "incomplete": lazy_gettext("some not reached"), "none": lazy_gettext("nobody to tell"),
                  "refused": lazy_gettext("refused by Moodle"), "skipped": lazy_gettext("no Moodle account")}
DELIVERY_CLASSES = {"delivered": "ok", "sending": "running", "incomplete": "bad", "none": "unknown"}
SCHEDULE_WORDS = {"future": lazy_gettext("to come"), "due": lazy_gettext("due: goes with the next daily job"),
                  "expired": lazy_gettext("expired: not sent within 14 days of its date")}
SCHEDULE_CLASSES = {"future": "queued", "due": "running", "expired": "unknown"}


@blueprint.context_processor
def _words() -> dict[str, Any]:
    def word(table: dict[str, Any]) -> Any:
        return lambda key: str(table.get(key, key))

    return {"audience_word": word(AUDIENCE_WORDS), "delivery_word": word(DELIVERY_WORDS),
            "delivery_class": word(DELIVERY_CLASSES), "schedule_word": word(SCHEDULE_WORDS),
            "schedule_class": word(SCHEDULE_CLASSES)}


def _departments() -> frozenset[str] | None:
    """The departments whose lines the reader sees; None: the whole bulletin."""
    who = user()
    return frozenset(who.departments) if who.role == OFFICER else None


@blueprint.get("/")
@allow(*EVERYONE)
def index() -> str:
    with session_scope(settings().database_url) as db:
        year, years = selected_year(db)
        issued = history(db, year) if year is not None else []
        planned = schedule(db, year) if year is not None else []
    return render_template("bulletins/index.html", year=year, years=years, issued=issued, planned=planned,
                           full=_departments() is None)


@blueprint.get("/<int:year>/<key>")
@allow(*EVERYONE)
def show(year: int, key: str) -> str:
    if not KEY.match(key):
        abort(404)
    with session_scope(settings().database_url) as db:
        found = view(db, year, key, _departments())
    if found is None:
        abort(404)
    return render_template("bulletins/show.html", b=found, item=found.issued, year=year)


@blueprint.get("/<int:year>/<key>/bulletin.<kind>")
@allow(ADMIN, REVIEWER)
def download(year: int, key: str, kind: str) -> Response:
    """The bulletin's file as it was circulated; one not written yet (the run that issued it failed to)
    is made from the stored figures for this download."""
    if not KEY.match(key) or kind not in FILES:
        abort(404)
    with session_scope(settings().database_url) as db:
        row = find(db, year, key)
        if row is None:
            abort(404)
        stored = row.pdf_path if kind == "pdf" else row.xlsx_path
        digest = row.pdf_sha256 if kind == "pdf" else row.xlsx_sha256
        path = documents_root(settings()) / stored if stored else None
        if path is not None and digest is not None and path.is_file():
            data = path.read_bytes()
        elif kind == "pdf":
            data = pdf_bytes(db, row, settings().documents_templates)
        else:
            data = xlsx_bytes(db, row)
        title = row.title
    response = Response(data, mimetype=FILES[kind])
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(title)}.{kind}"
    return response
