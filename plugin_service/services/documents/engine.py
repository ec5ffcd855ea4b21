"""The layout engine, kept warm per process: WeasyPrint with the warm fonts registered once.

Creating a font configuration, registering fonts and parsing the font stylesheet cost more than laying out a
certificate, so one ``Engine`` per process keeps them; so are the sandboxed Jinja environments, one per
template folder. Rendering is serialised by a lock: Pango's font map is not shared between threads.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Mapping
from functools import cache
from hashlib import md5
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from . import fonts
from .filters import FILTERS
from .qrcode import qr_png_data_uri
from .sandbox import FolderFetcher, RefusedTemplate, RefusedURL, environment
from .templates import Folder, TemplateError

BASE_CSS = "base.css"


class Engine:
    def __init__(self) -> None:
        from weasyprint import CSS  # type: ignore[import-untyped]
        from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

        self.lock = threading.Lock()
        self.font_files = fonts.warm_files()
        self.font_config = FontConfiguration()
        self.font_css = CSS(string=fonts.font_faces_css(), font_config=self.font_config,
                            url_fetcher=FolderFetcher((), self.font_files))
        self._environments: dict[tuple[Path, ...], SandboxedEnvironment] = {}
        self._parsed: dict[Path, tuple[int, Any]] = {}
        self.images = FileImages()

    def stylesheets(self, found: Folder) -> list[Any]:
        """The font faces, ``_base/base.css`` and the folder's own CSS, each parsed once per process.

        They are handed to WeasyPrint as user stylesheets, in that order: later ones override earlier
        ones, and a ``<style>`` inside a template page overrides them all.
        """
        sheets = [self.font_css]
        if found.base is not None and (found.base / BASE_CSS).is_file():
            sheets.append(self._css(found.base / BASE_CSS, (found.base,)))
        sheets.extend(self._css(found.path / name, found.roots) for name in found.stylesheets)
        return sheets

    def _css(self, path: Path, roots: tuple[Path, ...]) -> Any:
        from weasyprint import CSS

        stamp = path.stat().st_mtime_ns
        cached = self._parsed.get(path)
        if cached is None or cached[0] != stamp:
            parsed = CSS(filename=str(path), font_config=self.font_config,
                         url_fetcher=FolderFetcher(roots, self.font_files))
            cached = (stamp, parsed)
            self._parsed[path] = cached
        return cached[1]

    def environment(self, found: Folder) -> SandboxedEnvironment:
        env = self._environments.get(found.roots)
        if env is None:
            env = environment(found.roots, FILTERS, {"qr_code": qr_png_data_uri, "asset": _assets(found)})
            self._environments[found.roots] = env
        return env

    def html(self, found: Folder, lang: str, values: Mapping[str, Any]) -> str:
        name = found.html_file(lang)
        try:
            template = self.environment(found).get_template(name)
            return template.render({**values, "values": values, "lang": lang, "kind": found.kind})
        except RefusedTemplate as exc:
            raise TemplateError(f"{_where(found, name, exc)}: include refused: {exc.message}") from None
        except SecurityError as exc:
            raise TemplateError(f"{_where(found, name, exc)}: the sandbox refused: {exc}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{found.kind} ({exc.filename or name} line {exc.lineno}): "
                                f"template syntax: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"{_where(found, name, exc)}: no template {exc.name!r} in "
                                f"{' or '.join(str(root) for root in found.roots)}") from None
        except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise TemplateError(f"{_where(found, name, exc)}: {type(exc).__name__}: {exc}") from None

    def pdf(self, found: Folder, lang: str, html: str) -> bytes:
        from weasyprint import HTML
        from weasyprint.urls import FatalURLFetchingError  # type: ignore[import-untyped]

        where = f"{found.kind} ({found.path}/{found.html_file(lang)})"
        fetcher = FolderFetcher(found.roots, self.font_files)
        errors = _Errors()
        with self.lock, errors:
            try:
                document = HTML(string=html, base_url=found.path.as_uri() + "/", url_fetcher=fetcher).render(
                    font_config=self.font_config, stylesheets=self.stylesheets(found), cache=self.images)
                if found.pages is not None and len(document.pages) > found.pages:
                    raise TemplateError(f"{where}: {len(document.pages)} pages, but meta.yaml allows "
                                        f"{found.pages}; the layout must fit the values")
                pdf = bytes(document.write_pdf())
            except FatalURLFetchingError as exc:
                cause = exc.__cause__
                reason = str(cause) if isinstance(cause, RefusedURL) else f"{exc} ({cause})"
                raise TemplateError(f"{where}: refused to load {reason}") from None
            finally:
                self.images.prune()
        if errors.messages:
            raise TemplateError(f"{where}: {'; '.join(errors.messages)}")
        return pdf


class _Errors(logging.Handler):
    """Collects what WeasyPrint logs as an error (an image it could not read, ...), which it then skips.

    A document missing a piece must not be printed, so such an error fails the render.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> _Errors:
        logging.getLogger("weasyprint").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("weasyprint").removeHandler(self)


class FileImages(dict[str, Any]):
    """WeasyPrint's image cache, keeping between documents only raster images read from files.

    An organisation's seal is usually a large PNG: decoding and compressing it for every certificate would
    cost more than the rest of the page. Each certificate's QR code is a ``data:`` URI of its own, and
    SVG images hold the layout of the document that loaded them: both are dropped after each document.
    """

    def prune(self) -> None:
        from weasyprint.images import RasterImage  # type: ignore[import-untyped]

        kept = {key for key, value in self.items()
                if isinstance(key, str) and key.startswith("file:") and isinstance(value, RasterImage)}
        ids = {md5(key.encode(), usedforsecurity=False).hexdigest() for key in kept}
        for key in list(self):
            if key not in kept and str(key).split("-", 1)[0] not in ids:
                del self[key]


def _assets(found: Folder) -> Any:
    def asset(name: str) -> str | None:
        """The file name if the template folder has it (an optional seal or logo), else None."""
        if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"asset({name!r}): a plain file name inside the template folder")
        return name if (found.path / name).is_file() else None

    return asset


def _where(found: Folder, name: str, exc: BaseException) -> str:
    """'certificate (…/index.html line 12)': the innermost template frame of the exception."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if any(frame.filename.startswith(str(root)) for root in found.roots)]
    if frames:
        return f"{found.kind} ({frames[-1].filename} line {frames[-1].lineno})"
    return f"{found.kind} ({found.path}/{name})"


@cache
def engine() -> Engine:
    return Engine()
