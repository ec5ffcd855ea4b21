"""Learning archives (学习档案, every year of a cadre) and registration forms (在线学习情况登记表, one
cadre's year) as PDFs, one of each per cadre of a year, with a ZIP of them all.

Both are derived from the stored records, so a batch can always be made again; each file's values are
noted in a manifest beside the files (``<year>/archives/manifest.json``), so a batch run again (after a
crash, or the next day) renders only what changed or is missing. A batch holds the lock
``archives:<year>``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ...config import Settings
from ...db import session_scope
from ...models import Cadre, LearningRecordRow, YearTier
from ..platform.locks import job_lock
from .document_batches import (
    BatchResult,
    Progress,
    documents_root,
    fail_batch,
    finish_batch,
    note_progress,
    safe_name,
    start_batch,
    write_atomically,
    write_zip,
)
from .document_values import DocumentError, archive_values, local_today, plan_of, registration_values

KINDS = ("archive", "registration")
FOLDERS = {"archive": "archives", "registration": "registration"}
ZIP_FOLDERS = {"archive": "学习档案", "registration": "在线学习情况登记表"}
SAVE_MANIFEST_EVERY = 20
POOL_FROM = 8  # documents in a batch from which rendering uses a pool of processes


class ArchiveError(Exception):
    """A batch of archives cannot run; the message says why and what to do."""


def values_digest(values: dict[str, Any]) -> str:
    text = json.dumps(values, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render_document(kind: str, values: dict[str, Any], templates_dir: str = "") -> bytes:
    """One document as PDF bytes (a pool's workers call this; arguments are plain, so they pickle)."""
    from .render import render_pdf

    return render_pdf(kind, values, templates_dir=Path(templates_dir) if templates_dir else None)


def _templates(settings: Settings) -> str:
    return settings.documents_templates


def archive_pdf(settings: Settings, employee_no: str, *, today: dt.date | None = None) -> bytes:
    """A cadre's learning archive across all years, as PDF bytes."""
    with session_scope(settings.database_url) as session:
        values = archive_values(session, employee_no, today=today)
    return render_document("archive", values, _templates(settings))


def registration_pdf(settings: Settings, employee_no: str, year: int, *,
                     today: dt.date | None = None) -> bytes:
    """A cadre's registration form of ``year``, as PDF bytes."""
    with session_scope(settings.database_url) as session:
        values = registration_values(session, employee_no, year, today=today)
    return render_document("registration", values, _templates(settings))


@contextmanager
def _renderer(settings: Settings, jobs: int) -> Iterator[Executor | None]:
    """A pool of rendering processes for a batch large enough to gain from one; None: render here (also
    inside a Celery prefork worker, whose daemonic processes may not start processes of their own)."""
    workers = settings.documents_workers or multiprocessing.cpu_count()
    if jobs < POOL_FROM or workers < 2 or multiprocessing.current_process().daemon:
        yield None
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def _manifest(path: Path) -> dict[str, dict[str, str]]:
    try:
        loaded = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def build_year(settings: Settings, year: int, *, tier: str | None = None, actor: str,
               today: dt.date | None = None, progress: Progress | None = None) -> BatchResult:
    """Every cadre of ``year`` (or of one tier): an archive and a registration form each,
    and the ZIP of them. Unchanged documents whose file is there are not rendered again."""
    started = time.perf_counter()
    root = documents_root(settings)
    with job_lock(settings.database_url, f"archives:{year}"):
        with session_scope(settings.database_url) as session:
            plan = plan_of(session, year)
            if plan is None:
                raise ArchiveError(f"no plan for {year} was applied: run `cadre plan apply` and "
                                   "`cadre harvest` first")
            tiers = dict(session.execute(select(YearTier.key, YearTier.name)
                                         .where(YearTier.year == year)).all())
            if tier is not None and tier not in tiers:
                raise ArchiveError(f"the {year} plan has no tier {tier!r}; its tiers: "
                                   f"{', '.join(tiers) or 'none'}")
            query = (select(Cadre.employee_no, Cadre.name)
                     .join(LearningRecordRow, LearningRecordRow.employee_no == Cadre.employee_no)
                     .where(LearningRecordRow.year == year).order_by(Cadre.employee_no))
            if tier is not None:
                query = query.where(LearningRecordRow.tier_key == tier)
            cadres = [(no, name) for no, name in session.execute(query)]
        batch_id, resumed = start_batch(settings, kind="archives", year=year, tier=tier, lang="zh",
                                        actor=actor)
        result = BatchResult(batch_id, "archives", year, tier, "zh", resumed, total=2 * len(cadres))
        try:
            _build(settings, year, cadres, result, today or local_today(plan), progress)
            _zip(root, year, tier, cadres, result, progress)
        except BaseException as exc:
            fail_batch(settings, batch_id, exc, time.perf_counter() - started)
            raise
        result.seconds = time.perf_counter() - started
        finish_batch(settings, result, root)
    return result


def _path(year: int, kind: str, employee_no: str) -> str:
    return f"{year}/{FOLDERS[kind]}/{safe_name(employee_no)}.pdf"


def _build(settings: Settings, year: int, cadres: list[tuple[str, str]], result: BatchResult, today: dt.date,
           progress: Progress | None) -> None:
    root = documents_root(settings)
    manifest_path = root / str(year) / "archives" / "manifest.json"
    manifest = _manifest(manifest_path)
    jobs: list[tuple[str, str, str, dict[str, Any], str]] = []  # (cadre, kind, path, values, digest)
    with session_scope(settings.database_url) as session:
        for employee_no, _name in cadres:
            try:
                both = {"archive": archive_values(session, employee_no, today=today),
                        "registration": registration_values(session, employee_no, year, today=today)}
            except DocumentError as exc:
                raise ArchiveError(str(exc)) from exc
            for kind, values in both.items():
                path = _path(year, kind, employee_no)
                digest = values_digest(values)
                if manifest.get(employee_no, {}).get(kind) == digest and (root / path).is_file():
                    continue
                jobs.append((employee_no, kind, path, values, digest))
    result.counts.update(rendered=len(jobs), unchanged=result.total - len(jobs))
    done = result.total - len(jobs)
    if progress is not None:
        progress("documents", done, result.total)
    templates = _templates(settings)
    from .fonts import MissingGlyphError  # the engine loads only where PDFs are made
    from .render import TemplateError

    with _renderer(settings, len(jobs)) as pool:
        if pool is None:
            rendered: Iterator[bytes] = (render_document(kind, values, templates)
                                         for _no, kind, _path, values, _digest in jobs)
        else:
            rendered = pool.map(render_document, [job[1] for job in jobs], [job[3] for job in jobs],
                                [templates] * len(jobs))
        written = 0
        try:
            for (employee_no, kind, path, _values, digest), pdf in zip(jobs, rendered, strict=True):
                write_atomically(root / path, pdf)
                manifest.setdefault(employee_no, {})[kind] = digest
                done += 1
                written += 1
                if done % SAVE_MANIFEST_EVERY == 0:
                    _save(manifest_path, manifest)
                    with session_scope(settings.database_url) as session:
                        note_progress(session, result.batch_id, done, result.total)
                if progress is not None:
                    progress("documents", done, result.total)
        except (TemplateError, MissingGlyphError) as exc:
            employee_no, kind = jobs[written][0], jobs[written][1]
            raise ArchiveError(f"the {kind} of {employee_no} cannot be made: {exc}\nThe documents written "
                               "before it are kept; correct it and run the batch again") from exc
        finally:
            _save(manifest_path, manifest)


def _save(path: Path, manifest: dict[str, dict[str, str]]) -> None:
    write_atomically(path, json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=0).encode("utf-8"))


def _zip(root: Path, year: int, tier: str | None, cadres: list[tuple[str, str]], result: BatchResult,
         progress: Progress | None) -> None:
    entries = [(f"{ZIP_FOLDERS[kind]}/{safe_name(no)}-{safe_name(name)}.pdf", root / _path(year, kind, no))
               for no, name in cadres for kind in KINDS]
    result.files = {no: root / _path(year, "archive", no) for no, _name in cadres}
    scope = f"-{safe_name(tier)}" if tier else ""
    target = root / str(year) / f"archives-{year}{scope}.zip"
    if progress is not None:
        progress("zip", 0, len(entries))
    write_zip(target, entries)
    result.zip_path = target
    if progress is not None:
        progress("zip", len(entries), len(entries))
