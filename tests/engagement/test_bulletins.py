"""Bulletins (通报) over the fake Moodle: each reader gets the figures that concern them, worked out here
from the site's own truth and the roster by hand; a bulletin goes out once per date whatever happens (a
second run, a run killed after storing it, one killed while sending); the second bulletin of the year
states its change against the first; the PDF and XLSX say what was sent."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pypdf
import pytest
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import (
    AuditLog,
    Bulletin,
    BulletinLine,
    EngagementFiring,
    EngagementRun,
    OutboxMessage,
)
from plugin_service.services.engagement import bulletins, engage
from plugin_service.services.engagement.bulletin_files import relative_path
from plugin_service.services.engagement.bulletins import issue

from ..harvest.truth import Truth
from ..harvest.world import Year, moment, spread
from ..provisioning.moodle_snapshot import write_calls
from .calendar import inbox
from .interrupted import kill_while_sending

pytestmark = pytest.mark.xdist_group("engagement-bulletins")

JULY, OCTOBER = dt.date(2026, 7, 1), dt.date(2026, 10, 15)
MID_YEAR = "2026 年度干部在线学习上半年进展通报"
AUTUMN = "2026 年度干部在线学习第三季度进展通报"
HEADS = ("处长", "部长", "院长", "主任", "馆长", "所长", "党总支书记", "党委书记", "直属党支部书记")


@pytest.fixture
def small(small: Year, tmp_path: Path) -> Year:
    """The engagement tests' year, its documents in the test's own folder."""
    small.settings = dataclasses.replace(small.settings, documents_dir=str(tmp_path / "documents"))
    return small


def harvested(year: Year, day: dt.date, *, until: dt.date | None = None) -> Year:
    """The learning done until ``until`` (once), then the night's harvest for ``day``."""
    if until is not None:
        spread(year, until=until)
    year.at(max(year.last, moment(day.isoformat(), "03:00:00")))
    year.harvest("report", today=day)
    year.at(max(year.last, moment(day.isoformat(), "07:30:00")))
    return year


def received(year: Year, title: str) -> dict[str, list[str]]:
    """The bulletin's messages each person received in Moodle."""
    return {no: [t for t in texts if title in t] for no, texts in inbox(year).items()
            if any(title in t for t in texts)}


@dataclass
class Line:
    cadres: int = 0
    complete: int = 0
    behind: int = 0
    hours: float = 0.0

    @property
    def rate(self) -> str:
        return f"{100.0 * self.complete / self.cadres + 1e-9:.1f}%"


def expected_lines(year: Year, truth: Truth) -> tuple[dict[str, Line], dict[str, list[str]]]:
    """Each department's figures, and who in it is behind, from the site's truth and the roster: school
    leaders (校级) are counted in no department."""
    lines: dict[str, Line] = defaultdict(Line)
    behind: dict[str, list[str]] = defaultdict(list)
    for row in year.rows():
        record = truth.records[row["工号"]]
        if record.tier is None or record.status == "excluded" or row["职级"] == "校级":
            continue
        line = lines[row["部门"]]
        line.cadres += 1
        line.complete += record.status == "complete"
        line.behind += record.status == "behind"
        line.hours += record.total_hours
        if record.status == "behind":
            behind[row["部门"]].append(row["姓名"])
    return dict(lines), dict(behind)


def expected_readers(year: Year, departments: set[str]) -> tuple[set[str], dict[str, str]]:
    """The school leaders (校级 or named as a supervising leader, in post) and each department's heads."""
    rows = year.rows()
    named = {row["分管校领导工号"] for row in rows if row["分管校领导工号"]}
    leaders = {row["工号"] for row in rows if row["在职状态"] == "在职"
               and (row["职级"] == "校级" or row["工号"] in named)}
    heads = {row["工号"]: row["部门"] for row in rows if row["在职状态"] == "在职" and row["职级"] != "校级"
             and row["职务"] in HEADS and row["部门"] in departments}
    return leaders, heads


def _bulletin(year: Year, key: str) -> Bulletin:
    with session_scope(year.database_url) as session:
        row = session.scalars(select(Bulletin).where(Bulletin.key == key)).one()
        session.expunge(row)
        return row


