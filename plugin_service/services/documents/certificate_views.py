"""Reading stored certificates: what an admin sees of one (``cadre certificate show``), and what the
public verification page may show of it (``/verify/<serial>``), which is much less: the status, the name
partly masked, the year and the hours."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...config import Settings
from ...db import session_scope
from ...models import Certificate
from .document_batches import documents_root
from .document_values import plan_of
from .serials import canonical, display


@dataclass(frozen=True)
class CertificateView:
    """A stored certificate as plain values (for ``cadre certificate show`` and the console)."""

    serial: str  # as printed
    year: int
    employee_no: str
    lang: str
    version: int
    status: str
    data: dict[str, Any]
    data_sha256: str
    pdf: Path | None  # where its PDF is (None: not written yet)
    pdf_present: bool
    pdf_sha256: str | None
    issued_at: dt.datetime
    issued_by: str
    override_reason: str | None
    newer_version: int | None  # the version that superseded it
    superseded_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: str | None
    revoked_reason: str | None


@dataclass(frozen=True)
class Verification:
    """What the public page may show of a certificate: nothing that identifies more than the paper."""

    status: str  # valid superseded revoked
    masked_name: str
    year: int
    total_hours: float
    required_hours: float
    elective_hours: float
    issued_on: dt.date
    version: int
    revoked_on: dt.date | None
    newer_exists: bool
    offline_hours: float = 0.0  # of the total, offline study (线下学时)


def find(session: Session, serial_text: str) -> Certificate | None:
    serial = canonical(serial_text)
    return session.scalar(select(Certificate).where(Certificate.serial == serial)) if serial else None


def view_of(session: Session, root: Path, cert: Certificate) -> CertificateView:
    newer = session.get(Certificate, cert.superseded_by) if cert.superseded_by is not None else None
    pdf = root / cert.pdf_path if cert.pdf_path else None
    present = pdf is not None and cert.pdf_size is not None and pdf.is_file() \
        and pdf.stat().st_size == cert.pdf_size
    return CertificateView(display(cert.serial), cert.year, cert.employee_no, cert.lang, cert.version,
                           cert.status, dict(cert.data), cert.data_sha256, pdf if cert.pdf_sha256 else None,
                           present, cert.pdf_sha256, cert.issued_at, cert.issued_by, cert.override_reason,
                           newer.version if newer is not None else None, cert.superseded_at,
                           cert.revoked_at, cert.revoked_by, cert.revoked_reason)


def show(settings: Settings, serial_text: str) -> CertificateView | None:
    with session_scope(settings.database_url) as session:
        cert = find(session, serial_text)
        return view_of(session, documents_root(settings), cert) if cert is not None else None


def mask_name(name: str) -> str:
    """张*伟, 欧**明, 张* (two characters): enough to match the paper, not to identify a stranger."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def verification(session: Session, serial_text: str) -> Verification | None:
    """What verifying a serial shows, or None for a serial that is malformed or was never issued."""
    cert = find(session, serial_text)
    if cert is None:
        return None
    data = cert.data
    revoked_on = None
    if cert.status == "revoked" and cert.revoked_at is not None:
        plan = plan_of(session, cert.year)
        zone = ZoneInfo(plan.moodle.timezone if plan is not None else "Asia/Shanghai")
        revoked_on = cert.revoked_at.replace(tzinfo=dt.UTC).astimezone(zone).date()
    return Verification(cert.status, mask_name(str(data.get("name", ""))), cert.year,
                        float(data.get("total_hours", 0.0)), float(data.get("required_hours", 0.0)),
                        float(data.get("elective_hours", 0.0)), dt.date.fromisoformat(data["issued_on"]),
                        cert.version, revoked_on, cert.status == "superseded",
                        float(data.get("offline_hours", 0.0)))
