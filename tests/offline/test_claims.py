"""Claims of offline hours from submission to decision: the evidence checked and kept, who may decide,
what a decision changes in the cadre's record, and each way a step is refused without changing anything."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PIL import ImageFile
from sqlalchemy import func, select

from plugin_service.db import session_scope
from plugin_service.models import AuditLog, OfflineAttendance, OfflineClaim
from plugin_service.services.offline.claim_views import (
    ClaimFilters,
    ClaimView,
    cadre_claims,
    claims,
    claims_to_decide,
    evidence_file,
)
from plugin_service.services.offline.claims import claim_training, review_claim, submit_claim
from plugin_service.services.offline.errors import NotAllowed, NotFound, OfflineError
from plugin_service.services.offline.evidence import Evidence, evidence_root
from plugin_service.services.offline.trainings import record_training
from plugin_service.services.offline.who import LEARNER, OFFICER, Actor

from .world import ADMIN_ACTOR, PDF, REVIEWER_ACTOR, OfflineYear, image, offline_year

DAY = dt.date(2026, 5, 12)


@pytest.fixture
def year(database_url: str, tmp_path: Path) -> OfflineYear:
    return offline_year(database_url, tmp_path)


def submit(year: OfflineYear, employee_no: str, *, title: str = "省委党校中青班", hours: float | str = 6,
           evidence: tuple[bytes, str] = (PDF, "结业证书.pdf"), by: Actor | str | None = None,
           day: dt.date | str = DAY) -> int:
    with session_scope(year.database_url) as session:
        view = submit_claim(session, employee_no, title, day, hours, "外出参加专题培训", evidence,
                            by if by is not None else year.officer, settings=year.settings)
        return view.id


def decide(year: OfflineYear, claim_id: int, decision: str, by: Actor, reason: str = "") -> str:
    with session_scope(year.database_url) as session:
        return review_claim(session, claim_id, decision, reason, by).state


def stored_files(year: OfflineYear) -> list[Path]:
    root = evidence_root(year.settings)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def actions(year: OfflineYear) -> list[str]:
    with session_scope(year.database_url) as session:
        return list(session.scalars(select(AuditLog.action).where(AuditLog.action.like("offline:%"))
                                    .order_by(AuditLog.id)))


def test_a_claim_goes_from_submitted_to_approved_and_counts_at_once(year: OfflineYear) -> None:
    cadre = year.reviewed[0]
    before = year.record(cadre)
    claim_id = submit(year, cadre)
    assert year.record(cadre).total_hours == before.total_hours  # submitted: nothing counts yet
    [kept] = stored_files(year)
    assert kept.read_bytes() == PDF and kept.suffix == ".pdf" and kept.parent.name == "2026"
    assert "结业证书" not in str(kept)  # the uploaded name is never a path

    assert decide(year, claim_id, "approve", REVIEWER_ACTOR) == "approved"
    after = year.record(cadre)
    assert after.offline_hours == 6 and after.total_hours == before.total_hours + 6
    assert after.detail["offline"] == [{"source": f"claim:{claim_id}", "title": "省委党校中青班",
                                        "on": "2026-05-12", "hours": 6.0}]
    assert any("(claim approved)" in reason for reason in after.detail["reasons"])
    with session_scope(year.database_url) as session:
        claim = session.get(OfflineClaim, claim_id)
        assert claim is not None and claim.decided_by == "console:leader" and claim.decided_at is not None
        assert claim.submitted_by == "console:officer" and claim.evidence_name == "结业证书.pdf"
    assert actions(year) == ["offline:claim", "offline:claim-approve"]


def test_approved_hours_count_up_to_the_cap(year: OfflineYear) -> None:
    cadre = year.reviewed[0]
    for title, hours in (("党校专题", 6), ("红色教育基地现场教学", 8)):
        decide(year, submit(year, cadre, title=title, hours=hours), "approve", ADMIN_ACTOR)
    row = year.record(cadre)
    assert (row.detail["offline_hours_earned"], row.offline_hours) == (14, 10)


def test_a_rejection_says_why_and_counts_nothing(year: OfflineYear) -> None:
    cadre = year.reviewed[0]
    claim_id = submit(year, cadre)
    with pytest.raises(OfflineError) as without:
        decide(year, claim_id, "reject", year.officer)
    assert without.value.field == "reason" and without.value.message == "a value is required here"
    why = "证明材料不清晰，请补充盖章的结业证书"
    assert decide(year, claim_id, "reject", year.officer, why) == "rejected"
    assert year.record(cadre).offline_hours == 0
    [mine] = cadre_claims_of(year, cadre)
    assert (mine.state, mine.reason, mine.decided_by) == ("rejected", why, "console:officer")
    # rejected: the cadre may claim the same study again
    assert submit(year, cadre) != claim_id


def cadre_claims_of(year: OfflineYear, employee_no: str) -> list[ClaimView]:
    with session_scope(year.database_url) as session:
        return cadre_claims(session, employee_no, 2026)


def test_a_decided_claim_is_not_decided_again(year: OfflineYear) -> None:
    claim_id = submit(year, year.reviewed[0])
    decide(year, claim_id, "approve", ADMIN_ACTOR)
    for decision in ("approve", "reject"):
        with pytest.raises(OfflineError) as again:
            decide(year, claim_id, decision, year.officer, "再议")
        assert str(again.value) == f"claim {claim_id} was approved already, by console:admin"
    assert actions(year).count("offline:claim-approve") == 1


def test_only_the_cadres_reviewer_or_an_officer_of_their_department_decides(year: OfflineYear) -> None:
    reviewed, other = year.reviewed[0], year.outside()
    outsider_claim = submit(year, other, by=ADMIN_ACTOR)
    with pytest.raises(NotFound):  # not their cadre: as if there were no such claim
        decide(year, outsider_claim, "approve", REVIEWER_ACTOR)
    with pytest.raises(NotFound):
        decide(year, outsider_claim, "approve", year.officer)
    with pytest.raises(NotFound):
        decide(year, 99_999, "approve", ADMIN_ACTOR)
    own = Actor("console:self", OFFICER, departments=frozenset({year.department}), employee_no=reviewed)
    claim_id = submit(year, reviewed)
    with pytest.raises(NotAllowed):
        decide(year, claim_id, "approve", own)
    with pytest.raises(NotAllowed):
        decide(year, claim_id, "approve", Actor(f"lti:{reviewed}", LEARNER, employee_no=reviewed))
    with pytest.raises(OfflineError):
        decide(year, claim_id, "maybe", ADMIN_ACTOR)
    assert {c.id: c.state for c in cadre_claims_of(year, reviewed)} == {claim_id: "submitted"}
    assert decide(year, outsider_claim, "approve", ADMIN_ACTOR) == "approved"


def test_the_evidence_is_checked_by_its_content_and_size(year: OfflineYear,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as a renderer in the process may
    cadre = year.reviewed[0]
    refused = [
        ((b"MZ\x90\x00" * 100, "证明.exe"), '"证明.exe" is not a PDF, JPEG or PNG file'),
        ((b"this is only text", "证明.pdf"),
         '"证明.pdf" is named as a PDF, JPEG or PNG file but its content is not one (or it is damaged)'),
        ((image("PNG")[:60], "照片.png"),
         '"照片.png" is named as a PDF, JPEG or PNG file but its content is not one (or it is damaged)'),
        ((image("JPEG")[:-300], "照片.jpg"),
         '"照片.jpg" is named as a PDF, JPEG or PNG file but its content is not one (or it is damaged)'),
        ((image("GIF"), "照片.jpg"),
         '"照片.jpg" is named as a PDF, JPEG or PNG file but its content is not one (or it is damaged)'),
        ((PDF + b"0" * (1024 * 1024), "大文件.pdf"), "the evidence file is 1 MB, more than the 1 MB allowed"),
        ((b"", "空.pdf"), "attach the evidence: a PDF, JPEG or PNG file"),
    ]
    for evidence, message in refused:
        with pytest.raises(OfflineError) as refusal:
            submit(year, cadre, evidence=evidence)
        assert refusal.value.field == "evidence" and str(refusal.value) == message, evidence[1]
    assert stored_files(year) == [] and cadre_claims_of(year, cadre) == []
    # what the content is decides: a PNG saved as .jpg is kept as the PNG it is
    submit(year, cadre, evidence=(image("PNG"), "签到表.jpg"), title="签到表一")
    submit(year, cadre, evidence=(image("JPEG"), "签到表.JPEG"), title="签到表二")
    assert sorted(p.suffix for p in stored_files(year)) == [".jpg", ".png"]
    assert sorted(c.evidence_type for c in cadre_claims_of(year, cadre)) == ["image/jpeg", "image/png"]


def test_bad_fields_are_named_and_store_nothing(year: OfflineYear) -> None:
    cadre = year.reviewed[0]
    cases = [({"hours": "0"}, "hours", "hours must be more than 0 and at most 100 (found 0)"),
             ({"hours": "四"}, "hours", '"四" is not a number of hours (like 4 or 1.5)'),
             ({"title": " "}, "title", "a value is required here"),
             ({"day": "2026-02-30"}, "day", '"2026-02-30" is not a date of the calendar'),
             ({"day": "2099-05-01"}, "day",
              "2099-05-01 is still to come: only study that took place counts"),
             ({"day": "2019-05-01"}, "day",
              "no plan year takes hours of 2019-05-01: no applied plan's period holds it, and no plan is of "
              "2019")]
    for given, field, message in cases:
        with pytest.raises(OfflineError) as refusal:
            submit(year, cadre, **given)  # type: ignore[arg-type]
        assert (refusal.value.field, str(refusal.value)) == (field, message)
    with pytest.raises(NotAllowed):
        submit(year, year.outside())  # the officer's departments only
    with pytest.raises(OfflineError) as unknown:
        submit(year, "X404", by=ADMIN_ACTOR)
    assert str(unknown.value) == "no cadre has the employee number X404"
    assert stored_files(year) == []
    with session_scope(year.database_url) as session:
        assert session.scalar(select(func.count()).select_from(OfflineClaim)) == 0


def test_the_same_study_is_claimed_once(year: OfflineYear) -> None:
    cadre = year.reviewed[0]
    first = submit(year, cadre, day="2026/5/12")
    with pytest.raises(OfflineError) as again:
        submit(year, cadre)
    assert str(again.value) == f'{cadre} claimed "省委党校中青班" of 2026-05-12 already (claim {first})'
    assert len(stored_files(year)) == 1


def test_a_claim_for_a_recorded_training_records_the_cadre_when_approved(year: OfflineYear) -> None:
    cadre, colleague = year.reviewed
    with session_scope(year.database_url) as session:
        training = record_training(session, ADMIN_ACTOR, name="党的二十届四中全会精神宣讲", day="2026-11-03",
                                   hours="2.5", attendees=[colleague]).training_id
        claim = claim_training(session, cadre, training, "签到时漏签", (image("PNG"), "现场照片.png"),
                               f"lti:{cadre}", settings=year.settings)
    assert (claim.title, claim.held_on, claim.hours, claim.training_id) == (
        "党的二十届四中全会精神宣讲", dt.date(2026, 11, 3), 2.5, training)
    with pytest.raises(OfflineError), session_scope(year.database_url) as session:  # claimed already
        claim_training(session, cadre, training, "", (PDF, "a.pdf"), f"lti:{cadre}", settings=year.settings)
    with pytest.raises(OfflineError), session_scope(year.database_url) as session:  # recorded already
        claim_training(session, colleague, training, "", (PDF, "a.pdf"), f"lti:{colleague}",
                       settings=year.settings)
    decide(year, claim.id, "approve", REVIEWER_ACTOR)
    with session_scope(year.database_url) as session:
        attendance = session.scalar(select(OfflineAttendance).where(OfflineAttendance.employee_no == cadre))
        assert attendance is not None and attendance.claim_id == claim.id
    row = year.record(cadre)
    assert row.offline_hours == 2.5
    assert [o["source"] for o in row.detail["offline"]] == [f"training:{training}"]  # counted once


def test_who_sees_and_decides_which_claims(year: OfflineYear, tmp_path: Path) -> None:
    reviewed, other = year.reviewed[0], year.outside()
    mine = submit(year, reviewed)
    theirs = submit(year, other, by=ADMIN_ACTOR)
    learner_claim = submit(year, reviewed, by=f"lti:{reviewed}", title="读书班",
                           evidence=(image("JPEG"), "a.jpg"))
    with session_scope(year.database_url) as session:
        assert [c.id for c in claims_to_decide(session, REVIEWER_ACTOR)] == [mine, learner_claim]
        assert [c.id for c in claims_to_decide(session, year.officer, 2026)] == [mine, learner_claim]
        assert {c.id for c in claims_to_decide(session, ADMIN_ACTOR)} == {mine, theirs, learner_claim}
        assert claims(session, year.officer, ClaimFilters(q="读书")).total == 1
        learner = Actor(f"lti:{reviewed}", LEARNER, employee_no=reviewed)
        assert [c.id for c in claims(session, learner).rows] == [learner_claim, mine]
        assert evidence_file(session, year.settings, mine, REVIEWER_ACTOR).path.read_bytes() == PDF
        shown = evidence_file(session, year.settings, learner_claim, learner)
        assert (shown.media_type, shown.download_name) == ("image/jpeg", "a.jpg")
        for reader in (REVIEWER_ACTOR, year.officer, learner):
            with pytest.raises(NotFound):
                evidence_file(session, year.settings, theirs, reader)


def test_the_evidence_folder_can_be_set(year: OfflineYear, tmp_path: Path) -> None:
    from .world import with_settings

    year.settings = with_settings(year, offline_evidence_dir=str(tmp_path / "elsewhere"))
    submit(year, year.reviewed[0], evidence=(Evidence(PDF, "c.pdf").data, "c.pdf"))
    assert [p.parent.parent.name for p in stored_files(year)] == ["elsewhere"]
