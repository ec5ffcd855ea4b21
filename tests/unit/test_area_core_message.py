"""core_message client: recorded calls parse; sending is checked, batched, never repeated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_message import InstantMessage, MessageDeliveryError, SentMessage
from moodle_bridge.errors import MoodleError, TransientError
from tests.recordings import Recorded, check_recorded, needs_recordings, recorded_calls, stub_client, where


def _send(c: MoodleClient, p: dict[str, Any]) -> Any:
    messages = [InstantMessage(int(m["touserid"]), m["text"], m.get("textformat"), m.get("clientmsgid"))
                for m in p["messages"]]
    return c.core_message.send_instant_messages(messages, validate_recipients=False)


ADAPTERS: dict[str, Callable[[MoodleClient, dict[str, Any]], Any]] = {
    "core_message_send_instant_messages": _send,
    "core_message_get_messages": lambda c, p: c.core_message.get_messages(
        p["useridto"], useridfrom=p.get("useridfrom"), type=p.get("type"), read=p.get("read"),
        newestfirst=None if p.get("newestfirst") is None else bool(p["newestfirst"]),
        limitfrom=p.get("limitfrom"), limitnum=p.get("limitnum")),
    "core_message_get_member_info": lambda c, p: c.core_message.get_member_info(
        p["referenceuserid"], p["userids"]),
}

MESSAGE_CALLS = recorded_calls("core_message_")


@needs_recordings
def test_every_recorded_message_function_has_an_adapter() -> None:
    assert MESSAGE_CALLS
    assert {call.function for call in MESSAGE_CALLS} <= set(ADAPTERS)


@needs_recordings
@pytest.mark.parametrize("call", MESSAGE_CALLS, ids=where(MESSAGE_CALLS))
def test_recorded_message_call(call: Recorded) -> None:
    expected = MessageDeliveryError if call.function == "core_message_send_instant_messages" else None
    result = check_recorded(call, ADAPTERS[call.function], raises=expected)
    if call.is_error:
        assert isinstance(result, MoodleError)
        if isinstance(result, MessageDeliveryError):
            # The mixed call failed after delivering: every message of it is in doubt, none "not sent".
            assert len(result.in_doubt) == len(call.params["messages"])
            assert result.not_sent == ()
        return
    if call.function == "core_message_send_instant_messages":
        assert [r.msgid for r in result] == [r["msgid"] for r in call.response]
        assert [r.touserid for r in result] == [int(m["touserid"]) for m in call.params["messages"]]
        assert [r.sent for r in result] == [r["msgid"] > 0 for r in call.response]
        assert [r.errormessage for r in result] == [r.get("errormessage") for r in call.response]
    elif call.function == "core_message_get_messages":
        assert [m.id for m in result.messages] == [m["id"] for m in call.response["messages"]]
        assert result.messages[0].text.startswith("<p>")


ME = {"sitename": "S", "username": "wsbot", "userid": 3, "siteurl": "http://moodle.test", "functions": []}


def _member(userid: int, canmessage: bool) -> dict[str, Any]:
    return {"id": userid, "fullname": f"U {userid}", "canmessage": canmessage, "isdeleted": False,
            "iscontact": False, "isblocked": False, "requirescontact": False, "cancreatecontact": True,
            "canmessageevenifblocked": False, "isonline": False, "showonlinestatus": True,
            "profileurl": "", "profileimageurl": "", "profileimageurlsmall": ""}


def _delivered(msgid: int, clientmsgid: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"msgid": msgid, "text": "<p>x</p>", "timecreated": 1, "conversationid": 1,
                              "useridfrom": 3, "candeletemessagesforallusers": True}
    if clientmsgid:
        answer["clientmsgid"] = clientmsgid
    return answer


def test_only_validated_recipients_are_sent_to() -> None:
    members = [_member(49, True), _member(50, False)]  # 999999 is unknown: not in the answer
    client, session = stub_client((200, ME), (200, members), (200, [_delivered(9, "m1")]))
    results = client.core_message.send_instant_messages([
        InstantMessage(49, "<p>hi</p>", 1, "m1"),
        InstantMessage(999999, "x", clientmsgid="m2"),
        InstantMessage(50, "y", clientmsgid="m3"),
    ])
    assert [fn for fn, _ in session.sent] == ["core_webservice_get_site_info", "core_message_get_member_info",
                                              "core_message_send_instant_messages"]
    assert session.sent[1][1] == [("referenceuserid", "3"), ("userids[0]", "49"), ("userids[1]", "50"),
                                  ("userids[2]", "999999"), ("includeprivacyinfo", "1")]
    assert session.sent[2][1] == [("messages[0][touserid]", "49"), ("messages[0][text]", "<p>hi</p>"),
                                  ("messages[0][textformat]", "1"), ("messages[0][clientmsgid]", "m1")]
    assert [r.sent for r in results] == [True, False, False]
    assert [r.skipped for r in results] == [False, True, True]
    assert [r.clientmsgid for r in results] == ["m1", "m2", "m3"]
    assert [r.touserid for r in results] == [49, 999999, 50]


def test_a_null_canmessage_is_not_reachable() -> None:
    """Moodle leaves ``canmessage`` null when the privacy information is not asked for: never "yes"."""
    unasked = dict(_member(49, True), canmessage=None, requirescontact=None, canmessageevenifblocked=None)
    client, session = stub_client((200, ME), (200, [unasked]))
    results = client.core_message.send_instant_messages([InstantMessage(49, "x")])
    assert [fn for fn, _ in session.sent][-1] == "core_message_get_member_info"
    assert results[0].skipped


def test_member_info_without_privacy_info_reads_null() -> None:
    unasked = dict(_member(49, True), canmessage=None, requirescontact=None, canmessageevenifblocked=None)
    client, _ = stub_client((200, [unasked]))
    member, = client.core_message.get_member_info(3, [49])
    assert member.canmessage is None and member.requirescontact is None


TYPE_ERROR = {"exception": "TypeError", "message": "user_process_profile_callbacks(): Argument #1 ($user) "
              "must be of type stdClass, null given, called in [dirroot]/user/lib.php on line 1255"}


def test_an_unknown_id_cannot_sink_a_batch() -> None:
    """Moodle 5.1 fails the whole call on an id of no user: the batch is halved until it stands alone."""
    client, session = stub_client((200, TYPE_ERROR), (200, [_member(49, True)]), (200, TYPE_ERROR),
                                  (200, [_member(50, True)]), (200, TYPE_ERROR))
    client.max_workers = 1
    members = client.core_message.get_member_info(3, [49, 50, 999999], includeprivacyinfo=True)
    assert [m.id for m in members] == [49, 50]
    asked = [[v for k, v in form if k.startswith("userids")] for _, form in session.sent]
    assert asked == [["49", "50", "999999"], ["49"], ["50", "999999"], ["50"], ["999999"]]


def test_other_member_info_errors_are_raised() -> None:
    client, _ = stub_client((200, {"exception": "moodle_exception", "errorcode": "disabled",
                                   "message": "Messaging is disabled on this site"}))
    with pytest.raises(MoodleError, match="disabled"):
        client.core_message.get_member_info(3, [49])


def test_member_info_asks_at_most_a_hundred_users_a_call() -> None:
    """Moodle 5.1 loads at most 100 of the users asked for; ids past them fail the call."""
    client, session = stub_client((200, []), (200, []), (200, []))
    client.batch_size, client.max_workers = 500, 1
    client.core_message.get_member_info(3, range(1, 251), includeprivacyinfo=True)
    assert [sum(k.startswith("userids") for k, _ in form) for _, form in session.sent] == [100, 100, 50]


def test_nobody_reachable_sends_nothing() -> None:
    client, session = stub_client((200, ME), (200, []))
    results = client.core_message.send_instant_messages([InstantMessage(7, "x")])
    assert len(session.sent) == 2 and results[0].skipped and results[0].msgid == -1


def test_too_long_text_is_not_sent() -> None:
    """Moodle measures the text in bytes (PHP's strlen): 1,366 Chinese characters are too long."""
    client, session = stub_client()
    results = client.core_message.send_instant_messages([InstantMessage(7, "字" * 1366)],
                                                        validate_recipients=False)
    assert results[0].skipped and session.sent == [] and "4096 bytes" in (results[0].errormessage or "")
    client, session = stub_client((200, [_delivered(1)]))
    results = client.core_message.send_instant_messages([InstantMessage(7, "字" * 1365 + "a")],
                                                        validate_recipients=False)
    assert results[0].sent


def test_bad_clientmsgid_is_refused_locally() -> None:
    client, session = stub_client()
    with pytest.raises(ValueError):
        client.core_message.send_instant_messages([InstantMessage(7, "x", clientmsgid="no spaces")])
    assert session.sent == []


def test_a_failed_batch_is_in_doubt_and_later_batches_are_not_sent() -> None:
    formatnotsupported = {"exception": "core\\exception\\moodle_exception", "errorcode": "formatnotsupported",
                          "message": "webservice/formatnotsupported"}
    client, session = stub_client((200, [_delivered(1), _delivered(2)]), (200, formatnotsupported),
                                  batch_size=2)
    messages = [InstantMessage(u, f"m{u}") for u in (10, 11, 12, 13, 14, 15)]
    with pytest.raises(MessageDeliveryError) as caught:
        client.core_message.send_instant_messages(messages, validate_recipients=False)
    error = caught.value
    assert len(session.sent) == 2, "a failed write is never repeated"
    assert [r.touserid for r in error.results] == [10, 11]
    assert [m.touserid for m in error.in_doubt] == [12, 13]
    assert [m.touserid for m in error.not_sent] == [14, 15]
    assert error.errorcode == "formatnotsupported"


def test_a_transient_failure_is_not_retried() -> None:
    client, session = stub_client((503, "<html>busy</html>"))
    with pytest.raises(MessageDeliveryError) as caught:
        client.core_message.send_instant_messages([InstantMessage(10, "x")], validate_recipients=False)
    assert isinstance(caught.value.cause, TransientError)
    assert [m.touserid for m in caught.value.in_doubt] == [10]
    assert len(session.sent) == 1


def test_a_refused_call_sent_nothing() -> None:
    denied = {"exception": "webservice_access_exception", "errorcode": "accessexception",
              "message": "Access control exception"}
    client, _ = stub_client((200, denied))
    with pytest.raises(MessageDeliveryError) as caught:
        client.core_message.send_instant_messages([InstantMessage(10, "x")], validate_recipients=False)
    assert caught.value.in_doubt == () and len(caught.value.not_sent) == 1


def test_sent_message_flags() -> None:
    assert SentMessage(msgid=5).sent
    assert not SentMessage(msgid=-1, errormessage="no").sent


def test_iter_messages_pages() -> None:
    def page(ids: list[int]) -> dict[str, Any]:
        return {"messages": [{"id": i, "useridfrom": 3, "useridto": 49, "subject": "s", "text": "t",
                              "timecreated": i} for i in ids], "warnings": []}
    client, session = stub_client((200, page([1, 2])), (200, page([3])))
    assert [m.id for m in client.core_message.iter_messages(49, page_size=2)] == [1, 2, 3]
    assert [dict(pairs)["limitfrom"] for _fn, pairs in session.sent] == ["0", "2"]
