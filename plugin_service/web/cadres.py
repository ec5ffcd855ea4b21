"""Cadres: search by name (Chinese), employee number or department, and a cadre's page with the year's
record, why they are in their tier, their history, certificates and archive. A cadre outside the
reader's scope answers 404, as one that does not exist."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, send_file
from werkzeug.wrappers import Response as BaseResponse

from ..db import session_scope
from ..services.documents.archives import ArchiveError, archive_pdf, registration_pdf
from ..services.documents.document_values import DocumentError
from ..services.read_models.cadre_pages import cadre_page, certificate_file, search
from ..services.read_models.reports import departments
from ..services.read_models.scope import Scope
from .access import EVERYONE, allow, scope, settings
from .common import page_number, selected_year, text_arg

blueprint = Blueprint("cadres", __name__, url_prefix="/cadres")
EMPLOYEE_NO = re.compile(r"^[A-Za-z0-9_.@-]{1,32}$")


@blueprint.get("/")
@allow(*EVERYONE)
def index() -> str:
    text, department = text_arg("q"), text_arg("department", 128)
    with session_scope(settings().database_url) as db:
        year, years = selected_year(db)
        visible = scope(year)
        found = search(db, year, visible, text=text, department=department, page=page_number())
        choices = departments(db, visible)
    return render_template("cadres/index.html", found=found, q=text, department=department, year=year,
                           years=years, departments=choices)


def _visible(employee_no: str) -> Scope:
    """The reader's scope, after checking the employee number's form (a malformed one is not found)."""
    if not EMPLOYEE_NO.match(employee_no):
        abort(404)
    with session_scope(settings().database_url) as db:
        year, _years = selected_year(db)
    return scope(year)


@blueprint.get("/<employee_no>")
@allow(*EVERYONE)
def show(employee_no: str) -> str:
    if not EMPLOYEE_NO.match(employee_no):
        abort(404)
    with session_scope(settings().database_url) as db:
        year, years = selected_year(db)
        page = cadre_page(db, employee_no, year, scope(year))
    if page is None:
        abort(404)
    return render_template("cadres/show.html", page=page, year=year, years=years)


def _pdf(data: bytes, name: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@blueprint.get("/<employee_no>/archive.pdf")
@allow(*EVERYONE)
def archive(employee_no: str) -> Response:
    """The cadre's learning archive (学习档案) of every year, rendered now from the records."""
    visible = _visible(employee_no)
    with session_scope(settings().database_url) as db:
        page = cadre_page(db, employee_no, None, visible)
    if page is None or not page.years:
        abort(404)
    try:
        data = archive_pdf(settings(), employee_no)
    except (ArchiveError, DocumentError):
        abort(404)
    return _pdf(data, f"{employee_no}-{page.name}-学习档案.pdf")


@blueprint.get("/<employee_no>/registration-<int:year>.pdf")
@allow(*EVERYONE)
def registration(employee_no: str, year: int) -> Response:
    """The cadre's registration form (在线学习情况登记表) of a year."""
    visible = _visible(employee_no)
    with session_scope(settings().database_url) as db:
        page = cadre_page(db, employee_no, None, visible)
    if page is None or year not in page.years:
        abort(404)
    try:
        data = registration_pdf(settings(), employee_no, year)
    except (ArchiveError, DocumentError):
        abort(404)
    return _pdf(data, f"{employee_no}-{page.name}-{year}-登记表.pdf")


@blueprint.get("/<employee_no>/certificates/<serial>.pdf")
@allow(*EVERYONE)
def certificate(employee_no: str, serial: str) -> BaseResponse:
    visible = _visible(employee_no)
    with session_scope(settings().database_url) as db:
        cert = certificate_file(db, employee_no, serial, visible)
    if cert is None or not cert.pdf_path or not cert.pdf_sha256:
        abort(404)
    root = Path(settings().documents_dir).resolve()
    path = (root / cert.pdf_path).resolve()
    if root not in path.parents or not path.is_file():
        abort(404)
    return send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=f"{employee_no}-{serial}-v{cert.version}.pdf", max_age=0)
