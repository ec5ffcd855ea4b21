"""The one place the service builds its Moodle client from settings."""

from __future__ import annotations

from moodle_bridge import MoodleClient

from .config import ConfigError, Settings


def client_from_settings(settings: Settings) -> MoodleClient:
    if not settings.moodle_url:
        raise ConfigError("no Moodle URL: set CADRE_MOODLE_URL or moodle_url in the config file, "
                          "or pass --moodle-url")
    if not settings.moodle_token:
        raise ConfigError("no Moodle token: set CADRE_MOODLE_TOKEN or moodle_token in the config "
                          "file, or pass --token")
    return MoodleClient(settings.moodle_url, settings.moodle_token,
                        timeout=settings.moodle_timeout, batch_size=settings.moodle_batch_size,
                        max_workers=settings.moodle_max_workers)
