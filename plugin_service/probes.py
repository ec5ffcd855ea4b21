"""What an orchestrator and a monitoring system ask, without a console sign-in:

- ``/healthz``: the process is up and answers (nothing else is asked: no database);
- ``/readyz``: ready to serve (``services.platform.health``): 200, or 503 with the checks that failed,
  as JSON;
- ``/metrics``: Prometheus's text format (``services.platform.metrics``), for the holder of the
  ``metrics_token`` (``Authorization: Bearer``): 401 without it, 404 where no token is set.

Answers are never cached (the console's headers apply: ``Cache-Control: no-store``) and never carry a
secret.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from .config import Settings
from .services.platform.health import MoodleProbe, readiness
from .services.platform.metrics import CONTENT_TYPE, exposition
from .web.access import self_authenticated

blueprint = Blueprint("probes", __name__)


def _settings() -> Settings:
    found: Settings = current_app.config["CADRE_SETTINGS"]
    return found


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> Response:
    found = readiness(_settings(), current_app.extensions["cadre_moodle_probe"])
    response = jsonify(found.as_dict())
    response.status_code = 200 if found.ready else 503
    return response


@blueprint.get("/metrics")
def metrics() -> Response:
    expected = _settings().metrics_token
    if not expected:
        return Response("not found\n", status=404, content_type="text/plain; charset=utf-8")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return Response("a bearer token is needed\n", status=401, content_type="text/plain; charset=utf-8",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(exposition(_settings().database_url), content_type=CONTENT_TYPE)


def init_probes(app: Flask) -> None:
    """Registers the three endpoints; the console's sign-in gate lets them through."""
    app.extensions["cadre_moodle_probe"] = MoodleProbe()
    self_authenticated(blueprint.name)
    app.register_blueprint(blueprint)
