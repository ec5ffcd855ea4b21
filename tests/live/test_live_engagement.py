"""Engagement on a real Moodle: reminders and a leader's digest through the outbox, a discussion window
opened and locked in the copied course's forum, and the training-needs survey harvested, in the run's
namespace.

A tiny year is provisioned as the harvest test does (namespace ``<prefix>en-``): a school leader, a
middle-level and a section-level cadre under that leader, and a cadre on leave; one required course
copied from the template course, holding the plan's discussion topic. Its learning records are computed
from the (empty) harvest for the day before the reminder, as the nightly harvest leaves them; nobody has
studied, so the reminder concerns both learners and their leader gets a digest. The jobs run with the
plan's dates given as ``today`` (Moodle does not care which day the companion thinks it is).

What was sent is read back from Moodle (``core_message_get_messages``), what was posted from the forum
(``mod_forum_get_forum_discussions``). Everything made is removed afterwards as in the provisioning
test: deleting the course removes its forum and topic; the messages stay with the deleted accounts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import os
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select, update

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_message import Message
from moodle_bridge.areas.mod_forum import Discussion as ForumDiscussion
from plugin_service.config import Settings
from plugin_service.db import session_scope, upgrade
from plugin_service.models import Cadre, DiscussionTopic, EngagementRun, OutboxMessage, YearCourse, utcnow
from plugin_service.services.engagement import remind, survey, sync_discussions
from plugin_service.services.engagement.outbox import deliver, enqueue, plain
from plugin_service.services.engagement.run import MESSAGE_FUNCTIONS, SURVEY_FUNCTIONS, TOPIC_FUNCTIONS
from plugin_service.services.engagement.survey import question_of
from plugin_service.services.harvest.context import load_context
from plugin_service.services.harvest.records import compute_records
from plugin_service.services.provisioning.provision import Inputs, apply, check_inputs
from plugin_service.services.provisioning.provision import required_functions as provision_functions
from rules.reminders import CadreStanding, Outgoing, digest_texts
from rules.survey import OTHER

from .conftest import (
    WriteCounter,
    live_settings,
    remove_provisioned,
    require_functions,
    template_course_shortname,
)

pytestmark = pytest.mark.live
Cleanup = Callable[[Callable[[], object]], None]

YEAR = 2026
REMIND_ON = dt.date(YEAR, 10, 15)
LEADER, LEARNERS, ON_LEAVE = "L001", ("L002", "L003"), "L004"
OPENS, CLOSES = dt.date(YEAR, 4, 1), dt.date(YEAR, 4, 30)
URGE_MARKER = "低于本阶段应达到的 8 学时"


def roster(namespace: str) -> str:
    """Addresses in the namespace: Moodle refuses a second account with an address in use."""
    mail = namespace.lower()
    return f"""工号,姓名,性别,部门,部门类别,职务,职级,邮箱,手机,在职状态,分管校领导工号
L001,王校长,男,校领导,党政部门,校长,校级,{mail}l001@example.edu,13800000011,在职,
L002,李处长,女,组织部,党政部门,部长,正处级,{mail}l002@example.edu,13800000012,在职,L001
L003,赵科长,女,机电学院,教学部门,科长,正科级,{mail}l003@example.edu,13800000013,在职,L001
L004,钱科长,男,机电学院,教学部门,副科长,副科级,{mail}l004@example.edu,13800000014,离岗,L001
"""


def plan_text(namespace: str, template: str, topic: str) -> str:
    return f"""year: {YEAR}
title: live engagement test plan
organisation: 中共示范职业技术学院委员会组织部
period: {{start: {YEAR}-03-01, end: {YEAR}-12-15}}
moodle: {{category: {namespace}live engagement {YEAR}, learner_role: student, reviewer_role: teacher}}
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
  - {{key: core, name: {namespace}必修课, hours: 4, template: {template}, required: all}}
reviewers: {{by: supervising_leader, fallback: {LEADER}}}
discussions:
  - {{key: exchange, course: core, title: {topic}, opens: {OPENS.isoformat()}, closes: {CLOSES.isoformat()},
     points: {{per_post: 1, max: 5}}}}
reminders:
  - {{key: live-urge, on: {REMIND_ON.isoformat()}, when: {{hours_below: 8}},
     to: [learner, supervising_leader], tiers: [middle, section]}}
