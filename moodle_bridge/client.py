"""``MoodleClient``: one site, one token, and the areas of Moodle it can reach.

``client.core_user.get_users_by_field(...)`` calls ``core_user_get_users_by_field``: a grep for a Moodle
function name finds its wrapper. Batching, paging and the bounded fan-out pool live here so every area
uses the same ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import requests

from . import errors
from .areas import (
    CoreCohort,
    CoreCompletion,
    CoreCourse,
    CoreEnrol,
    CoreGrades,
    CoreGroup,
    CoreMessage,
    CoreReportbuilder,
    CoreRole,
    CoreUser,
    CoreWebservice,
    EnrolManual,
    GradereportOverview,
    GradereportUser,
    ModAssign,
    ModFeedback,
    ModForum,
    ModScorm,
)
from .encoding import encode_params
from .preflight import Preflight, preflight
from .retry import Retry

log = logging.getLogger("moodle_bridge")

T = TypeVar("T")
R = TypeVar("R")


class MoodleClient:
    """A typed client for one Moodle site's REST web services.

    ``batch_size`` bounds how many items one write call carries; ``max_workers`` bounds the threads of
    fan-out reads (and of parallel write batches where a caller asks for them).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 60.0,
        retries: int | Retry = 3,
        batch_size: int = 100,
        max_workers: int = 4,
        session_factory: Callable[[], requests.Session] = requests.Session,
    ) -> None:
        from .transport import Transport

        if batch_size < 1 or max_workers < 1:
            raise ValueError("batch_size and max_workers must be at least 1")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retry = retries if isinstance(retries, Retry) else Retry(attempts=retries + 1)
        self.batch_size = batch_size
        self.max_workers = max_workers
        self.transport = Transport(url, token, timeout=timeout, session_factory=session_factory)
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()  # calls that ended in a MoodleError, per function
        self._calls_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.core_webservice = CoreWebservice(self)
        self.core_user = CoreUser(self)
        self.core_cohort = CoreCohort(self)
        self.core_course = CoreCourse(self)
        self.enrol_manual = EnrolManual(self)
        self.core_enrol = CoreEnrol(self)
        self.core_role = CoreRole(self)
        self.core_completion = CoreCompletion(self)
        self.gradereport_user = GradereportUser(self)
        self.gradereport_overview = GradereportOverview(self)
        self.core_grades = CoreGrades(self)
        self.mod_forum = ModForum(self)
        self.mod_assign = ModAssign(self)
        self.mod_feedback = ModFeedback(self)
        self.mod_scorm = ModScorm(self)
        self.core_message = CoreMessage(self)
        self.core_reportbuilder = CoreReportbuilder(self)
        self.core_group = CoreGroup(self)

    def __repr__(self) -> str:
        return f"MoodleClient({self.url!r}, token=***)"

    def __enter__(self) -> MoodleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops the fan-out pool and closes connections; the client can still be used after."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
        self.transport.close()

    def call(self, wsfunction: str, params: Mapping[str, Any] | None = None, *,
             write: bool) -> Any:
        """Calls ``wsfunction``; repeats transient failures of reads only, with backoff."""
        pairs = encode_params(params or {})
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            with self._calls_lock:
                self.calls[wsfunction] += 1
            try:
                result = self.transport.post(wsfunction, pairs)
            except errors.MoodleError as exc:
                with self._calls_lock:
                    self.errors[wsfunction] += 1
                if not isinstance(exc, errors.TransientError) or not self.retry.should_retry(
                        attempt, write=write):
                    raise
                wait = self.retry.delay(attempt)
                log.warning("%s failed (%s); try %d in %.2f s", wsfunction, exc.message,
                            attempt + 1, wait)
                time.sleep(wait)
                continue
            log.debug("%s answered in %.1f ms", wsfunction, (time.perf_counter() - started) * 1e3)
            return result

    def batches(self, items: Sequence[T], size: int | None = None) -> Iterator[Sequence[T]]:
        """Cuts ``items`` into consecutive slices of ``batch_size``."""
        step = size or self.batch_size
        for start in range(0, len(items), step):
            yield items[start:start + step]

    def fan_out(self, func: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Runs ``func`` over ``items`` on the bounded pool; results keep the items' order.

        The first error is raised after every started call has finished, so no call is left running.
        Called from one of the pool's own threads (a fan-out inside a fan-out) it runs in that thread:
        waiting there for the busy pool would wait forever.
        """
        work = list(items)
        if len(work) <= 1 or self.max_workers == 1 or getattr(_in_pool, "client", None) is self:
            return [func(item) for item in work]
        futures = [self._executor().submit(func, item) for item in work]
        results: list[R] = []
        failure: BaseException | None = None
        for future in futures:
            try:
                results.append(future.result())
            except BaseException as exc:  # noqa: BLE001 - re-raised below once all calls ended
                failure = failure or exc
        if failure is not None:
            raise failure
        return results

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="moodle",
                                                initializer=_mark_pool_thread, initargs=(self,))
            return self._pool

    def preflight(self, required_functions: Iterable[str]) -> Preflight:
        """Reads the site info and reports the release, the user and the missing functions."""
        return preflight(self, required_functions)

    def site_time(self) -> datetime | None:
        """Moodle's clock now (naive UTC, to the second), as the site's web server dated its last answer
        (the HTTP ``Date`` header); None before any answer, or where the server sends no date. Times Moodle
        writes (a completion, an access) are on this clock, which may differ from ours."""
        return self.transport.site_time()

    def call_count(self) -> int:
        """How many HTTP calls this client made (every try counts)."""
        with self._calls_lock:
            return sum(self.calls.values())


_in_pool = threading.local()


def _mark_pool_thread(client: MoodleClient) -> None:
    _in_pool.client = client
