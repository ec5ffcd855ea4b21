"""mod_feedback: surveys of courses, their questions, the answers and Moodle's analysis of them.

``nameformat`` and ``presentationformat`` of items exist on 5.1 only (read as optional). The analysis of
a multiple-choice question comes as JSON strings (``{"answertext", "answercount", "quotient"}``):
``AnalysedItem.choices`` decodes them. ``courseid`` in answers is 0 for a feedback inside a course (it
names the course a *site* feedback was answered from).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..results import parse
from ._base import Area, MoodleWarning, Page, iter_pages


@dataclass(frozen=True)
class Feedback:
    id: int
    course: int
    name: str
    coursemodule: int
    anonymous: int = 2
    intro: str = ""
    introformat: int = 1
    multiple_submit: bool = False
    autonumbering: bool = False
    publish_stats: bool = False
    completionsubmit: bool = False
    timeopen: int | None = None
    timeclose: int | None = None
    timemodified: int = 0
    email_notification: bool | None = None

    @property
    def is_anonymous(self) -> bool:
        """Anonymous feedback (1): answers carry no user; non-respondents cannot be listed."""
        return self.anonymous == 1


@dataclass(frozen=True)
class FeedbackList:
    feedbacks: tuple[Feedback, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class FeedbackItem:
    id: int
    feedback: int
    name: str
    typ: str
    label: str = ""
    presentation: str = ""
    hasvalue: int = 0
    position: int = 0
    required: bool = False
    itemnumber: int | None = None
    dependitem: int = 0
    dependvalue: str = ""
    options: str = ""
    template: int = 0
    nameformat: int = 1
    presentationformat: int = 1

    @property
    def choices(self) -> list[str]:
        """The answers of a multiple-choice question (``r>>>>>a|b|c<<<<<1`` gives a, b, c)."""
        if self.typ not in ("multichoice", "multichoicerated"):
            return []
        rest = self.presentation.split(">>>>>", 1)[-1]
        answers = rest.split("<<<<<")[0].split("|")
        return [answer.split("####", 1)[-1] for answer in answers]


@dataclass(frozen=True)
class ItemList:
    items: tuple[FeedbackItem, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class Response:
    id: int
    name: str
    printval: str
    rawval: str


@dataclass(frozen=True)
class Attempt:
    id: int
    userid: int
    fullname: str
    timemodified: int = 0
    courseid: int = 0
    responses: tuple[Response, ...] = ()


@dataclass(frozen=True)
class AnonymousAttempt:
    id: int
    number: int = 0
    courseid: int = 0
    responses: tuple[Response, ...] = ()


@dataclass(frozen=True)
class ResponsesAnalysis:
    attempts: tuple[Attempt, ...] = ()
    totalattempts: int = 0
    anonattempts: tuple[AnonymousAttempt, ...] = ()
    totalanonattempts: int = 0
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class Choice:
    answertext: str
    answercount: int
    quotient: float


@dataclass(frozen=True)
class AnalysedItem:
    item: FeedbackItem
    data: tuple[str, ...] = ()

    @property
    def choices(self) -> list[Choice]:
        """Per-answer counts of a multiple-choice question (empty for other questions)."""
        found = []
        for raw in self.data:
            try:
                value = json.loads(raw)
            except ValueError:
                return []
            if not isinstance(value, dict) or "answertext" not in value:
                return []
            found.append(Choice(str(value["answertext"]), int(value.get("answercount") or 0),
                                float(value.get("quotient") or 0)))
        return found


@dataclass(frozen=True)
class Analysis:
    completedcount: int
    itemscount: int
    itemsdata: tuple[AnalysedItem, ...] = ()
    warnings: tuple[MoodleWarning, ...] = ()


@dataclass(frozen=True)
class NonRespondent:
    userid: int
    fullname: str
    started: bool = False
    courseid: int = 0


@dataclass(frozen=True)
class NonRespondents:
    users: tuple[NonRespondent, ...] = ()
    total: int = 0
    warnings: tuple[MoodleWarning, ...] = ()


class ModFeedback(Area):
    def get_feedbacks_by_courses(self, courseids: Sequence[int] = ()) -> FeedbackList:
        """Calls mod_feedback_get_feedbacks_by_courses (read).

        Courses the user cannot enter are warnings (code "1"); no ids: the user's own courses.
        """
        fn = "mod_feedback_get_feedbacks_by_courses"
        params = {"courseids": list(courseids)} if courseids else {}
        return parse(FeedbackList, self._read(fn, params), fn)

    def get_items(self, feedbackid: int, *, courseid: int | None = None) -> ItemList:
        """Calls mod_feedback_get_items (read)."""
        fn = "mod_feedback_get_items"
        return parse(ItemList, self._read(fn, {"feedbackid": feedbackid, "courseid": courseid}), fn)

    def get_responses_analysis(self, feedbackid: int, *, groupid: int | None = None,
                               page: int | None = None, perpage: int | None = None,
                               courseid: int | None = None) -> ResponsesAnalysis:
        """Calls mod_feedback_get_responses_analysis (read).

        Everyone's answers, a page at a time. Needs ``mod/feedback:viewreports``. ``perpage`` 0 (the default)
        returns every answer.
        """
        fn = "mod_feedback_get_responses_analysis"
        params = {"feedbackid": feedbackid, "groupid": groupid, "page": page, "perpage": perpage,
                  "courseid": courseid}
        return parse(ResponsesAnalysis, self._read(fn, params), fn)

    def iter_responses(self, feedbackid: int, *, perpage: int = 100) -> Iterator[Attempt]:
        """Calls mod_feedback_get_responses_analysis (read).

        The named answers, page by page until a short page.
        """
        return iter_pages(lambda page: Page(self.get_responses_analysis(feedbackid, page=page,
                                                                        perpage=perpage).attempts), perpage)

    def get_analysis(self, feedbackid: int, *, groupid: int | None = None,
                     courseid: int | None = None) -> Analysis:
        """Calls mod_feedback_get_analysis (read).

        Counts per answer of choice questions, the free-text answers listed.
        """
        fn = "mod_feedback_get_analysis"
        params = {"feedbackid": feedbackid, "groupid": groupid, "courseid": courseid}
        return parse(Analysis, self._read(fn, params), fn)

    def get_non_respondents(self, feedbackid: int, *, groupid: int | None = None,
                            sort: str | None = None, page: int | None = None,
                            perpage: int | None = None, courseid: int | None = None) -> NonRespondents:
        """Calls mod_feedback_get_non_respondents (read).

        The users who may answer and have not (anonymous feedback: ``anonymous`` error). Without
        ``perpage`` Moodle returns 20 users from offset ``page``; ``total`` counts them all.
        """
        fn = "mod_feedback_get_non_respondents"
        params = {"feedbackid": feedbackid, "groupid": groupid, "sort": sort, "page": page,
                  "perpage": perpage, "courseid": courseid}
        return parse(NonRespondents, self._read(fn, params), fn)

    def iter_non_respondents(self, feedbackid: int, *, perpage: int = 100,
                             sort: str = "lastaccess") -> Iterator[NonRespondent]:
        """Calls mod_feedback_get_non_respondents (read).

        Page by page until ``total`` is reached.
        """
        def fetch(page: int) -> Page[NonRespondent]:
            result = self.get_non_respondents(feedbackid, sort=sort, page=page, perpage=perpage)
            return Page(result.users, result.total)

        return iter_pages(fetch, perpage)
