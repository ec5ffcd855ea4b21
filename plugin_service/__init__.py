"""Cadre Companion's service: the Flask app, its services, tasks and the ``cadre`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from .celery_app import celery_init_app
from .config import ConfigError, Settings, load_settings

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Builds the app from ``settings`` (default: the environment); nothing happens at import."""
    settings = settings or load_settings(**overrides)
    if not settings.secret_key:
        raise ConfigError("no secret key: set CADRE_SECRET_KEY (a long random string) or secret_key "
                          "in the config file")
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR / "console"))
    app.config.update(SECRET_KEY=settings.secret_key, CADRE_SETTINGS=settings,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    celery_init_app(app, settings.broker_url)
    return app


__all__ = ["ConfigError", "Settings", "create_app", "load_settings"]
