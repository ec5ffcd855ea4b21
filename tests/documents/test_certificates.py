"""Certificates as records: serials, who is eligible, issuing once for the same facts, a new version when
the facts change, overrides with a reason, revocation, and the year's batch surviving a crash."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin_service.config import Settings
from plugin_service.db import session_scope
from plugin_service.models import Cadre, DocumentBatch
from plugin_service.services.documents import certificates as certificates_module
from plugin_service.services.documents.certificate_views import show
from plugin_service.services.documents.certificates import (
    CertificateError,
    NotEligible,
    issue_one,
    issue_year,
    revoke,
)
from plugin_service.services.documents.serials import ALPHABET, LENGTH, canonical, display, new_serial
from plugin_service.services.platform.locks import LockedError, job_lock

from .registry import (
    PUBLIC_BASE,
    audit_count,
    audits,
    certificates,
    hours_text,
    pdf_text,
    settings_for,
    zip_entries,
)
from .seed import SeededYear, add_course, seed_year

ISSUED_ON = dt.date(2026, 12, 20)


@pytest.fixture
def seeded(database_url: str) -> SeededYear:
    return seed_year(database_url, cadres=24)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path)


def names(database_url: str) -> dict[str, str]:
    with session_scope(database_url) as session:
        return dict(session.execute(select(Cadre.employee_no, Cadre.name)).all())


def test_serials_are_random_distinct_and_read_back_however_typed() -> None:
    serials = [new_serial() for _ in range(1000)]
    assert len(set(serials)) == 1000
    shape = re.compile(f"^[{ALPHABET}]{{{LENGTH}}}$")
    assert all(shape.match(serial) for serial in serials)
    # 130 random bits: every character position takes every value somewhere among a thousand
    assert all(len({serial[i] for serial in serials}) > 20 for i in range(LENGTH))
    serial = serials[0]
    printed = display(serial)
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{6}", printed)
    assert canonical(printed) == canonical(printed.lower()) == canonical(f" {printed} ") == serial
    assert canonical("0123456789ABCDEFGHJKMNPQRS".replace("1", "l").replace("0", "o")) == \
        "0123456789ABCDEFGHJKMNPQRS"
    for malformed in ("", "ABC", serial[:-1], serial + "0", serial[:-1] + "U", "<script>", "x" * 5000):
        assert canonical(malformed) is None, malformed


def test_issuing_the_year_twice_creates_nothing_new(seeded: SeededYear, settings: Settings) -> None:
    first = issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    eligible = seeded.eligible()
    assert eligible and len(eligible) < 24  # some cadres are not eligible
    assert first.counts["issued"] == len(eligible) and first.counts["rendered"] == len(eligible)
    assert first.counts["ineligible"] == 24 - len(eligible)
    issued = certificates(settings.database_url)
    assert sorted(c.employee_no for c in issued) == eligible
    assert {(c.version, c.status, c.lang) for c in issued} == {(1, "valid", "zh")}
    assert audit_count(settings.database_url, "certificate:issue") == len(eligible)
    files = {c.employee_no: Path(settings.documents_dir) / c.pdf_path for c in issued}
    assert all(path.name == f"{no}-v1.pdf" and path.parent.name == "certificates"
               for no, path in files.items())
    written = {no: (path.read_bytes(), path.stat().st_mtime_ns) for no, path in files.items()}

    second = issue_year(settings, 2026, actor="test", today=ISSUED_ON + dt.timedelta(days=3))

    assert second.counts["unchanged"] == len(eligible)
    assert second.counts["issued"] == second.counts["reissued"] == second.counts["rendered"] == 0
    assert [(c.id, c.serial, c.data) for c in certificates(settings.database_url)] == \
        [(c.id, c.serial, c.data) for c in issued]
    assert audit_count(settings.database_url, "certificate:issue") == len(eligible)
    assert {no: (path.read_bytes(), path.stat().st_mtime_ns) for no, path in files.items()} == written
    assert second.batch_id != first.batch_id and not second.resumed


def test_what_a_certificate_stores_is_what_it_printed(seeded: SeededYear, settings: Settings) -> None:
    result = issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    cadre_names = names(settings.database_url)
    for cert in certificates(settings.database_url)[:3]:
        data = cert.data
        assert set(data) == {"title", "issuer", "organisation", "name", "employee_no", "department",
                             "position", "year", "total_hours", "required_hours", "elective_hours",
                             "target_hours", "tier_name", "online_hours", "offline_hours", "issued_on",
                             "serial", "version", "verify_url"}
        assert data["offline_hours"] == 0 and data["online_hours"] == data["total_hours"]
        assert data["name"] == cadre_names[cert.employee_no] and data["issued_on"] == ISSUED_ON.isoformat()
        assert data["title"] == "干部在线学习学时证明书"
        assert data["issuer"] == "中共示范职业技术学院委员会组织部"
        assert data["serial"] == display(cert.serial)
        assert data["verify_url"] == f"{PUBLIC_BASE}/verify/{cert.serial}"
        pdf = (Path(settings.documents_dir) / cert.pdf_path).read_bytes()
        assert len(pdf) == cert.pdf_size and len(pdf) < 80 * 1024
        text = pdf_text(pdf)
        for value in (data["name"], data["department"], hours_text(data["total_hours"]),
                      hours_text(data["required_hours"]), hours_text(data["elective_hours"])):
            assert value in text, (value, text[:400])
    assert result.zip_path is not None
    entries = zip_entries(result.zip_path)
    assert sorted(entries) == sorted(f"{no}-{cadre_names[no]}.pdf" for no in seeded.eligible())
    for cert in certificates(settings.database_url):
        assert entries[f"{cert.employee_no}-{cadre_names[cert.employee_no]}.pdf"] == \
            (Path(settings.documents_dir) / cert.pdf_path).read_bytes()


def test_a_late_change_issues_version_two_and_supersedes_the_first(seeded: SeededYear,
                                                                   settings: Settings) -> None:
    issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    cadre = next(no for no in seeded.eligible() if seeded.profiles[no] == "exact")
    before = {c.employee_no: c for c in certificates(settings.database_url)}
    add_course(seeded, cadre)  # a late harvest finds one more course completed: more hours

    result = issue_year(settings, 2026, actor="test", today=ISSUED_ON + dt.timedelta(days=10))

    assert (result.counts["reissued"], result.counts["issued"]) == (1, 0)
    assert result.counts["unchanged"] == len(seeded.eligible()) - 1 and result.counts["rendered"] == 1
    rows = [c for c in certificates(settings.database_url) if c.employee_no == cadre]
    old, new = sorted(rows, key=lambda c: c.version)
    assert (old.version, old.status, new.version, new.status) == (1, "superseded", 2, "valid")
    assert old.serial == before[cadre].serial and old.superseded_by == new.id and old.superseded_at
    assert new.data["total_hours"] > old.data["total_hours"] and new.data["version"] == 2
    assert new.data["issued_on"] == (ISSUED_ON + dt.timedelta(days=10)).isoformat()
    assert new.pdf_path.endswith(f"{cadre}-v2.pdf")
    assert (Path(settings.documents_dir) / old.pdf_path).is_file()  # the old paper's file stays
    assert audits(settings.database_url, "certificate:supersede") == [
        {"actor": "test", "target": f"2026/{cadre}", "serial": display(old.serial), "version": 1,
         "by_version": 2, "lang": "zh"}]
    assert result.zip_path is not None
    text = pdf_text(zip_entries(result.zip_path)[f"{cadre}-{new.data['name']}.pdf"])
    assert hours_text(new.data["total_hours"]) in text and "2" in text


def test_an_ineligible_cadre_is_refused_unless_overridden_with_a_reason(seeded: SeededYear,
                                                                        settings: Settings) -> None:
    cadre = next(no for no, profile in sorted(seeded.profiles.items()) if profile == "short")
    with pytest.raises(NotEligible) as refused:
        issue_one(settings, 2026, cadre, actor="test", today=ISSUED_ON)
    assert "hours" in str(refused.value) and cadre in str(refused.value)
    with pytest.raises(CertificateError, match="reason"):
        issue_one(settings, 2026, cadre, actor="test", override_reason="  ", today=ISSUED_ON)
    assert certificates(settings.database_url) == []
    assert audit_count(settings.database_url, "certificate:issue") == 0

    outcome = issue_one(settings, 2026, cadre, actor="admin",
                        override_reason="因公派驻外地，经部务会研究同意", today=ISSUED_ON)

    assert (outcome.outcome, outcome.overridden, outcome.certificate.status) == ("issued", True, "valid")
    assert outcome.certificate.override_reason == "因公派驻外地，经部务会研究同意"
    assert outcome.certificate.pdf is not None and outcome.certificate.pdf_present
    [audit] = audits(settings.database_url, "certificate:override")
    assert audit["actor"] == "admin" and audit["reason"] == "因公派驻外地，经部务会研究同意"
    assert audit["serial"] == outcome.certificate.serial and any("hours" in u for u in audit["unmet"])
    again = issue_one(settings, 2026, cadre, actor="admin", override_reason="再次确认", today=ISSUED_ON)
    assert again.outcome == "unchanged" and again.certificate.serial == outcome.certificate.serial
    assert len(certificates(settings.database_url)) == 1
    with pytest.raises(CertificateError, match="no 2026 learning record"):
        issue_one(settings, 2026, "NOBODY", actor="admin", override_reason="x")


def test_revoked_certificates_stay_revoked_and_are_not_issued_again_for_the_same_facts(
        seeded: SeededYear, settings: Settings) -> None:
    issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    cert = certificates(settings.database_url)[0]
    with pytest.raises(CertificateError, match="reason"):
        revoke(settings, cert.serial, reason=" ", actor="admin")

    view = revoke(settings, display(cert.serial).lower(), reason="学时认定有误", actor="admin")

    assert (view.status, view.revoked_by, view.revoked_reason) == ("revoked", "admin", "学时认定有误")
    assert audits(settings.database_url, "certificate:revoke")[0]["reason"] == "学时认定有误"
    with pytest.raises(CertificateError, match="already revoked"):
        revoke(settings, cert.serial, reason="again", actor="admin")
    result = issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    assert result.counts["revoked"] == 1 and result.counts["issued"] == 0
    assert any("revoked" in note for note in result.notes)
    assert result.zip_path is not None and not any(name.startswith(cert.employee_no)
                                                   for name in zip_entries(result.zip_path))
    with pytest.raises(CertificateError, match="revoked"):
        issue_one(settings, 2026, cert.employee_no, actor="admin")
    again = issue_one(settings, 2026, cert.employee_no, actor="admin", override_reason="核实无误，重新颁发")
    assert (again.outcome, again.certificate.version) == ("reissued", 2)
    shown = show(settings, cert.serial)
    assert shown is not None and shown.status == "revoked"


def test_a_batch_that_crashed_is_continued_without_duplicates(seeded: SeededYear, settings: Settings,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[Path] = []
    real = certificates_module.write_atomically

    def crash_after_five(path: Path, data: bytes) -> None:
        if len(written) == 5:
            raise OSError(28, "No space left on device")
        real(path, data)
        written.append(path)

    monkeypatch.setattr(certificates_module, "write_atomically", crash_after_five)
    with pytest.raises(OSError, match="No space"):
        issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    stored = certificates(settings.database_url)
    assert len(stored) == len(seeded.eligible())  # every certificate was stored before the PDFs
    assert sum(1 for c in stored if c.pdf_sha256) == 5  # what was written before the crash is noted
    with session_scope(settings.database_url) as session:
        [batch] = session.scalars(select(DocumentBatch)).all()
        assert batch.status == "failed" and "No space" in (batch.error or "")
    monkeypatch.setattr(certificates_module, "write_atomically", real)

    result = issue_year(settings, 2026, actor="test", today=ISSUED_ON + dt.timedelta(days=1))

    assert result.resumed and result.batch_id == batch.id
    assert result.counts["unchanged"] == len(seeded.eligible()) and result.counts["issued"] == 0
    assert result.counts["rendered"] == len(seeded.eligible()) - 5
    after = certificates(settings.database_url)
    assert [(c.id, c.serial, c.data) for c in after] == [(c.id, c.serial, c.data) for c in stored]
    assert all(c.pdf_sha256 and (Path(settings.documents_dir) / c.pdf_path).stat().st_size == c.pdf_size
               for c in after)
    assert not list(Path(settings.documents_dir).rglob("*.part"))
    assert result.zip_path is not None and len(zip_entries(result.zip_path)) == len(seeded.eligible())
    with session_scope(settings.database_url) as session:
        finished = session.get(DocumentBatch, batch.id)
        assert finished is not None and (finished.status, finished.attempts) == ("done", 2)


def test_a_missing_pdf_is_written_again_from_the_stored_data(seeded: SeededYear, settings: Settings) -> None:
    issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    cert = certificates(settings.database_url)[0]
    path = Path(settings.documents_dir) / cert.pdf_path
    path.unlink()

    result = issue_year(settings, 2026, actor="test", today=ISSUED_ON + dt.timedelta(days=30))

    assert result.counts["rendered"] == 1 and result.counts["issued"] == 0
    assert path.is_file() and cert.data["issued_on"] == ISSUED_ON.isoformat()
    assert certificates(settings.database_url)[0].data == cert.data  # the date printed is the first one


def test_a_tier_and_the_english_variant_are_batches_of_their_own(seeded: SeededYear,
                                                                  settings: Settings) -> None:
    with pytest.raises(CertificateError, match="no tier 'nobody'"):
        issue_year(settings, 2026, tier="nobody", actor="test")
    with pytest.raises(CertificateError, match="language"):
        issue_year(settings, 2026, lang="fr", actor="test")
    teaching = [no for no in seeded.eligible() if seeded.tiers[no] == "teaching"]

    result = issue_year(settings, 2026, tier="teaching", lang="en", actor="test", today=ISSUED_ON)

    assert result.counts["issued"] == len(teaching)
    issued = certificates(settings.database_url)
    assert sorted(c.employee_no for c in issued) == teaching
    assert {c.lang for c in issued} == {"en"} and all(c.pdf_path.endswith("-v1-en.pdf") for c in issued)
    assert issued[0].data["title"] == "干部在线学习学时证明书"
    assert result.zip_path is not None and result.zip_path.name == "certificates-2026-teaching-en.zip"
    english = (Path(settings.documents_dir) / issued[0].pdf_path).read_bytes()
    assert "CertificateofStudyHours" in pdf_text(english)
    chinese = issue_year(settings, 2026, tier="teaching", actor="test", today=ISSUED_ON)
    assert chinese.counts["issued"] == len(teaching)  # the Chinese certificates are their own series


def test_a_year_without_a_plan_or_certificate_section_says_so(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path)
    seed_year(database_url, cadres=2)
    with pytest.raises(CertificateError, match="no plan for 2031"):
        issue_year(settings, 2031, actor="test")


def test_a_name_no_font_can_print_stops_the_batch_naming_the_cadre(seeded: SeededYear,
                                                                   settings: Settings) -> None:
    eligible = seeded.eligible()
    odd = eligible[len(eligible) // 2]
    with session_scope(settings.database_url) as session:
        cadre = session.get(Cadre, odd)
        assert cadre is not None
        right, cadre.name = cadre.name, "张\ue000"  # a private-use character: no font has it

    with pytest.raises(CertificateError, match=f"certificates of .*{odd}.*U\\+E000"):
        issue_year(settings, 2026, actor="test", today=ISSUED_ON)

    with session_scope(settings.database_url) as session:
        fixed = session.get(Cadre, odd)
        assert fixed is not None
        fixed.name = right
    result = issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    assert result.resumed and result.counts["reissued"] == 1  # the stored certificate had the wrong name
    names_printed = {c.employee_no: c.data["name"] for c in certificates(settings.database_url)
                     if c.status == "valid"}
    assert names_printed[odd] == right and sorted(names_printed) == eligible
    assert result.zip_path is not None and len(zip_entries(result.zip_path)) == len(eligible)


def test_a_revocation_waits_for_no_batch_it_would_race(seeded: SeededYear, settings: Settings) -> None:
    """While a batch of the year holds its lock, a revocation is refused at once (run it again after)."""
    issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    serial = certificates(settings.database_url)[0].serial
    with job_lock(settings.database_url, "certificates:2026"), pytest.raises(LockedError):
        revoke(settings, serial, reason="a batch is running", actor="test")
    assert revoke(settings, serial, reason="issued by mistake", actor="test").status == "revoked"
