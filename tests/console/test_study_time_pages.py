"""Study time where people read it: the cadre page, the reports by group and by course and their export, the
learning archive and the registration form, the JSON API's cadre record and ``cadre record``; a course
whose courseware tracks no time reads "not tracked" (未记录), never zero."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from openpyxl import load_workbook

from moodle_bridge.fake import serve
from plugin_service.db import session_scope
from plugin_service.services.documents.document_values import archive_values, registration_values
from tests.harvest.test_study_time import course_of, study
from tests.harvest.world import FALLBACK_REVIEWER, Year, cli, library_site, moment, provision, small_roster

from .conftest import add_users, make_app, settings_for, sign_in

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def studied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Year, Flask, str]]:
    """The sample plan for 28 cadres; one of them studied the integrity course's courseware for
    1 h 5 min 3.5 s; harvested."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('study') / 'cadre.sqlite3'}"
    with serve(library_site()) as running:
        year = provision(running, database_url, roster=small_roster())
        one = next(no for no in sorted(year.users) if no != FALLBACK_REVIEWER)
        integrity = course_of(year, "TPL-INTEGRITY")
        study(year, one, integrity, moment("2026-03-02"), 1500)
        study(year, one, integrity, moment("2026-03-03"), 1803.5)
        study(year, one, integrity, moment("2026-03-04"), 600, sco=1, finish=False)
        year.harvest()
        app = make_app(settings_for(database_url, moodle_url=running.url,
                                    moodle_token=year.settings.moodle_token))
        add_users(database_url)
        yield year, app, one


def test_the_cadre_page_shows_study_time_and_not_tracked(studied: tuple[Year, Flask, str]) -> None:
    year, app, one = studied
    client = sign_in(app.test_client(), "admin")
    chinese = client.get(f"/cadres/{one}").get_data(as_text=True)
    integrity, thought = course_of(year, "TPL-INTEGRITY"), course_of(year, "TPL-THOUGHT")
    assert f'data-testid="study-{integrity}">1 小时 5 分<' in chinese
    assert f'data-testid="study-{thought}">未记录<' in chinese
    assert 'id="study-time"' in chinese
    text = client.get(f"/cadres/{one}?lang=en").get_data(as_text=True)
    assert f'data-testid="study-{integrity}">1 h 5 min<' in text
    assert f'data-testid="study-{thought}">not tracked<' in text


def test_the_reports_show_study_time_by_group_and_course(studied: tuple[Year, Flask, str]) -> None:
    year, app, _one = studied
    client = sign_in(app.test_client(), "admin")
    text = client.get("/reports/", query_string={"year": 2026, "group_by": "tier", "lang": "en"}
                      ).get_data(as_text=True)
    table = text.split('id="study-table">')[1].split("</table>")[0]
    integrity = course_of(year, "TPL-INTEGRITY")
    row = table.split(f'data-course="{integrity}"')[1].split("</tr>")[0]
    assert 'data-col="total">1 h 5 min<' in row
    thought = table.split(f'data-course="{course_of(year, "TPL-THOUGHT")}"')[1].split("</tr>")[0]
    assert "not tracked" in thought and 'data-col="total"' not in thought
    assert 'data-col="study"' in text.split('id="report-table">')[1]
    export = client.get("/reports/export.xlsx", query_string={"year": 2026, "part": "study"})
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).active
    assert sheet is not None
    rows = [[cell.value for cell in line] for line in sheet.iter_rows()]
    names = {c.key: c.name for c in year.plan().courses}
    by_name = {line[0]: line for line in rows}
    assert by_name[names[integrity]][1] == "是"
    assert by_name[names[course_of(year, "TPL-THOUGHT")]][-1] == "未记录"


def test_documents_the_api_and_the_command_show_it(studied: tuple[Year, Flask, str]) -> None:
    year, _app, one = studied
    integrity, thought = course_of(year, "TPL-INTEGRITY"), course_of(year, "TPL-THOUGHT")
    names = {c.key: c.name for c in year.plan().courses}
    with session_scope(year.database_url) as session:
        archive = archive_values(session, one)
        form = registration_values(session, one, 2026)
    courses = {c["name"]: c["study_time"] for c in archive["years"][0]["courses"]}
    assert courses[names[integrity]] == "1 小时 5 分" and courses[names[thought]] == "未记录"
    assert archive["years"][0]["study_time"] == form["study_time"]
    assert form["study_time"].endswith("分")
    result = cli(["record", one], database_url=year.database_url)
    assert result.exit_code == 0, result.output
    assert f"{integrity}" in result.output and "1 h 5 min" in result.output and "not tracked" in result.output
