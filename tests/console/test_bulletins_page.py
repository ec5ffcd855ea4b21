"""The bulletins page: the history with each bulletin's readers and delivery, a bulletin's ranked tables
as stored, its files; an officer sees their departments' lines only and no files; English and Chinese."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from moodle_bridge.fake import serve
from plugin_service.db import session_scope
from plugin_service.models import Bulletin, BulletinLine
from plugin_service.services.engagement import bulletins

from ..conftest import _postgres_database
from ..harvest.world import Year, library_site, moment, provision, small_roster, spread
from .conftest import OFFICER_DEPARTMENTS, add_users, make_app, settings_for, sign_in

KEY = "2026-07-01"
TITLE = "2026 年度干部在线学习上半年进展通报"
ROW = re.compile(r'<tr data-group="([^"]*)">(.*?)</tr>', re.S)
CELL = re.compile(r'data-col="(\w+)">([^<]*)<')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def issued(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Year, Flask]]:
    """The sample year learnt until mid-June, harvested on 1 July and its mid-year bulletin sent; the
    console on it."""
    with ExitStack() as stack:
        folder = tmp_path_factory.mktemp("bulletins")
        if request.param == "sqlite":
            database_url = f"sqlite:///{folder / 'cadre.sqlite3'}"
        else:
            database_url = stack.enter_context(contextmanager(_postgres_database)())
        running = stack.enter_context(serve(library_site()))
        year = provision(running, database_url, roster=small_roster())
        year.settings = dataclasses.replace(year.settings, documents_dir=str(folder / "documents"))
        spread(year, until=dt.date(2026, 6, 15))
        year.at(moment("2026-07-01", "03:00:00"))
        year.harvest("report", today=dt.date(2026, 7, 1))
        with year.client() as client:
            bulletins(client, year.settings, today=dt.date(2026, 7, 1))
        app = make_app(settings_for(database_url, documents_dir=year.settings.documents_dir))
        add_users(database_url)
        yield year, app


def lines(year: Year, grouping: str) -> list[BulletinLine]:
    with session_scope(year.database_url) as session:
        found = list(session.scalars(select(BulletinLine).where(BulletinLine.grouping == grouping)
                                     .order_by(BulletinLine.position)))
        for row in found:
            session.expunge(row)
        return found


def table(html: str, testid: str) -> dict[str, dict[str, str]]:
    part = html.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]
    return {key: {col: text.strip() for col, text in CELL.findall(row)} for key, row in ROW.findall(part)}


def test_the_history_shows_each_bulletin_with_its_readers_and_delivery(issued: tuple[Year, Flask]) -> None:
    year, app = issued
    with session_scope(year.database_url) as session:
        stored = session.scalars(select(Bulletin)).one()
        readers, messages = dict(stored.readers), stored.messages
    client = sign_in(app.test_client(), "admin")
    page = client.get("/bulletins/?lang=en").get_data(as_text=True)
    assert 'id="nav-bulletins"' in page and TITLE in page
    row = page.split(f'data-key="{KEY}"', 1)[1].split("</tr>", 1)[0]
    assert f"school leaders {readers['leaders']}" in row
    assert f"department heads {readers['department_heads']}" in row
    assert f'data-col="messages">{messages}/{messages}<' in row and "delivered" in row
    assert f"/bulletins/2026/{KEY}/bulletin.pdf" in row and f"/bulletins/2026/{KEY}/bulletin.xlsx" in row
    schedule = page.split('data-testid="bulletin-schedule"', 1)[1].split("</table>", 1)[0]
    assert 'data-key="2026-10-15"' in schedule and KEY not in schedule
    chinese = client.get("/bulletins/?lang=zh").get_data(as_text=True)
    assert "通报" in chinese and "校领导" in chinese and "已送达" in chinese


def test_a_bulletin_shows_its_ranked_tables_as_stored(issued: tuple[Year, Flask]) -> None:
    year, app = issued
    client = sign_in(app.test_client(), "admin")
    page = client.get(f"/bulletins/2026/{KEY}?lang=en").get_data(as_text=True)
    shown = table(page, "bulletin-departments")
    stored = lines(year, "department")
    assert list(shown) == [row.key for row in stored]
    for row in stored:
        cells = shown[row.key]
        assert cells["rank"] == str(row.rank) and cells["cadres"] == str(row.cadres)
        assert cells["complete"] == str(row.complete) and cells["rate"] == f"{row.rate:.1f}%"
        assert cells["behind"] == str(row.behind)
    assert any(row.tied for row in stored) and "tied" in page
    assert set(table(page, "bulletin-tiers")) == {row.key for row in lines(year, "tier")}
    assert "the year's first bulletin" in page and 'id="download-pdf"' in page
    assert 'data-testid="headless"' in page, "the sample's small roster leaves departments without a head"


def test_the_files_download_as_they_were_written(issued: tuple[Year, Flask]) -> None:
    year, app = issued
    for role in ("admin", "reviewer"):
        client = sign_in(app.test_client(), role)
        pdf = client.get(f"/bulletins/2026/{KEY}/bulletin.pdf")
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
        assert "filename*=UTF-8''" in pdf.headers["Content-Disposition"]
        xlsx = client.get(f"/bulletins/2026/{KEY}/bulletin.xlsx")
        book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
        assert book.sheetnames == ["按部门", "按层级", "说明"]
        assert [r[2] for r in book["按部门"].iter_rows(min_row=2, values_only=True)] == [
            row.key for row in lines(year, "department")]
    client = sign_in(app.test_client(), "admin")
    assert client.get(f"/bulletins/2026/{KEY}/bulletin.doc").status_code == 404
    assert client.get("/bulletins/2026/autumn/bulletin.pdf").status_code == 404


def test_an_officer_sees_their_departments_lines_only(issued: tuple[Year, Flask]) -> None:
    year, app = issued
    client = sign_in(app.test_client(), "officer")
    index = client.get("/bulletins/?lang=en").get_data(as_text=True)
    assert TITLE in index and "bulletin.pdf" not in index
    page = client.get(f"/bulletins/2026/{KEY}?lang=en").get_data(as_text=True)
    stored = lines(year, "department")
    mine = [row.key for row in stored if row.key in OFFICER_DEPARTMENTS]
    assert mine and list(table(page, "bulletin-departments")) == mine
    assert f"rank among all {len(stored)} departments" in page
    assert 'data-testid="bulletin-tiers"' not in page and 'data-testid="total"' not in page
    assert "download-pdf" not in page
    assert client.get(f"/bulletins/2026/{KEY}/bulletin.pdf").status_code == 403
    assert client.get(f"/bulletins/2026/{KEY}/bulletin.xlsx").status_code == 403


def test_a_reviewer_sees_the_whole_bulletin(issued: tuple[Year, Flask]) -> None:
    year, app = issued
    page = sign_in(app.test_client(), "reviewer").get(f"/bulletins/2026/{KEY}").get_data(as_text=True)
    assert list(table(page, "bulletin-departments")) == [row.key for row in lines(year, "department")]
    assert 'data-testid="bulletin-tiers"' in page and "按部门" in page


def test_what_does_not_exist_is_not_found(issued: tuple[Year, Flask]) -> None:
    _year, app = issued
    client = sign_in(app.test_client(), "admin")
    assert client.get("/bulletins/2026/autumn").status_code == 404
    assert client.get("/bulletins/2025/" + KEY).status_code == 404
    assert client.get("/bulletins/2026/Bad%20Key").status_code == 404
    assert app.test_client().get("/bulletins/").status_code == 302  # to the sign-in


def test_an_empty_console_says_there_is_nothing(app: Flask) -> None:
    page = sign_in(app.test_client(), "admin").get("/bulletins/?lang=en").get_data(as_text=True)
    assert "No plan has been applied yet" in page
