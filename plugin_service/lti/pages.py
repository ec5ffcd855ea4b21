"""The tool's pages inside Moodle, for the viewer a launch's token names: a learner's personal centre
(their year, next steps, certificates and archive), a reviewer's page (their cadres and the reflections
waiting for them) and a department officer's summary. A viewer with several roles gets a tab for each;
one the companion does not know gets a page saying whom to ask.

No parameter names a person: every page and download is the token's viewer's own. A certificate is
asked for by serial and served only when it is the viewer's; anything else answers 404, as a serial
that does not exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from flask import Response, abort, redirect, render_template, request, send_file
from werkzeug.wrappers import Response as BaseResponse

from ..db import session_scope
from ..models import Cadre
from ..services.documents.archives import ArchiveError, archive_pdf, registration_pdf
from ..services.documents.document_values import DocumentError, plan_of
from ..services.lti.department_page import department_page
from ..services.lti.learner_page import learner_page, learner_years
from ..services.lti.moodle_links import assignment_cmids
from ..services.lti.review_page import review_page
from ..services.read_models.cadre_pages import certificate_file
from ..services.read_models.dashboard import applied_years
from ..services.read_models.scope import Scope
from . import blueprint
from .page_frame import lti_url, roles, settings, viewer, viewer_page

SERIAL = re.compile(r"^[0-9A-Za-z-]{26,40}$")
PAGES = {"learner": "lti.home", "reviewer": "lti.reviewing", "officer": "lti.department"}


def _year(years: list[int]) -> int | None:
    """The year asked for (``?year=``) when it is one of ``years``, else the newest of them."""
    asked = request.args.get("year", type=int)
    return asked if asked in years else (years[0] if years else None)


def _learner_no() -> str:
    """The viewer's employee number, for a learner's own pages; 404 for anyone else."""
    if "learner" not in roles():
        abort(404)
    no = viewer().employee_no
    assert no is not None  # ``roles`` counts a learner only with a cadre
    return no


@blueprint.get("/home")
@viewer_page
def home() -> str | BaseResponse:
    """Where a launch lands: a learner's own page, or the first page the viewer's roles give."""
    mine = roles()
    if not mine:
        return _unknown()
    if mine[0] != "learner":
        return redirect(lti_url(PAGES[mine[0]]))
    who = viewer()
    with session_scope(settings().database_url) as db:
        asked = request.args.get("year", type=int)
        page = learner_page(db, settings(), _learner_no(), year=asked, launched_from=who.course_id)
    if page is None:
        return _unknown()
    asked_claim = request.args.get("claimed", type=int)
    claimed = next((c for c in page.cadre.claims if c.id == asked_claim), None) if page.cadre else None
    return render_template("lti/learner.html", page=page, record=page.cadre.record if page.cadre else None,
                           claimed=claimed)


def _unknown() -> str:
    with session_scope(settings().database_url) as db:
        years = applied_years(db)
        plan = plan_of(db, years[0]) if years else None
    return render_template("lti/unknown.html", organisation=plan.organisation if plan else "")


@blueprint.get("/reviewing")
@viewer_page
def reviewing() -> str:
    if "reviewer" not in roles() or not viewer().employee_no:
        abort(404)
    current = settings()
    with session_scope(current.database_url) as db:
        year = _year(applied_years(db))
        page = review_page(db, year, viewer().employee_no or "", current.moodle_url,
                           lambda wanted: assignment_cmids(current, wanted))
    return render_template("lti/reviewing.html", page=page)


@blueprint.get("/department")
@viewer_page
def department() -> str:
    if "officer" not in roles():
        abort(404)
    with session_scope(settings().database_url) as db:
        page = department_page(db, _year(applied_years(db)), viewer().departments)
    return render_template("lti/department.html", page=page)


def _pdf(data: bytes, name: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/certificates/<serial>.pdf")
@viewer_page
def certificate(serial: str) -> BaseResponse:
    """One of the viewer's own valid certificates; any other serial is not found."""
    no = _learner_no()
    if not SERIAL.match(serial):
        abort(404)
    with session_scope(settings().database_url) as db:
        cert = certificate_file(db, no, serial.upper(), Scope(employee_nos=frozenset({no})))
    if cert is None or cert.employee_no != no or cert.status != "valid" or not cert.pdf_path \
            or not cert.pdf_sha256:
        abort(404)
    root = Path(settings().documents_dir).resolve()
    path = (root / cert.pdf_path).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=f"{no}-{serial.upper()}-v{cert.version}.pdf", conditional=False,
                         etag=False, last_modified=None)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/archive.pdf")
@viewer_page
def archive() -> Response:
    """The viewer's learning archive (学习档案) of every year, made now from the records."""
    no = _learner_no()
    with session_scope(settings().database_url) as db:
        cadre = db.get(Cadre, no)
        if cadre is None or not learner_years(db, no):
            abort(404)
        name = cadre.name
    try:
        data = archive_pdf(settings(), no)
    except (ArchiveError, DocumentError):
        abort(404)
    return _pdf(data, f"{no}-{name}-学习档案.pdf")


@blueprint.get("/registration-<int:year>.pdf")
@viewer_page
def registration(year: int) -> Response:
    """The viewer's registration form (在线学习情况登记表) of one of their years."""
    no = _learner_no()
    with session_scope(settings().database_url) as db:
        cadre = db.get(Cadre, no)
        if cadre is None or year not in learner_years(db, no):
            abort(404)
        name = cadre.name
    try:
        data = registration_pdf(settings(), no, year)
    except (ArchiveError, DocumentError):
        abort(404)
    return _pdf(data, f"{no}-{name}-{year}-登记表.pdf")

