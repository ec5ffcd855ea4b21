"""Cadre Companion as an LTI 1.3 tool inside Moodle: the protocol's endpoints and the pages a launch
leads to, all on one blueprint under ``/lti`` (bound to the app by ``lti.wiring``)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

blueprint = Blueprint("lti", __name__, url_prefix="/lti", template_folder=str(TEMPLATES))
