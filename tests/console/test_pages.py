"""The pages on a harvested year: the numbers they show are the database's, for each role's scope; the
report's XLSX reads back with its Chinese intact; the cadre page has the record, the reasons and the
history; English is one click away."""

from __future__ import annotations

import io
import re
from collections import Counter

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import Cadre, LearningRecordRow, Membership, ReflectionRecord, StatusChange
from plugin_service.services.documents.document_values import plan_of
from plugin_service.services.engagement.commendation import compute
from plugin_service.services.read_models.reports import ReportFilters, report

from ..harvest.world import Year, reviewer_of
from .conftest import OFFICER_DEPARTMENTS, REVIEWER, sign_in

ROW = re.compile(r'<tr class="[^"]*" data-group="([^"]*)">(.*?)</tr>', re.S)
CELL = re.compile(r'data-col="(\w+)">([^<]*)<')


def table(html: str) -> dict[str, dict[str, str]]:
    """The report table's rows by group key ("" for the total), each cell's first word by column."""
    return {key: {col: text.split()[0] for col, text in CELL.findall(row)} for key, row in ROW.findall(html)}


def listed_cadres(client: FlaskClient) -> set[str]:
    return set(re.findall(r'data-testid="cadre-link">(\w+)<', client.get("/cadres/").get_data(as_text=True)))


def records(database_url: str) -> list[tuple[LearningRecordRow, Cadre, str | None]]:
    with session_scope(database_url) as session:
        return [(record, cadre, klass) for record, cadre, klass in session.execute(
            select(LearningRecordRow, Cadre, Membership.class_key)
            .join(Cadre, Cadre.employee_no == LearningRecordRow.employee_no)
            .join(Membership, (Membership.employee_no == LearningRecordRow.employee_no)
                  & (Membership.year == LearningRecordRow.year))
            .where(LearningRecordRow.year == 2026, LearningRecordRow.tier_key.is_not(None)))]


def expected(database_url: str, key: str, only: set[str] | None = None) -> dict[str, dict[str, int]]:
    """The report's numbers computed straight from the stored records, grouped by ``key``."""
    with session_scope(database_url) as session:
        plan = plan_of(session, 2026)
        awaiting = Counter(no for no, in session.execute(
            select(ReflectionRecord.employee_no).where(ReflectionRecord.year == 2026,
                                                       ReflectionRecord.status == "submitted",
                                                       ReflectionRecord.grade.is_(None))))
    assert plan is not None
    found: dict[str, Counter[str]] = {}
    for record, cadre, klass in records(database_url):
        if only is not None and cadre.employee_no not in only:
            continue
        group = {"tier": record.tier_key, "department": cadre.department, "class": klass}[key] or ""
        tier = record.tier_key or ""
        owed = [c for c in plan.required_courses(tier) if c.reflection is not None]
        line = found.setdefault(group, Counter())
        line["cadres"] += 1
        line[record.status] += 1
        line["required_met"] += bool(record.detail["required_met"])
        line["required_done"] += len(plan.required_courses(tier)) - len(record.detail["required_missing"])
        line["reflections"] += len(owed) - len(record.detail["reflections_missing"])
        line["reflections_short"] += len(record.detail["reflections_short"])
        line["awaiting"] += awaiting[cadre.employee_no]
    return {group: dict(line) for group, line in found.items()}


def shown(line: dict[str, str]) -> dict[str, int]:
    return {"cadres": int(line["cadres"]), "complete": int(line["complete"]),
            "on_track": int(line["on_track"]), "behind": int(line["behind"]),
            "required_met": int(line["required_met"]),
            "required_done": int(line["required_done"].split("/")[0]),
            "reflections": int(line["reflections"].split("/")[0]),
            "reflections_short": int(line["reflections_short"]), "awaiting": int(line["awaiting"])}


def want(line: dict[str, int]) -> dict[str, int]:
    keys = ("cadres", "complete", "on_track", "behind", "required_met", "required_done", "reflections",
            "reflections_short", "awaiting")
    return {k: line.get(k, 0) for k in keys}


def check_report(client: FlaskClient, database_url: str, only: set[str] | None = None) -> None:
    for key in ("tier", "department", "class"):
        page = client.get(f"/reports/?group_by={key}")
        assert page.status_code == 200
        rows = table(page.get_data(as_text=True))
        truth = expected(database_url, key, only)
        assert {group: shown(line) for group, line in rows.items() if group} == {
            group: want(line) for group, line in truth.items()}, key
        total: Counter[str] = Counter()
        for line in truth.values():
            total.update(want(line))
        assert shown(rows[""]) == want(dict(total))


