"""The pages the organisation department opens most read a fixed number of queries, whatever the size
of the year: the dashboard, a department's report and a cadre's page ask the same number of questions
of a year of 12 cadres as of one of 80 (and so of 10,000)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import event, select

from plugin_service.db import engine_for, session_scope
from plugin_service.models import Cadre

from ..documents.seed import seed_year
from .conftest import add_users, make_app, settings_for, sign_in


def queries_per_page(database_url: str, cadres: int) -> dict[str, int]:
    seed_year(database_url, cadres=cadres)
    app: Flask = make_app(settings_for(database_url))
    add_users(database_url)
    with session_scope(database_url) as session:
        employee_no, department = session.execute(select(Cadre.employee_no, Cadre.department)
                                                  .order_by(Cadre.employee_no).limit(1)).one()
    pages = {"dashboard": "/", "department report": f"/reports/?department={department}",
             "cadre page": f"/cadres/{employee_no}", "search": "/cadres/?q=张"}
    counted: dict[str, int] = {}
    statements: list[str] = []

    def count(*_args: object) -> None:
        statements.append("")

    client = sign_in(app.test_client(), "admin")
    engine = engine_for(database_url)
    for name, path in pages.items():
        assert client.get(path).status_code == 200  # once to warm the caches of plans and lists
        event.listen(engine, "before_cursor_execute", count)
        try:
            statements.clear()
            assert client.get(path).status_code == 200
            counted[name] = len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    return counted


def test_the_main_pages_read_the_same_number_of_queries_for_any_number_of_cadres(tmp_path: Path) -> None:
    small = queries_per_page(f"sqlite:///{tmp_path / 'small.sqlite3'}", 12)
    large = queries_per_page(f"sqlite:///{tmp_path / 'large.sqlite3'}", 80)
    assert small == large, (small, large)
    # the cadre page: its record, courses, reflections, discussions, history, certificates, offline claims...
    assert small["dashboard"] <= 14 and small["department report"] <= 18 and small["cadre page"] <= 17, small
