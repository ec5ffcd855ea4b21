"""core_message: instant messages to users, the messages a user received, who can be messaged.

``core_message_send_instant_messages`` is a write that must never be repeated blindly. The recording
site showed why (``FINDINGS.md``): a call with one good and one unknown recipient failed as a whole
(``formatnotsupported``) **after** delivering the good message, so a retry would send it twice.
``send_instant_messages`` therefore:

- checks the recipients first (``core_message_get_member_info``: do they exist, may this user message
  them) and sends only to those, so Moodle has no reason to refuse a message of the call;
- returns one ``SentMessage`` per message asked for, in order (``msgid``, ``errormessage``, whether the
  client skipped it), so a caller can record what was sent;
- raises ``MessageDeliveryError`` when a call fails, saying which messages were delivered, which may
  or may not have been (re-read with ``get_messages`` before sending them again) and which were not sent.

Messaging a learner the service user shares no course with needs ``moodle/site:readallmessages``;
otherwise Moodle refuses that message with ``msgid: -1`` and an ``errormessage``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import MoodleError
from ..results import parse, parse_list
from ._base import Area, MoodleWarning, Page, iter_pages

FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN = 0, 1, 2, 4
#: Moodle compares PHP's ``strlen`` of the text with this: bytes of UTF-8, so a Chinese character counts 3.
MESSAGE_MAX_LENGTH = 4096
# Moodle 5.1's core_message_get_member_info loads at most this many users per call.
MEMBER_INFO_LIMIT = 100
_CLIENTMSGID = re.compile(r"^[A-Za-z0-9_\-]*$")
# Errors raised before Moodle sends anything: the whole call was refused.
_REFUSED_BEFORE_SENDING = {"invalidtoken", "accessexception", "invalidparameter", "nopermissions",
                           "requireloginerror", "disabled"}


@dataclass(frozen=True)
class InstantMessage:
    """One message to send; ``clientmsgid`` (letters, digits, ``_`` and ``-``) comes back with the result."""

    touserid: int
    text: str
    textformat: int | None = None
    clientmsgid: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """The outcome of one message: ``msgid`` > 0 when delivered, -1 when refused.

    ``touserid`` is filled in by the client (Moodle does not echo it); ``skipped`` means the client did
    not send the message at all (unknown or unreachable recipient, text too long).
    """

    msgid: int
    clientmsgid: str | None = None
    errormessage: str | None = None
    text: str | None = None
    timecreated: int | None = None
    conversationid: int | None = None
    useridfrom: int | None = None
    candeletemessagesforallusers: bool = False
    touserid: int | None = None
    skipped: bool = False

    @property
    def sent(self) -> bool:
        return self.msgid > 0


class MessageDeliveryError(MoodleError):
    """A call of ``core_message_send_instant_messages`` failed part-way through a list of messages.

    ``results`` are the outcomes known so far (delivered, refused or skipped); ``in_doubt`` the messages
    of the failed call, which Moodle may have delivered (check with ``get_messages`` before resending);
    ``not_sent`` the messages never sent. The original error is ``cause`` (and ``__cause__``).
    """

    def __init__(self, cause: MoodleError, *, results: Sequence[SentMessage],
                 in_doubt: Sequence[InstantMessage], not_sent: Sequence[InstantMessage]) -> None:
        self.cause = cause
        self.results = tuple(results)
        self.in_doubt = tuple(in_doubt)
        self.not_sent = tuple(not_sent)
        doubt = (f"{len(self.in_doubt)} message(s) may have been delivered, do not resend them "
                 "without checking; " if self.in_doubt else "")
        super().__init__(f"sending messages failed: {doubt}{len(self.not_sent)} not sent "
                         f"({cause.message})", wsfunction=cause.wsfunction,
                         errorcode=cause.errorcode, exception=cause.exception,
                         debuginfo=cause.debuginfo)


@dataclass(frozen=True)
class Message:
    id: int
    useridfrom: int
    useridto: int
    subject: str
    text: str
    timecreated: int
    fullmessage: str = ""
    fullmessageformat: int = 0
    fullmessagehtml: str = ""
    smallmessage: str = ""
    notification: int = 0
    contexturl: str | None = None
    contexturlname: str | None = None
    timeread: int | None = None
    usertofullname: str = ""
    userfromfullname: str = ""
    component: str | None = None
    eventtype: str | None = None
    customdata: str | None = None

    @property
    def is_read(self) -> bool:
        return self.timeread is not None


@dataclass(frozen=True)
class MessageList:
    messages: tuple[Message, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class MemberInfo:
    id: int
    fullname: str
    canmessage: bool | None = None  # None unless asked with includeprivacyinfo
    isdeleted: bool = False
    iscontact: bool = False
    isblocked: bool = False
    requirescontact: bool | None = None  # likewise
    cancreatecontact: bool = False
    canmessageevenifblocked: bool | None = None  # likewise
    isonline: bool | None = None
    showonlinestatus: bool = False
    profileurl: str = ""


def text_bytes(text: str) -> int:
    """The length Moodle checks a message's text against ``MESSAGE_MAX_LENGTH`` with."""
    return len(text.encode("utf-8"))


