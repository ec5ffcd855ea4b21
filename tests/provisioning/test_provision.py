"""Provisioning the sample years into a fake Moodle over HTTP: exact objects, idempotence, 2027."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.fake import RunningFake, serve, stock_site
from moodle_bridge.fake.seed import seed_course_library
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import AuditLog, JournalEntry, ProvisionRun
from plugin_service.services.provisioning.moodle_state import MoodleStateError
from plugin_service.services.provisioning.provision import ProvisionError, apply, check_inputs, preview
from rules.problems import InputError

from ..conftest import TOKEN
from .expected import EXAMPLES, expected
from .moodle_snapshot import cadre_users, duplicates, snapshot, write_calls

pytestmark = pytest.mark.integration


@pytest.fixture
def library_fake() -> Iterator[RunningFake]:
    """A fake site holding the content team's course library of template courses."""
    site = stock_site(tokens={"wsbot": TOKEN})
    seed_course_library(site)
    with serve(site) as running:
        yield running


def settings_for(fake: RunningFake, database_url: str) -> Settings:
    upgrade(database_url)
    return Settings(moodle_url=fake.url, moodle_token=TOKEN, database_url=database_url,
                    secret_key="test", moodle_batch_size=50, moodle_max_workers=4)


def inputs(year: int, roster_year: int | None = None):
    plan = (EXAMPLES / f"plan-{year}.yaml").read_text("utf-8")
    roster_name = f"roster-{roster_year or year}.csv"
    return check_inputs(plan, f"plan-{year}.yaml", (EXAMPLES / roster_name).read_bytes(), roster_name)


def run_apply(fake: RunningFake, settings: Settings, year: int):
    with MoodleClient(fake.url, TOKEN, batch_size=50, max_workers=4) as client:
        return apply(client, inputs(year), settings, actor="test")


def test_first_apply_creates_exactly_the_plan(library_fake: RunningFake, database_url: str) -> None:
    settings = settings_for(library_fake, database_url)
    result = run_apply(library_fake, settings, 2026)
    site = library_fake.site
    want = expected(2026)
    got = snapshot(site, 2026)
    assert got["classes"].keys() == want["classes"].keys()
    for idnumber, members in want["classes"].items():
        assert got["classes"][idnumber]["members"] == members, idnumber
    assert set(got["courses"]) == want["courses"]
    assert {k: set(v[0]) for k, v in got["enrolments"].items()} == want["enrolments"]
    assert all(status == "active" for _, status in got["enrolments"].values())
    users = cadre_users(site)
    assert want["users"] <= set(users)
    assert not duplicates(site)
    # a sample straight from the roster: the party secretary leads; a section chief of a Party office
    assert "T19880" in got["classes"]["cadre:2026:class:leaders"]["members"]
    assert got["classes"]["cadre:2026:class:leaders"]["name"] == "2026 校领导班"
    assert got["courses"]["cadre:2026:course:policy"]["fullname"] == "高等职业教育政策法规解读"
    assert result.counts["copy_course"] == 10 and result.counts["create_course"] == 1
    with session_scope(settings.database_url) as session:
        run = session.get(ProvisionRun, result.run_id)
        assert run is not None and run.status == "done" and run.ops_done == run.ops_total
        assert session.query(JournalEntry).filter_by(run_id=run.id).count() == run.ops_total
        writes = sum(write_calls(site).values())
        assert session.query(AuditLog).filter(AuditLog.action.like("moodle:%")).count() == writes


def test_a_second_apply_writes_nothing(library_fake: RunningFake, database_url: str) -> None:
    settings = settings_for(library_fake, database_url)
    run_apply(library_fake, settings, 2026)
    before = snapshot(library_fake.site, 2026)
    library_fake.site.calls.clear()
    result = run_apply(library_fake, settings, 2026)
    assert result.changes.empty
    assert write_calls(library_fake.site) == {}
    assert snapshot(library_fake.site, 2026) == before
    with MoodleClient(library_fake.url, TOKEN) as client:
        assert preview(client, inputs(2026), settings).changes.empty


def test_2027_after_2026_handles_promotions_and_departures(library_fake: RunningFake,
                                                           database_url: str) -> None:
    settings = settings_for(library_fake, database_url)
    run_apply(library_fake, settings, 2026)
    year_2026 = snapshot(library_fake.site, 2026)
    run_apply(library_fake, settings, 2027)
    site = library_fake.site
    assert snapshot(site, 2026) == year_2026, "applying 2027 changed 2026"
    want = expected(2027)
    got = snapshot(site, 2027)
    for idnumber, members in want["classes"].items():
        assert got["classes"][idnumber]["members"] == members, idnumber
    assert {k: set(v[0]) for k, v in got["enrolments"].items()} == want["enrolments"]
    users = cadre_users(site)
    assert want["departed"] == {"T20168", "T22636"}
    for employee_no in want["departed"]:
        assert users[employee_no]["suspended"], employee_no
        assert not any(who == employee_no for _, who in got["enrolments"])
    for new in ("T30000", "T30007"):
        assert not users[new]["suspended"]
    promoted = "T20408"  # 副处级 -> 正处级: same tier, same class
    assert promoted in got["classes"]["cadre:2027:class:party-admin"]["members"]
    assert not duplicates(site)


