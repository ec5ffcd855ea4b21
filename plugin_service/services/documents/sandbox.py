"""What a document template can reach: its own folder (and the shared ``_base``), plain values, nothing else.

Template folders are meant to be copied and edited by an organisation, so a template is treated as untrusted:
Jinja runs sandboxed (no ``__class__`` walks, no unsafe calls), autoescaped and strict about undefined
names; ``{% include %}`` only finds files inside the folders; and every URL the layout engine asks for
(``<img>``, ``<link>``, ``@import``, ``url()``) is served only from those folders or ``data:``. A refused
URL stops the render: a certificate printed without its seal, silently, is worse than none.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound
from jinja2.environment import Environment
from jinja2.sandbox import SandboxedEnvironment
from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]

PLAIN_SCALARS = (str, int, float, bool, type(None), dt.date)


def plain(value: Any, where: str = "values") -> Any:
    """A copy of ``value`` made of plain values only (dicts, lists, str, numbers, dates, None).

    Anything else (an ORM object, a client, a callable) is refused with a TypeError naming where it sits:
    a template must not be able to reach the application through a value.
    """
    if isinstance(value, PLAIN_SCALARS):
        return value
    if isinstance(value, Mapping):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys must be strings, got {type(key).__name__} {key!r}")
            copied[key] = plain(item, f"{where}[{key!r}]")
        return copied
    if isinstance(value, list | tuple):
        return [plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    raise TypeError(f"{where}: {type(value).__module__}.{type(value).__qualname__} is not a plain value "
                    "(documents take str, int, float, bool, None, date/datetime and lists and dicts of them)")


class RefusedTemplate(TemplateNotFound):
    """An include/extends that points outside the template folders."""


class FolderLoader(BaseLoader):
    """Finds templates in the given folders only; ``..``, absolute names and symlinks leaving are refused."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = tuple(folder.resolve() for folder in folders)

    def get_source(self, environment: Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        pieces = template.replace("\\", "/").split("/")
        if template.startswith("/") or any(piece in ("..", "") for piece in pieces) or ":" in template:
            raise RefusedTemplate(template, f"{template!r}: only files inside the template folder can be "
                                            "included (no '..', no absolute paths)")
        for folder in self.folders:
            path = folder.joinpath(*pieces).resolve()
            if not path.is_relative_to(folder):
                raise RefusedTemplate(template, f"{template!r} leads outside the template folder "
                                                f"(to {path})")
            if path.is_file():
                mtime = path.stat().st_mtime_ns
                source = path.read_text("utf-8")
                return source, str(path), lambda p=path, m=mtime: p.exists() and p.stat().st_mtime_ns == m
        raise TemplateNotFound(template)


def environment(folders: Sequence[Path], filters: Mapping[str, Callable[..., Any]],
                functions: Mapping[str, Callable[..., Any]]) -> SandboxedEnvironment:
    env = SandboxedEnvironment(loader=FolderLoader(folders), autoescape=True, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True, auto_reload=True)
    env.filters.update(filters)
    env.globals.update(functions)
    return env


class RefusedURL(Exception):
    """A URL the render may not load; the message names the URL and why."""

    def __init__(self, url: str, reason: str) -> None:
        shown = url if len(url) <= 120 else url[:117] + "..."
        super().__init__(f"{shown}: {reason}")
        self.url = url
        self.reason = reason


class FolderFetcher(URLFetcher):
    """Serves ``data:`` URLs and files inside ``folders`` (plus the exact ``files``); refuses the rest.

    ``fail_on_errors`` makes WeasyPrint stop the render on a refusal instead of leaving the image out.
    """

    def __init__(self, folders: Sequence[Path], files: frozenset[Path] = frozenset()) -> None:
        super().__init__(fail_on_errors=True, allowed_protocols=("file", "data"))
        self.folders = tuple(folder.resolve() for folder in folders)
        self.files = files

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise RefusedURL(url, "only files inside the template folder and data: URLs may be loaded")
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise RefusedURL(url, "only files on this machine, inside the template folder, may be loaded")
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if path not in self.files and not any(path.is_relative_to(folder) for folder in self.folders):
            raise RefusedURL(url, "the file is outside the template folder")
        if not path.is_file():
            raise RefusedURL(url, "no such file in the template folder")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})
