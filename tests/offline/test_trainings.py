"""Trainings recorded by form and from attendance sheets: the records of their attendees move at once,
every bad row of a sheet is named with its row and column and nothing of a bad sheet is stored, a sheet
imported again adds nothing, and corrections are kept in the audit log."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from plugin_service.db import session_scope
from plugin_service.models import AuditLog, OfflineAttendance, OfflineTraining
from plugin_service.services.offline.errors import NotAllowed, OfflineError
from plugin_service.services.offline.imports import import_sheet
from plugin_service.services.offline.training_views import cadre_offline, training, trainings
from plugin_service.services.offline.trainings import (
    add_attendees,
    delete_training,
    record_training,
    remove_attendee,
)
from rules.problems import InputError

from .world import ADMIN_ACTOR, REVIEWER_ACTOR, OfflineYear, offline_year

HEADER = ["培训名称", "日期", "学时", "工号", "主办单位"]


@pytest.fixture
def year(database_url: str, tmp_path: Path) -> OfflineYear:
    return offline_year(database_url, tmp_path)


def xlsx(rows: list[list[object]], header: list[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def counts(year: OfflineYear) -> tuple[int, int]:
    with session_scope(year.database_url) as session:
        return (session.scalar(select(func.count()).select_from(OfflineTraining)) or 0,
                session.scalar(select(func.count()).select_from(OfflineAttendance)) or 0)


def test_a_recorded_training_counts_for_its_attendees_at_once(year: OfflineYear) -> None:
    first, second = year.reviewed
    before = year.record(first).total_hours
    with session_scope(year.database_url) as session:
        done = record_training(session, ADMIN_ACTOR, name="党校专题报告会", day="2026年5月12日", hours="4",
                               organiser="党委组织部", attendees=f"{first}、{second}\n{first}")
    assert (done.year, done.added) == (2026, [first, second])
    row = year.record(first)
    assert row.offline_hours == 4 and row.total_hours == before + 4
    with session_scope(year.database_url) as session:
        shown = cadre_offline(session, first, 2026)
        assert [(line.kind, line.ref, line.title, line.hours) for line in shown.lines] == [
            ("training", done.training_id, "党校专题报告会", 4.0)]
        assert (shown.earned, shown.counted, shown.cap) == (4, 4, 10)
        again = add_attendees(session, ADMIN_ACTOR, done.training_id, [first])
        assert (again.added, again.already) == ([], [first])
        with pytest.raises(OfflineError) as twice:
            record_training(session, ADMIN_ACTOR, name="党校专题报告会", day="2026-05-12", hours=4)
        assert str(twice.value) == (f'"党校专题报告会" of 2026-05-12 is recorded already (training '
                                    f"{done.training_id}): add its attendees there")
        actions = list(session.scalars(select(AuditLog.action).where(AuditLog.action.like("offline:%"))
                                       .order_by(AuditLog.id)))
    assert actions == ["offline:training", "offline:attend"]


def test_an_officer_records_only_the_cadres_of_their_departments(year: OfflineYear) -> None:
    mine, other = year.reviewed[0], year.outside()
    with session_scope(year.database_url) as session, pytest.raises(OfflineError) as refused:
        record_training(session, year.officer, name="集体学习", day="2026-06-01", hours=2,
                        attendees=[mine, other, "X404"])
    assert refused.value.field == "attendees"
    assert refused.value.messages == (f"{other} is not a cadre of your departments",
                                      "no cadre has the employee number X404")
    assert counts(year) == (0, 0)
    with session_scope(year.database_url) as session, pytest.raises(NotAllowed):
        record_training(session, REVIEWER_ACTOR, name="集体学习", day="2026-06-01", hours=2)


def test_corrections_move_the_records_back(year: OfflineYear) -> None:
    first, other = year.reviewed[0], year.outside()
    with session_scope(year.database_url) as session:
        done = record_training(session, year.officer, name="集体学习", day="2026-06-01", hours=2,
                               attendees=[first])
        add_attendees(session, ADMIN_ACTOR, done.training_id, [other])
    with session_scope(year.database_url) as session:
        shown = training(session, year.officer, done.training_id)
        assert [a.employee_no for a in shown.attendees] == [first]
        assert (shown.hidden, shown.deletable) == (1, False)
        with pytest.raises(NotAllowed):  # it records a cadre of another department now
            delete_training(session, year.officer, done.training_id)
        remove_attendee(session, year.officer, done.training_id, first)
    assert year.record(first).offline_hours == 0 and year.record(other).offline_hours == 2
    with session_scope(year.database_url) as session:
        assert delete_training(session, ADMIN_ACTOR, done.training_id) == [other]
    assert year.record(other).offline_hours == 0 and counts(year) == (0, 0)
    with session_scope(year.database_url) as session:
        actions = list(session.scalars(select(AuditLog.action).where(AuditLog.action.like("offline:%"))
                                       .order_by(AuditLog.id)))
    assert actions == ["offline:training", "offline:attend", "offline:attend", "offline:unattend",
                       "offline:training-delete"]


def test_a_good_sheet_records_its_trainings_and_again_adds_nothing(year: OfflineYear) -> None:
    first, second = year.reviewed
    other = year.outside()
    data = xlsx([["党校专题报告会", "2026-05-12", 4, f"{first},{second}", "党委组织部"],
                 ["党校专题报告会", "2026/5/12", "4", other, ""],
                 ["全国两会精神宣讲", "2026.3.20", 3.5, first, "党委宣传部"]])
    with session_scope(year.database_url) as session:
        done = import_sheet(session, ADMIN_ACTOR, data, "签到表.xlsx")
    assert (len(done.created), done.added, done.already, done.warnings) == (2, 4, 0, ())
    assert year.record(first).offline_hours == 7.5 and year.record(other).offline_hours == 4
    with session_scope(year.database_url) as session:
        again = import_sheet(session, ADMIN_ACTOR, data, "签到表.xlsx")
        listed = trainings(session, year.officer, 2026)
    assert (again.created, len(again.found), again.added, again.already) == ([], 2, 0, 4)
    assert counts(year) == (2, 4)
    assert [(t.name, t.hours, t.attendees_total) for t in listed.rows] == [("党校专题报告会", 4, 3),
                                                                            ("全国两会精神宣讲", 3.5, 1)]


def test_every_bad_row_of_a_sheet_is_named_and_nothing_is_stored(year: OfflineYear) -> None:
    first, second = year.reviewed
    other = year.outside()
    with session_scope(year.database_url) as session:
        record_training(session, ADMIN_ACTOR, name="党史学习", day="2026-04-01", hours=2)
    data = xlsx([["党校专题报告会", "2026-05-12", 4, first, ""],          # row 2: fine
                 ["读书班", "2026-13-01", 4, first, ""],                  # row 3: no such date
                 ["读书班", "2026-06-01", "四", first, ""],                # row 4: hours not a number
                 ["读书班", "2026-06-02", 4, "X404", ""],                 # row 5: no such cadre
                 ["党校专题报告会", "2026-05-12", 6, second, ""],          # row 6: 6 hours, row 2 said 4
                 ["", "2026-06-03", 2, second, ""],                       # row 7: no name
                 ["读书班", "2026-06-04", 200, f"{first}；{other}", ""],   # row 8: too many hours
                 ["党史学习", "2026-04-01", 3, first, ""],                  # row 9: recorded with 2 hours
                 ["读书班", "2099-01-01", 1, "", ""]])                     # row 10: future, nobody
    with session_scope(year.database_url) as session, pytest.raises(InputError) as refused:
        import_sheet(session, ADMIN_ACTOR, data, "签到表.xlsx")
    assert [(p.line, p.where, p.message) for p in refused.value.problems] == [
        (3, "column 日期", '"2026-13-01" is not a date of the calendar'),
        (4, "column 学时", '"四" is not a number of hours (like 4 or 1.5)'),
        (5, "column 工号", "no cadre has the employee number X404"),
        (6, "column 学时", '"党校专题报告会" of 2026-05-12 has 4 hours on line 2: one training has one '
                         "number of hours"),
        (7, "column 培训名称", "a value is required here"),
        (8, "column 学时", "hours must be more than 0 and at most 100 (found 200)"),
        (9, "column 学时", '"党史学习" of 2026-04-01 is recorded with 2 hours (training 1), not 3'),
        (10, "column 工号", "no employee number in the row"),
        (10, "column 日期", "2099-01-01 is still to come: only study that took place counts"),
    ]
    assert all(p.file == "签到表.xlsx" for p in refused.value.problems)
    assert counts(year) == (1, 0)
    # an officer's sheet may name only the cadres of their departments
    mine = xlsx([["读书班", "2026-06-01", 2, f"{first},{other}", ""]])
    with session_scope(year.database_url) as session, pytest.raises(InputError) as scoped:
        import_sheet(session, year.officer, mine, "mine.xlsx")
    assert [str(p) for p in scoped.value.problems] == [
        f"mine.xlsx line 2, column 工号: {other} is not a cadre of your departments"]
    assert counts(year) == (1, 0)


def test_a_sheet_without_its_columns_says_which_are_missing(year: OfflineYear) -> None:
    data = xlsx([["读书班", "2026-06-01", 2]], header=["名称", "date", "备注"])
    with session_scope(year.database_url) as session, pytest.raises(InputError) as refused:
        import_sheet(session, ADMIN_ACTOR, data, "sheet.xlsx")
    assert [str(p) for p in refused.value.problems] == [
        "sheet.xlsx line 1: missing required column 学时 (hours)",
        "sheet.xlsx line 1: missing required column 工号 (employee_nos)",
        "sheet.xlsx line 1, column 备注: warning: unknown column, ignored (known: 培训名称、日期、学时、"
        "工号、主办单位)"]
    with session_scope(year.database_url) as session, pytest.raises(InputError) as broken:
        import_sheet(session, ADMIN_ACTOR, b"PK\x03\x04 not really a workbook", "sheet.xlsx")
    assert "not a readable XLSX workbook" in str(broken.value)