"""


@dataclasses.dataclass(frozen=True)
class LiveYear:
    settings: Settings
    inputs: Inputs
    courseid: int  # the copy of the template course
    users: dict[str, int]  # employee number -> Moodle user id
    sender: int  # the service user
    topic: str


@pytest.fixture(scope="module")
def live_year(live_client: MoodleClient, prefix: str, module_cleanup: Cleanup,
              tmp_path_factory: pytest.TempPathFactory) -> LiveYear:
    require_functions(live_client, *provision_functions(), "core_user_delete_users",
                      "core_course_delete_courses", "core_cohort_delete_cohorts")
    template = template_course_shortname()
    namespace = f"{prefix}en-"
    topic = f"{namespace}学习交流：如何把学习成果转化为实际行动"
    directory = tmp_path_factory.mktemp("engagement")
    database = f"sqlite:///{directory / 'cadre.sqlite3'}"
    upgrade(database)
    settings = live_settings(database, namespace)
    inputs = check_inputs(plan_text(namespace, template, topic), "plan.yaml", roster(namespace).encode(),
                          "roster.csv")

    module_cleanup(lambda: remove_provisioned(live_client, inputs, settings))
    apply(live_client, inputs, settings, actor="live-test")
    with session_scope(database) as session:
        courseid = session.scalar(select(YearCourse.moodle_courseid).where(YearCourse.year == YEAR,
                                                                           YearCourse.key == "core"))
        users = {no: userid for no, userid in session.execute(select(Cadre.employee_no, Cadre.moodle_userid))
                 if userid is not None}
        # The nightly harvest before the reminder's day found nothing studied.
        compute_records(session, load_context(session, YEAR, namespace), REMIND_ON - dt.timedelta(days=1),
                        run_id=0)
    assert courseid is not None and set(users) >= {LEADER, *LEARNERS}, (courseid, users)
    sender = live_client.core_webservice.get_site_info().userid
    return LiveYear(settings, inputs, courseid, users, sender, topic)


def require_messaging(client: MoodleClient, year: LiveYear) -> None:
    """Skips, saying what to grant, unless the service user may message the year's people."""
    require_functions(client, *MESSAGE_FUNCTIONS)
    people = {year.users[no] for no in (LEADER, *LEARNERS)}
    members = client.core_message.get_member_info(year.sender, sorted(people), includeprivacyinfo=True)
    said = {m.id: m.canmessage for m in members}
    if {userid for userid, can in said.items() if can} != people:
        pytest.skip(f"core_message_get_member_info (with the privacy information) says the service user "
                    f"{year.sender} may message {said} of the cadres {sorted(people)} it just enrolled: give "
                    "its role moodle/site:sendmessage and moodle/site:readallmessages (see `cadre doctor`)")


def received(client: MoodleClient, userid: int, sender: int) -> list[Message]:
    """Every message ``sender`` sent the user, read or not, oldest first."""
    return list(client.core_message.iter_messages(userid, useridfrom=sender, type="conversations", read=2))


def copies_of(client: MoodleClient, year: LiveYear, no: str, text: str) -> list[Message]:
    """The messages the service user sent ``no`` that read ``text`` (as a reader sees it)."""
    return [m for m in received(client, year.users[no], year.sender)
            if plain(m.fullmessage or m.text) == plain(text)]


def outbox(settings: Settings, source: str = "live-urge") -> dict[tuple[str, str], OutboxMessage]:
    """The outbox rows of one reminder, by kind and recipient."""
    with session_scope(settings.database_url) as session:
        return {(row.kind, row.recipient): row for row in session.scalars(
            select(OutboxMessage).where(OutboxMessage.source == source))}


