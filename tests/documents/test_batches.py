"""Batches: archives and registration forms for a year (one of each per cadre, a ZIP, nothing rendered
again when nothing changed), both batches on a year harvested from the fake Moodle, and a real Celery
worker on Redis issuing a year's certificates with progress."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from moodle_bridge.fake import serve
from plugin_service.db import session_scope, upgrade
from plugin_service.models import Cadre, LearningRecordRow
from plugin_service.services.documents import archives as archives_module
from plugin_service.services.documents.archives import ArchiveError, archive_pdf, build_year
from plugin_service.services.documents.certificates import issue_year

from ..harvest.world import Year, cli, library_site, provision, small_roster, spread
from ..provisioning import test_celery as provisioning_worker
from ..provisioning.processes import child_env
from .registry import certificates, hours_text, pdf_pages, pdf_text, settings_for, zip_entries
from .seed import SeededYear, seed_year

ON = dt.date(2026, 12, 20)
redis_db = provisioning_worker.redis_db
Worker = provisioning_worker.Worker


def cadre_names(database_url: str) -> dict[str, str]:
    with session_scope(database_url) as session:
        return dict(session.execute(select(Cadre.employee_no, Cadre.name)).all())


@pytest.fixture
def years(database_url: str) -> SeededYear:
    """Five cadres with records in 2024, 2025 and 2026."""
    for year in (2024, 2025):
        seed_year(database_url, year=year, cadres=5)
    return seed_year(database_url, year=2026, cadres=5)


def test_archives_and_forms_one_each_per_cadre_with_a_zip(years: SeededYear, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(years.database_url, tmp_path, documents_workers=2)  # a pool of two renders
    issue_year(settings, 2026, actor="test", today=ON)
    names = cadre_names(years.database_url)
    cadres = sorted(years.profiles)

    result = build_year(settings, 2026, actor="test", today=ON)

    assert result.total == 2 * len(cadres) and result.counts == {"rendered": 10, "unchanged": 0}
    assert result.zip_path is not None and result.zip_path.name == "archives-2026.zip"
    entries = zip_entries(result.zip_path)
    assert sorted(entries) == sorted([f"学习档案/{no}-{names[no]}.pdf" for no in cadres]
                                     + [f"在线学习情况登记表/{no}-{names[no]}.pdf" for no in cadres])
    cadre = cadres[0]
    archive = pdf_text(entries[f"学习档案/{cadre}-{names[cadre]}.pdf"])
    form_pdf = entries[f"在线学习情况登记表/{cadre}-{names[cadre]}.pdf"]
    form = pdf_text(form_pdf)
    with session_scope(years.database_url) as session:
        records = {r.year: r for r in session.scalars(select(LearningRecordRow)
                                                      .where(LearningRecordRow.employee_no == cadre))}
    assert names[cadre] in archive and all(str(year) in archive for year in (2024, 2025, 2026))
    assert all(hours_text(records[year].total_hours) in archive for year in records)
    assert names[cadre] in form and hours_text(records[2026].total_hours) in form
    assert pdf_pages(form_pdf) == 1
    serials = [c.data["serial"] for c in certificates(years.database_url) if c.employee_no == cadre]
    assert all(serial.replace("-", "") in archive.replace("-", "") for serial in serials)

    def no_rendering(*_args: Any) -> bytes:
        raise AssertionError("nothing changed: nothing is rendered again")

    monkeypatch.setattr(archives_module, "render_document", no_rendering)
    again = build_year(settings, 2026, actor="test", today=ON)
    assert again.counts == {"rendered": 0, "unchanged": 10} and zip_entries(result.zip_path) == entries
    with pytest.raises(ArchiveError, match="no tier 'nobody'"):
        build_year(settings, 2026, tier="nobody", actor="test")
    with pytest.raises(ArchiveError, match="no plan for 2030"):
        build_year(settings, 2030, actor="test")


def test_a_five_year_archive_holds_every_year(database_url: str, tmp_path: Path) -> None:
    """How fast it renders is benchmarks/documents.py's ``archive_5y_s``, not a test's."""
    for year in range(2022, 2027):
        seed_year(database_url, year=year, cadres=1)
    settings = settings_for(database_url, tmp_path)
    pdf = archive_pdf(settings, "D00001", today=ON)
    text = pdf_text(pdf)
    assert all(str(year) in text for year in range(2022, 2027)) and pdf_pages(pdf) >= 2


@pytest.fixture
def harvested(database_url: str) -> Iterator[Year]:
    """The harvest tests' small year (28 cadres of every tier), half a year learnt, harvested."""
    with serve(library_site()) as running:
        year = provision(running, database_url, roster=small_roster())
        spread(year)
        year.harvest()
        yield year


