"""Tables as spreadsheets: XLSX that opens in Excel and WPS with Chinese intact, and CSV that Excel
reads (UTF-8 with a BOM, CRLF line ends). Any report hands a ``Table`` to ``write_table``.

The XLSX has a bold, frozen header with a filter, columns as wide as their content (a Chinese character
counts double, as it shows), real dates and hours as numbers. Text is always written as text: a name
that starts with "=" is never taken for a formula (in the CSV such a cell gets a leading apostrophe).

The reports of a year are here too: its learning records (one row per cadre), the summary per tier, and
the certificates issued.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.hours import STATUS_NAMES
from rules.plan_model import hours_text

from ...models import Cadre, Certificate, LearningRecordRow, Membership, YearClass, YearTier
from ..harvest.learning_records import reflection_count_of, tier_summary
from .document_batches import write_atomically
from .document_values import CERTIFICATE_STATUS_NAMES, plan_of
from .serials import display

KINDS = ("text", "number", "date", "hours")
MAX_WIDTH = 60.0
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SHEET_FORBIDDEN = str.maketrans({ch: " " for ch in "[]:*?/\\"})


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    width: float | None = None  # None: fitted to the content
    kind: str = "text"  # text | number | date | hours

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...]


def display_width(text: str) -> int:
    """Columns ``text`` takes on screen: a wide (Chinese) character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _number(value: Any) -> float | int | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, int | float) and not isinstance(value, bool) else float(value)


def _text(column: Column, value: Any) -> str:
    """A cell as text: what the CSV holds and what the XLSX column width is fitted to."""
    if value is None:
        return ""
    if column.kind == "hours":
        number = _number(value)
        return hours_text(round(float(number), 2)) if number is not None else ""
    if column.kind == "date":
        day = _date(value)
        return day.isoformat() if day else ""
    if column.kind == "number":
        number = _number(value)
        return "" if number is None else hours_text(number) if isinstance(number, float) else str(number)
    return str(value)


def _value(column: Column, value: Any) -> Any:
    """A cell as the XLSX stores it."""
    if column.kind == "date":
        return _date(value)
    if column.kind in ("number", "hours"):
        number = _number(value)
        return round(number, 2) if column.kind == "hours" and number is not None else number
    return None if value is None else str(value)


def to_xlsx(table: Table) -> bytes:
    return to_xlsx_book((table,), table.title)


def to_xlsx_book(tables: Sequence[Table], title: str) -> bytes:
    """One sheet per table, in order, each as ``to_xlsx`` writes its one (its title names the sheet)."""
    book = Workbook()
    book.properties.title = title
    first = book.active
    assert first is not None
    used: set[str] = set()
    for index, table in enumerate(tables):
        sheet = first if index == 0 else book.create_sheet()
        name = (table.title.translate(_SHEET_FORBIDDEN).strip() or "Sheet")[:31]
        while name in used:  # two tables of one title: sheets need names of their own
            name = f"{name[:28]}-{index + 1}"
        used.add(name)
        sheet.title = name
        _fill(sheet, table)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fill(sheet: Any, table: Table) -> None:
    bold = Font(bold=True)
    widths = [display_width(c.heading) for c in table.columns]
    for index, column in enumerate(table.columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.heading)
        cell.font = bold
        cell.data_type = "s"
    for row_index, row in enumerate(table.rows, start=2):
        for index, column in enumerate(table.columns, start=1):
            raw = row.get(column.key)
            cell = sheet.cell(row=row_index, column=index, value=_value(column, raw))
            if column.kind == "text" and cell.value is not None:
                cell.data_type = "s"  # never a formula
            elif column.kind == "date" and cell.value is not None:
                cell.number_format = "yyyy-mm-dd"
            widths[index - 1] = max(widths[index - 1], display_width(_text(column, raw)))
    for index, column in enumerate(table.columns, start=1):
        fitted = min(float(widths[index - 1]) + 2.0, MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(index)].width = column.width or fitted
    sheet.freeze_panes = "A2"
    if table.columns:
        last = get_column_letter(len(table.columns))
        sheet.auto_filter.ref = f"A1:{last}{max(1, len(table.rows) + 1)}"


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.heading for c in table.columns])
    for row in table.rows:
        cells = []
        for column in table.columns:
            text = _text(column, row.get(column.key))
            if column.kind == "text" and text.startswith(FORMULA_STARTS):
                text = "'" + text
            cells.append(text)
        writer.writerow(cells)
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def write_table(table: Table, path: Path) -> Path:
    """Writes the table as ``path``'s suffix says (.xlsx or .csv), whole or not at all."""
    writers = {".xlsx": to_xlsx, ".csv": to_csv}
    writer = writers.get(path.suffix.lower())
    if writer is None:
        raise ValueError(f"{path}: an export is .xlsx or .csv, not {path.suffix or 'without a suffix'}")
    write_atomically(path, writer(table))
    return path


# --- the reports of a year -----------------------------------------------------------------------