def test_the_pages_show_the_databases_numbers(harvested: tuple[Year, Flask]) -> None:
    year, app = harvested
    url = year.database_url
    client = sign_in(app.test_client(), "admin")
    statuses = Counter(record.status for record, _cadre, _klass in records(url))
    home = client.get("/").get_data(as_text=True)
    tiles = (("complete", "tile-complete"), ("on_track", "tile-on-track"), ("behind", "tile-behind"))
    for status, tile in tiles:
        assert re.search(rf'id="{tile}">{statuses[status]}<', home), (status, statuses)
    assert re.search(rf'id="tile-cadres">{sum(statuses.values())}<', home)
    assert 'data-testid="chart-hours"' in home and "<svg" in home and "<script" not in home
    check_report(client, url)

    # The XLSX export reads back with the Chinese intact and the table's numbers.
    answer = client.get("/reports/export.xlsx?group_by=tier&part=summary")
    assert answer.status_code == 200 and (answer.mimetype or "").endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(answer.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("层级", "人数", "已完成", "进度正常", "进度落后")
    truth = expected(url, "tier")
    with session_scope(url) as session:
        plan = plan_of(session, 2026)
    assert plan is not None
    names = {t.name: t.key for t in plan.tiers}
    assert {names[r[0]]: (r[1], r[2]) for r in rows[1:-1]} == {
        key: (line["cadres"], line.get("complete", 0)) for key, line in truth.items()}
    assert rows[-1][0] == "合计" and rows[-1][1] == sum(line["cadres"] for line in truth.values())
    laggards = load_workbook(io.BytesIO(client.get("/reports/export.xlsx?part=laggards").data)).active
    behind = [r for r in laggards.iter_rows(values_only=True)][1:]
    assert len(behind) == statuses["behind"] and all(r[5] == "进度落后" for r in behind)

    # The commendation candidates are the engagement job's list, computed the quick way.
    with session_scope(url) as session:
        listed = compute(session, plan)
        found = report(session, ReportFilters(2026, "tier"))
    assert [(c.candidate.employee_no, c.rank, c.tied) for c in listed] == [
        (c.employee_no, c.rank, c.tied) for c in found.commendation]


def test_a_cadre_is_found_by_name_and_has_their_page(harvested: tuple[Year, Flask]) -> None:
    year, app = harvested
    client = sign_in(app.test_client(), "admin")
    record, cadre, _klass = max(records(year.database_url),
                                key=lambda r: (r[0].total_hours, r[1].employee_no))
    part = cadre.name[1:]
    results = client.get("/cadres/", query_string={"q": part}).get_data(as_text=True)
    assert f'>{cadre.employee_no}</a>' in results
    assert f'>{cadre.employee_no}</a>' in client.get(f"/cadres/?q={cadre.employee_no.lower()[:4]}").get_data(
        as_text=True)
    page = client.get(f"/cadres/{cadre.employee_no}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and cadre.name in text
    total = f"{record.total_hours:g}"
    assert re.search(rf'id="total-hours">{re.escape(total)} / {record.target_hours:g}<', text), total
    with session_scope(year.database_url) as session:
        history = session.scalars(select(StatusChange)
                                  .where(StatusChange.employee_no == cadre.employee_no)).all()
        plan = plan_of(session, 2026)
    assert plan is not None
    tier = plan.tier(record.tier_key or "")
    assert tier is not None and f'data-testid="cadre-tier">{tier.name}<' in text
    assert 'data-testid="explain"' in text and "✓" in text
    history_table = text.split('data-testid="history"')[1].split("</table>")[0]
    assert history_table.count("<tr>") - 1 == len(history) >= 1
    assert client.get("/cadres/NOBODY1").status_code == 404


def test_an_officer_sees_only_their_departments(harvested: tuple[Year, Flask]) -> None:
    year, app = harvested
    client = sign_in(app.test_client(), "officer")
    with session_scope(year.database_url) as session:
        stored = dict(session.execute(select(Cadre.employee_no, Cadre.department)).all())
    everyone = {no for no, department in stored.items() if department in OFFICER_DEPARTMENTS}
    theirs = {c.employee_no for _r, c, _k in records(year.database_url)
              if c.department in OFFICER_DEPARTMENTS}
    others = set(stored) - everyone
    assert theirs and others
    listed = listed_cadres(client)
    assert listed == everyone  # those not taking part this year too
    assert all(client.get(f"/cadres/{no}").status_code == 200 for no in everyone)
    assert all(client.get(f"/cadres/{no}").status_code == 404 for no in sorted(others)[:5])
    check_report(client, year.database_url, theirs)
    sheet = load_workbook(io.BytesIO(client.get("/reports/export.xlsx?part=summary").data)).active
    assert {r[0] for r in list(sheet.iter_rows(values_only=True))[1:-1]} == set(OFFICER_DEPARTMENTS)
    home = client.get("/").get_data(as_text=True)
    assert re.search(rf'id="tile-cadres">{len(theirs)}<', home)


def test_a_reviewer_sees_only_the_cadres_they_review(harvested: tuple[Year, Flask]) -> None:
    year, app = harvested
    client = sign_in(app.test_client(), "reviewer")
    members = {c.employee_no for _r, c, _k in records(year.database_url)}
    reviewed = {no for no in members if reviewer_of(year, no) == REVIEWER}
    assert reviewed and members - reviewed
    listed = listed_cadres(client)
    assert listed == reviewed
    assert all(client.get(f"/cadres/{no}").status_code == 404 for no in sorted(members - reviewed)[:5])
    check_report(client, year.database_url, reviewed)


def test_the_language_switches_to_english_and_stays(app: Flask) -> None:
    client = sign_in(app.test_client(), "admin")
    chinese = client.get("/").get_data(as_text=True)
    assert "首页" in chinese and 'lang="zh-CN"' in chinese and "Dashboard" not in chinese
    english = client.get("/?lang=en").get_data(as_text=True)
    assert 'lang="en"' in english and "Dashboard" in english and "首页" not in english
    assert "No plan has been applied yet" in english
    assert "nothing to report" in client.get("/reports/").get_data(as_text=True)
    assert "统计报表" in client.get("/cadres/?lang=zh").get_data(as_text=True)
    assert "Sign in" in app.test_client().get("/login?lang=en").get_data(as_text=True)
