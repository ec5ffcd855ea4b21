"""Offline hours with their source on the documents: the certificate's hours line (online + offline), the
registration form and the learning archive; certificates issued before any offline hours keep their
digest, and a cadre's new offline hours give a new version."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest

from plugin_service.db import session_scope
from plugin_service.services.documents.archives import archive_pdf, registration_pdf
from plugin_service.services.documents.certificates import issue_one
from plugin_service.services.documents.document_values import FACT_KEYS, facts_sha256, registration_values
from plugin_service.services.documents.render import render_pdf
from plugin_service.services.offline.trainings import record_training

from ..documents.registry import certificates, pdf_pages, pdf_text, settings_for
from ..documents.test_render import LONG_DEPARTMENT, course, has, pages, squashed, text_of, values
from .world import ADMIN_ACTOR, OfflineYear, offline_year


@pytest.fixture
def year(database_url: str, tmp_path: Path) -> OfflineYear:
    return offline_year(database_url, tmp_path)


def attend(year: OfflineYear, *numbers: str, name: str = "党校处级干部专题培训班", hours: float = 4) -> int:
    with session_scope(year.database_url) as session:
        return record_training(session, ADMIN_ACTOR, name=name, day="2026-05-12", hours=hours,
                               attendees=list(numbers)).training_id


def test_the_documents_show_offline_hours_with_their_source(year: OfflineYear, tmp_path: Path) -> None:
    settings = settings_for(year.database_url, tmp_path)
    cadre = year.seeded.eligible()[0]
    attend(year, cadre)
    row = year.record(cadre)
    online = row.total_hours - 4
    assert issue_one(settings, 2026, cadre, actor="test").outcome == "issued"
    [cert] = certificates(year.database_url)
    assert (cert.data["offline_hours"], cert.data["online_hours"]) == (4, round(online, 2))
    text = pdf_text((Path(settings.documents_dir) / cert.pdf_path).read_bytes())
    assert f"在线学习{online:g}学时" in text and "线下学习4学时" in text
    with session_scope(year.database_url) as session:
        form = registration_values(session, cadre, 2026)
    assert form["offline_hours"] == 4 and [o["source_name"] for o in form["offline"]] == ["培训记录"]
    registration = registration_pdf(settings, cadre, 2026)
    assert pdf_pages(registration) == 1
    assert "线下学习4学时" in pdf_text(registration)
    assert "党校处级干部专题培训班" in pdf_text(registration) and "培训记录" in pdf_text(registration)
    archive = pdf_text(archive_pdf(settings, cadre))
    assert "线下学习" in archive and "党校处级干部专题培训班" in archive and "培训记录" in archive


def test_certificates_keep_their_digest_until_offline_hours_change(year: OfflineYear, tmp_path: Path) -> None:
    settings = settings_for(year.database_url, tmp_path)
    first, second = year.seeded.eligible()[:2]
    for cadre in (first, second):
        issue_one(settings, 2026, cadre, actor="test")
    before = {c.employee_no: c for c in certificates(year.database_url)}
    # the digest of a certificate without offline hours is the one of the facts it always stated
    stated = {key: before[first].data[key] for key in FACT_KEYS}
    old = hashlib.sha256(json.dumps(stated, ensure_ascii=False, sort_keys=True,
                                    separators=(",", ":")).encode("utf-8")).hexdigest()
    assert before[first].data_sha256 == old == facts_sha256(before[first].data)

    attend(year, second)
    assert issue_one(settings, 2026, first, actor="test").outcome == "unchanged"
    assert issue_one(settings, 2026, second, actor="test").outcome == "reissued"
    latest = {c.employee_no: c for c in certificates(year.database_url) if c.status == "valid"}
    assert latest[first].version == 1 and latest[second].version == 2
    assert latest[second].data["offline_hours"] == 4


def test_the_certificate_reads_online_and_offline_hours_in_both_languages() -> None:
    sample = values("certificate") | {"total_hours": 52, "required_hours": 32, "elective_hours": 14,
                                      "online_hours": 46, "offline_hours": 6}
    has(text_of(render_pdf("certificate", sample)), "累计完成学时 52 学时", "在线学习 46 学时",
        "必修课 32 学时", "选修课 14 学时", "线下学习 6 学时")
    english = text_of(render_pdf("certificate", sample, lang="en"))
    has(english, "46 hours online", "6 hours of offline study")
    plain = squashed(text_of(render_pdf("certificate", values("certificate"))))
    assert "线下学习" not in plain and "在线学习52" not in plain and "其中必修课32学时" in plain


def test_the_registration_form_stays_one_page_with_offline_study_and_many_courses() -> None:
    form = values("registration")
    form["cadre"]["department"] = LONG_DEPARTMENT
    form["courses"] = [course(i, 2026) | {"name": course(i, 2026)["name"] * 2} for i in range(30)]
    form["reflections"] = form["reflections"] * 5
    form["offline"] = [copy.deepcopy({"title": f"第 {n} 期党校专题培训班（集中学习与现场教学）",
                                      "on": course(n, 2026)["completed_on"], "hours": 4,
                                      "source_name": "培训记录"}) for n in range(8)]
    form["offline_hours"] = 10
    pdf = render_pdf("registration", form)
    assert len(pages(pdf)) == 1
    has(text_of(pdf), "线下学习 10 学时", "第 0 期党校专题培训班", "另有 21 门课程", "本人签字")
