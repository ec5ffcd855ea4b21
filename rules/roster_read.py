"""Turning an HR export's bytes into rows of clean text, whatever Excel did to it.

Exports come from Excel on Chinese Windows: CSV in UTF-8 with or without a BOM, or in GB18030/GBK (what
"CSV (逗号分隔)" writes), sometimes tab-separated, or an XLSX workbook whose numbers (employee numbers,
mobiles) arrive as numbers. Cells carry stray ASCII spaces, full-width spaces (U+3000) and no-break
spaces pasted from web pages. Rows keep the physical line (CSV) or row (XLSX) number so that every
problem can be found in the file by the person who fixes it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from collections.abc import Iterable

from rules.problems import Problem
from rules.wording import Sentence

Row = tuple[int, list[str]]  # (line or row number, cells)

_SPACES = re.compile(r"[\s\u3000\u00a0\u2002-\u200b\ufeff]+")
ZIP_SIGNATURE = b"PK\x03\x04"
ENCODINGS = (("utf-8-sig", "UTF-8"), ("gb18030", "GB18030 (GBK)"))


def clean(value: object) -> str:
    """A cell as text: spaces of every kind trimmed and collapsed, integral numbers without '.0'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = str(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, dt.datetime):
        text = value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    else:
        text = str(value)
    return _SPACES.sub(" ", text).strip()


def is_xlsx(data: bytes, filename: str) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or data.startswith(ZIP_SIGNATURE)


def read_rows(data: bytes, filename: str) -> tuple[list[Row], list[Problem]]:
    """The non-blank rows of a CSV or XLSX file, or the problem that stops it being read at all."""
    if filename.lower().endswith(".xls") and not data.startswith(ZIP_SIGNATURE):
        return [], [Problem(filename, None, "", Sentence('old Excel ".xls" files cannot be read: save the '
                                                         'roster as "Excel 工作簿 (.xlsx)" or "CSV UTF-8"'))]
    if is_xlsx(data, filename):
        return _xlsx_rows(data, filename)
    text, problem = decode(data, filename)
    if problem is not None:
        return [], [problem]
    return _csv_rows(text), []


def decode(data: bytes, filename: str) -> tuple[str, Problem | None]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            pass
    for codec, _ in ENCODINGS:
        try:
            return data.decode(codec), None
        except UnicodeDecodeError:
            continue
    tried = ", ".join(name for _, name in ENCODINGS)
    return "", Problem(filename, None, "", Sentence('cannot decode the file (tried %(tried)s): save it from '
                                                    'Excel as "CSV UTF-8" or as .xlsx', tried=tried))


def _csv_rows(text: str) -> list[Row]:
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ";" if first.count(";") > first.count(",") \
        else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Row] = []
    line = 1  # the physical line where the next record starts (quoted cells may span lines)
    for record in reader:
        cells = [clean(cell) for cell in record]
        if any(cells):
            rows.append((line, cells))
        line = reader.line_num + 1
    return rows


def _xlsx_rows(data: bytes, filename: str) -> tuple[list[Row], list[Problem]]:
    import openpyxl  # imported here: reading a CSV roster should not pay for it

    try:
        with warnings.catch_warnings():  # openpyxl warns about styles and data validation it ignores
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        return [], [Problem(filename, None, "", Sentence("not a readable XLSX workbook (%(error)s)",
                                                         error=str(error)))]
    try:
        sheet = book.worksheets[0]
        rows = list(_sheet_rows(sheet.iter_rows(values_only=True)))
    finally:
        book.close()
    return rows, []


def _sheet_rows(values: Iterable[tuple[object, ...]]) -> Iterable[Row]:
    for number, record in enumerate(values, start=1):
        cells = [clean(cell) for cell in record]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            yield number, cells
