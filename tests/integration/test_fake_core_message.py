"""core_message against the fake over HTTP: who may message whom, what a failed call delivered, and what
``core_message_get_member_info`` answers on 5.1 and on 4.5."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_message import FORMAT_HTML, FORMAT_PLAIN, InstantMessage, MessageDeliveryError
from moodle_bridge.encoding import encode_params
from moodle_bridge.errors import MoodleError, NotFoundError
from moodle_bridge.fake import RunningFake, serve, stock_site
from tests.conftest import TOKEN
from tests.factories import add_course, add_user, enrol, make_users

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
    infos = {m.id: m for m in learner.core_message.get_member_info(
        u1["id"], [u2["id"], loner["id"], 999999], includeprivacyinfo=True)}
    assert set(infos) == {u2["id"]}  # a learner may not view the profile of someone sharing no course
    assert infos[u2["id"]].canmessage
    results = learner.core_message.send_instant_messages([InstantMessage(u2["id"], "hi"),
                                                          InstantMessage(loner["id"], "hi")])
    assert [(r.sent, r.skipped) for r in results] == [(True, False), (False, True)]
    raw = learner.core_message.send_instant_messages([InstantMessage(loner["id"], "hi")],
                                                     validate_recipients=False)
    assert raw[0].msgid == -1 and raw[0].errormessage is not None and "preferences" in raw[0].errormessage
    assert weak_client.core_message.send_instant_messages([InstantMessage(u1["id"], "weak")])[0].skipped
    bot = {m.id: m.canmessage
           for m in client.core_message.get_member_info(3, [loner["id"]], includeprivacyinfo=True)}
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


# --- core_message_get_member_info as each release answers it --------------------------------------------

TYPEERROR = {"exception": "TypeError",
             "message": "user_process_profile_callbacks(): Argument #1 ($user) must be of type stdClass, "
                        "null given, called in [dirroot]/user/lib.php on line 1255"}
PRIVACY_FIELDS = ("requirescontact", "canmessage", "canmessageevenifblocked")


@pytest.fixture(params=["5.1", "4.5"])
def release_fake(request: pytest.FixtureRequest) -> Iterator[RunningFake]:
    """A fresh fake answering as Moodle 5.1 or 4.5."""
    with serve(stock_site(tokens={"wsbot": TOKEN}, release=request.param)) as running:
        yield running


def member_info(fake: RunningFake, token: str, reference: int, userids: list[int],
                **options: Any) -> tuple[int, Any]:
    """The HTTP status and decoded body of one raw call (no client in between to split or retry)."""
    params = {"referenceuserid": reference, "userids": userids, **options}
    answer = requests.post(fake.url + "/webservice/rest/server.php",
                           data=[("wstoken", token), ("wsfunction", "core_message_get_member_info"),
                                 ("moodlewsrestformat", "json"), *encode_params(params)], timeout=10)
    return answer.status_code, answer.json()


def test_member_info_fills_privacy_fields_only_when_asked(release_fake: RunningFake) -> None:
    site = release_fake.site
    course = add_course(site, "MI1")
    mate, loner = add_user(site, "mi-mate"), add_user(site, "mi-loner")
    enrol(site, mate["id"], course["id"])
    _, plain = member_info(release_fake, TOKEN, 3, [mate["id"], loner["id"]])
    assert [m["id"] for m in plain] == [mate["id"], loner["id"]]
    assert all(m[key] is None for m in plain for key in PRIVACY_FIELDS)
    _, full = member_info(release_fake, TOKEN, 3, [mate["id"], loner["id"]], includeprivacyinfo=1)
    assert [(m["requirescontact"], m["canmessage"]) for m in full] == [(False, True), (False, True)]
    # On 5.1 the answer says whether the reference user may add each as a contact; 4.5 does not declare it.
    assert all(("cancreatecontact" in m) is (site.branch >= (5, 0)) for m in full)


def test_canmessage_is_whether_the_reference_user_may_message_the_member(fake: RunningFake) -> None:
    site = fake.site
    course = add_course(site, "MI2")
    sender, mate, loner = add_user(site, "mi-s"), add_user(site, "mi-m"), add_user(site, "mi-l")
    silent = add_user(site, "mi-x", suspended=1)
    for person in (sender, mate, loner, silent):
        if person is not loner:
            enrol(site, person["id"], course["id"])
    ids = [mate["id"], loner["id"]]
    _, as_sender = member_info(fake, TOKEN, sender["id"], ids, includeprivacyinfo=1)
    assert {m["id"]: m["canmessage"] for m in as_sender} == {mate["id"]: True, loner["id"]: False}
    _, as_bot = member_info(fake, TOKEN, 3, ids, includeprivacyinfo=1)  # moodle/site:readallmessages
    assert {m["id"]: m["canmessage"] for m in as_bot} == {mate["id"]: True, loner["id"]: True}
    _, as_silent = member_info(fake, TOKEN, silent["id"], ids, includeprivacyinfo=1)  # no site:sendmessage
    assert {m["id"]: m["canmessage"] for m in as_silent} == {mate["id"]: False, loner["id"]: False}


def test_an_unknown_id_fails_the_whole_call_on_5_1_and_is_left_out_on_4_5(release_fake: RunningFake) -> None:
    member = add_user(release_fake.site, "mi-u")
    status, body = member_info(release_fake, TOKEN, 3, [member["id"], 999999], includeprivacyinfo=1)
    assert status == 200
    if release_fake.site.branch >= (5, 0):
        assert body == TYPEERROR  # exactly: no errorcode
    else:
        assert [m["id"] for m in body] == [member["id"]]


def test_more_than_a_hundred_ids_fail_on_5_1_only(release_fake: RunningFake) -> None:
    ids = make_users(release_fake.site, 101, prefix="mi-h")
    status, hundred = member_info(release_fake, TOKEN, 3, ids[:100])
    assert status == 200 and len(hundred) == 100
    _, body = member_info(release_fake, TOKEN, 3, ids + ids[:5])  # 101 users, asked 106 times
    if release_fake.site.branch >= (5, 0):
        assert body == TYPEERROR
    else:
        assert sorted(m["id"] for m in body) == ids


def test_5_1_leaves_out_members_the_caller_may_not_view(release_fake: RunningFake) -> None:
    site = release_fake.site
    course = add_course(site, "MI3")
    me, mate, stranger = add_user(site, "mi-me"), add_user(site, "mi-mate2"), add_user(site, "mi-far")
    enrol(site, me["id"], course["id"])
    enrol(site, mate["id"], course["id"])
    token = str(site.site_action("issue_token", {"userid": me["id"]})["token"])
    _, body = member_info(release_fake, token, me["id"], [mate["id"], stranger["id"]])
    expected = [mate["id"]] if site.branch >= (5, 0) else [mate["id"], stranger["id"]]
    assert [m["id"] for m in body] == expected
