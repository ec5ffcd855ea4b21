"""Where the fake's web-service functions and site actions are declared.

A function handler takes the call (who calls, on which site) and the validated parameters and returns
what Moodle's PHP would return before ``clean_returnvalue``. A site action is something a person or cron
does on a real site (a learner completes an activity, a teacher grades); tests reach it through
``FakeSite.site_action`` or ``POST /_fake/site_action``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .site import Call, FakeSite

Handler = Callable[["Call", dict[str, Any]], Any]
Action = Callable[["FakeSite", dict[str, Any]], Any]


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    handler: Handler
    items: str | None  # the list parameter whose length is the call's item count (for latency)


FUNCTIONS: dict[str, FunctionSpec] = {}
ACTIONS: dict[str, Action] = {}


def function(name: str, *, items: str | None = None) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        FUNCTIONS[name] = FunctionSpec(name, handler, items)
        return handler
    return register


def site_action(name: str) -> Callable[[Action], Action]:
    def register(action: Action) -> Action:
        ACTIONS[name] = action
        return action
    return register
