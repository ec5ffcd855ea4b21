"""Preflight: can this token do what we need on this site?"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .areas.core_webservice import SiteInfo
    from .client import MoodleClient


@dataclass(frozen=True)
class Preflight:
    """The site's release, the user the token acts as, and what its service lacks."""

    site: SiteInfo
    required: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def release(self) -> str:
        return self.site.release

    @property
    def ok(self) -> bool:
        return not self.missing


def preflight(client: MoodleClient, required_functions: Iterable[str]) -> Preflight:
    site = client.core_webservice.get_site_info()
    required = tuple(dict.fromkeys(required_functions))
    available = site.function_names
    return Preflight(site=site, required=required,
                     missing=tuple(name for name in required if name not in available))
