"""Exports: the generic table writer read back (openpyxl for XLSX, bytes for CSV) and the year's reports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from plugin_service.db import session_scope
from plugin_service.services.documents.certificates import issue_year, revoke
from plugin_service.services.documents.exports import (
    Column,
    Table,
    certificates_table,
    display_width,
    records_table,
    summary_table,
    to_csv,
    to_xlsx,
    write_table,
)

from .registry import certificates, settings_for
from .seed import SeededYear, seed_year

TABLE = Table("2026 年度干部学习记录/测试", (
    Column("no", "工号"), Column("name", "姓名"), Column("department", "部门"),
    Column("hours", "总学时", kind="hours"), Column("count", "课程数", kind="number"),
    Column("day", "完成日期", kind="date"), Column("note", "备注", width=30)), (
    {"no": "T20408", "name": "张伟", "department": "机电工程学院（智能制造产业学院）", "hours": 52.0,
     "count": 7,
     "day": dt.date(2026, 6, 30), "note": "=HYPERLINK(\"http://evil.example\")"},
    {"no": "T20409", "name": "欧阳䶮", "department": "图书馆", "hours": 47.5, "count": 6,
     "day": "2026-07-01", "note": None},
    {"no": "T20410", "name": "李昇", "department": "组织部", "hours": None, "count": None, "day": None,
     "note": "+1"}))


def test_xlsx_reads_back_with_chinese_a_frozen_bold_header_a_filter_and_fitted_widths() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(TABLE)))
    sheet = book.active
    assert sheet is not None
    assert sheet.title == "2026 年度干部学习记录 测试" and book.properties.title == TABLE.title
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("工号", "姓名", "部门", "总学时", "课程数", "完成日期", "备注")
    assert rows[1][:5] == ("T20408", "张伟", "机电工程学院（智能制造产业学院）", 52, 7)
    assert rows[2][1] == "欧阳䶮" and rows[2][3] == 47.5 and isinstance(rows[2][3], float)
    assert rows[1][5] == dt.datetime(2026, 6, 30) and rows[2][5] == dt.datetime(2026, 7, 1)
    assert sheet["F2"].number_format == "yyyy-mm-dd" and sheet["F2"].is_date
    assert rows[3][3:6] == (None, None, None)
    assert sheet["G2"].data_type == "s"  # text, not a formula
    assert rows[1][6] == "=HYPERLINK(\"http://evil.example\")"
    assert all(sheet.cell(row=1, column=c).font.bold for c in range(1, 8))
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:G4"
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFG"}
    # wide characters count double
    assert widths["C"] == display_width("机电工程学院（智能制造产业学院）") + 2 == 34
    assert widths["B"] == display_width("欧阳䶮") + 2 and widths["A"] == len("T20408") + 2
    assert widths["G"] == 30  # the column's own width


def test_csv_has_a_bom_crlf_headings_first_and_no_formula() -> None:
    data = to_csv(TABLE)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8")
    assert text.count("\r\n") == 4 and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["工号", "姓名", "部门", "总学时", "课程数", "完成日期", "备注"]
    assert rows[1] == ["T20408", "张伟", "机电工程学院（智能制造产业学院）", "52", "7", "2026-06-30",
                       "'=HYPERLINK(\"http://evil.example\")"]
    assert rows[2] == ["T20409", "欧阳䶮", "图书馆", "47.5", "6", "2026-07-01", ""]
    assert rows[3] == ["T20410", "李昇", "组织部", "", "", "", "'+1"]
    assert data.decode("utf-8-sig").startswith("工号,")


def test_write_table_picks_the_format_by_suffix(tmp_path: Path) -> None:
    assert write_table(TABLE, tmp_path / "a.csv").read_bytes() == to_csv(TABLE)
    assert load_workbook(write_table(TABLE, tmp_path / "out" / "a.XLSX")).active is not None
    with pytest.raises(ValueError, match=r"\.xlsx or \.csv"):
        write_table(TABLE, tmp_path / "a.txt")
    assert not (tmp_path / "a.txt").exists()
    with pytest.raises(ValueError, match="kind 'money'"):
        Column("x", "X", kind="money")


@pytest.fixture
def seeded(database_url: str) -> SeededYear:
    return seed_year(database_url, cadres=15)


def test_the_years_reports_as_tables(seeded: SeededYear, tmp_path: Path) -> None:
    settings = settings_for(seeded.database_url, tmp_path)
    issue_year(settings, 2026, actor="test", today=dt.date(2026, 12, 20))
    revoke(settings, certificates(seeded.database_url)[0].serial, reason="复核", actor="admin")
    with session_scope(seeded.database_url) as session:
        records = records_table(session, 2026)
        summary = summary_table(session, 2026)
        issued = certificates_table(session, 2026)

    assert [c.heading for c in records.columns][:5] == ["工号", "姓名", "部门", "层级", "班级"]
    assert [r["employee_no"] for r in records.rows] == sorted(seeded.profiles)
    gap = next(r for r in records.rows if seeded.profiles[r["employee_no"]] == "gap")
    assert gap["missing"] == "习近平新时代中国特色社会主义思想专题学习" and gap["status"] == "进度落后"
    complete = next(r for r in records.rows if r["employee_no"] in seeded.eligible()
                    and seeded.tiers[r["employee_no"]] == "party-admin")
    assert complete["status"] == "已完成" and complete["tier"] == "党政部门中层干部"
    assert complete["reflections"] == "2/2"
    assert complete["total"] == complete["required"] + complete["elective"]

    assert [r["tier"] for r in summary.rows] == ["校领导", "党政部门中层干部", "教学部门中层干部",
                                                 "教辅部门中层干部", "科级干部"]
    assert sum(r["cadres"] for r in summary.rows) == 15
    assert sum(r["complete"] for r in summary.rows) == len(seeded.eligible())

    assert len(issued.rows) == len(seeded.eligible())
    assert [r["status"] for r in issued.rows].count("已撤销") == 1
    revoked = next(r for r in issued.rows if r["status"] == "已撤销")
    assert revoked["revoked_reason"] == "复核" and revoked["revoked_on"] is not None
    sheet = load_workbook(io.BytesIO(to_xlsx(issued))).active
    assert sheet is not None and sheet["A2"].value == issued.rows[0]["serial"]