def records_table(session: Session, year: int) -> Table:
    """The year's learning records: one row per cadre, in employee-number order. Reflections are
    counted as everywhere (``reflection_count_of``): submitted of owed, and how many are long enough."""
    plan = plan_of(session, year)
    tiers = dict(session.execute(select(YearTier.key, YearTier.name).where(YearTier.year == year)).all())
    classes = dict(session.execute(select(YearClass.key, YearClass.name).where(YearClass.year == year)).all())
    class_of = dict(session.execute(select(Membership.employee_no, Membership.class_key)
                                    .where(Membership.year == year)).all())
    course_names = {c.key: c.name for c in plan.courses} if plan is not None else {}
    rows = []
    for record, cadre in session.execute(
            select(LearningRecordRow, Cadre).join(Cadre, Cadre.employee_no == LearningRecordRow.employee_no)
            .where(LearningRecordRow.year == year).order_by(LearningRecordRow.employee_no)):
        detail = record.detail
        count = reflection_count_of(plan, detail)
        rows.append({
            "employee_no": cadre.employee_no, "name": cadre.name, "department": cadre.department,
            "tier": tiers.get(record.tier_key or "", ""),
            "class": classes.get(class_of.get(cadre.employee_no) or "", ""),
            "required": record.required_hours, "elective": record.elective_hours, "total": record.total_hours,
            "target": record.target_hours, "status": STATUS_NAMES.get(record.status, record.status),
            "missing": "、".join(course_names.get(k, k) for k in detail.get("required_missing", [])),
            "reflections": f"{count.submitted}/{count.owed}" if count.owed else "",
            "reflections_long_enough": count.long_enough if count.owed else None,
            "points": record.discussion_points})
    columns = (Column("employee_no", "工号"), Column("name", "姓名"), Column("department", "部门"),
               Column("tier", "层级"), Column("class", "班级"), Column("required", "必修学时", kind="hours"),
               Column("elective", "选修学时", kind="hours"), Column("total", "总学时", kind="hours"),
               Column("target", "目标学时", kind="hours"), Column("status", "状态"),
               Column("missing", "未完成的必修课"), Column("reflections", "学习心得（已交/应交）"),
               Column("reflections_long_enough", "学习心得字数达标", kind="number"),
               Column("points", "发言积分", kind="hours"))
    return Table(f"{year} 年度干部学习记录", columns, tuple(rows))


def summary_table(session: Session, year: int) -> Table:
    """The year's summary per tier (``tier_summary``): cadres by status, and their mean hours."""
    rows = tuple({"tier": "不参加本年度学习" if t.key == "" else t.name, "cadres": t.cadres,
                  "complete": t.statuses["complete"], "on_track": t.statuses["on_track"],
                  "behind": t.statuses["behind"], "excluded": t.statuses["excluded"],
                  "mean": round(t.mean_hours, 2)} for t in tier_summary(session, year))
    columns = (Column("tier", "层级"), Column("cadres", "人数", kind="number"),
               Column("complete", "已完成", kind="number"), Column("on_track", "进度正常", kind="number"),
               Column("behind", "进度落后", kind="number"), Column("excluded", "不参加", kind="number"),
               Column("mean", "平均学时", kind="hours"))
    return Table(f"{year} 年度学习情况汇总", columns, rows)


def certificates_table(session: Session, year: int) -> Table:
    """Every certificate of the year, superseded and revoked ones included, in issue order."""
    rows = []
    for cert, cadre in session.execute(
            select(Certificate, Cadre).join(Cadre, Cadre.employee_no == Certificate.employee_no)
            .where(Certificate.year == year).order_by(Certificate.id)):
        data = cert.data
        rows.append({"serial": display(cert.serial), "employee_no": cert.employee_no, "name": cadre.name,
                     "department": data.get("department", ""),
                     "lang": "中文" if cert.lang == "zh" else "English", "version": cert.version,
                     "status": CERTIFICATE_STATUS_NAMES.get(cert.status, cert.status),
                     "total": data.get("total_hours"), "required": data.get("required_hours"),
                     "elective": data.get("elective_hours"), "issued_on": data.get("issued_on"),
                     "issued_by": cert.issued_by, "override": cert.override_reason or "",
                     "revoked_on": cert.revoked_at, "revoked_reason": cert.revoked_reason or "",
                     "pdf": cert.pdf_path if cert.pdf_sha256 else ""})
    columns = (Column("serial", "证书编号"), Column("employee_no", "工号"), Column("name", "姓名"),
               Column("department", "部门"), Column("lang", "语言"), Column("version", "版本", kind="number"),
               Column("status", "状态"), Column("total", "总学时", kind="hours"),
               Column("required", "必修学时", kind="hours"), Column("elective", "选修学时", kind="hours"),
               Column("issued_on", "颁发日期", kind="date"), Column("issued_by", "颁发人"),
               Column("override", "破格颁发理由"), Column("revoked_on", "撤销日期", kind="date"),
               Column("revoked_reason", "撤销理由"), Column("pdf", "PDF 文件"))
    return Table(f"{year} 年度学时证明书", columns, tuple(rows))


REPORTS = {"records": records_table, "summary": summary_table, "certificates": certificates_table}
