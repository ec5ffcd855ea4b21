"""The fake Moodle's state and its request dispatch: tokens, services, capabilities, the database.

``FakeSite.handle`` is what ``webservice/rest/server.php`` does: find the token, check the function is in
its service, validate the parameters against the site's declared signature, run the function, clean the
answer against the declared returns, and turn exceptions into Moodle's error body.

A site is Moodle 5.1 unless made with ``release="4.5"`` (``releases.py`` says what then differs).
"""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import external
from .db import Database, Row
from .registry import ACTIONS, FUNCTIONS
from .releases import DEFAULT, RELEASES, as_answered_by, branch_of
from .wserror import WSError, invalid_parameter, moodle_exception, no_permissions

RELEASE, VERSION = RELEASES[DEFAULT]
ALL = frozenset({"*"})


class Clock:
    """Seconds since the epoch; tests move it with ``set`` or ``advance``."""

    def __init__(self, start: float | None = None) -> None:
        self._offset = 0.0 if start is None else start - time.time()
        self._frozen: float | None = None

    def now(self) -> int:
        return int(self._frozen if self._frozen is not None else time.time() + self._offset)

    def set(self, timestamp: float, *, frozen: bool = False) -> None:
        self._frozen = timestamp if frozen else None
        self._offset = timestamp - time.time()

    def advance(self, seconds: float) -> None:
        if self._frozen is not None:
            self._frozen += seconds
        else:
            self._offset += seconds

    @contextmanager
    def at(self, timestamp: float) -> Iterator[None]:
        """Holds the clock at ``timestamp`` while something that happened then is replayed, then puts
        it back as it was (still running, or still frozen where it stood)."""
        saved = (self._offset, self._frozen)
        self._frozen = float(timestamp)
        try:
            yield
        finally:
            self._offset, self._frozen = saved


