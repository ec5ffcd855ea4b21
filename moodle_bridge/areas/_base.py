"""What every area shares: the client it calls through, and Moodle's ``warnings``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..results import parse_list

if TYPE_CHECKING:
    from ..client import MoodleClient


@dataclass(frozen=True)
class MoodleWarning:
    """One entry of a ``warnings`` array: a partial failure the caller must see.

    Cohort functions send only ``warningcode`` and ``message`` (codes "1" unsupported type, "2" does not
    exist, "3" already a member); the others add ``item`` and ``itemid``.
    """

    warningcode: str
    message: str
    item: str | None = None
    itemid: int | None = None


@dataclass(frozen=True)
class WriteResult:
    """The answer of a write that returns nothing but ``warnings`` (or ``null``)."""

    warnings: tuple[MoodleWarning, ...] = ()


def warnings_of(data: Any, wsfunction: str) -> tuple[MoodleWarning, ...]:
    """Reads the ``warnings`` of an answer; ``null`` and answers without them give none."""
    if isinstance(data, dict) and data.get("warnings"):
        return tuple(parse_list(MoodleWarning, data["warnings"], wsfunction, "warnings"))
    return ()


class Area:
    """A group of web-service functions named after one Moodle component."""

    def __init__(self, client: MoodleClient) -> None:
        self._client = client

    def _read(self, wsfunction: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._client.call(wsfunction, params, write=False)

    def _write(self, wsfunction: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._client.call(wsfunction, params, write=True)