def _lines(year: Year, key: str, grouping: str) -> list[BulletinLine]:
    with session_scope(year.database_url) as session:
        bulletin_id = session.scalars(select(Bulletin.id).where(Bulletin.key == key)).one()
        rows = list(session.scalars(select(BulletinLine).where(BulletinLine.bulletin_id == bulletin_id,
                                                               BulletinLine.grouping == grouping)
                                    .order_by(BulletinLine.position)))
        for row in rows:
            session.expunge(row)
        return rows


def test_a_dry_run_shows_the_figures_and_messages_and_changes_nothing(small: Year) -> None:
    year = harvested(small, JULY, until=dt.date(2026, 6, 15))
    writes = sum(write_calls(year.site).values())
    with year.client() as client:
        result = bulletins(client, year.settings, today=JULY, dry_run=True)
    assert [(b.key, b.state) for b in result.bulletins] == [("2026-07-01", "fired"), ("2026-10-15", "future")]
    fired = result.bulletins[0]
    assert fired.table is not None and fired.table.departments and fired.messages
    assert all(MID_YEAR in m.text for m in fired.messages)
    assert sum(write_calls(year.site).values()) == writes and not inbox(year)
    with session_scope(year.database_url) as session:
        for model in (Bulletin, BulletinLine, OutboxMessage, EngagementFiring, EngagementRun):
            assert not session.scalars(select(model)).all(), model
    assert not (Path(year.settings.documents_dir) / "2026").exists()


def test_each_reader_gets_the_figures_that_concern_them_once(small: Year, tmp_path: Path) -> None:
    year = small
    harvested(year, JULY, until=dt.date(2026, 6, 15))
    truth = year.truth(JULY)
    lines, behind = expected_lines(year, truth)
    leaders, heads = expected_readers(year, set(lines))
    assert leaders and heads and behind, "the sample gives leaders, heads and cadres behind"
    with year.client() as client:
        first = bulletins(client, year.settings, today=JULY)
        again = bulletins(client, year.settings, today=JULY)
        later = bulletins(client, year.settings, today=JULY + dt.timedelta(days=3))
    got = received(year, MID_YEAR)
    # The mid-year bulletin goes to the leaders and the department heads, each once, and to nobody else.
    assert set(got) == leaders | set(heads)
    assert Counter(len(texts) for texts in got.values()) == Counter({1: len(got)})
    assert first.delivery.sent == len(got) and again.delivery.sent == later.delivery.sent == 0
    assert again.calls == later.calls == 0, "a day with nothing to send asks Moodle nothing"
    assert [b.state for b in again.bulletins][:1] == ["already"]

    rows = {row["工号"]: row for row in year.rows()}
    ranked = _lines(year, "2026-07-01", "department")
    assert {r.key for r in ranked} == set(lines)
    for row in ranked:
        line = lines[row.key]
        assert (row.cadres, row.complete, row.behind) == (line.cadres, line.complete, line.behind)
        assert row.hours == pytest.approx(line.hours)
        assert row.is_new and row.previous_rank is None
    for no, department in heads.items():
        text = got[no][0]
        stored = next(r for r in ranked if r.key == department)
        line = lines[department]
        assert f"{rows[no]['姓名']}同志" in text
        assert f"{department}在 {len(ranked)} 个部门中排第 {stored.rank} 名" in text
        assert f"参学 {line.cadres} 人，已完成 {line.complete} 人，完成率 {line.rate}" in text
        assert "首次参加排名" in text
        for name in behind.get(department, []):
            assert name in text
        if not behind.get(department):
            assert "本部门暂无进度落后的干部" in text
    supervised: dict[str, set[str]] = defaultdict(set)
    for cadre in year.rows():
        if cadre["分管校领导工号"] and cadre["职级"] != "校级" and cadre["部门"] in lines:
            supervised[cadre["分管校领导工号"]].add(cadre["部门"])
    everyone = sum(line.cadres for line in lines.values())
    for no in leaders:
        text = got[no][0]
        assert "全校参学" in text and "各层级" in text
        assert everyone <= int(text.split("全校参学 ")[1].split(" 人")[0])  # leaders count in the total
        for department in supervised.get(no, set()):
            assert f" {department}：参学 {lines[department].cadres} 人" in text
        others = set(lines) - supervised.get(no, set())
        assert not any(f" {d}：参学" in text for d in others), "a leader's lines are their departments'"