def _message_params(message: InstantMessage) -> dict[str, Any]:
    return {"touserid": message.touserid, "text": message.text, "textformat": message.textformat,
            "clientmsgid": message.clientmsgid}


def _skipped(message: InstantMessage, reason: str) -> SentMessage:
    return SentMessage(msgid=-1, clientmsgid=message.clientmsgid, errormessage=reason,
                       touserid=message.touserid, skipped=True)


class CoreMessage(Area):
    _userid: int | None = None

    def _own_userid(self) -> int:
        if self._userid is None:
            self._userid = self._client.core_webservice.get_site_info().userid
        return self._userid

    def send_instant_messages(self, messages: Sequence[InstantMessage], *, validate_recipients: bool = True,
                              sender: int | None = None) -> list[SentMessage]:
        """Calls core_message_send_instant_messages (write).

        Sent in batches of ``batch_size`` messages and never repeated. With ``validate_recipients`` (the
        default) the recipients are checked first with ``core_message_get_member_info`` and only messages to
        existing users this user may message are sent; the others come back ``skipped``. ``sender`` is
        the token's user id where the caller knows it already (else it is read once from the site info).
        Raises ``MessageDeliveryError`` if a call fails.
        """
        fn = "core_message_send_instant_messages"
        for message in messages:
            if message.clientmsgid is not None and not _CLIENTMSGID.match(message.clientmsgid):
                raise ValueError(f"clientmsgid {message.clientmsgid!r} may hold only letters, digits, "
                                 "'_' and '-'")
        results: list[SentMessage | None] = [None] * len(messages)
        pending: list[int] = []
        for index, message in enumerate(messages):
            if text_bytes(message.text) > MESSAGE_MAX_LENGTH:
                results[index] = _skipped(message, f"not sent: the text is longer than "
                                                   f"{MESSAGE_MAX_LENGTH} bytes (UTF-8)")
            else:
                pending.append(index)
        if validate_recipients and pending:
            reachable = self._reachable({messages[i].touserid for i in pending}, sender)
            for index in list(pending):
                if messages[index].touserid not in reachable:
                    results[index] = _skipped(messages[index], (
                        f"not sent: user {messages[index].touserid} does not exist, is deleted or "
                        "cannot be messaged by this user"))
                    pending.remove(index)
        batches = list(self._client.batches(pending))
        for number, batch in enumerate(batches):
            try:
                data = self._write(fn, {"messages": [_message_params(messages[i]) for i in batch]})
            except MoodleError as exc:
                refused = exc.errorcode in _REFUSED_BEFORE_SENDING
                later = [messages[i] for later_batch in batches[number + 1:] for i in later_batch]
                in_flight = [messages[i] for i in batch]
                raise MessageDeliveryError(
                    exc, results=[r for r in results if r is not None],
                    in_doubt=[] if refused else in_flight,
                    not_sent=(in_flight if refused else []) + later) from exc
            answers = parse_list(SentMessage, data, fn)
            for index, answer in zip(batch, answers, strict=False):
                results[index] = replace(answer, touserid=messages[index].touserid)
        return [r if r is not None else _skipped(messages[i], "not sent: no answer for this message")
                for i, r in enumerate(results)]

    def _reachable(self, userids: set[int], sender: int | None) -> set[int]:
        """The users ``sender`` may message. Moodle leaves ``canmessage`` null unless it is asked for the
        privacy information, so it is asked; a null would read as "may not"."""
        reference = sender if sender is not None else self._own_userid()
        members = self.get_member_info(reference, sorted(userids), includeprivacyinfo=True)
        return {member.id for member in members if member.canmessage is True and not member.isdeleted}

    def get_messages(self, useridto: int, *, useridfrom: int | None = None, type: str | None = None,
                     read: int | None = None, newestfirst: bool | None = None,
                     limitfrom: int | None = None, limitnum: int | None = None) -> MessageList:
        """Calls core_message_get_messages (read).

        ``type`` is ``conversations``, ``notifications`` or ``both``; ``read`` 1 read (Moodle's
        default), 0 unread, 2 both. Another user's messages need ``moodle/site:readallmessages``.
        """
        fn = "core_message_get_messages"
        params = {"useridto": useridto, "useridfrom": useridfrom, "type": type, "read": read,
                  "newestfirst": newestfirst, "limitfrom": limitfrom, "limitnum": limitnum}
        return parse(MessageList, self._read(fn, params), fn)

    def iter_messages(self, useridto: int, *, useridfrom: int | None = None,
                      type: str = "conversations", read: int = 2, newestfirst: bool = False,
                      page_size: int = 100) -> Iterator[Message]:
        """Calls core_message_get_messages (read).

        Page by page (``limitfrom``/``limitnum``) until a short page, oldest first by default.
        """
        return iter_pages(lambda start: Page(self.get_messages(
            useridto, useridfrom=useridfrom, type=type, read=read, newestfirst=newestfirst, limitfrom=start,
            limitnum=page_size).messages), page_size, name="page_size", by_offset=True)

    def get_member_info(self, referenceuserid: int, userids: Sequence[int], *,
                        includecontactrequests: bool | None = None,
                        includeprivacyinfo: bool | None = None) -> list[MemberInfo]:
        """Calls core_message_get_member_info (read).

        ``referenceuserid`` must be the token's user (unless it holds ``moodle/site:readallmessages``).
        ``canmessage`` (may the reference user message each one), ``requirescontact`` and
        ``canmessageevenifblocked`` are null unless ``includeprivacyinfo`` is set. Unknown users are left
        out, on every version: Moodle 4.5 leaves them out itself, while 5.1 loads at most
        ``MEMBER_INFO_LIMIT`` users a call and fails the whole call with a PHP ``TypeError`` on an id it did
        not load. So calls carry at most that many ids, and a call that fails so is split in halves until
        the unknown ids stand alone and are dropped.
        """
        fn = "core_message_get_member_info"
        wanted = list(dict.fromkeys(int(u) for u in userids))

        def ask(chunk: list[int]) -> list[MemberInfo]:
            params = {"referenceuserid": referenceuserid, "userids": chunk,
                      "includecontactrequests": includecontactrequests,
                      "includeprivacyinfo": includeprivacyinfo}
            try:
                return parse_list(MemberInfo, self._read(fn, params), fn)
            except MoodleError as exc:
                if not _missing_user_fault(exc):
                    raise
            if len(chunk) == 1:
                return []  # the id of no user
            half = len(chunk) // 2
            return ask(chunk[:half]) + ask(chunk[half:])

        size = min(self._client.batch_size, MEMBER_INFO_LIMIT)
        chunks = [list(chunk) for chunk in self._client.batches(wanted, size)]
        return [member for part in self._client.fan_out(ask, chunks) for member in part]


def _missing_user_fault(error: MoodleError) -> bool:
    """Moodle 5.1's answer to an id it did not load: a PHP TypeError with no errorcode."""
    return error.errorcode is None and error.exception == "TypeError"