def test_a_reminder_and_a_digest_reach_each_person_once(live_client: MoodleClient,
                                                        live_year: LiveYear) -> None:
    require_messaging(live_client, live_year)
    settings, users = live_year.settings, live_year.users
    first = remind(live_client, settings, year=YEAR, today=REMIND_ON, actor="live-test")
    assert {f.key: f.state for f in first.firings} == {"live-urge": "fired"}
    assert (first.delivery.sent, first.delivery.refused) == (3, 0), first.delivery
    rows = outbox(settings)
    assert set(rows) == {("reminder", no) for no in LEARNERS} | {("digest", LEADER)}
    assert all(row.status == "sent" and row.msgid for row in rows.values()), rows
    assert rows["digest", LEADER].about == list(LEARNERS)
    for (kind, no), row in rows.items():
        assert [m.id for m in copies_of(live_client, live_year, no, row.text)] == [row.msgid], (kind, no)
    for no in LEARNERS:
        assert URGE_MARKER in rows["reminder", no].text
        assert live_year.inputs.roster[no].name in rows["digest", LEADER].text
    if ON_LEAVE in users:  # excluded from the year: nothing, whatever Moodle holds for them
        assert received(live_client, users[ON_LEAVE], live_year.sender) == []

    again = remind(live_client, settings, year=YEAR, today=REMIND_ON + dt.timedelta(days=2),
                   actor="live-test")
    assert {f.key: f.state for f in again.firings} == {"live-urge": "already"}
    assert again.delivery.as_dict() == {"sent": 0, "refused": 0, "confirmed": 0, "requeued": 0}
    for (kind, no), row in rows.items():
        assert [m.id for m in copies_of(live_client, live_year, no, row.text)] == [row.msgid], (kind, no)

    # As if a run had died after Moodle delivered a message and before the answer was recorded: the
    # row reads "sending" under a run that ended. The next run finds it in Moodle and sends nothing.
    doubtful = rows["reminder", LEARNERS[0]]
    with session_scope(settings.database_url) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == doubtful.id)
                        .values(status="sending", msgid=None, sent_at=None, claimed_at=utcnow()))
        run = session.get(EngagementRun, first.run_id)
        assert run is not None and run.status == "done"
    settled = remind(live_client, settings, year=YEAR, today=REMIND_ON + dt.timedelta(days=3),
                     actor="live-test")
    assert settled.delivery.as_dict() == {"sent": 0, "refused": 0, "confirmed": 1, "requeued": 0}
    row = outbox(settings)["reminder", LEARNERS[0]]
    assert (row.status, row.msgid) == ("sent", doubtful.msgid)
    assert [m.id for m in copies_of(live_client, live_year, LEARNERS[0], doubtful.text)] == [doubtful.msgid]


def test_a_digest_as_long_as_the_service_writes_one_is_delivered(live_client: MoodleClient,
                                                                 live_year: LiveYear) -> None:
    """A leader with many cadres behind gets digests cut to Moodle's length limit; the longest part
    must still be one Moodle accepts (it counts the limit in bytes of UTF-8)."""
    require_messaging(live_client, live_year)
    plan = live_year.inputs.plan
    reminder = next(r for r in plan.reminders if r.key == "live-urge")
    behind = [CadreStanding(f"X{n:04d}", "欧阳晓明", "马克思主义学院", "section", 1.5, 1.5, 8, 4,
                            frozenset(), frozenset(), frozenset(), supervising_leader=LEADER)
              for n in range(400)]
    longest, listed = max(digest_texts(plan, reminder, "王校长", behind), key=lambda part: len(part[0]))
    message = Outgoing(f"{YEAR}/digest/long/{REMIND_ON.isoformat()}/{LEADER}", "digest", "long", LEADER,
                       longest, tuple(c.employee_no for c in listed))
    settings = live_year.settings
    with session_scope(settings.database_url) as session:
        assert enqueue(session, YEAR, [message], live_year.users, None) == 1
    delivery = deliver(live_client, settings.database_url, YEAR, sender=live_year.sender, run_id=None,
                       actor="live-test", only=("digest",))
    with session_scope(settings.database_url) as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.key == message.key))
        assert row is not None
        status, error, msgid = row.status, row.error, row.msgid
    assert (delivery.sent, status) == (1, "sent"), (
        f"a digest of {len(longest)} characters ({len(longest.encode())} bytes of UTF-8) was not delivered: "
        f"{error}")
    assert [m.id for m in copies_of(live_client, live_year, LEADER, longest)] == [msgid]


@pytest.fixture
def counting_client() -> Iterator[tuple[MoodleClient, WriteCounter]]:
    client = MoodleClient(os.environ["MOODLE_URL"], os.environ["MOODLE_TOKEN"], timeout=120, batch_size=50,
                          max_workers=2)
    counter = WriteCounter(client)
    yield client, counter
    client.close()


def listed_topic(client: MoodleClient, courseid: int, title: str) -> list[ForumDiscussion]:
    """The discussions titled ``title`` in the course's forums, as Moodle lists them."""
    found = []
    for forum in client.mod_forum.get_forums_by_courses([courseid]):
        if forum.course == courseid:
            found += [d for d in client.mod_forum.iter_forum_discussions(forum.id)
                      if html.unescape(d.name).strip() == title]
    return found


