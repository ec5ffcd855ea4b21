"""core_webservice: who the token is, what the site runs, which functions its service holds."""

from __future__ import annotations

from dataclasses import dataclass

from ..results import parse
from ._base import Area


@dataclass(frozen=True)
class SiteFunction:
    name: str
    version: str


@dataclass(frozen=True)
class SiteInfo:
    sitename: str
    username: str
    userid: int
    siteurl: str
    functions: tuple[SiteFunction, ...]
    firstname: str = ""
    lastname: str = ""
    fullname: str = ""
    lang: str = ""
    release: str = ""
    version: str = ""
    userissiteadmin: bool = False

    @property
    def function_names(self) -> frozenset[str]:
        return frozenset(function.name for function in self.functions)


class CoreWebservice(Area):
    def get_site_info(self) -> SiteInfo:
        """Calls core_webservice_get_site_info (read)."""
        fn = "core_webservice_get_site_info"
        return parse(SiteInfo, self._read(fn), fn)
