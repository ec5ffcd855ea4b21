"""``/healthz``, ``/readyz`` and ``/metrics`` on SQLite and PostgreSQL: open without a console sign-in,
never cached, never carrying a secret; readiness says which check failed; the metrics come from the
database, so every process answers the same, and only to the holder of the metrics token."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from moodle_bridge import MoodleError
from moodle_bridge.fake import RunningFake, serve
from plugin_service.db import engine_for, session_scope
from plugin_service.models import HarvestRun, OutboxMessage
from plugin_service.moodle import client_from_settings
from plugin_service.services.platform import moodle_calls
from plugin_service.services.platform.health import MoodleProbe, check_harvest
from plugin_service.services.platform.version import package_version, schema_head

from ..console.conftest import make_app, settings_for
from ..documents.seed import store_plan
from ..harvest.world import library_site

MOODLE_TOKEN = "0123456789abcdef0123456789abcdef"  # the library site's service token (tests/conftest.py)
METRICS_TOKEN = "scrape-me-7c1f0e"
SECRET_KEY = "console-test-secret"


@pytest.fixture
def moodle() -> Iterator[RunningFake]:
    with serve(library_site()) as running:
        yield running


def app_for(database_url: str, moodle: RunningFake | None, **values: Any) -> Flask:
    settings = settings_for(database_url, **{"metrics_token": METRICS_TOKEN, **values})
    if moodle is not None:
        settings = replace(settings, moodle_url=moodle.url, moodle_token=MOODLE_TOKEN)
    return make_app(settings)


def body(answer: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(answer.get_data(as_text=True))
    return found


def no_secret_in(answer: Any) -> None:
    page = answer.get_data(as_text=True)
    for secret in (MOODLE_TOKEN, METRICS_TOKEN, SECRET_KEY):
        assert secret not in page


def test_healthz_answers_without_sign_in_or_database(database_url: str) -> None:
    app = app_for(database_url, None)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        answer = app.test_client().get("/healthz")
    finally:
        event.remove(Engine, "before_cursor_execute", seen)
    assert answer.status_code == 200 and body(answer) == {"status": "ok"}
    assert statements == []
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in answer.headers
    assert "Set-Cookie" not in answer.headers


def test_readyz_is_200_when_every_check_passes(database_url: str, moodle: RunningFake) -> None:
    answer = app_for(database_url, moodle).test_client().get("/readyz")

    assert answer.status_code == 200, answer.get_data(as_text=True)
    found = body(answer)
    assert found["status"] == "ready" and found["failed"] == []
    assert found["checks"].keys() == {"database", "migrations", "broker", "moodle", "harvest"}
    assert found["checks"]["migrations"] == {"ok": True, "revision": schema_head(), "expected": schema_head()}
    assert found["checks"]["moodle"]["ok"] and found["checks"]["moodle"]["release"]
    assert found["checks"]["harvest"] == {"ok": True, "max_age_s": 48 * 3600, "years": {}}
    assert answer.headers["Cache-Control"] == "no-store"
    no_secret_in(answer)


def test_readyz_is_503_naming_the_checks_that_failed(database_url: str) -> None:
    app = app_for(database_url, None, moodle_url="http://127.0.0.1:9", moodle_token=MOODLE_TOKEN,
                  broker_url="redis://:broker-pass@127.0.0.1:9/0")
    with engine_for(database_url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0008'"))

    answer = app.test_client().get("/readyz")

    assert answer.status_code == 503
    found = body(answer)
    assert found["status"] == "not ready"
    assert found["failed"] == ["migrations", "broker", "moodle"]
    assert "cadre db upgrade" in found["checks"]["migrations"]["error"]
    assert found["checks"]["broker"]["error"].startswith("ConnectionError")
    assert found["checks"]["moodle"]["error"].startswith("TransientError")
    assert found["checks"]["database"]["ok"] and found["checks"]["harvest"]["ok"]
    no_secret_in(answer)
    assert "broker-pass" not in answer.get_data(as_text=True)
    with engine_for(database_url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": schema_head()})


def test_readyz_without_a_moodle_connection_says_so(database_url: str) -> None:
    found = body(app_for(database_url, None).test_client().get("/readyz"))
    assert found["failed"] == ["moodle"]
    assert found["checks"]["moodle"] == {"ok": False, "error": "no Moodle URL or token is set"}


def test_moodle_is_asked_once_in_a_few_seconds(database_url: str, moodle: RunningFake) -> None:
    settings = replace(settings_for(database_url), moodle_url=moodle.url, moodle_token=MOODLE_TOKEN)
    make_app(settings)
    now = [1000.0]
    probe = MoodleProbe(clock=lambda: now[0])
    before = moodle.site.calls["core_webservice_get_site_info"]
    assert probe(settings)[0].ok and probe(settings)[0].ok
    assert moodle.site.calls["core_webservice_get_site_info"] == before + 1
    now[0] += 11
    assert probe(settings)[0].ok
    assert moodle.site.calls["core_webservice_get_site_info"] == before + 2


def test_a_year_under_way_needs_a_recent_harvest(database_url: str) -> None:
    settings = settings_for(database_url)
    make_app(settings)
    store_plan(database_url, 2026)  # period 2026-03-01 to 2026-12-15, applied on 1 March
    october = dt.datetime(2026, 10, 1, 12, 0)

    [never] = check_harvest(settings, now=october)
    assert not never.ok and "2026" in never.detail["error"]
    assert never.detail["years"] == {"2026": {"last_harvest": None, "age_s": None}}

    with session_scope(database_url) as session:
        session.add(HarvestRun(year=2026, mode="full", status="done",
                               finished_at=october - dt.timedelta(hours=3)))
        session.add(HarvestRun(year=2026, mode="incremental", status="failed", finished_at=october))
    [recent] = check_harvest(settings, now=october)
    assert recent.ok and recent.detail["years"]["2026"]["age_s"] == 3 * 3600

    [stale] = check_harvest(settings, now=october + dt.timedelta(days=3))
    assert not stale.ok
    [after_the_year] = check_harvest(settings, now=dt.datetime(2027, 3, 1))
    assert after_the_year.ok and after_the_year.detail["years"] == {}


def metrics_of(answer: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_need_the_token(database_url: str) -> None:
    client = app_for(database_url, None).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": METRICS_TOKEN}).status_code == 401
    unset = app_for(database_url, None, metrics_token="").test_client()
    assert unset.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_count_jobs_lag_messages_and_moodle_calls(database_url: str, moodle: RunningFake) -> None:
    app = app_for(database_url, moodle)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with session_scope(database_url) as session:
        session.add_all([HarvestRun(year=2026, mode="full", status="done",
                                    finished_at=now - dt.timedelta(hours=2)),
                         HarvestRun(year=2026, mode="incremental", status="failed", finished_at=now),
                         HarvestRun(year=2025, mode="full", status="done",
                                    finished_at=now - dt.timedelta(days=300))])
        for n, status in enumerate(["sent", "sent", "refused", "pending"]):
            session.add(OutboxMessage(key=f"r:{n}", year=2026, kind="reminder", source="autumn",
                                      recipient=f"T{n}", text="请按时完成学习", status=status))
    settings = replace(settings_for(database_url), moodle_url=moodle.url, moodle_token=MOODLE_TOKEN)
    with client_from_settings(settings) as client:  # what a worker's job does, in this process
        client.core_webservice.get_site_info()
        with pytest.raises(MoodleError):
            client.call("core_user_get_users_by_field", {"field": "nonsense", "values": ["x"]}, write=False)

    answer = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})

    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert answer.headers["Cache-Control"] == "no-store"
    found = metrics_of(answer)
    assert found[("cadre_jobs", (("kind", "harvest"), ("state", "done")))] == 2
    assert found[("cadre_jobs", (("kind", "harvest"), ("state", "failed")))] == 1
    assert 2 * 3600 - 5 < found[("cadre_harvest_lag_seconds", (("year", "2026"),))] < 2 * 3600 + 300
    assert found[("cadre_harvest_lag_seconds", (("year", "2025"),))] > 299 * 86400
    assert found[("cadre_outbox_messages", (("kind", "reminder"), ("status", "sent")))] == 2
    assert found[("cadre_outbox_messages", (("kind", "reminder"), ("status", "refused")))] == 1
    assert found[("cadre_moodle_calls_total", (("function", "core_webservice_get_site_info"),))] == 1
    assert found[("cadre_moodle_calls_total", (("function", "core_user_get_users_by_field"),))] == 1
    assert found[("cadre_moodle_call_errors_total", (("function", "core_user_get_users_by_field"),))] == 1
    assert found[("cadre_moodle_call_errors_total", (("function", "core_webservice_get_site_info"),))] == 0
    assert found[("cadre_build_info", (("schema", schema_head()), ("version", package_version())))] == 1
    no_secret_in(answer)


def test_call_counts_add_up_over_clients_and_never_make_a_database(database_url: str, tmp_path: Any) -> None:
    make_app(settings_for(database_url))
    assert moodle_calls.add(database_url, {"core_user_create_users": 2}, {})
    assert moodle_calls.add(database_url, {"core_user_create_users": 3, "mod_forum_add_discussion": 1},
                            {"core_user_create_users": 1})
    assert moodle_calls.totals(database_url) == {"core_user_create_users": (5, 1),
                                                 "mod_forum_add_discussion": (1, 0)}
    missing = tmp_path / "nowhere" / "cadre.sqlite3"
    assert not moodle_calls.add(f"sqlite:///{missing}", {"core_user_create_users": 1}, {})
    assert not missing.parent.exists()