def test_a_discussion_window_opens_and_locks_on_its_days(counting_client: tuple[MoodleClient, WriteCounter],
                                                        live_year: LiveYear) -> None:
    client, counter = counting_client
    require_functions(client, *TOPIC_FUNCTIONS)
    if not [f for f in client.mod_forum.get_forums_by_courses([live_year.courseid])
            if f.course == live_year.courseid and not f.is_news]:
        pytest.skip("the template course has no discussion forum: add a forum 学习交流 (a standard forum "
                    "for general use) to MOODLE_TEMPLATE_COURSE")

    def sync(day: dt.date) -> tuple[str, bool]:
        result = sync_discussions(client, live_year.settings, year=YEAR, today=day, actor="live-test")
        [outcome] = result.topics
        return outcome.action, outcome.late

    assert sync(OPENS - dt.timedelta(days=1)) == ("nothing", False)
    assert listed_topic(client, live_year.courseid, live_year.topic) == [] and counter.writes == []
    assert sync(OPENS) == ("opened", False)
    [posted] = listed_topic(client, live_year.courseid, live_year.topic)
    assert not posted.locked and posted.userid == live_year.sender
    assert "2026年4月1日 至 2026年4月30日" in html.unescape(posted.message)
    assert counter.writes == ["mod_forum_add_discussion"]
    assert sync(CLOSES) == ("nothing", False)
    assert sync(CLOSES + dt.timedelta(days=1)) == ("locked", False)
    [locked] = listed_topic(client, live_year.courseid, live_year.topic)
    assert locked.discussion == posted.discussion and locked.locked
    assert counter.writes == ["mod_forum_add_discussion", "mod_forum_set_lock_state"]
    assert sync(CLOSES + dt.timedelta(days=2)) == ("nothing", False)
    assert counter.writes == ["mod_forum_add_discussion", "mod_forum_set_lock_state"]
    assert len(listed_topic(client, live_year.courseid, live_year.topic)) == 1
    with session_scope(live_year.settings.database_url) as session:
        row = session.scalar(select(DiscussionTopic).where(DiscussionTopic.key == "exchange"))
        assert row is not None
        assert (row.discussionid, row.opened_on, row.locked_on, row.adopted) == (
            posted.discussion, OPENS.isoformat(), (CLOSES + dt.timedelta(days=1)).isoformat(), False)


def test_the_training_needs_survey_is_harvested(live_client: MoodleClient, live_year: LiveYear) -> None:
    require_functions(live_client, *SURVEY_FUNCTIONS, "core_course_get_courses_by_field")
    template = live_client.call("core_course_get_courses_by_field",
                                {"field": "shortname", "value": template_course_shortname()}, write=False)
    wanted = live_year.inputs.plan.survey.activity
    in_template = [f for f in live_client.mod_feedback.get_feedbacks_by_courses(
        [int(c["id"]) for c in template.get("courses", [])]).feedbacks
        if html.unescape(f.name).strip().startswith(wanted)]
    if not in_template:
        pytest.skip(f"the template course has no feedback activity named {wanted}: add one (a feedback "
                    "activity with the training-needs questions) to MOODLE_TEMPLATE_COURSE")
    copies = [f for f in live_client.mod_feedback.get_feedbacks_by_courses([live_year.courseid]).feedbacks
              if f.course == live_year.courseid and html.unescape(f.name).strip().startswith(wanted)]
    assert copies, "the copy of the template course lost its survey"

    first = survey(live_client, live_year.settings, year=YEAR, actor="live-test")
    again = survey(live_client, live_year.settings, year=YEAR, actor="live-test")
    assert first.survey is not None and again.survey is not None
    harvested, summary = first.survey
    assert sorted(f.id for f in harvested.feedbacks) == sorted(f.id for f in copies)
    questions = [question_of(item) for feedback in copies
                 for item in live_client.mod_feedback.get_items(feedback.id).items]
    assert list(harvested.questions) == [q for q in questions if q.kind != "info"]
    answers = [live_client.mod_feedback.get_responses_analysis(f.id) for f in copies]
    assert harvested.responses == sum(a.totalattempts + a.totalanonattempts for a in answers)
    assert harvested.changed == harvested.responses and again.survey[0].changed == 0
    assert summary.respondents == harvested.responses
    assert [q.question for q in summary.questions] == list(harvested.questions)
    for question in summary.questions:
        if question.question.kind == "choice":
            assert [c.choice for c in question.choices][:len(question.question.choices)] == \
                list(question.question.choices)
            assert all(c.total == sum(c.by_tier.values()) for c in question.choices)
    # one cadre a tier takes part (the cadre on leave does not)
    assert {tier: total for tier, (_answered, total) in summary.rate_by_tier.items() if tier != OTHER} == {
        "校领导": 1, "中层干部": 1, "科级干部": 1}
    assert first.counts()["survey_responses"] == harvested.responses
