"""core_message against the fake over HTTP: who may message whom, what a failed call delivered."""

from __future__ import annotations

from typing import Any

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_message import FORMAT_HTML, FORMAT_PLAIN, InstantMessage, MessageDeliveryError
from moodle_bridge.errors import MoodleError, NotFoundError
from moodle_bridge.fake import RunningFake
from tests.conftest import TOKEN
from tests.factories import add_course, add_user, enrol

pytestmark = pytest.mark.integration


@pytest.fixture
def people(fake: RunningFake) -> dict[str, Any]:
    site = fake.site
    course = add_course(site, "M1")
    u1, u2, loner = add_user(site, "m1", "红", "李"), add_user(site, "m2", "伟", "张"), add_user(site, "m3")
    enrol(site, u1["id"], course["id"])
    enrol(site, u2["id"], course["id"])
    return {"u1": u1, "u2": u2, "loner": loner, "course": course}


def test_bot_messages_learners_and_they_read_it(client: MoodleClient, people: dict[str, Any],
                                                learner_client: Any) -> None:
    u1, u2 = people["u1"], people["u2"]
    results = client.core_message.send_instant_messages([
        InstantMessage(u1["id"], "<p>您好，请于本周五前完成学习。</p>", FORMAT_HTML, "m1"),
        InstantMessage(u2["id"], "请按时参加培训。\n<谢谢>", FORMAT_PLAIN, "m2"),
        InstantMessage(999999, "不存在的用户", clientmsgid="m3"),
        InstantMessage(3, "给自己 to self", clientmsgid="m4"),
    ])
    assert [r.sent for r in results] == [True, True, False, True]
    assert results[2].skipped and results[2].touserid == 999999
    assert results[1].text == "<p>请按时参加培训。<br />&lt;谢谢&gt;</p>"
    assert results[3].text == "<p>给自己 to self</p>"
    assert results[0].conversationid != results[1].conversationid
    inbox = learner_client(u1["id"]).core_message.get_messages(u1["id"], type="conversations", read=2)
    assert [m.smallmessage for m in inbox.messages] == ["<p>您好，请于本周五前完成学习。</p>"]
    message = inbox.messages[0]
    assert message.fullmessage == "您好，请于本周五前完成学习。\n"
    assert message.subject == "New message from Companion Bot"
    assert message.userfromfullname == "Companion Bot" and message.usertofullname == "红 李"
    assert not message.is_read
    assert client.core_message.get_messages(u1["id"], read=1).messages == ()  # read ones only (default)


def test_a_mixed_call_fails_after_delivering_the_good_message(client: MoodleClient,
                                                              people: dict[str, Any]) -> None:
    u1 = people["u1"]
    with pytest.raises(MessageDeliveryError) as caught:
        client.core_message.send_instant_messages(
            [InstantMessage(u1["id"], "第二条 second", clientmsgid="m5"), InstantMessage(999999, "x")],
            validate_recipients=False)
    assert caught.value.errorcode == "formatnotsupported"
    assert [m.touserid for m in caught.value.in_doubt] == [u1["id"], 999999]
    delivered = client.core_message.get_messages(u1["id"], useridfrom=3, read=2).messages
    assert [m.smallmessage for m in delivered] == ["第二条 second"]  # delivered once, despite the error


def test_who_may_message_whom(people: dict[str, Any], learner_client: Any, weak_client: MoodleClient,
                              client: MoodleClient) -> None:
    u1, u2, loner = people["u1"], people["u2"], people["loner"]
    learner = learner_client(u1["id"])
    infos = {m.id: m for m in learner.core_message.get_member_info(u1["id"], [u2["id"], loner["id"], 999999])}
    assert set(infos) == {u2["id"], loner["id"]}
    assert infos[u2["id"]].canmessage and not infos[loner["id"]].canmessage
    results = learner.core_message.send_instant_messages([InstantMessage(u2["id"], "hi"),
                                                          InstantMessage(loner["id"], "hi")])
    assert [(r.sent, r.skipped) for r in results] == [(True, False), (False, True)]
    raw = learner.core_message.send_instant_messages([InstantMessage(loner["id"], "hi")],
                                                     validate_recipients=False)
    assert raw[0].msgid == -1 and raw[0].errormessage is not None and "preferences" in raw[0].errormessage
    assert weak_client.core_message.send_instant_messages([InstantMessage(u1["id"], "weak")])[0].skipped
    bot = {m.id: m.canmessage for m in client.core_message.get_member_info(3, [loner["id"]])}
    assert bot == {loner["id"]: True}  # moodle/site:readallmessages reaches everyone
    with pytest.raises(MoodleError):
        learner.core_message.get_member_info(u2["id"], [u1["id"]])
    with pytest.raises(MoodleError) as caught:
        learner.core_message.get_messages(u2["id"])
    assert caught.value.errorcode == "accessdenied"
    with pytest.raises(NotFoundError):
        client.core_message.get_messages(999999)


def test_many_messages_go_in_batches_in_order(fake: RunningFake, people: dict[str, Any]) -> None:
    learners = [add_user(fake.site, f"b{n}") for n in range(5)]
    messages = [InstantMessage(u["id"], f"第{n}条", clientmsgid=f"b-{n}") for n, u in enumerate(learners)]
    with MoodleClient(fake.url, TOKEN, timeout=10, retries=0, batch_size=2) as small:
        before = fake.site.calls["core_message_send_instant_messages"]
        results = small.core_message.send_instant_messages(messages)
        assert fake.site.calls["core_message_send_instant_messages"] - before == 3
    assert [r.clientmsgid for r in results] == [m.clientmsgid for m in messages]
    assert all(r.sent for r in results) and len({r.msgid for r in results}) == 5


def test_paging_and_order_of_received_messages(fake: RunningFake, client: MoodleClient,
                                               people: dict[str, Any]) -> None:
    u1 = people["u1"]
    for n in range(5):
        client.core_message.send_instant_messages([InstantMessage(u1["id"], f"n{n}")],
                                                  validate_recipients=False)
        fake.site.clock.advance(1)
    oldest = [m.smallmessage for m in client.core_message.iter_messages(u1["id"], page_size=2)]
    assert oldest == ["n0", "n1", "n2", "n3", "n4"]
    newest = client.core_message.get_messages(u1["id"], read=2, newestfirst=True, limitnum=2).messages
    assert [m.smallmessage for m in newest] == ["n4", "n3"]
