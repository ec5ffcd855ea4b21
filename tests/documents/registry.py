"""What the registry tests share: settings for a seeded year, and reading back what was issued."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy import func, select

from plugin_service.config import Settings
from plugin_service.db import session_scope
from plugin_service.models import AuditLog, Certificate

PUBLIC_BASE = "https://cadre.college.example"


def settings_for(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": database_url, "documents_dir": str(tmp_path / "documents"),
                              "secret_key": "test-secret", "public_base_url": PUBLIC_BASE,
                              "ratelimit_storage": "memory://", "documents_workers": 1}
    values.update(overrides)
    return Settings(**values)


def pdf_text(data: bytes) -> str:
    """Every page's text, whitespace removed (layout puts spaces and breaks where it likes)."""
    reader = PdfReader(io.BytesIO(data))
    return "".join("".join((page.extract_text() or "").split()) for page in reader.pages)


def pdf_pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def hours_text(value: float) -> str:
    value = round(value, 2)
    return str(int(value)) if value.is_integer() else str(value)


def certificates(database_url: str, year: int = 2026) -> list[Certificate]:
    with session_scope(database_url) as session:
        rows = list(session.scalars(select(Certificate).where(Certificate.year == year)
                                    .order_by(Certificate.id)))
        for row in rows:
            session.expunge(row)
        return rows


def audit_count(database_url: str, action: str) -> int:
    with session_scope(database_url) as session:
        return session.scalar(select(func.count()).select_from(AuditLog)
                              .where(AuditLog.action == action)) or 0


def audits(database_url: str, action: str) -> list[dict[str, Any]]:
    with session_scope(database_url) as session:
        return [{"actor": a.actor, "target": a.target, **a.detail}
                for a in session.scalars(select(AuditLog).where(AuditLog.action == action)
                                         .order_by(AuditLog.id))]


def zip_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
