"""Entry point of the Celery worker and beat: ``celery -A plugin_service.worker worker`` and ``celery -A
plugin_service.worker beat`` (``plugin_service.deploy`` has the process set)."""

from __future__ import annotations

from . import create_app
from .celery_app import worker_logging

flask_app = create_app()
worker_logging(flask_app.config["CADRE_SETTINGS"])
celery = flask_app.extensions["celery"]
