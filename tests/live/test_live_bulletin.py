"""A progress bulletin (通报) on a real Moodle: ranked from the harvested records, sent once to every reader
through Moodle's messaging, read back from Moodle.

A small year is provisioned in the run's namespace (``<prefix>bu-``): a school leader, two department
heads (a 部长 and a 院长), a deputy and a section-level cadre, and a cadre on leave; one required course
copied from the template course. The deputy completes it (the service user overrides its criterion
activities), the year is harvested for the day before the bulletin's date, and the bulletin job runs on
that date: the leader, both heads and everyone taking part must each find in Moodle exactly one message
per outbox row, with the outbox's text; the cadre on leave nothing. A second run the next day sends
nothing and calls no Moodle write. The messages stay in Moodle with the deleted accounts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_message import Message
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import Bulletin, OutboxMessage
from plugin_service.services.engagement import bulletins
from plugin_service.services.engagement.outbox import plain
from plugin_service.services.engagement.run import MESSAGE_FUNCTIONS
from plugin_service.services.harvest import harvest
from plugin_service.services.harvest.run import required_functions as harvest_functions
from plugin_service.services.provisioning.provision import Inputs
from plugin_service.services.provisioning.provision import required_functions as provision_functions

from .conftest import (
    WriteCounter,
    complete_course,
    live_settings,
    provision_year,
    require_functions,
    template_course_shortname,
)

pytestmark = [pytest.mark.live, pytest.mark.timeout(900)]
Cleanup = Callable[[Callable[[], object]], None]

YEAR = 2026
ON = dt.date(YEAR, 6, 1)
TITLE = "2026年上半年干部在线学习进度通报"
LEADER, HEAD_ORG, HEAD_MECH, DEPUTY, SECTION, ON_LEAVE = "B001", "B002", "B003", "B004", "B005", "B006"
TAKING_PART = {LEADER, HEAD_ORG, HEAD_MECH, DEPUTY, SECTION}
ORG, MECH = "组织部", "机电学院"


def roster(namespace: str) -> str:
    mail = namespace.lower()
    return f"""工号,姓名,性别,部门,部门类别,职务,职级,邮箱,手机,在职状态,分管校领导工号
{LEADER},吴校长,男,校领导,党政部门,校长,校级,{mail}b001@example.edu,13800000041,在职,
{HEAD_ORG},郑部长,女,{ORG},党政部门,部长,正处级,{mail}b002@example.edu,13800000042,在职,{LEADER}
{HEAD_MECH},冯院长,男,{MECH},教学部门,院长,正处级,{mail}b003@example.edu,13800000043,在职,{LEADER}
{DEPUTY},陈副部长,女,{ORG},党政部门,副部长,副处级,{mail}b004@example.edu,13800000044,在职,{LEADER}
{SECTION},褚科长,男,{MECH},教学部门,科长,正科级,{mail}b005@example.edu,13800000045,在职,{LEADER}
{ON_LEAVE},卫科长,女,{MECH},教学部门,副科长,副科级,{mail}b006@example.edu,13800000046,离岗,{LEADER}
"""


def plan_text(namespace: str, template: str) -> str:
    return f"""year: {YEAR}
title: live bulletin test plan
organisation: 中共示范职业技术学院委员会组织部
period: {{start: {YEAR}-03-01, end: {YEAR}-12-15}}
moodle: {{category: {namespace}live bulletin {YEAR}, learner_role: student, reviewer_role: teacher}}
hours: {{target: 8, required_min: 4}}
tiers:
  - {{key: leaders, name: 校领导, match: {{rank: [校级]}}}}
  - {{key: middle, name: 中层干部, match: {{rank: [正处级, 副处级]}}}}
  - {{key: section, name: 科级干部, match: {{rank: [正科级, 副科级]}}}}
excluded: {{match: {{status: [离岗, 离职]}}}}
classes:
  - {{key: leaders, tier: leaders, name: {namespace}校领导班}}
  - {{key: middle, tier: middle, name: {namespace}中层班}}
  - {{key: section, tier: section, name: {namespace}科级班}}
courses:
  - {{key: core, name: {namespace}理论学习必修课, hours: 4, template: {template}, required: all}}
bulletins:
  - {{on: {ON.isoformat()}, title: {TITLE}, to: [leaders, department_heads, all]}}
