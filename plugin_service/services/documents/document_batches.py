"""Batches of documents: the batch's row (progress, attempts, where its ZIP is), files written so that a
crash never leaves half a file, and the ZIP handed to the organisation department.

Every file is written to a temporary name beside its place and renamed over it: a reader (or the next
run) sees the old file or the new one, never a torn one. A batch that was killed is continued by the
next run with the same parameters; its row counts the attempts.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...config import Settings
from ...db import session_scope
from ...logs import bind
from ...models import AuditLog, DocumentBatch, utcnow

#: ``progress(step, done, total)``, as harvests report it.
Progress = Callable[[str, int, int], None]


@dataclass
class BatchResult:
    batch_id: int
    kind: str
    year: int
    tier: str | None
    lang: str
    resumed: bool
    total: int = 0  # documents in the batch
    counts: dict[str, int] = field(default_factory=dict)  # what happened to them, by what
    zip_path: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)  # employee number -> the document's file
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what an admin should know (cadres left out, why)


def documents_root(settings: Settings) -> Path:
    return Path(settings.documents_dir)


def write_atomically(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` by a rename: ``path`` is whole or untouched, whatever happens."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_zip(path: Path, entries: Iterable[tuple[str, Path]]) -> int:
    """A ZIP of ``(name in the archive, file)`` pairs, written by a rename; returns the entry count.

    PDFs are compressed already, so they are stored as they are (quick, and no larger)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    count = 0
    try:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_STORED) as archive:
            for name, source in entries:
                archive.write(source, name)
                count += 1
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count


def safe_name(text: str) -> str:
    """A part of a file name: no path separators or control characters (names are Chinese: kept)."""
    cleaned = "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in text).strip(". ")
    return cleaned or "_"


def start_batch(settings: Settings, *, kind: str, year: int, tier: str | None, lang: str,
                actor: str) -> tuple[int, bool]:
    """(batch id, resumed): the unfinished batch with these parameters is continued (the caller holds
    the year's lock, so an unfinished one is one that was killed or failed), or a new one starts."""
    with session_scope(settings.database_url) as session:
        unfinished = session.scalar(
            select(DocumentBatch).where(DocumentBatch.kind == kind, DocumentBatch.year == year,
                                        DocumentBatch.lang == lang, DocumentBatch.status != "done",
                                        DocumentBatch.tier_key.is_(None) if tier is None
                                        else DocumentBatch.tier_key == tier)
            .order_by(DocumentBatch.id.desc()).limit(1))
        if unfinished is not None:
            unfinished.attempts += 1
            unfinished.status, unfinished.error, unfinished.actor = "running", None, actor
            bind(run=unfinished.id)
            return unfinished.id, True
        batch = DocumentBatch(kind=kind, year=year, tier_key=tier, lang=lang, actor=actor)
        session.add(batch)
        session.flush()
        bind(run=batch.id)
        return batch.id, False


def note_progress(session: Session, batch_id: int, done: int, total: int) -> None:
    batch = session.get(DocumentBatch, batch_id)
    if batch is not None:
        batch.done, batch.total = done, total


def finish_batch(settings: Settings, result: BatchResult, root: Path) -> None:
    with session_scope(settings.database_url) as session:
        batch = session.get(DocumentBatch, result.batch_id)
        assert batch is not None
        batch.status, batch.finished_at = "done", utcnow()
        batch.total, batch.done = result.total, result.total
        batch.seconds = round(batch.seconds + result.seconds, 3)
        batch.zip_path = str(result.zip_path.relative_to(root)) if result.zip_path else ""
        batch.summary = {"counts": dict(result.counts), "notes": list(result.notes)}
        session.add(AuditLog(actor=batch.actor, action=f"documents:{result.kind}",
                             target=f"{result.year}" + (f"/{result.tier}" if result.tier else ""),
                             detail={"batch": result.batch_id, "lang": result.lang, "total": result.total,
                                     "counts": dict(result.counts), "zip": batch.zip_path,
                                     "attempts": batch.attempts}))


def fail_batch(settings: Settings, batch_id: int, error: BaseException, seconds: float) -> None:
    """Marks the batch failed with what stopped it; the next run with the same parameters continues it."""
    with session_scope(settings.database_url) as session:
        batch = session.get(DocumentBatch, batch_id)
        if batch is not None:
            batch.status, batch.error = "failed", f"{type(error).__name__}: {error}"[:2000]
            batch.seconds = round(batch.seconds + seconds, 3)


def batch_summary(settings: Settings, batch_id: int) -> dict[str, Any]:
    with session_scope(settings.database_url) as session:
        batch = session.get(DocumentBatch, batch_id)
        if batch is None:
            raise LookupError(f"no document batch {batch_id}")
        return {"id": batch.id, "kind": batch.kind, "year": batch.year, "tier": batch.tier_key,
                "lang": batch.lang, "status": batch.status, "attempts": batch.attempts, "total": batch.total,
                "done": batch.done, "zip": batch.zip_path, "error": batch.error, **batch.summary}


def batch_dict(result: BatchResult) -> dict[str, Any]:
    """A batch's result as JSON values (what the Celery tasks return)."""
    return {"batch_id": result.batch_id, "kind": result.kind, "year": result.year, "tier": result.tier,
            "lang": result.lang, "resumed": result.resumed, "total": result.total,
            "counts": dict(result.counts),
            "zip": str(result.zip_path) if result.zip_path else None, "notes": list(result.notes),
            "seconds": round(result.seconds, 2)}
