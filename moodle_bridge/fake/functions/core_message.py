"""core_message: instant messages between users, the messages a user received, members' messaging info.

Tables: ``message_conversations`` (type 1 individual, 3 self), ``message_conversation_members``
(conversationid, userid), ``messages`` (useridfrom, useridto, conversationid, subject, fullmessage,
fullmessageformat, fullmessagehtml, smallmessage, timecreated, timeread, customdata),
``notifications`` (read when asked for notifications; rows made by whatever sends them),
``message_contacts`` (userid, contactid).

Recorded behaviour kept: a call mixing delivered and refused messages fails as a whole with
``formatnotsupported`` *after* the good ones were delivered. ``core_message_get_member_info`` fills
``requirescontact``, ``canmessage`` and ``canmessageevenifblocked`` only with ``includeprivacyinfo``
(null otherwise); on 5.1 an id of no user, or more than 100 ids, fails the whole call with a PHP
TypeError (no errorcode), while 4.5 leaves unknown ids out.
"""

from __future__ import annotations

from typing import Any

from ..access import shares_course, user_can_view_profile
from ..db import Row
from ..params import optional_int
from ..php import php_json
from ..records import fullname, profile_image_urls
from ..registry import function
from ..site import Call, FakeSite
from ..text import FORMAT_HTML, FORMAT_MOODLE, FORMAT_PLAIN, escape, html_to_text
from ..wserror import invalid_parameter, missing_record, moodle_exception, no_permissions, php_error

MESSAGE_MAX_LENGTH = 4096
MEMBER_INFO_LOAD = 100  # 5.1's get_member_info loads at most this many users
PROFILE_CALLBACK_TYPEERROR = ("user_process_profile_callbacks(): Argument #1 ($user) must be of type "
                              "stdClass, null given, called in [dirroot]/user/lib.php on line 1255")
PRIVACY_ONLYCONTACTS, PRIVACY_COURSEMEMBER, PRIVACY_SITE = 0, 1, 2
CONVERSATION_INDIVIDUAL, CONVERSATION_SELF = 1, 3


def format_message_text(text: str, fmt: int) -> str:
    """``message_format_message_text`` of a message's small text."""
    if fmt == FORMAT_HTML:
        return text
    body = escape(text) if fmt == FORMAT_PLAIN else text
    return "<p>" + body.replace("\r\n", "\n").replace("\n", "<br />") + "</p>"


def can_send_at_all(site: FakeSite, userid: int) -> bool:
    """``moodle/site:sendmessage``: the authenticated-user role grants it to every real user."""
    user = site.db["user"].get(userid)
    return site.has_capability(userid, "moodle/site:sendmessage") or (
        user is not None and userid != 1 and not user.get("deleted") and not user.get("suspended"))


def _is_contact(site: FakeSite, userid: int, other: int) -> bool:
    table = site.db["message_contacts"]
    return table.first(userid=userid, contactid=other) is not None or \
        table.first(userid=other, contactid=userid) is not None


def _privacy(site: FakeSite, userid: int) -> int:
    user = site.db["user"].get(userid) or {}
    prefs = user.get("preferences") or {}
    value = prefs.get("message_blocknoncontacts") if isinstance(prefs, dict) else None
    return PRIVACY_COURSEMEMBER if value is None else int(value)


def can_send_message(site: FakeSite, recipientid: int, senderid: int) -> bool:
    """``\\core_message\\api::can_send_message``."""
    if not can_send_at_all(site, senderid):
        return False
    if recipientid == senderid or site.has_capability(senderid, "moodle/site:readallmessages"):
        return True
    if _is_contact(site, recipientid, senderid):
        return True
    privacy = _privacy(site, recipientid)
    if privacy == PRIVACY_SITE and site.config.get("messagingallusers"):
        return True
    if privacy in (PRIVACY_SITE, PRIVACY_COURSEMEMBER):
        return shares_course(site, recipientid, senderid)
    return False


def conversation_between(site: FakeSite, first: int, second: int) -> Row:
    """The individual (or self) conversation of two users, made on first use."""
    kind = CONVERSATION_SELF if first == second else CONVERSATION_INDIVIDUAL
    convhash = "-".join(str(u) for u in sorted({first, second}))
    table = site.db["message_conversations"]
    row = table.first(convhash=convhash, type=kind)
    if row is None:
        row = table.insert({"type": kind, "convhash": convhash, "name": None, "enabled": 1,
                            "timecreated": site.now()})
        for member in sorted({first, second}):
            site.db["message_conversation_members"].insert({
                "conversationid": row["id"], "userid": member, "timecreated": site.now()})
    return row


