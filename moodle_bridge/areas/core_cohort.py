"""core_cohort: cohorts (site-wide or in a category) and their members.

What a caller must know (each is in a recording, see FINDINGS.md):

- ``add_cohort_members`` takes the user by ``id`` or ``username`` only: by ``idnumber`` Moodle answers
  warning ``"1"`` and adds nothing. Its warnings are ``{warningcode, message}`` only: ``"1"`` unsupported
  type, ``"2"`` cohort or user does not exist, ``"3"`` already a member; the other members of the call
  are still added.
- ``create_cohorts`` refuses an idnumber another cohort has (``InvalidParameterError``, debuginfo
  ``record already exists: idnumber=...``) and is all-or-nothing per call, but ``update_cohorts``
  **accepts** an idnumber another cohort already has: check before writing.
- Cohort names come back HTML-escaped (``&amp;``): compare ``Cohort.plain_name`` with plan names.
- One unknown cohort id fails a whole ``get_cohort_members`` or ``delete_cohort_members`` call
  (``NotFoundError``); ``get_cohorts`` leaves unknown ids out; removing a non-member is not an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..results import parse_list, unescape
from ._base import Area, Page, WriteResult, iter_pages, name_values, record_params, renamed, warnings_of

Includes = Literal["parents", "self", "all"]
SYSTEM_CONTEXT_ID = 1


@dataclass(frozen=True)
class CategoryType:
    """Where a cohort lives: the whole site (``system``) or a course category by ``id`` or ``idnumber``."""

    type: str = "system"
    value: str = ""

    @classmethod
    def system(cls) -> CategoryType:
        return cls("system", "")

    @classmethod
    def category_id(cls, categoryid: int) -> CategoryType:
        return cls("id", str(categoryid))

    @classmethod
    def category_idnumber(cls, idnumber: str) -> CategoryType:
        return cls("idnumber", idnumber)

    def to_params(self) -> dict[str, str]:
        return record_params(self)


@dataclass(frozen=True)
class NewCohort:
    """One cohort for ``create_cohorts``; ``customfields`` maps cohort custom field shortnames to values."""

    name: str
    idnumber: str
    category: CategoryType = field(default_factory=CategoryType.system, metadata=renamed("categorytype"))
    description: str | None = None
    descriptionformat: int | None = None
    visible: bool | None = None
    theme: str | None = None
    customfields: Mapping[str, str] = field(default_factory=dict, metadata=name_values("shortname"))

    def to_params(self) -> dict[str, Any]:
        return record_params(self, first=("category",))


@dataclass(frozen=True)
class CohortUpdate:
    """New values for one cohort (Moodle requires name, idnumber and category on every update)."""

    id: int
    name: str
    idnumber: str
    category: CategoryType = field(default_factory=CategoryType.system, metadata=renamed("categorytype"))
    description: str | None = None
    descriptionformat: int | None = None
    visible: bool | None = None
    theme: str | None = None
    customfields: Mapping[str, str] = field(default_factory=dict, metadata=name_values("shortname"))

    def to_params(self) -> dict[str, Any]:
        return record_params(self, first=("id", "category"))


@dataclass(frozen=True)
class CohortMember:
    """A user to put in a cohort.

    ``cohorttype`` is ``"id"`` or ``"idnumber"``; ``usertype`` is ``"id"`` or ``"username"`` (Moodle
    does **not** accept a user idnumber: it answers warning ``"1"`` and adds nothing).
    """

    cohort: int | str
    user: int | str
    cohorttype: str = "id"
    usertype: str = "id"

    @classmethod
    def by_idnumber_username(cls, cohort_idnumber: str, username: str) -> CohortMember:
        return cls(cohort_idnumber, username, "idnumber", "username")

    def to_params(self) -> dict[str, Any]:
        return {"cohorttype": {"type": self.cohorttype, "value": self.cohort},
                "usertype": {"type": self.usertype, "value": self.user}}


@dataclass(frozen=True)
class CohortMembership:
    """A (cohort id, user id) pair for ``delete_cohort_members``."""

    cohortid: int
    userid: int


@dataclass(frozen=True)
class CohortCustomField:
    shortname: str
    name: str = ""
    type: str = ""
    value: str | None = None
    valueraw: str | None = None


@dataclass(frozen=True)
class Cohort:
    """A cohort as Moodle answers it: ``name`` and ``description`` are formatted (HTML-escaped)."""

    id: int
    name: str
    idnumber: str | None = None
    description: str = ""
    descriptionformat: int = 1
    visible: bool = True
    theme: str | None = None
    customfields: tuple[CohortCustomField, ...] = ()

    @property
    def plain_name(self) -> str:
        """The name with Moodle's HTML escaping undone, to compare with a plan's names."""
        return unescape(self.name)


@dataclass(frozen=True)
class CohortMembers:
    """The members of one cohort (Moodle orders them by last name, then first name)."""

    cohortid: int
    userids: tuple[int, ...] = ()


class CoreCohort(Area):
    def create_cohorts(self, cohorts: Sequence[NewCohort]) -> list[Cohort]:
        """Calls core_cohort_create_cohorts (write).

        Sent in chunks of ``batch_size``; each call is all-or-nothing (a duplicate idnumber, an
        unknown category fail it with ``InvalidParameterError``). A failing chunk's error notes the
        cohorts the earlier chunks created.
        """
        fn = "core_cohort_create_cohorts"

        def note(_sent: list[NewCohort], created: list[Cohort], _failing: list[NewCohort]) -> str | None:
            if not created:
                return None
            return (f"{len(created)} of {len(cohorts)} cohorts were created by earlier calls: "
                    f"{', '.join(str(c.idnumber) for c in created)}")

        return self._batched(fn, cohorts, lambda chunk: {"cohorts": [c.to_params() for c in chunk]},
                             lambda data: parse_list(Cohort, data, fn), write=True, note=note)

    def update_cohorts(self, cohorts: Sequence[CohortUpdate]) -> None:
        """Calls core_cohort_update_cohorts (write).

        Moodle does not check that the new idnumber is free: two cohorts can end up sharing one.
        Sent in chunks of ``batch_size``; each call is all-or-nothing.
        """
        fn = "core_cohort_update_cohorts"
        self._batched(fn, cohorts, lambda chunk: {"cohorts": [cohort.to_params() for cohort in chunk]},
                      write=True)

    def delete_cohorts(self, cohortids: Sequence[int]) -> None:
        """Calls core_cohort_delete_cohorts (write).

        Removes the cohorts and their memberships; an unknown id fails the call (all-or-nothing).
        """
        fn = "core_cohort_delete_cohorts"
        self._batched(fn, cohortids, lambda chunk: {"cohortids": chunk}, write=True)

    def get_cohorts(self, cohortids: Sequence[int] = ()) -> list[Cohort]:
        """Calls core_cohort_get_cohorts (read).

        No ids: every cohort of the site. Unknown ids are left out of the answer without an error.
        """
        fn = "core_cohort_get_cohorts"
        if not cohortids:
            return parse_list(Cohort, self._read(fn, {}), fn)
        return self._batched(fn, cohortids, lambda chunk: {"cohortids": chunk},
                             lambda data: parse_list(Cohort, data, fn), write=False)

    def search_cohorts(self, query: str, *, contextid: int | None = None,
                       contextlevel: str | None = None, instanceid: int | None = None,
                       includes: Includes | None = None, limitfrom: int | None = None,
                       limitnum: int | None = None) -> list[Cohort]:
        """Calls core_cohort_search_cohorts (read).

        The context is ``contextid`` or ``contextlevel`` + ``instanceid`` (default: the system
        context). ``includes`` defaults to ``parents``, ``limitfrom``/``limitnum`` to 0/25 in Moodle (left
        out when ``None``). ``query`` matches name, idnumber or description (``LIKE %query%``). Moodle passes
        ``limitfrom`` on as a *page number* for ``self``/``all`` (and the ``self`` part of
        ``parents``) but as an offset for the parent contexts of ``parents``; ``limitnum=0`` returns
        everything. Use ``iter_search_cohorts`` to read every match.
        """
        fn = "core_cohort_search_cohorts"
        ctx: dict[str, Any]
        if contextid is not None:
            ctx = {"contextid": contextid}
        elif contextlevel is not None:
            ctx = {"contextlevel": contextlevel, "instanceid": instanceid or 0}
        else:
            ctx = {"contextlevel": "system", "instanceid": 0}
        data = self._read(fn, {"query": query, "context": ctx, "includes": includes,
                               "limitfrom": limitfrom, "limitnum": limitnum})
        return parse_list(Cohort, data.get("cohorts") if isinstance(data, dict) else data, fn,
                          "cohorts")

    def iter_search_cohorts(self, query: str, *, contextid: int | None = None,
                            contextlevel: str | None = None, instanceid: int | None = None,
                            includes: Includes = "parents", perpage: int = 100) -> Iterator[Cohort]:
        """Every cohort ``search_cohorts`` matches, page by page (never silently truncated).

        ``self`` and ``all`` (and ``parents`` in the system context) are paged with ``limitfrom`` as
        the page number until a short page; ``parents`` below the system context mixes page and offset
        semantics in Moodle, so it is read in one call with ``limitnum=0`` (no limit).
        """
        if perpage < 1:
            raise ValueError("perpage must be at least 1")
        in_system = (contextid == SYSTEM_CONTEXT_ID
                     or (contextid is None and (contextlevel in (None, "system"))))
        kwargs: dict[str, Any] = {"contextid": contextid, "contextlevel": contextlevel,
                                  "instanceid": instanceid, "includes": includes}
        if includes == "parents" and not in_system:
            yield from self.search_cohorts(query, limitfrom=0, limitnum=0, **kwargs)
            return
        yield from iter_pages(
            lambda page: Page(self.search_cohorts(query, limitfrom=page, limitnum=perpage, **kwargs)),
            perpage, key=lambda cohort: cohort.id)

    def add_cohort_members(self, members: Sequence[CohortMember], *,
                           parallel: bool = False) -> WriteResult:
        """Calls core_cohort_add_cohort_members (write).

        Sent in chunks of ``batch_size`` (``parallel=True`` sends the chunks concurrently on the
        client's pool); the warnings of all chunks come back in order. Warning codes: ``"1"``
        unsupported type, ``"2"`` cohort or user does not exist, ``"3"`` already a member.
        """
        fn = "core_cohort_add_cohort_members"
        return WriteResult(tuple(self._batched(
            fn, members, lambda chunk: {"members": [member.to_params() for member in chunk]},
            lambda data: warnings_of(data, fn), write=True, parallel=parallel)))

    def delete_cohort_members(self, members: Sequence[CohortMembership]) -> None:
        """Calls core_cohort_delete_cohort_members (write).

        Removing a user who is not a member is not an error; an unknown cohort or user fails the
        whole call (``NotFoundError``) and nothing of it is removed.
        """
        fn = "core_cohort_delete_cohort_members"
        self._batched(fn, members, lambda chunk: {"members": [record_params(m) for m in chunk]},
                      write=True)

    def get_cohort_members(self, cohortids: Sequence[int]) -> list[CohortMembers]:
        """Calls core_cohort_get_cohort_members (read).

        One unknown cohort id fails the whole call with ``NotFoundError``. Ids are sent in chunks of
        ``batch_size``.
        """
        fn = "core_cohort_get_cohort_members"
        return self._batched(fn, cohortids, lambda chunk: {"cohortids": chunk},
                             lambda data: parse_list(CohortMembers, data, fn), write=False)