def test_leaving_a_class_suspends_the_enrolment_and_keeps_it(library_fake: RunningFake,
                                                             database_url: str, tmp_path: Path) -> None:
    settings = settings_for(library_fake, database_url)
    run_apply(library_fake, settings, 2026)
    rows = (EXAMPLES / "roster-2026.csv").read_text("utf-8-sig").splitlines()
    leaver = next(i for i, line in enumerate(rows) if line.startswith("T20408,"))
    rows[leaver] = rows[leaver].replace(",在职,", ",离岗,")
    changed = "\ufeff" + "\n".join(rows) + "\n"
    plan = (EXAMPLES / "plan-2026.yaml").read_text("utf-8")
    with MoodleClient(library_fake.url, TOKEN) as client:
        result = apply(client, check_inputs(plan, "plan-2026.yaml", changed.encode(), "roster.csv"),
                       settings, actor="test")
    assert result.counts == {"remove_member": 1, "suspend_enrolment": len(result.changes.by_kind(
        "suspend_enrolment"))}
    got = snapshot(library_fake.site, 2026)
    assert "T20408" not in got["classes"]["cadre:2026:class:party-admin"]["members"]
    statuses = {status for (course, who), (_, status) in got["enrolments"].items() if who == "T20408"}
    assert statuses == {"suspended"}
    assert not cadre_users(library_fake.site)["T20408"]["suspended"]


def test_invalid_inputs_write_nothing(library_fake: RunningFake) -> None:
    plan = (EXAMPLES / "plan-2026.yaml").read_text("utf-8").replace("required: [teaching]",
                                                                    "required: [teachers]")
    roster = (EXAMPLES / "roster-2026.csv").read_bytes().replace("副处级".encode(), "副处".encode(), 1)
    with pytest.raises(InputError) as caught:
        check_inputs(plan, "plan.yaml", roster, "roster.csv")
    text = "\n".join(str(p) for p in caught.value.errors)
    assert 'unknown rank "副处"' in text and "roster.csv line" in text
    assert '"teachers"' in text and "plan.yaml line" in text
    assert write_calls(library_fake.site) == {}


def test_a_namespace_keeps_every_key_apart(library_fake: RunningFake, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'ns.sqlite3'}"
    upgrade(database)
    settings = Settings(moodle_url=library_fake.url, moodle_token=TOKEN, database_url=database,
                        secret_key="test", moodle_namespace="rehearsal-")
    with MoodleClient(library_fake.url, TOKEN) as client:
        apply(client, inputs(2026), settings, actor="test")
        assert preview(client, inputs(2026), settings).changes.empty
    site = library_fake.site
    ours = [c for c in site.db["course"] if "cadre:2026" in str(c.get("idnumber"))]
    assert len(ours) == 11 and all(c["idnumber"].startswith("rehearsal-") for c in ours)
    assert all(c["shortname"].startswith("rehearsal-") for c in ours)
    assert {u["idnumber"] for u in site.db["user"] if u.get("idnumber")} == {
        f"rehearsal-{no}" for no in expected(2026)["users"]}
    assert snapshot(site, 2026) == {"classes": {}, "courses": {}, "enrolments": {}}


def test_duplicate_idnumbers_in_moodle_stop_before_any_write(library_fake: RunningFake,
                                                             tmp_path: Path) -> None:
    """Moodle accepts the same user idnumber twice; the companion must not pick one at random."""
    site = library_fake.site
    for username in ("yu.juanwen", "yujw2"):
        site.site_action("create_user", {"username": username, "firstname": "娟文", "lastname": "余",
                                         "email": f"{username}@example.edu", "idnumber": "T19880"})
    database = f"sqlite:///{tmp_path / 'dup.sqlite3'}"
    settings = settings_for(library_fake, database)
    site.calls.clear()
    with MoodleClient(library_fake.url, TOKEN) as client, pytest.raises(MoodleStateError) as caught:
        apply(client, inputs(2026), settings, actor="test")
    assert "T19880" in str(caught.value) and "several users" in str(caught.value)
    assert write_calls(site) == {}


def test_a_missing_template_stops_before_any_write(tmp_path: Path) -> None:
    site = stock_site(tokens={"wsbot": TOKEN})  # no course library: no template courses
    with serve(site) as fake:
        settings = settings_for(fake, f"sqlite:///{tmp_path / 'tpl.sqlite3'}")
        with MoodleClient(fake.url, TOKEN) as client, pytest.raises(ProvisionError) as caught:
            apply(client, inputs(2026), settings, actor="test")
        assert "template course TPL-POLICY" in str(caught.value)
        assert "nothing was written" in str(caught.value)
        assert write_calls(site) == {}
