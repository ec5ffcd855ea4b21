"""Certificates of study hours (学时证明书) as records: who may have one, issuing, re-issuing when the
facts change, revoking, and what verifying a serial shows.

A certificate is issued for a cadre whose stored learning record meets what the plan's
``certificate.requires`` names (an admin may override that for one cadre, with a reason). What it
printed is stored with it. Issuing again for the same facts finds the same certificate: no new row, no
new file. Changed facts (a late harvest) give version n+1, and the old one is marked superseded; its
serial keeps verifying, as superseded. Every issue, supersession, override and revocation is audited.
A year's batch (``issue_year``) holds the lock ``certificates:<year>``; it stores the certificates
first and writes their PDFs after, so a run that was killed is simply run again: what it stored is
found, and the PDFs that are missing are rendered again from the stored data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rules.plan import Plan

from ...config import Settings
from ...db import session_scope
from ...models import AuditLog, Cadre, Certificate, LearningRecordRow, YearTier, utcnow
from ..platform.locks import job_lock
from .certificate_views import CertificateView, find, view_of
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
from .document_values import (
    DocumentError,
    certificate_data,
    certificate_facts,
    facts_sha256,
    local_today,
    plan_of,
    render_values,
)
from .serials import display, new_serial

LANGS = ("zh", "en")
CHUNK = 500  # cadres settled per transaction
WRITE_EVERY = 100  # PDFs written between two updates of their rows
#: A PDF to write: (certificate id, its path under the documents folder, the stored data it prints).
Pending = tuple[int, str, dict[str, Any]]


class CertificateError(Exception):
    """A certificate cannot be issued or revoked; the message says why and what to do."""


class NotEligible(CertificateError):
    """The cadre's record does not meet the plan's requirements (an override with a reason may)."""

    def __init__(self, employee_no: str, year: int, unmet: Sequence[str]) -> None:
        self.unmet = tuple(unmet)
        super().__init__(f"{employee_no} does not meet the {year} certificate requirements: "
                         + "; ".join(unmet))


@dataclass(frozen=True)
class IssueOutcome:
    certificate: CertificateView
    outcome: str  # issued, reissued (a new version), unchanged
    overridden: bool
    note: str = ""


# --- eligibility ----------------------------------------------------------------------------------

def unmet_requirements(plan: Plan, row: LearningRecordRow) -> list[str]:
    """What the plan's ``certificate.requires`` asks that the stored record does not show; [] if none."""
    detail = row.detail
    if row.status == "excluded" or row.tier_key is None:
        return ["not in the plan this year (no requirement applies, so none is met)"]
    requires = plan.certificate.requires if plan.certificate is not None else frozenset()
    unmet = []
    if "hours_met" in requires and not detail.get("hours_met"):
        unmet.append(f"hours {_h(row.total_hours)} of {_h(row.target_hours)} (required "
                     f"{_h(row.required_hours)} of at least {_h(detail.get('required_min', 0.0))})")
    if "required_met" in requires and not detail.get("required_met"):
        unmet.append("required courses not completed: " + ", ".join(detail.get("required_missing", [])))
    if "reflections_submitted" in requires and not detail.get("reflections_met"):
        missing = [*detail.get("reflections_missing", []), *detail.get("reflections_short", [])]
        unmet.append("reflections missing or too short: " + ", ".join(missing))
    return unmet


def _h(value: float) -> str:
    value = round(float(value), 2)
    return str(int(value)) if value.is_integer() else str(value)


