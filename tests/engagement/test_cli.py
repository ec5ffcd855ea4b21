"""The engagement commands as an admin runs them, configured by ``CADRE_*`` variables."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pytest

from ..harvest.world import Year, cli, moment
from .calendar import counts

pytestmark = pytest.mark.xdist_group("engagement-cli")


def run(year: Year, *args: str) -> str:
    result = cli(list(args), database_url=year.database_url, fake=year.fake)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_remind_dry_run_then_for_real(small: Year) -> None:
    small.at(moment("2026-07-01", "03:00:00"))
    small.harvest("report", today=dt.date(2026, 7, 1))
    shown = run(small, "remind", "--today", "2026-07-01", "--dry-run", "--show", "0")
    assert "2026, as on 2026-07-01 (dry run):" in shown
    assert "mid-year" in shown and "fires now: would send" in shown and "autumn-laggards" in shown
    announced = sum(int(n) for n in re.findall(r"would send (\d+) messages", shown))
    listed = sum(1 for line in shown.splitlines() if line.strip().startswith("-> "))
    assert announced > 0 and announced == listed
    assert not counts(small, "低于本阶段应达到的 20 学时")
    sent = run(small, "remind", "--today", "2026-07-01")
    assert "fires now: queued" in sent and "Delivered: " in sent and " 0 refused" in sent
    assert counts(small, "低于本阶段应达到的 20 学时")
    again = run(small, "remind", "--today", "2026-07-01")
    assert "already done" in again and "Delivered: 0 sent" in again


def test_announce_and_discussions(small: Year) -> None:
    small.at(moment("2026-03-05", "08:00:00"))
    out = run(small, "announce", "--today", "2026-03-05")
    assert "announcement 2026-03-05-1" in out and "fires now: queued" in out
    small.at(moment("2026-04-02", "08:00:00"))
    out = run(small, "discussions", "sync", "--today", "2026-04-02")
    assert "spring" in out and "opened (late: the window is 2026-04-01 to 2026-04-30; caught up now)" in out


def test_commend_and_survey_export(small: Year, tmp_path: Path) -> None:
    small.at(moment("2026-12-16", "03:00:00"))
    small.harvest("report", today=dt.date(2026, 12, 16))
    out = run(small, "commend", "-o", str(tmp_path / "commend.xlsx"), "--save")
    assert "2026 年度表彰名单: top 3 per tier, at least 50 hours" in out
    assert "nobody reaches the rule's hours yet" in out and "Stored as the 2026 commendation list" in out
    sheet = openpyxl.load_workbook(tmp_path / "commend.xlsx").active
    assert sheet is not None and sheet.cell(1, 1).value == "层级 Tier" and sheet.freeze_panes == "A2"

    out = run(small, "survey", "summary", "-o", str(tmp_path / "survey.csv"))
    assert "0 answers" in out and "希望增加的培训内容" in out
    data = (tmp_path / "survey.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["问题 Question", "选项或回答 Answer", "人数 Count"]
    assert any(row[0].startswith("希望增加的培训内容") and row[1] == "党的创新理论" for row in rows)


def test_errors_are_said_plainly(small: Year, tmp_path: Path) -> None:
    result = cli(["commend", "-o", str(tmp_path / "list.pdf")], database_url=small.database_url)
    assert result.exit_code == 2 and "cannot write" in result.output
