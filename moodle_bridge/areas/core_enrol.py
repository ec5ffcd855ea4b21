"""core_enrol: who is enrolled in a course, in which courses a user is, and a course's enrolment methods.

- ``get_enrolled_users`` lists every enrolment (suspended and not-yet-started too) unless
  ``onlyactive`` (which needs ``moodle/course:enrolreview``). It pages with ``limitfrom``/``limitnumber``;
  ``iter_enrolled_users`` walks every page in id order and never stops early.
- ``enrolledcourses`` of a user lists only their *active* enrolments and is left out when empty.
- ``get_course_enrolment_methods`` never lists manual or cohort-sync instances (only methods with a
  self-service page, such as self enrolment or guest access): an empty list does not mean "no method".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..results import parse_list
from ._base import Area, Page, iter_pages, options


@dataclass(frozen=True)
class UserRole:
    roleid: int
    shortname: str
    name: str = ""
    sortorder: int = 0


@dataclass(frozen=True)
class EnrolledCourse:
    id: int
    fullname: str
    shortname: str


@dataclass(frozen=True)
class UserGroup:
    id: int
    name: str
    description: str = ""
    descriptionformat: int = 1


@dataclass(frozen=True)
class UserCustomField:
    shortname: str
    value: str
    name: str = ""
    type: str = ""


@dataclass(frozen=True)
class EnrolledUser:
    """A course participant. Fields the caller may not see (or did not ask for) are None."""

    id: int
    fullname: str
    username: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    idnumber: str | None = None
    department: str | None = None
    institution: str | None = None
    city: str | None = None
    country: str | None = None
    firstaccess: int | None = None
    lastaccess: int | None = None
    lastcourseaccess: int | None = None
    profileimageurl: str | None = None
    profileimageurlsmall: str | None = None
    roles: tuple[UserRole, ...] = ()
    enrolledcourses: tuple[EnrolledCourse, ...] = ()
    groups: tuple[UserGroup, ...] = ()
    customfields: tuple[UserCustomField, ...] = ()

    @property
    def role_shortnames(self) -> frozenset[str]:
        return frozenset(role.shortname for role in self.roles)


@dataclass(frozen=True)
class UserCourse:
    """A course the user is actively enrolled in (``get_users_courses``)."""

    id: int
    shortname: str
    fullname: str
    idnumber: str = ""
    visible: int = 1
    displayname: str = ""
    enrolledusercount: int | None = None
    summary: str = ""
    summaryformat: int = 1
    format: str | None = None
    category: int | None = None
    lang: str | None = None
    startdate: int | None = None
    enddate: int | None = None
    enablecompletion: bool | None = None
    completionhascriteria: bool | None = None
    completionusertracked: bool | None = None
    progress: float | None = None
    completed: bool | None = None
    lastaccess: int | None = None
    isfavourite: bool = False
    hidden: bool = False
    showgrades: bool | None = None
    showactivitydates: bool | None = None
    showcompletionconditions: bool | None = None
    timemodified: int | None = None


@dataclass(frozen=True)
class EnrolmentMethod:
    id: int
    courseid: int
    type: str
    name: str
    status: bool | str
    wsfunction: str | None = None

    @property
    def available(self) -> bool:
        """Moodle sends ``true`` when users can use the method, else a reason."""
        return self.status is True or self.status in ("1", "true")


@dataclass(frozen=True)
class CapabilityUsers:
    courseid: int
    capability: str
    users: tuple[EnrolledUser, ...] = ()


class CoreEnrol(Area):
    """core_enrol_* functions."""

    def get_enrolled_users(self, courseid: int, *, withcapability: str | None = None,
                           groupid: int | None = None, onlyactive: bool | None = None,
                           onlysuspended: bool | None = None, userfields: Sequence[str] | None = None,
                           limitfrom: int | None = None, limitnumber: int | None = None,
                           sortby: str | None = None, sortdirection: str | None = None) -> list[EnrolledUser]:
        """Calls core_enrol_get_enrolled_users (read).

        One page at most when ``limitnumber`` is set: use ``iter_enrolled_users`` to read them all.
        ``userfields`` limits the fields (``id`` and ``fullname`` always come); ``sortby``: id,
        firstname, lastname, siteorder; ``sortdirection``: ASC or DESC.
        """
        fn = "core_enrol_get_enrolled_users"
        chosen = options(withcapability=withcapability, groupid=groupid, onlyactive=onlyactive,
                         onlysuspended=onlysuspended, limitfrom=limitfrom, limitnumber=limitnumber,
                         userfields=",".join(userfields) if userfields else None, sortby=sortby,
                         sortdirection=sortdirection)
        params: dict[str, Any] = {"courseid": courseid}
        if chosen:
            params["options"] = chosen
        return parse_list(EnrolledUser, self._read(fn, params), fn)

    def iter_enrolled_users(self, courseid: int, *, page_size: int = 200,
                            withcapability: str | None = None, groupid: int | None = None,
                            onlyactive: bool | None = None, onlysuspended: bool | None = None,
                            userfields: Sequence[str] | None = None) -> Iterator[EnrolledUser]:
        """Every participant, ``page_size`` per call in user id order, until a short page.

        A user seen on an earlier page (the list changed while paging) is not yielded twice.
        """
        def fetch(offset: int) -> Page[EnrolledUser]:
            return Page(self.get_enrolled_users(
                courseid, withcapability=withcapability, groupid=groupid, onlyactive=onlyactive,
                onlysuspended=onlysuspended, userfields=userfields, limitfrom=offset, limitnumber=page_size,
                sortby="id", sortdirection="ASC"))

        return iter_pages(fetch, page_size, name="page_size", by_offset=True, key=lambda user: user.id)

    def get_enrolled_users_with_capability(
            self, coursecapabilities: Mapping[int, Sequence[str]], *, groupid: int | None = None,
            onlyactive: bool | None = None, userfields: Sequence[str] | None = None,
            limitfrom: int | None = None, limitnumber: int | None = None) -> list[CapabilityUsers]:
        """Calls core_enrol_get_enrolled_users_with_capability (read).

        ``coursecapabilities`` maps a course id to the capabilities asked about; one answer per pair.
        """
        fn = "core_enrol_get_enrolled_users_with_capability"
        params: dict[str, Any] = {"coursecapabilities": [
            {"courseid": courseid, "capabilities": list(capabilities)}
            for courseid, capabilities in coursecapabilities.items()]}
        chosen = options(groupid=groupid, onlyactive=onlyactive, limitfrom=limitfrom,
                         limitnumber=limitnumber, userfields=",".join(userfields) if userfields else None)
        if chosen:
            params["options"] = chosen
        return parse_list(CapabilityUsers, self._read(fn, params), fn)

    def get_users_courses(self, userid: int, *, returnusercount: bool | None = None) -> list[UserCourse]:
        """Calls core_enrol_get_users_courses (read).

        Only active enrolments, and only courses the token's user may see; ``returnusercount=False``
        saves Moodle counting each course's participants.
        """
        fn = "core_enrol_get_users_courses"
        params: dict[str, Any] = {"userid": userid}
        if returnusercount is not None:
            params["returnusercount"] = returnusercount
        return parse_list(UserCourse, self._read(fn, params), fn)

    def get_course_enrolment_methods(self, courseid: int) -> list[EnrolmentMethod]:
        """Calls core_enrol_get_course_enrolment_methods (read).

        Manual and cohort-sync instances are never listed (see the module notes).
        """
        fn = "core_enrol_get_course_enrolment_methods"
        return parse_list(EnrolmentMethod, self._read(fn, {"courseid": courseid}), fn)