def test_everyone_taking_part_is_told_their_department_and_own_hours(small: Year) -> None:
    year = harvested(small, OCTOBER, until=dt.date(2026, 10, 1))
    truth = year.truth(OCTOBER)
    with year.client() as client:
        result = bulletins(client, year.settings, today=OCTOBER)
    assert {b.key: b.state for b in result.bulletins} == {"2026-07-01": "expired", "2026-10-15": "fired"}
    got = received(year, AUTUMN)
    taking_part = {no for no, record in truth.records.items()
                   if record.tier is not None and record.status != "excluded"}
    assert taking_part <= set(got)
    rows = {row["工号"]: row for row in year.rows()}
    for no in taking_part:
        text = got[no][0]
        record = truth.records[no]
        assert f"您本人已获得 {record.total_hours:g} 学时" in text
        if rows[no]["职级"] != "校级" and "个部门中排第" not in text.split("您本人")[0].split("您好！")[1]:
            assert f"您所在的{rows[no]['部门']}在" in text
    with session_scope(year.database_url) as session:
        row = session.scalars(select(Bulletin)).one()
        assert row.readers["all"] == len(taking_part)
        assert set(row.readers) == {"leaders", "department_heads", "all"}
        expired = session.scalars(select(EngagementFiring).where(EngagementFiring.key == "2026-07-01")).one()
        assert expired.status == "expired" and not received(year, MID_YEAR)


def test_the_second_bulletin_states_the_change_since_the_first(small: Year) -> None:
    year = harvested(small, JULY, until=dt.date(2026, 6, 15))
    with year.client() as client:
        bulletins(client, year.settings, today=JULY)
    first = {row.key: row for row in _lines(year, "2026-07-01", "department")}
    first_tiers = {row.key: row for row in _lines(year, "2026-07-01", "tier")}
    # Everyone who had not finished a course by July finishes one of their tier's required courses.
    truth = year.truth(JULY)
    when = moment("2026-08-10", "10:00:00")
    plan = year.plan()
    for no, record in sorted(truth.records.items()):
        if record.tier is None or record.status == "excluded":
            continue
        todo = [c.key for c in plan.required_courses(record.tier) if c.key not in record.credits
                and c.template is not None]
        if todo:
            year.complete(no, todo[0], when)
            when += 60
    harvested(year, OCTOBER)
    with year.client() as client:
        bulletins(client, year.settings, today=OCTOBER)
    second = _bulletin(year, "2026-10-15")
    assert second.previous_id == _bulletin(year, "2026-07-01").id
    moved = 0
    for row in _lines(year, "2026-10-15", "department"):
        before = first[row.key]
        assert not row.is_new and row.previous_rank == before.rank
        assert (row.previous_rate, row.previous_mean_hours) == (before.rate, before.mean_hours)
        assert row.mean_hours >= before.mean_hours
        moved += row.mean_hours > before.mean_hours
    assert moved, "the autumn's completions moved some department"
    for row in _lines(year, "2026-10-15", "tier"):
        assert row.previous_rank == first_tiers[row.key].rank
    got = received(year, AUTUMN)
    heads_texts = [texts[0] for texts in got.values() if "本部门" in texts[0]]
    assert heads_texts and all("较上期" in text or "名次与上期持平" in text for text in heads_texts)


def test_a_run_killed_after_storing_the_bulletin_is_finished_by_the_next(small: Year, tmp_path: Path) -> None:
    """Stored, with its messages queued, and then the process died: the next run writes the files and
    sends the messages, once."""
    year = small
    harvested(year, JULY, until=dt.date(2026, 6, 15))
    with session_scope(year.database_url) as session:
        issued = issue(session, year.plan(), JULY, None, "test")
    assert [b.state for b in issued][:1] == ["fired"]
    queued = len(issued[0].messages)
    assert not inbox(year) and _bulletin(year, "2026-07-01").pdf_sha256 is None
    with year.client() as client:
        result = bulletins(client, year.settings, today=JULY)
    assert result.bulletins[0].state == "already" and result.delivery.sent == queued
    row = _bulletin(year, "2026-07-01")
    assert row.pdf_sha256 and (tmp_path / "documents" / relative_path(row, ".pdf")).is_file()
    assert sum(len(texts) for texts in received(year, MID_YEAR).values()) == queued


