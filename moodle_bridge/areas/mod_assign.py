"""mod_assign: assignments of courses, learners' submissions and grades, grading.

Quirks the recordings showed (``FINDINGS.md``):

- ``mod_assign_get_assignments`` needs ``includenotenrolledcourses=1`` for a service user enrolled
  nowhere (otherwise every course is a warning, code "2"): ``get_assignments`` sends it by default.
- ``mod_assign_get_submissions`` / ``mod_assign_get_grades`` take many assignments per call, and
  ``since``: the client cuts long id lists into batches and merges the answers.
- ``mod_assign_save_grade`` above the assignment's maximum grade answers ``null`` and changes nothing:
  pass ``max_grade`` to have it refused here, and re-read the grade to confirm a write.
- ``mod_assign_save_grade`` without a feedback comment, for a grade that already has one, fails with
  ``dmlwriteexception`` (the comments plugin writes NULLs): send ``feedback_text`` whenever a comment
  may exist.
- Grades are text (``"88.00000"``); ``-1`` means "no grade" (``AssignGrade.value`` is then ``None``).
- ``gradepenalty`` exists on 5.1 only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..results import parse, parse_list
from ._base import Area, MoodleWarning, Page, iter_pages


@dataclass(frozen=True)
class AssignConfig:
    plugin: str
    subtype: str
    name: str
    value: str


@dataclass(frozen=True)
class Assignment:
    id: int
    cmid: int
    course: int
    name: str
    grade: int = 100
    duedate: int = 0
    cutoffdate: int = 0
    allowsubmissionsfromdate: int = 0
    gradingduedate: int = 0
    timemodified: int = 0
    completionsubmit: int = 0
    submissiondrafts: int = 0
    nosubmissions: int = 0
    teamsubmission: int = 0
    blindmarking: int = 0
    markingworkflow: int = 0
    maxattempts: int = 1
    attemptreopenmethod: str = ""
    gradepenalty: int = 0
    timelimit: int = 0
    intro: str | None = None
    introformat: int | None = None
    configs: tuple[AssignConfig, ...] = ()

    def config(self, plugin: str, name: str, subtype: str = "assignsubmission") -> str | None:
        for row in self.configs:
            if (row.plugin, row.subtype, row.name) == (plugin, subtype, name):
                return row.value
        return None

    @property
    def word_limit(self) -> int:
        """The online text word limit (0: none). Each Chinese character counts as a word."""
        if self.config("onlinetext", "wordlimitenabled") != "1":
            return 0
        return int(self.config("onlinetext", "wordlimit") or 0)


@dataclass(frozen=True)
class AssignCourse:
    id: int
    fullname: str
    shortname: str
    timemodified: int = 0
    assignments: tuple[Assignment, ...] = ()


@dataclass(frozen=True)
class AssignmentsResult:
    courses: tuple[AssignCourse, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()

    @property
    def assignments(self) -> list[Assignment]:
        return [assignment for course in self.courses for assignment in course.assignments]


@dataclass(frozen=True)
class EditorField:
    name: str
    text: str
    format: int = 1
    description: str = ""


@dataclass(frozen=True)
class FileArea:
    area: str


@dataclass(frozen=True)
class PluginData:
    type: str
    name: str
    fileareas: tuple[FileArea, ...] = ()
    editorfields: tuple[EditorField, ...] = ()


@dataclass(frozen=True)
class Submission:
    id: int
    userid: int
    status: str
    attemptnumber: int = 0
    timecreated: int = 0
    timemodified: int = 0
    timestarted: int | None = None
    groupid: int = 0
    assignment: int | None = None
    latest: int | None = None
    gradingstatus: str | None = None
    plugins: tuple[PluginData, ...] = ()

    @property
    def onlinetext(self) -> str | None:
        """The online text the learner wrote (HTML), if the plugin is on."""
        for plugin in self.plugins:
            if plugin.type == "onlinetext":
                for editor in plugin.editorfields:
                    if editor.name == "onlinetext":
                        return editor.text
        return None

    @property
    def submitted(self) -> bool:
        return self.status == "submitted"


@dataclass(frozen=True)
class AssignmentSubmissions:
    assignmentid: int
    submissions: tuple[Submission, ...] = ()


@dataclass(frozen=True)
class SubmissionsResult:
    assignments: tuple[AssignmentSubmissions, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class AssignGrade:
    id: int
    userid: int
    grade: str
    attemptnumber: int = 0
    timecreated: int = 0
    timemodified: int = 0
    grader: int = 0
    assignment: int | None = None
    gradefordisplay: str | None = None

    @property
    def value(self) -> float | None:
        """The grade as a number; None for "no grade" (``-1`` or empty)."""
        try:
            number = float(self.grade)
        except ValueError:
            return None
        return None if number < 0 else number


@dataclass(frozen=True)
class AssignmentGrades:
    assignmentid: int
    grades: tuple[AssignGrade, ...] = ()


@dataclass(frozen=True)
class GradesResult:
    assignments: tuple[AssignmentGrades, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class GradingSummary:
    participantcount: int
    submissiondraftscount: int = 0
    submissionsenabled: bool = False
    submissionssubmittedcount: int = 0
    submissionsneedgradingcount: int = 0
    warnofungroupedusers: str = ""


@dataclass(frozen=True)
class LastAttempt:
    submissionsenabled: bool = False
    locked: bool = False
    graded: bool = False
    canedit: bool = False
    caneditowner: bool = False
    cansubmit: bool = False
    extensionduedate: int = 0
    blindmarking: bool = False
    gradingstatus: str = ""
    timelimit: int | None = None
    submission: Submission | None = None
    teamsubmission: Submission | None = None
    usergroups: tuple[int, ...] = ()


@dataclass(frozen=True)
class Feedback:
    gradefordisplay: str = ""
    gradeddate: int | None = None
    grade: AssignGrade | None = None
    plugins: tuple[PluginData, ...] = ()

    @property
    def comment(self) -> str | None:
        """The feedback comment (HTML), if any."""
        for plugin in self.plugins:
            if plugin.type == "comments":
                for editor in plugin.editorfields:
                    return editor.text
        return None


@dataclass(frozen=True)
class PreviousAttempt:
    attemptnumber: int
    submission: Submission | None = None
    grade: AssignGrade | None = None


@dataclass(frozen=True)
class SubmissionStatus:
    gradingsummary: GradingSummary | None = None
    lastattempt: LastAttempt | None = None
    feedback: Feedback | None = None
    previousattempts: tuple[PreviousAttempt, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class ParticipantRole:
    roleid: int
    shortname: str = ""
    name: str = ""


@dataclass(frozen=True)
class Participant:
    id: int
    fullname: str
    submitted: bool = False
    requiregrading: bool = False
    grantedextension: bool = False
    submissionstatus: str | None = None
    recordid: int = -1
    username: str | None = None
    idnumber: str | None = None
    email: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    suspended: bool = False
    groupid: int | None = None
    roles: tuple[ParticipantRole, ...] = ()


@dataclass(frozen=True)
class UserMapping:
    id: int
    userid: int


@dataclass(frozen=True)
class AssignmentMappings:
    assignmentid: int
    mappings: tuple[UserMapping, ...] = ()


@dataclass(frozen=True)
class MappingsResult:
    assignments: tuple[AssignmentMappings, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


class ModAssign(Area):
    def get_assignments(self, courseids: Sequence[int] = (), *, capabilities: Sequence[str] = (),
                        include_not_enrolled_courses: bool | None = True) -> AssignmentsResult:
        """Calls mod_assign_get_assignments (read).

        Sends ``includenotenrolledcourses=1`` by default when course ids are given: a service user
        enrolled nowhere otherwise gets only warnings (code "2"). ``None`` leaves Moodle's default.
        Without course ids Moodle lists the courses the user is enrolled in.
        """
        fn = "mod_assign_get_assignments"
        params: dict[str, Any] = {"courseids": list(courseids) or None,
                                  "capabilities": list(capabilities) or None}
        if courseids and include_not_enrolled_courses is not None:
            params["includenotenrolledcourses"] = include_not_enrolled_courses
        return parse(AssignmentsResult, self._read(fn, params), fn)

    def _per_assignment(self, fn: str, assignmentids: Sequence[int], extra: dict[str, Any],
                        cls: type[Any]) -> tuple[tuple[Any, ...], tuple[MoodleWarning, ...]]:
        """Reads the assignments in batches on the pool; their ``assignments`` and ``warnings`` merged."""
        unique = list(dict.fromkeys(int(i) for i in assignmentids))
        answers = self._batched(fn, unique, lambda chunk: {"assignmentids": chunk, **extra},
                                lambda data: [parse(cls, data, fn)], write=False, parallel=True)
        return (tuple(item for answer in answers for item in answer.assignments),
                tuple(warning for answer in answers for warning in answer.warnings))

    def get_submissions(self, assignmentids: Sequence[int], *, status: str | None = None,
                        since: int | None = None, before: int | None = None) -> SubmissionsResult:
        """Calls mod_assign_get_submissions (read).

        In batches of ``batch_size`` assignments, merged in order. Each assignment's latest attempts,
        optionally only ``status`` ('new', 'draft', 'submitted') and modified from ``since`` (to ``before``).
        An assignment without matching submissions comes back empty with a warning (item ``module``, code
        "3"); one that does not exist is left out.
        """
        fn = "mod_assign_get_submissions"
        return SubmissionsResult(*self._per_assignment(
            fn, assignmentids, {"status": status, "since": since, "before": before}, SubmissionsResult))

    def get_grades(self, assignmentids: Sequence[int], *, since: int | None = None) -> GradesResult:
        """Calls mod_assign_get_grades (read).

        In batches of ``batch_size`` assignments, merged in order. Only grades of the learners' latest
        attempts modified from ``since``; an assignment without any is a warning (code "3", "No grades
        found"), one the user may not grade a warning code "1".
        """
        fn = "mod_assign_get_grades"
        return GradesResult(*self._per_assignment(fn, assignmentids, {"since": since}, GradesResult))

    def save_grade(self, assignmentid: int, userid: int, grade: float, *, attemptnumber: int = -1,
                   addattempt: bool = False, workflowstate: str = "", applytoall: bool = True,
                   feedback_text: str | None = None, feedback_format: int = 1,
                   max_grade: float | None = None) -> None:
        """Calls mod_assign_save_grade (write).

        Moodle answers ``null`` even when it ignored the grade (above the maximum): give
        ``max_grade`` to refuse such a grade here, and re-read with ``get_grades`` to confirm. Leaving
        ``feedback_text`` out for a grade that already has a comment fails with ``dmlwriteexception``.
        """
        if max_grade is not None and not 0 <= grade <= max_grade:
            raise ValueError(f"grade {grade:g} is outside 0..{max_grade:g}: Moodle would ignore it")
        fn = "mod_assign_save_grade"
        params: dict[str, Any] = {
            "assignmentid": assignmentid, "userid": userid, "grade": grade,
            "attemptnumber": attemptnumber, "addattempt": addattempt, "workflowstate": workflowstate,
            "applytoall": applytoall,
        }
        if feedback_text is not None:
            params["plugindata"] = {"assignfeedbackcomments_editor": {"text": feedback_text,
                                                                      "format": feedback_format}}
        self._write(fn, params)

    def get_submission_status(self, assignid: int, *, userid: int | None = None,
                              groupid: int | None = None) -> SubmissionStatus:
        """Calls mod_assign_get_submission_status (read).

        ``userid`` defaults to the token's user. ``lastattempt`` is only there for users who submit
        (learners); ``feedback`` once there is a grade or a comment.
        """
        fn = "mod_assign_get_submission_status"
        params = {"assignid": assignid, "userid": userid, "groupid": groupid}
        return parse(SubmissionStatus, self._read(fn, params), fn)

    def list_participants(self, assignid: int, *, groupid: int = 0, filter: str = "",
                          skip: int | None = None, limit: int | None = None,
                          onlyids: bool | None = None, includeenrolments: bool | None = None,
                          tablesort: bool | None = None) -> list[Participant]:
        """Calls mod_assign_list_participants (read).

        The users who may submit, with their submission state; ``limit`` 0 (the default) is all.
        """
        fn = "mod_assign_list_participants"
        params = {"assignid": assignid, "groupid": groupid, "filter": filter, "skip": skip,
                  "limit": limit, "onlyids": onlyids, "includeenrolments": includeenrolments,
                  "tablesort": tablesort}
        return parse_list(Participant, self._read(fn, params), fn)

    def iter_participants(self, assignid: int, *, groupid: int = 0, filter: str = "",
                          page_size: int = 200, onlyids: bool | None = None) -> Iterator[Participant]:
        """Calls mod_assign_list_participants (read).

        Page by page (``skip``/``limit``) until a short page.
        """
        return iter_pages(lambda skip: Page(self.list_participants(
            assignid, groupid=groupid, filter=filter, skip=skip, limit=page_size, onlyids=onlyids)),
            page_size, name="page_size", by_offset=True)

    def get_user_mappings(self, assignmentids: Sequence[int]) -> MappingsResult:
        """Calls mod_assign_get_user_mappings (read).

        Blind-marking identities, in batches of ``batch_size`` assignments.
        """
        fn = "mod_assign_get_user_mappings"
        return MappingsResult(*self._per_assignment(fn, assignmentids, {}, MappingsResult))
