"""``cadre bulletin`` as an admin runs it: a preview, the sending, a second run that sends nothing, the
history, one bulletin with its files copied out, and what it says when asked for what is not there."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import openpyxl
import pytest

from ..harvest.world import Year, cli, moment, spread
from .calendar import inbox

pytestmark = pytest.mark.xdist_group("engagement-cli")

TITLE = "2026 年度干部在线学习上半年进展通报"


def run(year: Year, tmp_path: Path, *args: str, code: int = 0) -> str:
    result = cli(list(args), database_url=year.database_url, fake=year.fake,
                 documents_dir=str(tmp_path / "documents"))
    assert result.exit_code == code, result.output
    return result.output


def test_preview_send_list_and_show(small: Year, tmp_path: Path) -> None:
    spread(small, until=dt.date(2026, 6, 15))
    small.at(moment("2026-07-01", "03:00:00"))
    small.harvest("report", today=dt.date(2026, 7, 1))
    shown = run(small, tmp_path, "bulletin", "send", "--today", "2026-07-01", "--dry-run", "--show", "0")
    assert "2026, as on 2026-07-01 (dry run):" in shown
    assert re.search(r"2026-07-01 +2026-07-01 +2026 年度干部在线学习上半年进展通报 +issued now: would send "
                     r"\d+ messages \(leaders \d+, department_heads \d+\)", shown), shown
    assert "the year's first bulletin" in shown and "by department (" in shown and "首次参加排名" in shown
    assert "2026-10-15" in shown and "not yet" in shown
    would = int(re.search(r"would send (\d+) messages", shown).group(1))  # type: ignore[union-attr]
    assert sum(1 for line in shown.splitlines() if line.strip().startswith("-> ")) == would
    assert not inbox(small) and not (tmp_path / "documents").exists()

    sent = run(small, tmp_path, "bulletin", "send", "--today", "2026-07-01")
    assert "issued now: queued" in sent and f"Delivered: {would} sent, 0 refused" in sent
    assert sum(TITLE in text for texts in inbox(small).values() for text in texts) == would
    again = run(small, tmp_path, "bulletin", "send", "--today", "2026-07-02")
    assert "already issued" in again and "Delivered: 0 sent" in again

    listed = run(small, tmp_path, "bulletin", "list", "--today", "2026-07-02")
    assert "2026 bulletins issued: 1" in listed
    assert f"{would} of {would} messages sent, 0 not reached: delivered; files: PDF XLSX" in listed
    assert "To come:" in listed and "2026-10-15" in listed and "future" in listed

    out = tmp_path / "copy.xlsx"
    shown = run(small, tmp_path, "bulletin", "show", "2026-07-01", "-o", str(out))
    assert "the year's first bulletin" in shown and "by tier:" in shown and f"Written: {out}" in shown
    assert openpyxl.load_workbook(out).sheetnames == ["按部门", "按层级", "说明"]
    pdf = tmp_path / "copy.pdf"
    run(small, tmp_path, "bulletin", "show", "2026-07-01", "-o", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_what_is_not_there_is_said_plainly(small: Year, tmp_path: Path) -> None:
    missing = run(small, tmp_path, "bulletin", "show", "autumn", code=2)
    assert "no bulletin 'autumn' was issued in 2026" in missing
    early = run(small, tmp_path, "bulletin", "send", "--today", "2026-07-01")
    assert "waits for a harvest" in early and "Delivered: 0 sent" in early
    bad = run(small, tmp_path, "bulletin", "show", "autumn", "-o", str(tmp_path / "x.doc"), code=2)
    assert "no bulletin" in bad
