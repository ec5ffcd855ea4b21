"""core_course: categories, courses, their contents (sections and activities) and duplication.

Moodle's quirks the callers must know (see tests/contract/recordings/FINDINGS.md):

- a duplicate course shortname or idnumber, or category idnumber, fails the whole call with its own code
  (``shortnametaken``, ``courseidnumbertaken``, ``categoryidnumbertaken``: ``DuplicateError``);
  ``update_courses`` reports the same problems as per-course warnings instead;
- ``get_courses_by_field(field="id", value="abc")`` is not an error but an empty list;
- ``duplicate_course`` does not copy the course idnumber (set it afterwards with ``update_courses``), and
  passing any backup option, even ``users=0``, needs ``moodle/backup:configure`` (``users`` also
  ``moodle/backup:userinfo``): leave ``options`` empty unless you need one;
- names come back HTML-escaped (``&amp;``): compare with ``results.unescape``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..results import parse, parse_list
from ._base import (
    Area,
    MoodleWarning,
    Page,
    WriteResult,
    iter_pages,
    name_values,
    options,
    record_params,
    warnings_of,
)

Scalar = str | int | float | bool


def _clean(params: Mapping[str, Any]) -> dict[str, Any]:
    """Drops unset (None) values: Moodle then applies its defaults."""
    return {key: value for key, value in params.items() if value is not None}


# --- inputs --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewCategory:
    """A category to create; ``parent`` 0 (or None) is the top level."""

    name: str
    parent: int | None = None
    idnumber: str | None = None
    description: str | None = None
    descriptionformat: int | None = None
    theme: str | None = None

    def as_params(self) -> dict[str, Any]:
        return record_params(self)


@dataclass(frozen=True)
class CategoryUpdate:
    """Changes to one category: fields left None are not sent (Moodle keeps them)."""

    id: int
    name: str | None = None
    parent: int | None = None
    idnumber: str | None = None
    description: str | None = None
    descriptionformat: int | None = None
    theme: str | None = None

    def as_params(self) -> dict[str, Any]:
        return record_params(self)


@dataclass(frozen=True)
class _CourseFields:
    idnumber: str | None = None
    summary: str | None = None
    summaryformat: int | None = None
    format: str | None = None
    startdate: int | None = None
    enddate: int | None = None
    enablecompletion: bool | None = None
    numsections: int | None = None
    visible: bool | None = None
    showgrades: bool | None = None
    newsitems: int | None = None
    maxbytes: int | None = None
    showreports: bool | None = None
    hiddensections: int | None = None
    groupmode: int | None = None
    groupmodeforce: bool | None = None
    defaultgroupingid: int | None = None
    completionnotify: bool | None = None
    lang: str | None = None
    forcetheme: str | None = None
    courseformatoptions: Mapping[str, Scalar] | None = field(default=None, metadata=name_values("name"))
    customfields: Mapping[str, Scalar] | None = field(default=None, metadata=name_values("shortname"))
    """Course custom field values by short name, e.g. ``{"credit_hours": 2}``."""


@dataclass(frozen=True, kw_only=True)
class NewCourse(_CourseFields):
    """A course to create. Unset fields take the site's course defaults."""

    fullname: str
    shortname: str
    categoryid: int

    def as_params(self) -> dict[str, Any]:
        return record_params(self, first=("fullname", "shortname", "categoryid"))


@dataclass(frozen=True, kw_only=True)
class CourseUpdate(_CourseFields):
    """Changes to one course: fields left None are not sent (Moodle keeps them)."""

    id: int
    fullname: str | None = None
    shortname: str | None = None
    categoryid: int | None = None

    def as_params(self) -> dict[str, Any]:
        return record_params(self, first=("id", "fullname", "shortname", "categoryid"))


# --- results -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreatedCategory:
    id: int
    name: str


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    parent: int
    sortorder: int
    coursecount: int
    depth: int
    path: str
    description: str = ""
    descriptionformat: int = 1
    idnumber: str | None = None
    visible: int | None = None
    visibleold: int | None = None
    timemodified: int | None = None
    theme: str | None = None


@dataclass(frozen=True)
class CreatedCourse:
    id: int
    shortname: str


@dataclass(frozen=True)
class CourseContact:
    id: int
    fullname: str


@dataclass(frozen=True)
class FormatOption:
    name: str
    value: str


@dataclass(frozen=True)
class CourseCustomField:
    shortname: str
    value: str | None = None
    valueraw: str | None = None
    name: str = ""
    type: str = ""


