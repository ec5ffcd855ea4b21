"""Entry point of the Celery worker and beat: ``celery -A plugin_service.worker worker -B``."""

from __future__ import annotations

from . import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
