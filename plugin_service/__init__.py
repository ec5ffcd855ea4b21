"""Cadre Companion's service: the Flask app, its services, tasks and the ``cadre`` command.

Importing the package is light (the settings only): the web app's parts are imported by ``create_app``,
so a process that only renders documents or runs a service does not carry Flask, Celery and the console.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from flask import Flask

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Builds the app from ``settings`` (default: the environment); nothing happens at import."""
    from flask import Flask

    from .api import init_api
    from .celery_app import celery_init_app
    from .lti.wiring import init_lti
    from .probes import init_probes
    from .verify import init_verify
    from .web import init_console

    settings = settings or load_settings(**overrides)
    if not settings.secret_key:
        raise ConfigError("no secret key: set CADRE_SECRET_KEY (a long random string) or secret_key "
                          "in the config file")
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR / "console"))
    app.config.update(SECRET_KEY=settings.secret_key, CADRE_SETTINGS=settings,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    celery_init_app(app, settings.broker_url)
    init_console(app, settings, init_verify(app, settings))
    init_api(app)
    init_lti(app)
    init_probes(app)
    return app


__all__ = ["ConfigError", "Settings", "create_app", "load_settings"]