class _CollectorPause:
    """Holds off Python's automatic garbage collection while the site answers a call or runs an action.

    A large answer (every submission of 20 assignments, 10,000 enrolled users) allocates around a
    million containers, and each full collection they trigger walks every table and index of a site
    with 200,000 enrolments: collecting after the call instead makes such calls several times faster.
    Nested and concurrent calls share one pause; collection resumes when the last one ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._resume = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._resume:
                    gc.enable()


collector_paused = _CollectorPause()


@dataclass
class Call:
    """One request: the site, the calling user, and the function called."""

    site: FakeSite
    userid: int
    function: str
    token: str

    @property
    def user(self) -> Row:
        user = self.site.db["user"].get(self.userid)
        assert user is not None
        return user

    def has_capability(self, capability: str) -> bool:
        return self.site.has_capability(self.userid, capability)

    def require_capability(self, capability: str) -> None:
        if not self.has_capability(capability):
            raise no_permissions(capability)


@dataclass
class Service:
    id: int
    name: str
    shortname: str
    functions: set[str]
    enabled: bool = True


@dataclass
class FakeSite:
    """A Moodle site held in memory.

    ``release`` is Moodle's release string, or a short name of ``releases.RELEASES`` ("4.5", "5.1"), which
    sets the release and version that site reported.
    """

    sitename: str = "Fake Moodle"
    siteurl: str = "http://127.0.0.1"
    release: str = RELEASE
    version: str = VERSION
    db: Database = field(default_factory=Database)
    clock: Clock = field(default_factory=Clock)
    config: dict[str, Any] = field(default_factory=lambda: {"debug": 0})
    services: dict[int, Service] = field(default_factory=dict)
    tokens: dict[str, tuple[int, int]] = field(default_factory=dict)
    capabilities: dict[int, frozenset[str]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    lock: threading.RLock = field(default_factory=threading.RLock)
    ext: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.release in RELEASES:
            self.release, self.version = RELEASES[self.release]

    @property
    def branch(self) -> tuple[int, int]:
        """``(major, minor)`` of the release, for the answers 4.5 and 5.1 give differently."""
        return branch_of(self.release)

    def now(self) -> int:
        return self.clock.now()

    def error_body(self, error: WSError) -> dict[str, Any]:
        """The body this release answers for ``error``, with ``debuginfo`` while the site debugs."""
        return error.body(self.debug, branch=self.branch)

    @property
    def debug(self) -> bool:
        return int(self.config.get("debug") or 0) > 0

    def add_service(self, name: str, functions: set[str] | None = None, *,
                    shortname: str = "") -> Service:
        service = Service(len(self.services) + 1, name, shortname,
                          set(FUNCTIONS) if functions is None else set(functions))
        self.services[service.id] = service
        return service

    def add_token(self, token: str, userid: int, service: Service) -> None:
        self.tokens[token] = (userid, service.id)

    def grant(self, userid: int, capabilities: frozenset[str] | set[str]) -> None:
        self.capabilities[userid] = frozenset(capabilities)

    def has_capability(self, userid: int, capability: str) -> bool:
        """Whether the user holds ``capability``: every one with ``*``, except those ``-`` prohibits."""
        held = self.capabilities.get(userid, frozenset())
        if f"-{capability}" in held:
            return False
        return held is ALL or "*" in held or capability in held

    def handle(self, token: str | None, wsfunction: str | None, raw: dict[str, Any], *,
               refuse: WSError | None = None) -> Any:
        """Runs one web-service call; returns the cleaned answer or raises ``WSError``.

        ``refuse`` is an error the call meets once it has passed Moodle's checks, before it writes (a
        deadlock with another call in flight): the call counts, nothing runs.
        """
        if not token or token not in self.tokens:
            raise moodle_exception("invalidtoken", "Invalid token - token not found")
        userid, service_id = self.tokens[token]
        if not wsfunction:
            raise invalid_parameter("Missing function name")
        description = external.signatures().get(wsfunction)
        spec = FUNCTIONS.get(wsfunction)
        if description is None or spec is None:
            sql = f"SELECT * FROM {{external_functions}} WHERE name = ? [array (\n  0 => '{wsfunction}',\n)]"
            if self.branch < (5, 0):
                raise WSError("dml_missing_record_exception", "invalidrecord",
                              "Can't find data record in database table external_functions.", sql)
            raise WSError("dml_missing_record_exception", "invalidrecordunknown",
                          "Can't find data record in database.", sql)
        service = self.services[service_id]
        if wsfunction not in service.functions or not service.enabled:
            raise WSError("webservice_access_exception", "accessexception",
                          "Access control exception",
                          f"Access to the function {wsfunction}() is not allowed.")
        params = external.validate_parameters(description["parameters"], raw)
        with collector_paused():
            with self.lock:
                self.calls[wsfunction] += 1
                if spec.items and isinstance(params.get(spec.items), list):
                    self.items[wsfunction] += len(params[spec.items])
                if refuse is not None:
                    raise refuse
                result = spec.handler(Call(self, userid, wsfunction, token), params)
            return as_answered_by(self.branch, wsfunction, external.returns_cleaner(wsfunction)(result))

    def invoke(self, wsfunction: str, params: dict[str, Any], *, userid: int = 2) -> Any:
        """Runs a function as ``userid`` without HTTP or a token, as seeding and site actions do."""
        description = external.signatures()[wsfunction]
        validated = external.validate_parameters(description["parameters"], params)
        with collector_paused():
            with self.lock:
                result = FUNCTIONS[wsfunction].handler(Call(self, userid, wsfunction, ""), validated)
            return as_answered_by(self.branch, wsfunction, external.returns_cleaner(wsfunction)(result))

    def site_action(self, name: str, args: dict[str, Any] | None = None) -> Any:
        """Does on the site what a person or cron would do (see ``registry.site_action``)."""
        action = ACTIONS.get(name)
        if action is None:
            raise KeyError(f"unknown site action {name!r}; known: {', '.join(sorted(ACTIONS))}")
        with collector_paused(), self.lock:
            return action(self, dict(args or {}))

    def item_count(self, wsfunction: str, raw: dict[str, Any]) -> int:
        """How many items a request carries, for the per-item part of simulated latency."""
        spec = FUNCTIONS.get(wsfunction or "")
        if spec is None or not spec.items:
            return 0
        value = raw.get(spec.items)
        return len(value) if isinstance(value, (dict, list)) else 0
