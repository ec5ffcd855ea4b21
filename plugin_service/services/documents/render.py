"""Documents as PDF: the certificate of study hours, the learning archive, the registration form and the
progress bulletin.

``render_pdf`` lays out one document from its template folder (see ``templates/documents``);
``CertificateRenderer`` renders a year's certificates on a pool of warm processes, one per CPU, since a
batch of ten thousand is bound by layout and font embedding, not by the database.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any

from . import fonts
from .engine import engine
from .sandbox import plain
from .templates import Folder, TemplateError, check_values, folder, preview_values, root_folder

KINDS = ("certificate", "archive", "registration", "bulletin")

__all__ = ["KINDS", "CertificateRenderer", "TemplateError", "preview_values", "render_html", "render_pdf"]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


def render_html(kind: str, values: Mapping[str, Any], *, lang: str = "zh",
                templates_dir: Path | None = None) -> str:
    """The HTML that render_pdf lays out (for previews and tests)."""
    return _html(folder(_kind(kind), templates_dir), values, lang)


def _html(found: Folder, values: Mapping[str, Any], lang: str) -> str:
    checked = plain(values)
    check_values(found, checked)
    fonts.check_glyphs(checked)
    return engine().html(found, lang, checked)


def render_pdf(kind: str, values: Mapping[str, Any], *, lang: str = "zh",
               templates_dir: Path | None = None) -> bytes:
    """One document as PDF bytes. ``values`` are plain values only (str, int, float, bool, None, date/
    datetime, lists and dicts of them) — anything else is refused with TypeError."""
    found = folder(_kind(kind), templates_dir)
    return engine().pdf(found, lang, _html(found, values, lang))


# --- batches of certificates -------------------------------------------------------------------------

_worker: tuple[str, Path | None] | None = None


def _start_worker(lang: str, templates_dir: Path | None) -> None:
    """Warms a pool process: fonts registered, template compiled, one preview laid out."""
    global _worker
    _worker = (lang, templates_dir)
    render_pdf("certificate", preview_values("certificate", templates_dir), lang=lang,
               templates_dir=templates_dir)


def _render_chunk(chunk: list[dict[str, Any]]) -> list[bytes]:
    assert _worker is not None, "a pool process renders only after _start_worker"
    lang, templates_dir = _worker
    return [render_pdf("certificate", values, lang=lang, templates_dir=templates_dir) for values in chunk]


class CertificateRenderer:
    """Renders many certificates quickly (the batch of a year: 10,000). Keeps fonts/templates warm.

    ``workers`` processes (default: one per CPU) each keep a warm engine; certificates travel to them in
    small chunks and come back in the order given, with a bounded number in flight so memory stays flat
    however long the batch. With ``workers=1``, or inside a daemonic process (a Celery prefork worker,
    which may not start children), rendering happens in the calling process.
    """

    CHUNK = 8
    IN_FLIGHT_PER_WORKER = 3

    def __init__(self, *, lang: str = "zh", templates_dir: Path | None = None,
                 workers: int | None = None) -> None:
        self.lang = lang
        # resolved once: workers must not read the settings again for every certificate
        self.templates_dir = templates_dir = root_folder(templates_dir)
        folder("certificate", templates_dir).html_file(lang)  # a bad folder or language fails here, at once
        count = workers if workers and workers > 0 else (os.cpu_count() or 1)
        if multiprocessing.current_process().daemon:
            count = 1
        self.workers = count
        self._pool: ProcessPoolExecutor | None = None
        if count > 1:
            fonts.warm_files()  # cut the warm fonts once here rather than racing in every worker
            self._pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker, initargs=(lang, templates_dir))

    def render_many(self, values: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
        """PDF bytes for each certificate's values, in the same order as given."""
        if self._pool is None:
            for item in values:
                yield render_pdf("certificate", item, lang=self.lang, templates_dir=self.templates_dir)
            return
        pool = self._pool
        source = iter(values)
        pending: deque[Future[list[bytes]]] = deque()
        limit = self.workers * self.IN_FLIGHT_PER_WORKER

        def submit() -> bool:
            chunk = [plain(item) for item in islice(source, self.CHUNK)]
            if chunk:
                pending.append(pool.submit(_render_chunk, chunk))
            return bool(chunk)

        more = True
        while more and len(pending) < limit:
            more = submit()
        while pending:
            done = pending.popleft().result()
            if more:
                more = submit()
            yield from done

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> CertificateRenderer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