@dataclass(frozen=True)
class Course:
    """A course as ``get_courses_by_field``, ``get_courses`` or ``search_courses`` describe it.

    Which fields come back depends on the caller's rights: without access to the course only the
    public ones (names, category, summary, contacts, enrolment methods) are there.
    """

    id: int
    fullname: str
    shortname: str
    categoryid: int
    displayname: str = ""
    categoryname: str = ""
    sortorder: int | None = None
    categorysortorder: int | None = None
    summary: str = ""
    summaryformat: int = 1
    idnumber: str | None = None
    format: str | None = None
    visible: int | None = None
    startdate: int | None = None
    enddate: int | None = None
    enablecompletion: int | None = None
    completionnotify: int | None = None
    showgrades: int | None = None
    newsitems: int | None = None
    maxbytes: int | None = None
    showreports: int | None = None
    groupmode: int | None = None
    groupmodeforce: int | None = None
    defaultgroupingid: int | None = None
    lang: str | None = None
    theme: str | None = None
    forcetheme: str | None = None
    marker: int | None = None
    numsections: int | None = None
    hiddensections: int | None = None
    timecreated: int | None = None
    timemodified: int | None = None
    cacherev: int | None = None
    courseimage: str | None = None
    showactivitydates: bool | None = None
    showcompletionconditions: bool | None = None
    contacts: tuple[CourseContact, ...] = ()
    enrollmentmethods: tuple[str, ...] = ()
    courseformatoptions: tuple[FormatOption, ...] = ()
    customfields: tuple[CourseCustomField, ...] = ()

    def customfield(self, shortname: str) -> str | None:
        """The raw value of a course custom field, or None when the course does not show it."""
        for custom in self.customfields:
            if custom.shortname == shortname:
                return custom.valueraw if custom.valueraw is not None else custom.value
        return None


@dataclass(frozen=True)
class CoursesResult:
    courses: tuple[Course, ...]
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    total: int
    courses: tuple[Course, ...]
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class DuplicatedCourse:
    id: int
    shortname: str


@dataclass(frozen=True)
class CompletionRuleValue:
    status: int
    description: str = ""


@dataclass(frozen=True)
class CompletionRule:
    rulename: str
    rulevalue: CompletionRuleValue


@dataclass(frozen=True)
class ModuleCompletion:
    """The calling user's completion of an activity, as ``get_contents`` reports it."""

    state: int
    timecompleted: int = 0
    overrideby: int | None = None
    valueused: bool = False
    hascompletion: bool = True
    isautomatic: bool = False
    istrackeduser: bool = False
    uservisible: bool = True
    isoverallcomplete: bool | None = None
    details: tuple[CompletionRule, ...] = ()


@dataclass(frozen=True)
class ModuleContent:
    type: str
    filename: str
    filepath: str | None = None
    filesize: int | None = None
    fileurl: str | None = None
    timecreated: int | None = None
    timemodified: int | None = None
    sortorder: int | None = None
    mimetype: str | None = None
    userid: int | None = None
    author: str | None = None
    license: str | None = None


@dataclass(frozen=True)
class ModuleDate:
    label: str
    timestamp: int
    dataid: str | None = None


@dataclass(frozen=True)
class ContentModule:
    """An activity listed in a course section."""

    id: int
    name: str
    modname: str
    instance: int | None = None
    url: str | None = None
    contextid: int | None = None
    visible: int = 1
    uservisible: bool = True
    visibleoncoursepage: int = 1
    modplural: str = ""
    purpose: str = ""
    indent: int = 0
    groupmode: int = 0
    completion: int = 0
    completiondata: ModuleCompletion | None = None
    availability: str | None = None
    customdata: str | None = None
    dates: tuple[ModuleDate, ...] = ()
    contents: tuple[ModuleContent, ...] = ()


@dataclass(frozen=True)
class Section:
    id: int
    name: str
    summary: str = ""
    summaryformat: int = 1
    section: int | None = None
    visible: int | None = None
    uservisible: bool | None = None
    component: str | None = None
    itemid: int | None = None
    modules: tuple[ContentModule, ...] = ()


@dataclass(frozen=True)
class CourseModule:
    """``get_course_module``: the full record for callers who manage activities, a safe subset otherwise."""

    id: int
    course: int
    module: int
    modname: str
    instance: int
    section: int
    sectionnum: int
    name: str
    completion: int
    groupmode: int = 0
    groupingid: int = 0
    idnumber: str | None = None
    visible: int | None = None
    visibleoncoursepage: int | None = None
    added: int | None = None
    indent: int | None = None
    completionview: int | None = None
    completionexpected: int | None = None
    completionpassgrade: int | None = None
    completiongradeitemnumber: int | None = None
    downloadcontent: int | None = None
    availability: str | None = None
    grade: float | None = None
    gradepass: str | None = None
    warnings: tuple[MoodleWarning, ...] = ()


