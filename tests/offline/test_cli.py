"""``cadre offline`` (list, import, claim, approve, reject) and the offline hours in ``cadre record``: what
they print and how they exit, through the same services as the console."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result

from plugin_service.db import session_scope
from plugin_service.services.offline.claims import submit_claim
from plugin_service.services.platform.console_users import create_user

from ..harvest.world import cli
from .test_trainings import xlsx
from .world import LEADER, PDF, OfflineYear, offline_year


@pytest.fixture
def year(database_url: str, tmp_path: Path) -> OfflineYear:
    return offline_year(database_url, tmp_path)


def run(year: OfflineYear, *args: str) -> Result:
    return cli(list(args), database_url=year.database_url, documents_dir=year.settings.documents_dir)


def claim(year: OfflineYear, employee_no: str, title: str = "省委党校中青班") -> int:
    with session_scope(year.database_url) as session:
        return submit_claim(session, employee_no, title, "2026-06-03", "6", "外出培训", (PDF, "a.pdf"),
                            f"lti:{employee_no}", settings=year.settings).id


def test_a_sheet_is_imported_or_refused_with_every_problem(year: OfflineYear, tmp_path: Path) -> None:
    first, second = year.reviewed
    bad = tmp_path / "签到表.xlsx"
    bad.write_bytes(xlsx([["读书班", "2026-06-01", 2, first, ""], ["读书班", "2026/13/1", 2, "X404", ""]]))
    refused = run(year, "offline", "import", str(bad))
    assert refused.exit_code == 2
    assert "签到表.xlsx line 3, column 日期: \"2026/13/1\" is not a date of the calendar" in refused.output
    assert "签到表.xlsx line 3, column 工号: no cadre has the employee number X404" in refused.output
    assert "nothing was changed" in refused.output
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx([["读书班", "2026-06-01", 2, f"{first}、{second}", "党委组织部"]]))
    done = run(year, "offline", "import", str(good))
    assert done.exit_code == 0, done.output
    assert "good.xlsx: 1 training(s) recorded, 0 found recorded before; 2 attendance(s) added" in done.output
    again = run(year, "offline", "import", str(good))
    assert "0 training(s) recorded, 1 found recorded before; 0 attendance(s) added, 2 recorded before" \
        in again.output
    listed = run(year, "offline", "list", "--trainings", "--year", "2026")
    assert "1 training(s) of 2026" in listed.output and "读书班" in listed.output
    assert "2 attendee(s)" in listed.output


def test_claims_are_listed_and_decided_once(year: OfflineYear) -> None:
    cadre = year.reviewed[0]
    claim_id = claim(year, cadre)
    listed = run(year, "offline", "list")
    assert listed.exit_code == 0 and "1 claim(s) of 2026, submitted" in listed.output
    assert f"{claim_id:>5}  {cadre}" in listed.output and "submitted 待审核" in listed.output
    assert run(year, "offline", "reject", str(claim_id)).exit_code == 2  # a rejection needs --reason
    rejected = run(year, "offline", "reject", str(claim_id), "--reason", "证明材料不全")
    assert rejected.exit_code == 0 and rejected.output.startswith(f"claim {claim_id} rejected 未认定")
    twice = run(year, "offline", "approve", str(claim_id))
    assert twice.exit_code == 2 and f"claim {claim_id} was rejected already, by cli" in twice.output
    missing = run(year, "offline", "approve", "999")
    assert missing.exit_code == 2 and "no claim 999" in missing.output
    assert "(证明材料不全)" in run(year, "offline", "list", "--state", "all").output


def test_cadre_record_shows_the_offline_hours_with_their_source(year: OfflineYear) -> None:
    cadre = year.reviewed[0]
    approved, waiting = claim(year, cadre), claim(year, cadre, "读书班")
    assert run(year, "offline", "approve", str(approved)).exit_code == 0
    shown = run(year, "record", cadre, "--year", "2026")
    assert shown.exit_code == 0, shown.output
    assert "offline hours (线下学时): 6 counted of 6 (up to 10)" in shown.output
    assert f"2026-06-03     6 h  省委党校中青班  (claim {approved})" in shown.output
    assert f"claim {waiting}  2026-06-03     6 h  读书班  submitted 待审核" in shown.output


def test_a_claim_is_filed_on_a_cadres_behalf_with_its_evidence(year: OfflineYear, tmp_path: Path) -> None:
    cadre = year.reviewed[0]
    evidence = tmp_path / "结业证书.pdf"
    evidence.write_bytes(PDF)
    args = ["offline", "claim", cadre, "--title", "省委党校中青班", "--day", "2026年6月3日", "--hours", "6",
            "--description", "外出培训"]
    filed = run(year, *args, "--evidence", str(evidence))
    assert filed.exit_code == 0, filed.output
    assert filed.output.startswith("claim ") and "submitted 待审核" in filed.output
    assert cadre in filed.output
    assert "省委党校中青班 (2026-06-03, 6 h), evidence 结业证书.pdf" in filed.output
    again = run(year, *args, "--evidence", str(evidence))
    assert again.exit_code == 2 and "--title: " in again.output and "claimed" in again.output
    fake = tmp_path / "photo.png"
    fake.write_bytes(b"not a picture")
    refused = run(year, *args[:4], "读书班", *args[5:], "--evidence", str(fake))
    assert refused.exit_code == 2
    assert ('--evidence: "photo.png" is named as a PDF, JPEG or PNG file but its content is not one'
            in refused.output)
    late = run(year, *args[:6], "2099-01-01", *args[7:], "--evidence", str(evidence))
    assert late.exit_code == 2 and "--day: 2099-01-01 is still to come" in late.output
    assert "1 claim(s) of 2026, submitted" in run(year, "offline", "list").output


def test_a_console_user_decides_within_their_scope_and_under_their_name(year: OfflineYear) -> None:
    with session_scope(year.database_url) as session:
        create_user(session, "officer1", "a long enough password 1", role="officer", actor="test",
                    departments=(year.department,))
        create_user(session, "leader1", "a long enough password 2", role="reviewer", actor="test",
                    employee_no=LEADER)
    mine, theirs = claim(year, year.reviewed[0]), claim(year, year.outside())
    approved = run(year, "offline", "approve", str(mine), "--as", "officer1")
    assert approved.exit_code == 0, approved.output
    assert approved.output.startswith(f"claim {mine} approved 已认定 by console:officer1: {year.reviewed[0]}")
    elsewhere = run(year, "offline", "reject", str(theirs), "--reason", "材料不全", "--as", "leader1")
    assert elsewhere.exit_code == 2 and f"no claim {theirs}" in elsewhere.output  # not the leader's cadre
    assert run(year, "offline", "approve", str(theirs), "--as", "nobody").output.strip().endswith(
        "no console user nobody")
    assert "claim" in run(year, "offline", "list", "--state", "all").output
    assert year.record(year.reviewed[0]).offline_hours == 6