def test_certificates_and_archives_of_a_harvested_year(harvested: Year, tmp_path: Path) -> None:
    settings = settings_for(harvested.database_url, tmp_path)
    with session_scope(harvested.database_url) as session:
        records = {r.employee_no: r for r in session.scalars(select(LearningRecordRow))}
        for record in records.values():
            session.expunge(record)
    eligible = sorted(no for no, r in records.items() if r.detail["hours_met"] and r.detail["required_met"])
    names = cadre_names(harvested.database_url)

    issued = issue_year(settings, 2026, actor="test", today=dt.date(2026, 7, 20))

    assert issued.counts["issued"] == len(eligible) and sorted(issued.files) == eligible
    for no in eligible[:3]:
        text = pdf_text(issued.files[no].read_bytes())
        assert names[no] in text and hours_text(records[no].total_hours) in text
    built = build_year(settings, 2026, tier="section", actor="test", today=dt.date(2026, 7, 20))
    section = sorted(no for no, r in records.items() if r.tier_key == "section")
    assert built.total == 2 * len(section) and sorted(built.files) == section
    assert built.zip_path is not None and built.zip_path.name == "archives-2026-section.zip"
    assert names[section[0]] in pdf_text(built.files[section[0]].read_bytes())


@pytest.fixture
def documents_worker(redis_db: int, database_url: str, tmp_path: Path) -> Iterator[Worker]:
    """``celery -A plugin_service.worker worker`` as deployed, with its documents folder."""
    upgrade(database_url)
    broker = f"redis://{provisioning_worker.REDIS_HOST}:{provisioning_worker.REDIS_PORT}/{redis_db}"
    settings = settings_for(database_url, tmp_path, broker_url=broker,
                            secret_key="test-" + secrets.token_hex(8))
    env = child_env(CADRE_SECRET_KEY=settings.secret_key, CADRE_BROKER_URL=broker,
                    CADRE_DATABASE_URL=database_url, CADRE_DOCUMENTS_DIR=settings.documents_dir,
                    CADRE_PUBLIC_BASE_URL=settings.public_base_url, CADRE_DOCUMENTS_WORKERS="2")
    yield from provisioning_worker.run_worker(settings, env, tmp_path / "worker.log")


@pytest.mark.integration
def test_a_worker_issues_the_years_certificates_reporting_progress(documents_worker: Worker) -> None:
    seeded = seed_year(documents_worker.settings.database_url, cadres=30)
    seen: list[tuple[str, Any]] = []

    def note(state: str, info: Any) -> None:
        if not seen or seen[-1] != (state, info):
            seen.append((state, info))

    task = documents_worker.celery.send_task("cadre.issue_certificates",
                                             kwargs={"year": 2026, "today": "2026-12-20"})
    value = documents_worker.wait(task, on_state=note)

    assert value["counts"]["issued"] == len(seeded.eligible()) == value["total"]
    assert value["zip"] and len(zip_entries(Path(value["zip"]))) == len(seeded.eligible())
    progress = [info for state, info in seen if state == "PROGRESS"]
    assert progress and {info["step"] for info in progress} <= {"certificates", "rendering", "zip"}, seen
    assert all(0 <= info["done"] <= max(info["total"], 1) for info in progress)
    issued = certificates(documents_worker.settings.database_url)
    assert {c.issued_by for c in issued} == {"task"} and all(c.pdf_sha256 for c in issued)
    settings = documents_worker.settings
    again = cli(["certificates", "issue", "--queue"], database_url=settings.database_url,
                broker_url=settings.broker_url, secret_key=settings.secret_key,
                documents_dir=settings.documents_dir)  # the command queues it and follows the worker
    assert again.exit_code == 0, again.output
    assert "queued as task" in again.output and f"{len(seeded.eligible())} in the batch" in again.output
    assert re.search(rf"unchanged +{len(seeded.eligible())}\n", again.output), again.output
