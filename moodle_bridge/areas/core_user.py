"""core_user: create, update, look up and delete Moodle accounts.

What a caller must know (each is in a recording, see FINDINGS.md):

- ``create_users`` is all-or-nothing **per call**: one bad user (duplicate username or email, invalid
  email, weak password) fails the call and none of its users is created. The client sends the users in
  chunks of ``batch_size``, so when chunk *k* fails the chunks before it **were** created: the error
  carries a note naming them; look them up before trying again.
- A user's ``idnumber`` is not unique in Moodle: ``get_users_by_field("idnumber", ...)`` can return two
  users for one value. Enforce uniqueness yourself and report duplicates instead of picking one.
- Empty answers can mean "not allowed": without ``moodle/user:viewdetails`` (and
  ``moodle/user:viewalldetails`` for usernames and idnumbers) ``get_users_by_field`` returns ``[]`` for
  users that exist. Trusting it would create duplicate accounts.
- ``get_users`` with a criteria key Moodle does not support ignores the key (returning every user the
  caller can see) and adds a warning: the client refuses unknown keys before sending.
- ``update_users`` reports a failed user as a warning (``invaliduserid``, ``useremailinvalid``,
  ``useremailduplicate``, ``dmlwriteexception`` for a taken username) and updates the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..results import parse_list
from ._base import Area, MoodleWarning, WriteResult, name_values, record_params, unique_by, warnings_of

UserField = Literal["id", "idnumber", "username", "email"]
SEARCH_KEYS = frozenset({"id", "lastname", "firstname", "idnumber", "username", "email", "auth"})


@dataclass(frozen=True, kw_only=True)
class _Profile:
    """The profile fields creating and updating an account share; ``None`` is not sent."""

    idnumber: str | None = None
    auth: str | None = None
    lang: str | None = None
    department: str | None = None
    institution: str | None = None
    city: str | None = None
    country: str | None = None
    timezone: str | None = None
    phone1: str | None = None
    phone2: str | None = None
    address: str | None = None
    description: str | None = None
    middlename: str | None = None
    alternatename: str | None = None
    firstnamephonetic: str | None = None
    lastnamephonetic: str | None = None
    interests: str | None = None
    maildisplay: int | None = None
    mailformat: int | None = None
    theme: str | None = None
    calendartype: str | None = None
    customfields: Mapping[str, str] = field(default_factory=dict, metadata=name_values("type"))
    preferences: Mapping[str, str] = field(default_factory=dict, metadata=name_values("type"))


@dataclass(frozen=True, kw_only=True)
class NewUser(_Profile):
    """One account for ``create_users`` (keyword arguments only).

    Internal authentication (``manual``, the default) needs ``password`` (checked against the site's
    password policy: a weak one fails the whole call) or ``createpassword=True`` (Moodle mails one).
    Fields left ``None`` are not sent. ``customfields`` maps custom profile field shortnames to values
    (Moodle silently ignores fields the site does not define); ``preferences`` maps user preference
    names to values.
    """

    username: str
    password: str | None = None
    createpassword: bool | None = None
    firstname: str
    lastname: str
    email: str

    def to_params(self) -> dict[str, Any]:
        return record_params(self, first=("username", "password", "createpassword", "firstname", "lastname",
                                          "email"))


@dataclass(frozen=True, kw_only=True)
class UserUpdate(_Profile):
    """Changes to one account for ``update_users`` (keyword arguments only).

    Fields left ``None`` are not sent and stay as they are. ``suspended=True`` suspends the account
    (the user can no longer log in; Moodle ends their sessions), ``suspended=False`` reactivates it.
    A new ``password`` must pass the site's password policy. ``customfields`` / ``preferences`` as in
    ``NewUser``.
    """

    id: int
    username: str | None = None
    password: str | None = None
    suspended: bool | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None

    def to_params(self) -> dict[str, Any]:
        return record_params(self, first=("id", "username", "password", "suspended", "firstname", "lastname",
                                          "email"))


@dataclass(frozen=True)
class CreatedUser:
    id: int
    username: str


@dataclass(frozen=True)
class UserCustomField:
    shortname: str
    value: str | None = None
    name: str = ""
    type: str = ""
    displayvalue: str | None = None


@dataclass(frozen=True)
class UserPreference:
    name: str
    value: str | None = None


@dataclass(frozen=True)
class User:
    """A user as Moodle lets the caller see them.

    Fields Moodle leaves out are ``None``: empty values (``idnumber``, ``institution``, ``city`` are
    omitted when empty) or values the caller may not see (``username``, ``idnumber``, ``email``...).
    ``preferences`` are only sent for the token's own user.
    """

    id: int
    fullname: str
    username: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    idnumber: str | None = None
    department: str | None = None
    institution: str | None = None
    auth: str | None = None
    suspended: bool = False
    confirmed: bool | None = None
    lang: str | None = None
    theme: str | None = None
    timezone: str | None = None
    mailformat: int | None = None
    trackforums: int | None = None
    firstaccess: int = 0
    lastaccess: int = 0
    city: str | None = None
    country: str | None = None
    phone1: str | None = None
    phone2: str | None = None
    address: str | None = None
    description: str | None = None
    descriptionformat: int | None = None
    interests: str | None = None
    profileimageurl: str | None = None
    profileimageurlsmall: str | None = None
    customfields: tuple[UserCustomField, ...] = ()
    preferences: tuple[UserPreference, ...] = ()

    def custom(self, shortname: str) -> str | None:
        """The value of a custom profile field, or None when Moodle did not send it."""
        for item in self.customfields:
            if item.shortname == shortname:
                return item.value
        return None


@dataclass(frozen=True)
class UsersResult:
    users: tuple[User, ...]
    warnings: tuple[MoodleWarning, ...] = ()


class CoreUser(Area):
    def create_users(self, users: Sequence[NewUser]) -> list[CreatedUser]:
        """Calls core_user_create_users (write).

        Sent in chunks of ``batch_size``; each call is all-or-nothing in Moodle. If a chunk fails, the
        raised error carries a note listing the users the earlier chunks created (they exist).
        Returns ``(id, username)`` of every user, in the order given.
        """
        fn = "core_user_create_users"

        def note(_sent: list[NewUser], created: list[CreatedUser], failing: list[NewUser]) -> str:
            if not created:
                return f"none of the failing call's {len(failing)} users was created"
            return (f"{len(created)} of {len(users)} users were created by earlier calls and exist: "
                    f"{', '.join(user.username for user in created)}; none of the failing call's "
                    f"{len(failing)} users was created")

        return self._batched(fn, users, lambda chunk: {"users": [user.to_params() for user in chunk]},
                             lambda data: parse_list(CreatedUser, data, fn), write=True, note=note)

    def update_users(self, updates: Sequence[UserUpdate]) -> WriteResult:
        """Calls core_user_update_users (write).

        Sent in chunks of ``batch_size``; a user Moodle cannot update comes back as a warning
        (``item='user'``, ``itemid``) while the others are saved. Warnings of all chunks, in order.
        A new password that fails the site's policy makes Moodle fail the whole call with
        ``invalidresponse`` (its policy text does not fit a warning code) **after** saving the other
        users of the call: re-read before retrying.
        """
        fn = "core_user_update_users"
        return WriteResult(tuple(self._batched(
            fn, updates, lambda chunk: {"users": [update.to_params() for update in chunk]},
            lambda data: warnings_of(data, fn), write=True)))

    def get_users_by_field(self, field: UserField, values: Sequence[str | int]) -> list[User]:
        """Calls core_user_get_users_by_field (read).

        Values are sent in chunks of ``batch_size``; users come back in id order per chunk, once each.
        An ``idnumber`` can match several users. Users the token may not see are silently left out
        (see the module notes): an empty answer does not prove the user does not exist.
        """
        fn = "core_user_get_users_by_field"
        found = self._batched(fn, list(values), lambda chunk: {"field": field, "values": chunk},
                              lambda data: parse_list(User, data, fn), write=False)
        return unique_by(found, lambda user: user.id)

    def get_users(self, criteria: Mapping[str, str | int], *, strict: bool = True) -> UsersResult:
        """Calls core_user_get_users (read).

        ``criteria`` are ANDed; ``firstname``, ``lastname`` and ``email`` match with SQL ``LIKE``
        (``%`` wildcards, case-insensitive), the others exactly. Moodle answers an unsupported key by
        ignoring it (so possibly every user) plus an ``invalidfieldparameter`` warning: with ``strict``
        (the default) such keys raise ``ValueError`` before anything is sent. An empty ``criteria``
        cannot be sent (Moodle requires the parameter). Only users the token may see come back.
        """
        fn = "core_user_get_users"
        if not criteria:
            raise ValueError("core_user_get_users needs at least one criterion")
        unknown = sorted(set(criteria) - SEARCH_KEYS)
        if strict and unknown:
            raise ValueError(f"core_user_get_users does not support the key(s) {', '.join(unknown)}: "
                             "Moodle would ignore them and return every user")
        data = self._read(fn, {"criteria": [{"key": k, "value": v} for k, v in criteria.items()]})
        users = data.get("users") if isinstance(data, dict) else data
        return UsersResult(tuple(parse_list(User, users, fn, "users")), warnings_of(data, fn))

    def delete_users(self, userids: Sequence[int]) -> None:
        """Calls core_user_delete_users (write).

        Moodle keeps a deleted account as a row with a scrambled username, email and idnumber, and
        removes its enrolments, role assignments, cohort and group memberships. Each call is
        all-or-nothing (an unknown or already deleted id, an admin or the token's own user fail it);
        ids are sent in chunks of ``batch_size`` and a failing chunk's error notes the earlier ones.
        """
        fn = "core_user_delete_users"

        def note(done: list[int], _results: list[None], _failing: list[int]) -> str | None:
            if not done:
                return None
            return f"{len(done)} of {len(userids)} users were deleted by earlier calls: ids {done}"

        self._batched(fn, userids, lambda chunk: {"userids": chunk}, write=True, note=note)