def deliver(site: FakeSite, sender: Row, recipient: Row, text: str, fmt: int) -> Row:
    """``message_post_message``: stores the message as the recipient will read it."""
    conversation = conversation_between(site, sender["id"], recipient["id"])
    custom = {"notificationiconurl": profile_image_urls(site, sender)["profileimageurl"],
              "actionbuttons": {"send": "Send"}, "placeholders": {"send": "Write a message..."},
              "courseid": 1}
    return site.db["messages"].insert({
        "useridfrom": sender["id"], "useridto": recipient["id"], "conversationid": conversation["id"],
        "subject": f"New message from {fullname(sender)}",
        "fullmessage": html_to_text(text) if fmt == FORMAT_HTML else text,
        "fullmessageformat": fmt, "fullmessagehtml": text if fmt == FORMAT_HTML else "",
        "smallmessage": text, "notification": 0, "contexturl": "", "contexturlname": "",
        "timecreated": site.now(), "timeread": None, "fullmessagetrust": 0,
        "customdata": php_json(custom),
    })


@function("core_message_send_instant_messages", items="messages")
def send_instant_messages(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    site = call.site
    if not can_send_at_all(site, call.userid):
        raise no_permissions("moodle/site:sendmessage")
    candelete = call.has_capability("moodle/site:deleteanymessage")
    sender = call.user
    results: list[dict[str, Any]] = []
    delivered = refused = 0
    errormessage = ""
    for message in params["messages"]:
        touserid = int(message["touserid"])
        text = str(message["text"])
        fmt = optional_int(message, "textformat", FORMAT_MOODLE)
        recipient = site.db["user"].get(touserid)
        if recipient is not None and recipient.get("deleted"):
            recipient = None
        ok = True
        if recipient is None:
            ok = False
            errormessage = f"You cannot send a message to a user ID ({touserid}) that doesn't exist."
        if ok and len(text.encode("utf-8")) > MESSAGE_MAX_LENGTH:  # PHP's strlen: bytes
            ok = False
            errormessage = "The message is too long."
        if ok and recipient is not None and not can_send_message(site, touserid, call.userid):
            ok = False
            errormessage = ("You can't message this user due to their message preferences. "
                            "Try adding them as a contact.")
        result: dict[str, Any] = {}
        if message.get("clientmsgid") is not None:
            result["clientmsgid"] = message["clientmsgid"]
        if ok and recipient is not None:
            row = deliver(site, sender, recipient, text, fmt)
            delivered += 1
            result.update({"msgid": row["id"], "timecreated": row["timecreated"],
                           "candeletemessagesforallusers": candelete,
                           "conversationid": row["conversationid"], "useridfrom": call.userid,
                           "text": format_message_text(text, fmt)})
        else:
            refused += 1
            result.update({"msgid": -1, "errormessage": errormessage})
        results.append(result)
    if delivered and refused:
        # What the recording site did: the delivered messages stay delivered, the answer is an error.
        raise moodle_exception("formatnotsupported", "webservice/formatnotsupported")
    return results


def _message_view(site: FakeSite, row: Row, notification: bool) -> dict[str, Any]:
    sender = site.db["user"].get(row.get("useridfrom", 0)) or {"firstname": "", "lastname": ""}
    recipient = site.db["user"].get(row.get("useridto", 0)) or {"firstname": "", "lastname": ""}
    fmt = int(row.get("fullmessageformat", 0))
    view = {
        "id": row["id"], "useridfrom": row.get("useridfrom", 0), "useridto": row.get("useridto", 0),
        "subject": row.get("subject", ""),
        "text": format_message_text(str(row.get("smallmessage") or row.get("fullmessage") or ""), fmt),
        "fullmessage": row.get("fullmessage", ""), "fullmessageformat": fmt,
        "fullmessagehtml": row.get("fullmessagehtml", ""), "smallmessage": row.get("smallmessage", ""),
        "notification": 1 if notification else 0, "contexturl": row.get("contexturl") or "",
        "contexturlname": row.get("contexturlname") or "", "timecreated": row.get("timecreated", 0),
        "timeread": row.get("timeread"), "usertofullname": fullname(recipient),
        "userfromfullname": fullname(sender), "customdata": row.get("customdata"),
    }
    if notification:
        view.update({"component": row.get("component"), "eventtype": row.get("eventtype")})
    return view


@function("core_message_get_messages")
def get_messages(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    site = call.site
    useridto = int(params["useridto"])
    useridfrom = int(params.get("useridfrom") or 0)
    kind = str(params.get("type") or "both")
    read = optional_int(params, "read", 1)
    newestfirst = params.get("newestfirst") is not False
    limitfrom = int(params.get("limitfrom") or 0)
    limitnum = int(params.get("limitnum") or 0)
    if kind not in ("notifications", "conversations", "both"):
        raise invalid_parameter("Invalid type, allowed values are: notifications, conversations, both")
    for userid in (useridto, useridfrom):
        if userid and site.db["user"].get(userid) is None:
            raise missing_record("user", userid)
    if useridto != call.userid and useridfrom != call.userid and not call.has_capability(
            "moodle/site:readallmessages"):
        raise moodle_exception("accessdenied", "Access denied")
    found: list[tuple[Row, bool]] = []
    tables = [("messages", False), ("notifications", True)]
    for table, notification in tables:
        if (kind == "conversations" and notification) or (kind == "notifications" and not notification):
            continue
        for row in site.db[table]:
            if useridto and int(row.get("useridto", 0)) != useridto:
                continue
            if useridfrom and int(row.get("useridfrom", 0)) != useridfrom:
                continue
            is_read = row.get("timeread") is not None
            if (read == 1 and not is_read) or (read == 0 and is_read):
                continue
            found.append((row, notification))
    found.sort(key=lambda item: int(item[0].get("timecreated", 0)), reverse=newestfirst)
    if limitfrom or limitnum:
        found = found[limitfrom:limitfrom + limitnum if limitnum else None]
    return {"messages": [_message_view(site, row, notification) for row, notification in found],
            "warnings": []}


@function("core_message_get_member_info", items="userids")
def get_member_info(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """``core_message_external::get_member_info``, then ``\\core_message\\helper::get_member_info``.

    5.1 loads the asked users first (``get_records_list``, unordered, LIMIT ``MEMBER_INFO_LOAD``) and asks
    ``user_can_view_profile`` of each asked id: an id it did not load (no such user, or one past the
    limit) is a PHP TypeError failing the whole call, one the caller may not view is left out. 4.5 loads
    the members with the helper's own query only: unknown ids are left out, there is no limit.
    """
    site = call.site
    reference = int(params["referenceuserid"])
    if reference != call.userid and not call.has_capability("moodle/site:readallmessages"):
        raise moodle_exception("You do not have permission to perform this action.",
                               "error/You do not have permission to perform this action.")
    asked = list(dict.fromkeys(int(u) for u in params["userids"]))
    if site.branch >= (5, 0):
        loaded = {u: site.db["user"].get(u) for u in asked}
        if len(asked) > MEMBER_INFO_LOAD or any(user is None for user in loaded.values()):
            raise php_error(PROFILE_CALLBACK_TYPEERROR, "TypeError")
        asked = [u for u, user in loaded.items() if user and user_can_view_profile(site, call.userid, user)]
    privacy = bool(params.get("includeprivacyinfo"))
    members = []
    for userid in asked:
        user = site.db["user"].get(userid)
        if user is None:
            continue
        deleted = bool(user.get("deleted"))
        contact = _is_contact(site, reference, userid)
        blocked = site.db["message_users_blocked"].first(userid=reference, blockeduserid=userid) is not None
        info: dict[str, Any] = {
            "id": userid, "fullname": fullname(user),
            "profileurl": f"{site.siteurl}/user/profile.php?id={userid}",
            "profileimageurl": profile_image_urls(site, user)["profileimageurl"],
            "profileimageurlsmall": profile_image_urls(site, user)["profileimageurlsmall"],
            "isonline": site.now() - int(user.get("lastaccess") or 0) < 300,
            "showonlinestatus": True,
            "isblocked": blocked, "iscontact": contact, "isdeleted": deleted,
            # Only asked for: each costs the member's preferences and capability checks.
            "requirescontact": _privacy(site, userid) == PRIVACY_ONLYCONTACTS if privacy else None,
            # May the reference user message this member; may the member message the reference user.
            "canmessage": (not deleted and can_send_message(site, userid, reference)) if privacy else None,
            "canmessageevenifblocked": (not deleted and can_send_message(site, reference, userid))
            if privacy else None,
            "cancreatecontact": not contact and userid != reference,
        }
        # Moodle fills the contact requests only when asked, but always sends the list.
        info["contactrequests"] = [
            {"id": r["id"], "userid": r["userid"], "requesteduserid": r["requesteduserid"]}
            for r in site.db["message_contact_requests"]
            if {int(r["userid"]), int(r["requesteduserid"])} == {reference, userid}
        ] if params.get("includecontactrequests") else []
        members.append(info)
    return members