def verify_url(settings: Settings, serial: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/verify/{serial}"


# --- issuing ---------------------------------------------------------------------------------------

def _plan_with_certificate(session: Session, year: int) -> Plan:
    plan = plan_of(session, year)
    if plan is None:
        raise CertificateError(f"no plan for {year} was applied: run `cadre plan apply` and `cadre harvest`")
    if plan.certificate is None:
        raise CertificateError(f"the {year} plan has no certificate section: add `certificate: {{title, "
                               "issuer, requires}` to the plan and apply it")
    return plan


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise CertificateError(f"language {lang!r}: certificates are issued in {' or '.join(LANGS)}")


def _tier_names(session: Session, year: int) -> dict[str, str]:
    return dict(session.execute(select(YearTier.key, YearTier.name).where(YearTier.year == year)).all())


def pdf_path(year: int, employee_no: str, version: int, lang: str) -> str:
    """Where a certificate's PDF goes, relative to the documents folder."""
    return f"{year}/certificates/{safe_name(employee_no)}-v{version}{'' if lang == 'zh' else '-' + lang}.pdf"


def _needs_pdf(root: Path, cert: Certificate) -> bool:
    return (cert.pdf_sha256 is None or cert.pdf_size is None
            or not _same_size(root / cert.pdf_path, cert.pdf_size))


def _latest(session: Session, year: int, lang: str,
            employee_nos: Iterable[str] | None = None) -> dict[str, Certificate]:
    """Each cadre's newest certificate of the year in ``lang``."""
    query = select(Certificate).where(Certificate.year == year, Certificate.lang == lang)
    if employee_nos is not None:
        query = query.where(Certificate.employee_no.in_(list(employee_nos)))
    latest: dict[str, Certificate] = {}
    for cert in session.scalars(query.order_by(Certificate.version)):
        latest[cert.employee_no] = cert
    return latest


@dataclass
class _Settler:
    """Settles cadres' certificates in one session: finds the same one, or issues a new version."""

    session: Session
    settings: Settings
    plan: Plan
    lang: str
    today: dt.date
    actor: str
    batch_id: int | None

    def settle(self, cadre: Cadre, row: LearningRecordRow, tier_name: str, latest: Certificate | None, *,
               override_reason: str | None = None, again: bool = False) -> tuple[Certificate | None, str]:
        """(the cadre's certificate, what happened): ``unchanged``, ``issued``, ``reissued``, or
        ``revoked`` (the same facts were revoked: nothing is issued unless ``again``)."""
        facts = certificate_facts(self.plan, cadre, row, tier_name)
        digest = facts_sha256(facts)
        if latest is not None and latest.data_sha256 == digest:
            if latest.status == "valid":
                return latest, "unchanged"
            if latest.status == "revoked" and not again:
                return None, "revoked"
        version = latest.version + 1 if latest is not None else 1
        serial = new_serial()
        data = certificate_data(facts, serial=display(serial), version=version, issued_on=self.today,
                                verify_url=verify_url(self.settings, serial))
        cert = Certificate(
            serial=serial, year=self.plan.year, employee_no=cadre.employee_no, lang=self.lang,
            version=version, status="valid", data=data,
            data_sha256=digest, pdf_path=pdf_path(self.plan.year, cadre.employee_no, version, self.lang),
            issued_at=utcnow(), issued_by=self.actor, override_reason=override_reason, batch_id=self.batch_id)
        self.session.add(cert)
        target = f"{self.plan.year}/{cadre.employee_no}"
        detail = {"serial": display(serial), "version": version, "lang": self.lang, "batch": self.batch_id}
        if override_reason is not None:
            detail["override_reason"] = override_reason
        self.session.add(AuditLog(actor=self.actor, action="certificate:issue", target=target, detail=detail))
        if latest is not None and latest.status == "valid":
            self.session.flush()  # the new certificate's id, which the old one points to
            latest.status, latest.superseded_by, latest.superseded_at = "superseded", cert.id, utcnow()
            self.session.add(AuditLog(actor=self.actor, action="certificate:supersede", target=target,
                                      detail={"serial": display(latest.serial), "version": latest.version,
                                              "by_version": version, "lang": self.lang}))
        return cert, "issued" if version == 1 else "reissued"


def _templates_dir(settings: Settings) -> Path | None:
    return Path(settings.documents_templates) if settings.documents_templates else None


def _write_pdfs(settings: Settings, pending: list[Pending], lang: str,
                progress: Progress | None = None, batch_id: int | None = None) -> int:
    """Renders and writes the PDFs of ``(certificate id, path, stored data)``; returns how many."""
    if not pending:
        return 0
    from .fonts import MissingGlyphError  # the engine loads only where PDFs are made
    from .render import CertificateRenderer, TemplateError

    root = documents_root(settings)
    workers = settings.documents_workers or None
    done = 0
    updates: list[dict[str, Any]] = []

    def flush() -> None:
        with session_scope(settings.database_url) as session:
            session.execute(update(Certificate), updates)
            if batch_id is not None:
                note_progress(session, batch_id, done, len(pending))
        updates.clear()

    with CertificateRenderer(lang=lang, templates_dir=_templates_dir(settings), workers=workers) as renderer:
        rendered = renderer.render_many(render_values(data) for _id, _path, data in pending)
        try:
            for (cert_id, path, _data), pdf in zip(pending, rendered, strict=True):
                write_atomically(root / path, pdf)
                updates.append({"id": cert_id, "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
                                "pdf_size": len(pdf)})
                done += 1
                if len(updates) >= WRITE_EVERY:
                    flush()
                if progress is not None:
                    progress("rendering", done, len(pending))
        except (TemplateError, MissingGlyphError) as exc:
            near = ", ".join(str(data.get("employee_no")) for _id, _path, data in pending[done:done + 8])
            raise CertificateError(f"rendering stopped among the certificates of {near}: {exc}\nThe {done} "
                                   "written before it are kept; correct it and run the batch again") from exc
        finally:
            if updates:  # what was written is noted even when the batch stops: it is not rendered again
                flush()
    return done


def _record(session: Session, year: int, employee_no: str) -> tuple[LearningRecordRow, Cadre] | None:
    found = session.execute(select(LearningRecordRow, Cadre)
                            .join(Cadre, Cadre.employee_no == LearningRecordRow.employee_no)
                            .where(LearningRecordRow.year == year,
                                   LearningRecordRow.employee_no == employee_no)).first()
    return (found[0], found[1]) if found is not None else None


def issue_one(settings: Settings, year: int, employee_no: str, *, lang: str = "zh", actor: str,
              override_reason: str | None = None, today: dt.date | None = None) -> IssueOutcome:
    """Issues (or finds) one cadre's certificate; an ineligible cadre only with ``override_reason``."""
    _check_lang(lang)
    if override_reason is not None and not override_reason.strip():
        raise CertificateError("an override needs a reason (--reason): it is kept with the certificate "
                               "and in the audit log")
    with job_lock(settings.database_url, f"certificates:{year}"):
        with session_scope(settings.database_url) as session:
            plan = _plan_with_certificate(session, year)
            found = _record(session, year, employee_no)
            if found is None:
                raise CertificateError(f"no {year} learning record for {employee_no}: is the employee "
                                       "number right, and has `cadre harvest` run?")
            row, cadre = found
            unmet = unmet_requirements(plan, row)
            if unmet and override_reason is None:
                raise NotEligible(employee_no, year, unmet)
            reason = override_reason.strip() if unmet and override_reason is not None else None
            latest = _latest(session, year, lang, [employee_no]).get(employee_no)
            settler = _Settler(session, settings, plan, lang, today or local_today(plan), actor, None)
            tier_name = _tier_names(session, year).get(row.tier_key or "", "")
            cert, outcome = settler.settle(cadre, row, tier_name, latest, override_reason=reason)
            if cert is None and latest is not None:  # the same facts were revoked
                if override_reason is None:
                    raise CertificateError(
                        f"the certificate {display(latest.serial)} of {employee_no} for these same facts was "
                        f"revoked ({latest.revoked_reason}); to issue it again on purpose, give "
                        "--override and --reason")
                reason = override_reason.strip()
                cert, outcome = settler.settle(cadre, row, tier_name, latest, override_reason=reason,
                                               again=True)
            assert cert is not None
            session.flush()
            if reason is not None and outcome != "unchanged":
                session.add(AuditLog(actor=actor, action="certificate:override",
                                     target=f"{year}/{employee_no}",
                                     detail={"serial": display(cert.serial), "reason": reason,
                                             "unmet": unmet}))
            pending = [(cert.id, cert.pdf_path, dict(cert.data))] \
                if _needs_pdf(documents_root(settings), cert) else []
            cert_id = cert.id
        _write_pdfs(settings, pending, lang)
    with session_scope(settings.database_url) as session:
        stored = session.get(Certificate, cert_id)
        assert stored is not None
        view = view_of(session, documents_root(settings), stored)
    note = "eligible: no override was needed" if override_reason is not None and reason is None else ""
    return IssueOutcome(view, outcome, reason is not None, note)


def revoke(settings: Settings, serial_text: str, *, reason: str, actor: str) -> CertificateView:
    """Revokes a certificate (valid or superseded); its serial keeps verifying, as revoked. Holds the
    year's certificate lock, so a batch issuing at the same time cannot supersede it meanwhile."""
    if not reason.strip():
        raise CertificateError("a revocation needs a reason (--reason)")
    with session_scope(settings.database_url) as session:
        found = find(session, serial_text)
        if found is None:
            raise CertificateError(f"no certificate has the serial {serial_text!r}")
        year = found.year
    with job_lock(settings.database_url, f"certificates:{year}"), \
            session_scope(settings.database_url) as session:
        cert = find(session, serial_text)
        assert cert is not None
        if cert.status == "revoked":
            raise CertificateError(f"{display(cert.serial)} was already revoked on "
                                   f"{cert.revoked_at:%Y-%m-%d} by {cert.revoked_by}: {cert.revoked_reason}")
        cert.status, cert.revoked_at, cert.revoked_by, cert.revoked_reason = \
            "revoked", utcnow(), actor, reason.strip()
        session.add(AuditLog(actor=actor, action="certificate:revoke",
                             target=f"{cert.year}/{cert.employee_no}",
                             detail={"serial": display(cert.serial), "version": cert.version,
                                     "lang": cert.lang, "reason": reason.strip()}))
        session.flush()
        return view_of(session, documents_root(settings), cert)


def issue_year(settings: Settings, year: int, *, tier: str | None = None, lang: str = "zh", actor: str,
               today: dt.date | None = None, progress: Progress | None = None) -> BatchResult:
    """Issues the year's certificates (one tier's, if given) for every eligible cadre, writes their
    PDFs and a ZIP of every valid certificate in scope. Run again after a crash: nothing is duplicated."""
    _check_lang(lang)
    started = time.perf_counter()
    with job_lock(settings.database_url, f"certificates:{year}"):
        with session_scope(settings.database_url) as session:
            plan = _plan_with_certificate(session, year)
            tiers = _tier_names(session, year)
            if tier is not None and tier not in tiers:
                raise CertificateError(f"the {year} plan has no tier {tier!r}; its tiers: "
                                       f"{', '.join(tiers) or 'none'}")
        batch_id, resumed = start_batch(settings, kind="certificates", year=year, tier=tier, lang=lang,
                                        actor=actor)
        result = BatchResult(batch_id, "certificates", year, tier, lang, resumed)
        try:
            pending = _settle_year(settings, plan, tiers, result, today or local_today(plan), actor, progress)
            result.counts["rendered"] = _write_pdfs(settings, pending, lang, progress, batch_id)
            _zip_year(settings, result, progress)
        except BaseException as exc:
            fail_batch(settings, batch_id, exc, time.perf_counter() - started)
            raise
        result.seconds = time.perf_counter() - started
        finish_batch(settings, result, documents_root(settings))
    return result


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _settle_year(settings: Settings, plan: Plan, tiers: dict[str, str], result: BatchResult,
                 today: dt.date, actor: str, progress: Progress | None) -> list[Pending]:
    """Stores every eligible cadre's certificate (finding the unchanged ones), ``CHUNK`` cadres a
    transaction (so memory stays flat however large the year); returns the PDFs to write: of new
    certificates, and of valid ones in scope whose file is missing."""
    root = documents_root(settings)
    counts = result.counts
    for key in ("issued", "reissued", "unchanged", "revoked", "ineligible"):
        counts.setdefault(key, 0)
    pending: list[Pending] = []
    no_longer: list[str] = []
    with session_scope(settings.database_url) as session:
        query = (select(LearningRecordRow.employee_no).where(LearningRecordRow.year == plan.year)
                 .order_by(LearningRecordRow.employee_no))
        if result.tier is not None:
            query = query.where(LearningRecordRow.tier_key == result.tier)
        numbers = list(session.scalars(query))
    handled: set[str] = set()
    for done, chunk in enumerate(_chunks(numbers, CHUNK), start=1):
        with session_scope(settings.database_url) as session:
            latest = _latest(session, plan.year, result.lang, chunk)
            settler = _Settler(session, settings, plan, result.lang, today, actor, result.batch_id)
            settled: list[Certificate] = []
            for row, cadre in session.execute(
                    select(LearningRecordRow, Cadre)
                    .join(Cadre, Cadre.employee_no == LearningRecordRow.employee_no)
                    .where(LearningRecordRow.year == plan.year, LearningRecordRow.employee_no.in_(chunk))
                    .order_by(LearningRecordRow.employee_no)):
                held = latest.get(cadre.employee_no)
                if unmet_requirements(plan, row):
                    counts["ineligible"] += 1
                    if held is not None and held.status == "valid" and held.override_reason is None:
                        no_longer.append(cadre.employee_no)
                    continue
                cert, outcome = settler.settle(cadre, row, tiers.get(row.tier_key or "", ""), held)
                counts[outcome] += 1
                handled.add(cadre.employee_no)
                if cert is not None:
                    settled.append(cert)
            session.flush()
            pending += [(cert.id, cert.pdf_path, dict(cert.data)) for cert in settled
                        if _needs_pdf(root, cert)]
            note_progress(session, result.batch_id, 0, len(numbers))
        if progress is not None:
            progress("certificates", min(done * CHUNK, len(numbers)), len(numbers))
    result.total = len(handled) - counts["revoked"]
    pending += _missing_in_scope(settings, result, set(numbers) - handled)
    if counts["revoked"]:
        result.notes.append(f"{counts['revoked']} cadre(s) meet the requirements with the same facts as a "
                            "revoked certificate: none was issued again (`cadre certificates issue "
                            "--override EMPLOYEE_NO --reason ...` issues one on purpose)")
    if no_longer:
        more = " ..." if len(no_longer) > 10 else ""
        result.notes.append(f"{len(no_longer)} cadre(s) hold a valid certificate but no longer meet the "
                            f"requirements: {', '.join(no_longer[:10])}{more} "
                            "(`cadre certificate revoke SERIAL --reason ...` if it should not stand)")
    return pending


def _missing_in_scope(settings: Settings, result: BatchResult, others: set[str]) -> list[Pending]:
    """The valid certificates of cadres in scope the batch did not settle (issued by an override, or
    held by a cadre no longer eligible) whose PDF is missing: the ZIP holds every valid one."""
    root = documents_root(settings)
    with session_scope(settings.database_url) as session:
        missing = [cert_id for cert_id, no, path, sha, size in session.execute(
            select(Certificate.id, Certificate.employee_no, Certificate.pdf_path, Certificate.pdf_sha256,
                   Certificate.pdf_size)
            .where(Certificate.year == result.year, Certificate.lang == result.lang,
                   Certificate.status == "valid"))
            if no in others and (sha is None or size is None or not _same_size(root / path, size))]
        return [(cert.id, cert.pdf_path, dict(cert.data))
                for cert in session.scalars(select(Certificate).where(Certificate.id.in_(missing)))] \
            if missing else []


def _same_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


def _zip_year(settings: Settings, result: BatchResult, progress: Progress | None) -> None:
    """The ZIP of every valid certificate of the year in scope: ``<employee no>-<name>.pdf`` each."""
    root = documents_root(settings)
    with session_scope(settings.database_url) as session:
        query = (select(Certificate.employee_no, Certificate.pdf_path, Cadre.name)
                 .join(Cadre, Cadre.employee_no == Certificate.employee_no)
                 .where(Certificate.year == result.year, Certificate.lang == result.lang,
                        Certificate.status == "valid", Certificate.pdf_sha256.is_not(None))
                 .order_by(Certificate.employee_no))
        if result.tier is not None:
            query = query.join(LearningRecordRow, (LearningRecordRow.employee_no == Certificate.employee_no)
                               & (LearningRecordRow.year == result.year)
                               ).where(LearningRecordRow.tier_key == result.tier)
        entries = session.execute(query).all()
    result.files = {employee_no: root / path for employee_no, path, _name in entries}
    scope = f"-{safe_name(result.tier)}" if result.tier else ""
    suffix = "" if result.lang == "zh" else f"-{result.lang}"
    target = root / str(result.year) / f"certificates-{result.year}{scope}{suffix}.zip"
    if progress is not None:
        progress("zip", 0, len(entries))
    write_zip(target, ((f"{safe_name(no)}-{safe_name(name)}.pdf", root / path) for no, path, name in entries))
    result.zip_path = target
    if progress is not None:
        progress("zip", len(entries), len(entries))


__all__ = ["LANGS", "CertificateError", "CertificateView", "DocumentError", "IssueOutcome", "NotEligible",
           "issue_one", "issue_year", "revoke", "unmet_requirements", "verify_url"]