# --- the area ------------------------------------------------------------------------------------------

class CoreCourse(Area):
    """core_course_* functions."""

    def create_categories(self, categories: Sequence[NewCategory]) -> list[CreatedCategory]:
        """Calls core_course_create_categories (write).

        Sent in chunks of ``batch_size``; each chunk is all or nothing, chunks already sent stay
        created when a later one fails (``categoryidnumbertaken``, ``unknowcategory``...).
        """
        fn = "core_course_create_categories"
        return self._batched(fn, categories, lambda chunk: {"categories": [c.as_params() for c in chunk]},
                             lambda data: parse_list(CreatedCategory, data, fn), write=True)

    def update_categories(self, categories: Sequence[CategoryUpdate]) -> None:
        """Calls core_course_update_categories (write). Sent in chunks of ``batch_size``."""
        fn = "core_course_update_categories"
        self._batched(fn, categories, lambda chunk: {"categories": [c.as_params() for c in chunk]},
                      write=True)

    def get_categories(self, criteria: Mapping[str, Scalar] | None = None, *,
                       addsubcategories: bool | None = None) -> list[Category]:
        """Calls core_course_get_categories (read).

        ``criteria`` keys: id, ids (comma-separated), idnumber, name, parent, visible, theme; an empty
        criteria returns every category. ``addsubcategories`` (Moodle's default: true) adds children.
        """
        fn = "core_course_get_categories"
        params = _clean({"criteria": [{"key": key, "value": value} for key, value in criteria.items()]
                         if criteria else None, "addsubcategories": addsubcategories})
        return parse_list(Category, self._read(fn, params), fn)

    def create_courses(self, courses: Sequence[NewCourse]) -> list[CreatedCourse]:
        """Calls core_course_create_courses (write).

        Sent in chunks of ``batch_size``; each chunk is all or nothing (``shortnametaken``,
        ``courseidnumbertaken``, ``errorcatcontextnotvalid`` fail the chunk); chunks already sent stay
        created when a later one fails: re-read before retrying.
        """
        fn = "core_course_create_courses"
        return self._batched(fn, courses, lambda chunk: {"courses": [c.as_params() for c in chunk]},
                             lambda data: parse_list(CreatedCourse, data, fn), write=True)

    def update_courses(self, courses: Sequence[CourseUpdate]) -> WriteResult:
        """Calls core_course_update_courses (write).

        A course Moodle cannot update (duplicate shortname or idnumber, missing, no access) comes back
        as a warning naming it (``itemid``); the others are updated. Warnings of every chunk are merged.
        """
        fn = "core_course_update_courses"
        return WriteResult(tuple(self._batched(
            fn, courses, lambda chunk: {"courses": [c.as_params() for c in chunk]},
            lambda data: warnings_of(data, fn), write=True)))

    def delete_courses(self, courseids: Sequence[int]) -> WriteResult:
        """Calls core_course_delete_courses (write). Unknown or protected courses come back as warnings."""
        fn = "core_course_delete_courses"
        return WriteResult(tuple(self._batched(fn, courseids, lambda chunk: {"courseids": chunk},
                                               lambda data: warnings_of(data, fn), write=True)))

    def get_courses(self, ids: Sequence[int] | None = None) -> list[Course]:
        """Calls core_course_get_courses (read).

        The older look-up: every course when ``ids`` is empty; fails with ``errorcoursecontextnotvalid``
        when the token's user cannot access one of them (prefer ``get_courses_by_field``).
        """
        fn = "core_course_get_courses"
        params = {"options": {"ids": list(ids)}} if ids else {}
        return parse_list(Course, self._read(fn, params), fn)

    def get_courses_by_field(self, field: str = "", value: str | int = "") -> CoursesResult:
        """Calls core_course_get_courses_by_field (read).

        ``field``: id, ids (comma-separated), shortname, idnumber, category, or "" for every course the
        user may see; no paging. A value Moodle cannot read as an id (``abc``) gives no course, not an
        error; an unknown field is ``invalidparameter``.
        """
        fn = "core_course_get_courses_by_field"
        params = {"field": field, "value": value} if field else {}
        data = self._read(fn, params)
        if not isinstance(data, dict):
            return CoursesResult(tuple(parse_list(Course, data, fn, "courses")))
        return CoursesResult(tuple(parse_list(Course, data.get("courses"), fn, "courses")),
                             warnings_of(data, fn))

    def search_courses(self, criterianame: str, criteriavalue: str, *, page: int | None = None,
                       perpage: int | None = None, requiredcapabilities: Sequence[str] | None = None,
                       limittoenrolled: bool | None = None,
                       onlywithcompletion: bool | None = None) -> SearchResult:
        """Calls core_course_search_courses (read). ``criterianame``: search, modulelist, blocklist, tags."""
        fn = "core_course_search_courses"
        params = _clean({"criterianame": criterianame, "criteriavalue": criteriavalue, "page": page,
                         "perpage": perpage,
                         "requiredcapabilities": list(requiredcapabilities) if requiredcapabilities else None,
                         "limittoenrolled": limittoenrolled, "onlywithcompletion": onlywithcompletion})
        data = self._read(fn, params)
        if not isinstance(data, dict):
            return SearchResult(0, tuple(parse_list(Course, data, fn, "courses")))
        return SearchResult(int(data.get("total") or 0),
                            tuple(parse_list(Course, data.get("courses"), fn, "courses")),
                            warnings_of(data, fn))

    def iter_search_courses(self, criterianame: str, criteriavalue: str, *, perpage: int = 50,
                            **filters: Any) -> Iterator[Course]:
        """Every course ``search_courses`` finds, page by page, until ``total`` is reached or a page is
        empty: never stops at the first page."""
        def fetch(page: int) -> Page[Course]:
            result = self.search_courses(criterianame, criteriavalue, page=page, perpage=perpage, **filters)
            return Page(result.courses, result.total)

        return iter_pages(fetch, perpage, key=lambda course: course.id, short_page_ends=False)

    def duplicate_course(self, courseid: int, fullname: str, shortname: str, categoryid: int, *,
                         visible: bool | None = None,
                         options: Mapping[str, bool | int] | None = None) -> DuplicatedCourse:
        """Calls core_course_duplicate_course (write).

        Copies settings, sections, activities and completion criteria, not the idnumber. ``options``
        (activities, blocks, filters, users, enrolments, role_assignments, comments, userscompletion,
        logs, grade_histories; each 0 or 1) need ``moodle/backup:configure``; ``users``, even 0, also
        ``moodle/backup:userinfo`` (``setting_locked_by_permission`` otherwise). Slow (seconds).
        """
        fn = "core_course_duplicate_course"
        params = _clean({"courseid": courseid, "fullname": fullname, "shortname": shortname,
                         "categoryid": categoryid, "visible": visible,
                         "options": [{"name": name, "value": int(value)} for name, value in options.items()]
                         if options else None})
        return parse(DuplicatedCourse, self._write(fn, params), fn)

    def get_contents(self, courseid: int, *, excludemodules: bool | None = None,
                     excludecontents: bool | None = None, includestealthmodules: bool | None = None,
                     sectionid: int | None = None, sectionnumber: int | None = None,
                     cmid: int | None = None, modname: str | None = None,
                     modid: int | None = None) -> list[Section]:
        """Calls core_course_get_contents (read). ``modname`` with ``modid`` picks one activity."""
        fn = "core_course_get_contents"
        chosen = options(excludemodules=excludemodules, excludecontents=excludecontents,
                         includestealthmodules=includestealthmodules, sectionid=sectionid,
                         sectionnumber=sectionnumber, cmid=cmid, modname=modname, modid=modid)
        params: dict[str, Any] = {"courseid": courseid}
        if chosen:
            params["options"] = chosen
        return parse_list(Section, self._read(fn, params), fn)

    def get_course_module(self, cmid: int) -> CourseModule:
        """Calls core_course_get_course_module (read)."""
        fn = "core_course_get_course_module"
        return self._course_module(fn, self._read(fn, {"cmid": cmid}))

    def get_course_module_by_instance(self, module: str, instance: int) -> CourseModule:
        """Calls core_course_get_course_module_by_instance (read). ``module`` is the modname (``assign``)."""
        fn = "core_course_get_course_module_by_instance"
        return self._course_module(fn, self._read(fn, {"module": module, "instance": instance}))

    @staticmethod
    def _course_module(fn: str, data: Any) -> CourseModule:
        cm = parse(CourseModule, (data or {}).get("cm") if isinstance(data, dict) else data, fn, "cm")
        return dataclasses.replace(cm, warnings=warnings_of(data, fn))
