"""The roster: every problem HR's export can have, with its place, and every shape Excel exports it in."""

from __future__ import annotations

import io

import openpyxl
import pytest

from rules.names import split_name
from rules.problems import InputError
from rules.roster import Roster, load_roster
from tests.rules.samples import roster_bytes, sample_roster

HEADER = "工号,姓名,性别,部门,部门类别,职务,职级,邮箱,手机,在职状态,分管校领导工号"
LEADER = "T1,王校长,男,校领导,党政部门,校长,校级,t1@college.example,13900000001,在职,"
CADRE = "T2,李四,女,教务处,党政部门,处长,正处级,t2@college.example,13900000002,在职,T1"
OTHER = "T3,张三,男,人事处,党政部门,科长,正科级,t3@college.example,13900000003,在职,T1"
RANKS = "allowed: 校级, 正处级, 副处级, 正科级, 副科级"


def csv_of(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def problems(data: bytes, filename: str = "roster.csv") -> list[str]:
    with pytest.raises(InputError) as raised:
        load_roster(data, filename)
    return [str(p) for p in raised.value.problems]


def with_cell(line: str, column: int, value: str) -> str:
    cells = line.split(",")
    cells[column] = value
    return ",".join(cells)


# One row per problem: the file's lines, and the one problem expected (exact message and place).
CASES = [
    ("unknown rank", [HEADER, LEADER, with_cell(CADRE, 6, "副处")],
     f'roster.csv line 3, column 职级: unknown rank "副处" ({RANKS})'),
    ("unknown department type", [HEADER, LEADER, with_cell(CADRE, 4, "后勤部门")],
     'roster.csv line 3, column 部门类别: unknown department type "后勤部门" (allowed: 党政部门, 教学部门, '
     '教辅部门)'),
    ("unknown status", [HEADER, LEADER, with_cell(CADRE, 9, "退休")],
     'roster.csv line 3, column 在职状态: unknown status "退休" (allowed: 在职, 离岗, 离职)'),
    ("unknown gender", [HEADER, LEADER, with_cell(CADRE, 2, "未知")],
     'roster.csv line 3, column 性别: unknown gender "未知" (allowed: 男, 女)'),
    ("empty employee number", [HEADER, LEADER, with_cell(CADRE, 0, "")],
     "roster.csv line 3, column 工号: required value is empty"),
    ("employee number not a username", [HEADER, LEADER, with_cell(CADRE, 0, "T 2")],
     'roster.csv line 3, column 工号: employee number "T 2" cannot be a Moodle username: use letters, '
     'digits, "_", "-", "." or "@"'),
    ("empty name", [HEADER, LEADER, with_cell(CADRE, 1, "　")],
     "roster.csv line 3, column 姓名: required value is empty"),
    ("empty rank", [HEADER, LEADER, with_cell(CADRE, 6, "")],
     "roster.csv line 3, column 职级: required value is empty"),
    ("empty status", [HEADER, LEADER, with_cell(CADRE, 9, "")],
     "roster.csv line 3, column 在职状态: required value is empty"),
    ("malformed email", [HEADER, LEADER, with_cell(CADRE, 7, "t2@college")],
     'roster.csv line 3, column 邮箱: malformed email "t2@college"'),
    ("email with a space", [HEADER, LEADER, with_cell(CADRE, 7, "t2 @college.example")],
     'roster.csv line 3, column 邮箱: malformed email "t2 @college.example"'),
    ("short mobile", [HEADER, LEADER, with_cell(CADRE, 8, "1390000000")],
     'roster.csv line 3, column 手机: malformed mobile "1390000000" (expected 11 digits, like 13912345678)'),
    ("landline, not a mobile", [HEADER, LEADER, with_cell(CADRE, 8, "020-12345678")],
     'roster.csv line 3, column 手机: malformed mobile "020-12345678" (expected 11 digits, '
     "like 13912345678)"),
    ("supervising leader not in the roster", [HEADER, LEADER, with_cell(CADRE, 10, "T9")],
     'roster.csv line 3, column 分管校领导工号: supervising leader "T9" is not in the roster'),
    ("supervising leader not a school leader", [HEADER, LEADER, CADRE, with_cell(OTHER, 10, "T2")],
     'roster.csv line 4, column 分管校领导工号: supervising leader "T2" (李四, line 3) is 正处级, not a 校级 '
     'leader'),
    ("duplicate employee number", [HEADER, LEADER, CADRE, with_cell(OTHER, 0, "T2")],
     'roster.csv line 4, column 工号: duplicate employee number "T2" (lines 3 and 4)'),
    ("duplicate employee number, other case", [HEADER, LEADER, CADRE, with_cell(OTHER, 0, "t2")],
     'roster.csv line 4, column 工号: duplicate employee number "t2" (lines 3 and 4)'),
    ("missing required column", [HEADER.replace(",职级", ""), LEADER.replace(",校级", ""),
                                 CADRE.replace(",正处级", "")],
     "roster.csv line 1: missing required column 职级 (rank)"),
    ("missing required column, English header",
     ["employee_no,name,department,department_type,rank", "T1,王校长,校领导,党政部门,校级"],
     "roster.csv line 1: missing required column status (在职状态)"),
    ("a column twice", [HEADER + ",职工号", LEADER + ",T1", CADRE + ",T2"],
     "roster.csv line 1, column 职工号: column 工号 (employee_no) appears twice: also as 工号"),
    ("header only", [HEADER], "roster.csv line 1: the roster has a header but no cadres"),
    ("empty file", [""], "roster.csv: the file is empty: no header, no cadres"),
]


@pytest.mark.parametrize(("lines", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_roster_problem_is_reported_with_its_place(lines: list[str], expected: str) -> None:
    assert problems(csv_of(*lines)) == [expected]


WARNINGS = [
    ("unknown column", [HEADER + ",备注", LEADER + ",", CADRE + ",新任"],
     "roster.csv line 1, column 备注: warning: unknown column, ignored (known: 工号, 姓名, 性别, 部门, "
     "部门类别, 职务, "
     "职级, 邮箱, 手机, 在职状态, 分管校领导工号)"),
    ("no email", [HEADER, LEADER, with_cell(CADRE, 7, "")],
     "roster.csv line 3, column 邮箱: warning: no email: Moodle needs one to create the account"),
    ("supervising leader departed", [HEADER, with_cell(LEADER, 9, "离职"), CADRE],
     'roster.csv line 3, column 分管校领导工号: warning: supervising leader "T1" (王校长) has departed '
     '(离职): '
     "the plan's fallback reviewer reviews instead"),
]


@pytest.mark.parametrize(("lines", "expected"), [case[1:] for case in WARNINGS],
                         ids=[case[0] for case in WARNINGS])
def test_warnings_do_not_stop_the_roster(lines: list[str], expected: str) -> None:
    roster = load_roster(csv_of(*lines), "roster.csv")
    assert [str(w) for w in roster.warnings] == [expected]


def test_every_problem_is_reported_at_once() -> None:
    data = csv_of(
        HEADER + ",备注",
        LEADER,
        "",
        with_cell(with_cell(CADRE, 6, "副处"), 7, "t2.college.example"),
        with_cell(with_cell(OTHER, 9, "退休"), 10, "T2"),
        with_cell(with_cell(OTHER, 0, "T2"), 8, "12345"),
        ",,,,,,,,,,",
        with_cell(with_cell(OTHER, 0, "T4"), 1, ""),
    )
    assert problems(data) == [
        "roster.csv line 1, column 备注: warning: unknown column, ignored (known: 工号, 姓名, 性别, 部门, "
        "部门类别, 职务, "
        "职级, 邮箱, 手机, 在职状态, 分管校领导工号)",
        f'roster.csv line 4, column 职级: unknown rank "副处" ({RANKS})',
        'roster.csv line 4, column 邮箱: malformed email "t2.college.example"',
        'roster.csv line 5, column 分管校领导工号: supervising leader "T2" (李四, line 4) is 副处, not a '
        '校级 leader',
        'roster.csv line 5, column 在职状态: unknown status "退休" (allowed: 在职, 离岗, 离职)',
        'roster.csv line 6, column 工号: duplicate employee number "T2" (lines 4 and 6)',
        'roster.csv line 6, column 手机: malformed mobile "12345" (expected 11 digits, like 13912345678)',
        "roster.csv line 8, column 姓名: required value is empty",
    ]


def test_a_file_no_codec_decodes_is_reported() -> None:
    assert problems(HEADER.encode("utf-8") + b"\n\x80\x81\xff\n") == [
        'roster.csv: cannot decode the file (tried UTF-8, GB18030 (GBK)): save it from Excel as "CSV UTF-8" '
        "or as .xlsx"]


def test_old_excel_files_are_refused_with_what_to_do() -> None:
    assert problems(b"\xd0\xcf\x11\xe0 binary", "roster.xls") == [
        'roster.xls: old Excel ".xls" files cannot be read: save the roster as "Excel 工作簿 (.xlsx)" or '
        '"CSV UTF-8"']


def test_a_broken_workbook_is_reported() -> None:
    [problem] = problems(b"PK\x03\x04 not really a zip", "roster.xlsx")
    assert problem.startswith("roster.xlsx: not a readable XLSX workbook")


# Encodings and shapes: each variant of the sample loads to the same cadres.

def sample_text() -> str:
    return roster_bytes(2026).decode("utf-8-sig")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030", "gbk", "utf-16"])
def test_the_sample_loads_in_every_encoding_excel_writes(encoding: str) -> None:
    roster = load_roster(sample_text().encode(encoding), "roster.csv")
    assert roster.cadres == sample_roster(2026).cadres
    assert len(roster) == 137


def test_the_sample_loads_from_an_xlsx_workbook_with_numbers_as_numbers() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in sample_text().splitlines():
        cells: list[object] = list(row.split(","))
        cells[8] = int(str(cells[8])) if str(cells[8]).isdigit() else cells[8]  # mobiles typed as numbers
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    for name in ("roster.xlsx", "roster-upload"):  # by extension, or by the zip signature
        roster = load_roster(buffer.getvalue(), name)
        assert roster.cadres == sample_roster(2026).cadres


def test_xlsx_problems_name_the_row() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for line in (HEADER, LEADER, "", with_cell(CADRE, 6, "副处")):
        sheet.append(line.split(",") if line else [])
    buffer = io.BytesIO()
    book.save(buffer)
    assert problems(buffer.getvalue(), "roster.xlsx") == [
        f'roster.xlsx line 4, column 职级: unknown rank "副处" ({RANKS})']


def test_english_headers_and_english_values_are_accepted() -> None:
    english = ("Employee No,Name,Gender,Department,Department Type,Position,Rank,Email,Mobile,Status,"
               "Supervising Leader")
    lines = sample_text().splitlines()
    roster = load_roster(csv_of(english, *lines[1:]), "roster.csv")
    assert roster.cadres == sample_roster(2026).cadres
    row = ("T5,Li Lei,male,Library,teaching support,librarian,deputy section head,t5@college.example,,"
           "on leave,T1")
    cadre = load_roster(csv_of(english, LEADER, row), "roster.csv")["t5"]
    assert (cadre.gender, cadre.department_type, cadre.rank, cadre.status) == \
        ("男", "教辅部门", "副科级", "离岗")
    assert (cadre.lastname, cadre.firstname) == ("Lei", "Li")


def test_blank_rows_are_skipped_and_lines_stay_physical() -> None:
    data = csv_of(HEADER, "", LEADER, ",,,", " , ,", "", with_cell(CADRE, 6, "副处"))
    assert problems(data) == [f'roster.csv line 7, column 职级: unknown rank "副处" ({RANKS})']
    roster = load_roster(csv_of(HEADER, "", LEADER, ",,,", "", CADRE), "roster.csv")
    assert [(c.employee_no, c.line) for c in roster] == [("T1", 3), ("T2", 6)]


def test_spaces_of_every_kind_are_trimmed_and_collapsed() -> None:
    row = ("\u3000T2 ,\u00a0李四\u3000,女, 教务处  综合科 ,党政部门\u3000, 处长,正处级 , t2@college.example "
           ",139 0000 0002,在职,T1\u00a0")
    cadre = load_roster(csv_of(HEADER, LEADER, row), "roster.csv")["T2"]
    assert (cadre.employee_no, cadre.name, cadre.department, cadre.rank, cadre.email, cadre.mobile,
            cadre.supervising_leader) == ("T2", "李四", "教务处 综合科", "正处级", "t2@college.example",
                                          "13900000002", "T1")


def test_a_title_row_above_the_header_is_skipped() -> None:
    roster = load_roster(csv_of("2026 年干部名册,,,,,,,,,,", HEADER, LEADER, CADRE), "roster.csv")
    assert [(c.employee_no, c.line) for c in roster] == [("T1", 3), ("T2", 4)]


def test_mobiles_with_country_code_and_separators_are_normalised() -> None:
    row = with_cell(CADRE, 8, "+86 139-0000-0002")
    assert load_roster(csv_of(HEADER, LEADER, row), "roster.csv")["T2"].mobile == "13900000002"


def test_lookups_ignore_case_as_moodle_usernames_do() -> None:
    roster = sample_roster(2026)
    assert isinstance(roster, Roster)
    assert roster.get("t19880") is roster["T19880"]
    assert "t19880" in roster and "T00000" not in roster
    assert [c.employee_no for c in roster.leaders()][:2] == ["T19880", "T19918"]
    assert {c.department for c in roster.supervised_by("T20051")} >= {"教务处", "商学院"}
    assert len(roster.sha256) == 64


@pytest.mark.parametrize(("name", "expected"), [
    ("余娟文", ("余", "娟文")),
    ("李伟", ("李", "伟")),
    ("欧阳修", ("欧阳", "修")),
    ("司马相如", ("司马", "相如")),
    ("诸葛亮", ("诸葛", "亮")),
    ("上官婉儿", ("上官", "婉儿")),
    ("欧阳", ("欧", "阳")),  # too short for a compound surname and a given name
    ("王", ("王", "王")),
    ("阿依古丽·买买提", ("买买提", "阿依古丽")),
    ("John Smith", ("Smith", "John")),
])
def test_names_split_into_lastname_and_firstname(name: str, expected: tuple[str, str]) -> None:
    assert split_name(name) == expected