"""


@dataclasses.dataclass(frozen=True)
class BulletinYear:
    settings: Settings
    inputs: Inputs
    users: dict[str, int]  # employee number -> Moodle user id
    sender: int  # the service user


@pytest.fixture(scope="module")
def bulletin_year(live_client: MoodleClient, prefix: str, module_cleanup: Cleanup,
                  tmp_path_factory: pytest.TempPathFactory) -> BulletinYear:
    require_functions(live_client, *provision_functions(), *harvest_functions("per_user"), *MESSAGE_FUNCTIONS,
                      "core_course_get_contents", "core_completion_override_activity_completion_status",
                      "core_user_delete_users", "core_course_delete_courses", "core_cohort_delete_cohorts")
    template = template_course_shortname()
    namespace = f"{prefix}bu-"
    directory = tmp_path_factory.mktemp("bulletin")
    database = f"sqlite:///{directory / 'cadre.sqlite3'}"
    upgrade(database)
    settings = dataclasses.replace(live_settings(database, namespace), documents_workers=1,
                                   documents_dir=str(directory / "documents"))
    made = provision_year(live_client, settings, plan_text(namespace, template), roster(namespace),
                          module_cleanup)
    users = made.users
    assert set(users) >= TAKING_PART, users
    complete_course(live_client, users[DEPUTY], made.courses["core"])
    # The nightly harvest before the bulletin's date: the bulletin ranks records computed for that day.
    harvest(live_client, settings, year=YEAR, path="per_user", today=ON - dt.timedelta(days=1))
    sender = live_client.core_webservice.get_site_info().userid
    year = BulletinYear(settings, made.inputs, users, sender)
    require_messaging(live_client, year)
    return year


def require_messaging(client: MoodleClient, year: BulletinYear) -> None:
    """Skips, saying what to grant, unless the service user may message the year's people."""
    people = {year.users[no] for no in TAKING_PART}
    members = client.core_message.get_member_info(year.sender, sorted(people), includeprivacyinfo=True)
    said = {m.id: m.canmessage for m in members}
    if {userid for userid, can in said.items() if can} != people:
        pytest.skip(f"core_message_get_member_info (with the privacy information) says the service user "
                    f"{year.sender} may message {said} of the cadres {sorted(people)} it just enrolled: give "
                    "its role moodle/site:sendmessage and moodle/site:readallmessages (see `cadre doctor`)")


def received(client: MoodleClient, userid: int, sender: int) -> list[Message]:
    """Every message ``sender`` sent the user, read or not, oldest first."""
    return list(client.core_message.iter_messages(userid, useridfrom=sender, type="conversations", read=2))


def bulletin_rows(settings: Settings) -> list[OutboxMessage]:
    with session_scope(settings.database_url) as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "bulletin")
                                    .order_by(OutboxMessage.id)))
        session.expunge_all()
        return rows


def test_the_bulletin_reaches_every_reader_once(live_client: MoodleClient,
                                                bulletin_year: BulletinYear) -> None:
    settings, users = bulletin_year.settings, bulletin_year.users
    first = bulletins(live_client, settings, year=YEAR, today=ON, actor="live-test")
    assert [(b.key, b.state) for b in first.bulletins] == [(ON.isoformat(), "fired")], first.bulletins
    rows = bulletin_rows(settings)
    assert {row.recipient for row in rows} == TAKING_PART
    assert (first.delivery.sent, first.delivery.refused) == (len(rows), 0), first.delivery
    assert all(row.status == "sent" and row.msgid for row in rows), [(r.recipient, r.status) for r in rows]
    with session_scope(settings.database_url) as session:
        stored = session.scalar(select(Bulletin).where(Bulletin.year == YEAR))
        assert stored is not None and stored.messages == len(rows)
        assert stored.readers == {"leaders": 1, "department_heads": 2, "all": len(TAKING_PART)}
    for no in TAKING_PART:
        mine = [row for row in rows if row.recipient == no]
        inbox = received(live_client, users[no], bulletin_year.sender)
        # Each outbox row is exactly one message in Moodle, with the outbox's text, and nothing else came.
        assert sorted(m.id for m in inbox) == sorted(row.msgid or 0 for row in mine), no
        for row in mine:
            copies = [m for m in inbox if plain(m.fullmessage or m.text) == plain(row.text)]
            assert [m.id for m in copies] == [row.msgid], (no, row.key)
        assert TITLE in mine[0].text, no
    heads = {HEAD_ORG: ORG, HEAD_MECH: MECH}
    for no, department in heads.items():
        assert any(department in row.text for row in rows if row.recipient == no), no
    if ON_LEAVE in users:
        assert received(live_client, users[ON_LEAVE], bulletin_year.sender) == []
    files = Path(settings.documents_dir) / str(YEAR) / "bulletins"
    assert sorted(p.name for p in files.iterdir()) == [f"{ON.isoformat()}.pdf", f"{ON.isoformat()}.xlsx"]


def test_a_second_run_sends_nothing(live_client: MoodleClient, bulletin_year: BulletinYear) -> None:
    settings = bulletin_year.settings
    if not bulletin_rows(settings):
        bulletins(live_client, settings, year=YEAR, today=ON, actor="live-test")
    users, sender = bulletin_year.users, bulletin_year.sender
    before = {row.recipient: len(received(live_client, users[row.recipient], sender))
              for row in bulletin_rows(settings)}
    with WriteCounter(live_client) as counter:
        again = bulletins(live_client, settings, year=YEAR, today=ON + dt.timedelta(days=1),
                          actor="live-test")
    assert [(b.key, b.state) for b in again.bulletins] == [(ON.isoformat(), "already")], again.bulletins
    assert again.delivery.as_dict() == {"sent": 0, "refused": 0, "confirmed": 0, "requeued": 0}
    assert counter.writes == []
    after = {no: len(received(live_client, users[no], sender)) for no in before}
    assert after == before
