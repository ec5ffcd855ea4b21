"""The one place the service builds its Moodle client from settings.

The client it builds adds the calls it made, per function, to the database's sums
(``services.platform.moodle_calls``) when it closes and every half minute while in use, so the metrics
count every process's calls. It also tells the log redaction its token, which may come from the console
rather than the environment.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from moodle_bridge import MoodleClient

from .config import ConfigError, Settings
from .logs import Redact
from .services.platform import moodle_calls


class CountedClient(MoodleClient):
    """A ``MoodleClient`` whose call counts reach the database's sums."""

    def __init__(self, database_url: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.database_url = database_url
        self._recorded: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
        self._recording = threading.Lock()
        self._last_recorded = time.monotonic()

    def call(self, wsfunction: str, params: Mapping[str, Any] | None = None, *, write: bool) -> Any:
        try:
            return super().call(wsfunction, params, write=write)
        finally:
            if time.monotonic() - self._last_recorded > moodle_calls.FLUSH_EVERY:
                self.record_calls()

    def close(self) -> None:
        super().close()
        self.record_calls()

    def record_calls(self) -> None:
        """Adds what was counted since the last time to the database's sums (one thread at a time;
        others carry on rather than wait)."""
        if not self._recording.acquire(blocking=False):
            return
        try:
            with self._calls_lock:
                calls, errors = Counter(self.calls), Counter(self.errors)
            done_calls, done_errors = self._recorded
            new_calls, new_errors = calls - done_calls, errors - done_errors
            self._last_recorded = time.monotonic()
            if moodle_calls.add(self.database_url, new_calls, new_errors):
                self._recorded = (calls, errors)
        finally:
            self._recording.release()


def client_from_settings(settings: Settings, *, timeout: float | None = None,
                         retries: int | None = None) -> MoodleClient:
    if not settings.moodle_url:
        raise ConfigError("no Moodle URL: set CADRE_MOODLE_URL or moodle_url in the config file, "
                          "or pass --moodle-url")
    if not settings.moodle_token:
        raise ConfigError("no Moodle token: set CADRE_MOODLE_TOKEN or moodle_token in the config "
                          "file, or pass --token")
    Redact.add_secrets([settings.moodle_token])
    extra: dict[str, Any] = {} if retries is None else {"retries": retries}
    return CountedClient(settings.database_url, settings.moodle_url, settings.moodle_token,
                         timeout=settings.moodle_timeout if timeout is None else timeout,
                         batch_size=settings.moodle_batch_size, max_workers=settings.moodle_max_workers,
                         **extra)