def test_a_run_killed_while_sending_is_settled_from_moodle(small: Year) -> None:
    year = harvested(small, JULY, until=dt.date(2026, 6, 15))
    with year.client() as client:
        first = bulletins(client, year.settings, today=JULY)
    before = {no: len(texts) for no, texts in received(year, MID_YEAR).items()}
    gone, never = kill_while_sending(year, first.run_id)
    with year.client() as client:
        result = bulletins(client, year.settings, today=JULY)
    d = result.delivery
    assert (d.confirmed, d.requeued, d.sent) == (gone, never, never)
    assert {no: len(texts) for no, texts in received(year, MID_YEAR).items()} == before
    with session_scope(year.database_url) as session:
        assert {m.status for m in session.scalars(select(OutboxMessage))} == {"sent"}
        assert len(session.scalars(select(Bulletin)).all()) == 1


def test_a_bulletin_waits_for_fresh_records(small: Year) -> None:
    year = harvested(small, dt.date(2026, 6, 20))
    with year.client() as client:
        waiting = bulletins(client, year.settings, today=JULY)
    assert waiting.bulletins[0].state == "waiting" and "2026-06-30" in waiting.bulletins[0].note
    assert not inbox(year)
    harvested(year, JULY)
    with year.client() as client:
        sent = bulletins(client, year.settings, today=JULY)
    assert sent.bulletins[0].state == "fired" and received(year, MID_YEAR)


def test_the_daily_job_issues_the_bulletin_with_the_morning_s_messages(small: Year, tmp_path: Path) -> None:
    year = small
    harvested(year, JULY, until=dt.date(2026, 6, 15))
    with year.client() as client:
        result = engage(client, year.settings, year=2026, today=JULY, actor="test")
        again = engage(client, year.settings, year=2026, today=JULY, actor="test")
    assert result.counts()["bulletins"] == {"2026-07-01": len(result.bulletins[0].messages)}
    assert received(year, MID_YEAR) and "bulletins" not in again.counts()
    assert again.delivery.sent == 0
    with session_scope(year.database_url) as session:
        actions = Counter(a.action for a in session.scalars(select(AuditLog)))
    assert actions["bulletin:issue"] == 1 and actions["bulletin:files"] == 1


def test_the_files_say_what_the_bulletin_says(small: Year, tmp_path: Path) -> None:
    year = small
    harvested(year, JULY, until=dt.date(2026, 6, 15))
    with year.client() as client:
        bulletins(client, year.settings, today=JULY)
    row = _bulletin(year, "2026-07-01")
    root = tmp_path / "documents"
    pdf = (root / relative_path(row, ".pdf")).read_bytes()
    text = "".join("\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())
    departments = _lines(year, "2026-07-01", "department")
    assert MID_YEAR.replace(" ", "") in text and "排名规则" in text and "本期为本年度首次通报" in text
    for line in departments:
        assert line.key in text
    assert f"{departments[0].rate:.1f}%" in text
    book = openpyxl.load_workbook(root / relative_path(row, ".xlsx"))
    assert book.sheetnames == ["按部门", "按层级", "说明"]
    sheet = list(book["按部门"].iter_rows(values_only=True))
    assert sheet[0][:6] == ("名次", "并列", "部门", "参学人数", "已完成", "完成率（%）")
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in sheet[1:]] == [
        (line.rank, line.key, line.cadres, line.complete, line.rate) for line in departments]
    assert all(r[12] == "新" for r in sheet[1:])
    tiers = list(book["按层级"].iter_rows(values_only=True))[1:]
    assert {r[2] for r in tiers} == {t.name for t in year.plan().tiers} - _empty_tiers(year)


def _empty_tiers(year: Year) -> set[str]:
    with session_scope(year.database_url) as session:
        named = {r.name for r in session.scalars(select(BulletinLine).where(BulletinLine.grouping == "tier"))}
    return {t.name for t in year.plan().tiers} - named
