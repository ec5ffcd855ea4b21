"""A learner's claims of offline study hours (学时申报) from inside Moodle: the form (title, day, hours,
description, an evidence file), and the evidence of their own claims to download again.

The form is posted with the page token in a hidden field: it proves who claims, and no other site can know
it, which is what a CSRF token would prove (the console's rests on a cookie the iframe may not have). The
service (``offline.claims.submit_claim``) checks everything and stores nothing when something is wrong;
the form comes back with each problem beside its field.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, send_file
from werkzeug.wrappers import Response

from rules.offline import DESCRIPTION_MAX, MAX_HOURS, NAME_MAX

from ..db import session_scope
from ..services.offline.claim_views import evidence_file
from ..services.offline.claims import submit_claim
from ..services.offline.errors import NotFound, OfflineError
from ..services.offline.evidence import Evidence, max_bytes
from ..services.offline.who import LEARNER, Actor
from . import blueprint
from .page_frame import lti_url, roles, settings, viewer, viewer_page

#: The form's fields, as the service names them when one is at fault.
FIELDS = ("title", "day", "hours", "description", "evidence")


def _learner() -> str:
    if "learner" not in roles():
        abort(404)
    no = viewer().employee_no
    assert no is not None  # ``roles`` counts a learner only with a cadre
    return no


def _form(values: dict[str, str], problems: dict[str, list[str]], status: int = 200) -> tuple[str, int]:
    return render_template("lti/claim.html", values=values, problems=problems, name_max=NAME_MAX,
                           description_max=DESCRIPTION_MAX, max_hours=MAX_HOURS,
                           max_mb=round(max_bytes(settings()) / 1024 / 1024, 1)), status


@blueprint.route("/claims/new", methods=["GET", "POST"])
@viewer_page
def claim_form() -> tuple[str, int] | Response:
    no = _learner()
    if request.method == "GET":
        return _form({}, {})
    values = {name: request.form.get(name, "").strip() for name in FIELDS[:4]}
    upload = request.files.get("evidence")
    evidence = Evidence(upload.read() if upload else b"", upload.filename or "" if upload else "")
    try:
        with session_scope(settings().database_url) as db:
            claim = submit_claim(db, no, values["title"], values["day"], values["hours"],
                                 values["description"], evidence, f"lti:{no}", settings=settings())
    except OfflineError as refused:
        field = refused.field if refused.field in FIELDS else ""
        return _form(values, {field: list(refused.messages)}, 400)
    return redirect(lti_url("lti.home", year=claim.year, claimed=claim.id, _anchor="claims"), 303)


@blueprint.get("/claims/<int:claim_id>/evidence")
@viewer_page
def claim_evidence(claim_id: int) -> Response:
    """The evidence file of one of the viewer's own claims; any other claim is not found."""
    no = _learner()
    try:
        with session_scope(settings().database_url) as db:
            found = evidence_file(db, settings(), claim_id, Actor(f"lti:{no}", LEARNER, employee_no=no))
    except NotFound:
        abort(404)
    response = send_file(found.path, mimetype=found.media_type, as_attachment=True,
                         download_name=found.download_name, conditional=False, etag=False, last_modified=None)
    response.headers["Cache-Control"] = "no-store"
    return response
