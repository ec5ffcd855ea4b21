"""Everything the Moodle check says to an admin is a Sentence, so that the Chinese console can show it in
Chinese, while ``cadre doctor`` and its HTML page keep their English word for word.

The site is a stub that answers as each case needs: every fatal error, every probe's every outcome, and
the function list with required and optional functions missing. Each text is also pinned to its English.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from moodle_bridge import (
    AccessDeniedError,
    FunctionNotInServiceError,
    InvalidParameterError,
    InvalidTokenError,
    MoodleError,
    ProtocolError,
    TransientError,
)
from moodle_bridge.areas.core_webservice import SiteFunction, SiteInfo
from plugin_service.cli.doctor import print_report
from plugin_service.moodle_requirements import REQUIREMENTS
from plugin_service.rendering import render
from plugin_service.services.harvest import SETUP, HarvestError
from plugin_service.services.harvest.report import PARTICIPANTS_SOURCE, TITLES
from plugin_service.services.provisioning.doctor import DoctorReport, Probe, diagnose
from rules.wording import Sentence

URL = "https://moodle.example.edu"
EVERY_FUNCTION = frozenset(r.function for r in REQUIREMENTS)
REPORT_FUNCTIONS = frozenset({"core_reportbuilder_list_reports", "core_reportbuilder_retrieve_report"})
ADMIN = SimpleNamespace(username="admin", email="admin@example.edu")


#: The report's date filters, as the harvest reads changed rows by them.
NEEDED = ("completion:timecompleted", "completion:timestarted", "access:timeaccess")


class _Reports:
    """The report builder: a completion report (``found``), and its filters as ``reports_get`` shows
    them: ``filters`` it has, and whether the service user may edit it (``editable``)."""

    def __init__(self, found: bool, error: Exception | None, filters: tuple[str, ...] = NEEDED,
                 editable: bool = True) -> None:
        self.found = found
        self.error = error
        self.filters = filters
        self.editable = editable

    def iter_reports(self) -> Iterator[SimpleNamespace]:
        if self.error is not None:
            raise self.error
        if self.found:
            yield SimpleNamespace(id=7, name="Course completion export", source=PARTICIPANTS_SOURCE)

    def retrieve_report(self, reportid: int, **_: Any) -> SimpleNamespace:
        return SimpleNamespace(headers=tuple(TITLES.values()))

    def reports_get(self, reportid: int, *, editmode: bool, **_: Any) -> SimpleNamespace:
        if editmode and not self.editable:
            raise AccessDeniedError("You cannot edit this report", errorcode="errorreportedit")
        if editmode:
            return SimpleNamespace(filters=SimpleNamespace(
                available=frozenset(NEEDED) - set(self.filters)))
        return SimpleNamespace(filters=None, filter_identifiers=frozenset(self.filters))


class _Site:
    """A Moodle client's stand-in: ``url``, the areas the doctor calls, and what each answers."""

    def __init__(self, *, fatal: MoodleError | None = None, functions: frozenset[str] = EVERY_FUNCTION,
                 lang: str = "en", users: list[Any] | MoodleError | None = None,
                 cohorts: MoodleError | None = None, report: bool = False,
                 report_error: Exception | None = None, filters: tuple[str, ...] = NEEDED,
                 editable: bool = True, members: list[Any] | MoodleError | None = None) -> None:
        self.url = URL
        info = SiteInfo(sitename="College", username="wsbot", userid=3, siteurl=URL,
                        functions=tuple(SiteFunction(name, "1") for name in sorted(functions)),
                        fullname="Companion Bot", lang=lang, release="5.1")
        self.core_webservice = SimpleNamespace(get_site_info=_answer(fatal if fatal else info))
        self.core_user = SimpleNamespace(get_users_by_field=_answer([ADMIN] if users is None else users))
        self.core_cohort = SimpleNamespace(search_cohorts=_answer(cohorts if cohorts else []))
        self.core_reportbuilder = _Reports(report, report_error, filters, editable)
        reachable = [SimpleNamespace(id=2, canmessage=True)]
        answer = reachable if members is None else members
        self.core_message = SimpleNamespace(get_member_info=_answer(answer))


def _answer(result: Any) -> Callable[..., Any]:
    def call(*_: Any, **__: Any) -> Any:
        if isinstance(result, Exception):
            raise result
        return result
    return call


def _doctor(**site: Any) -> DoctorReport:
    return diagnose(_Site(**site))  # type: ignore[arg-type]


def _error(kind: type[MoodleError], code: str, message: str = "Access denied") -> MoodleError:
    return kind(message, wsfunction="core_webservice_get_site_info", errorcode=code)


FATAL = [
    (_error(InvalidTokenError, "invalidtoken"),
     f"{URL} refused the token (invalidtoken): create a token for the service user at Site administration > "
     "Server > Web services > Manage tokens"),
    (_error(FunctionNotInServiceError, "accessexception"),
     "the token's service lacks core_webservice_get_site_info: add it at Site administration > Server > "
     "Web services > External services > Functions"),
    (TransientError("connection refused"), "cannot reach Moodle: connection refused"),
    (ProtocolError("an HTML page"), f"{URL} does not answer as a Moodle web service: an HTML page"),
    (_error(AccessDeniedError, "nopermissions"),
     "the service user may not use web services (nopermissions): grant its role webservice/rest:use"),
    (_error(InvalidParameterError, "invalidparameter", "Invalid parameter"),
     f"Moodle at {URL} answered an error: core_webservice_get_site_info [invalidparameter]: Invalid "
     "parameter"),
]


@pytest.mark.parametrize(("error", "english"), FATAL, ids=[type(e).__name__ for e, _ in FATAL])
def test_a_fatal_error_is_one_sentence(error: MoodleError, english: str) -> None:
    report = _doctor(fatal=error)
    assert isinstance(report.fatal, Sentence) and report.fatal == english


def _probe(report: DoctorReport, name: str) -> Probe:
    return next(p for p in report.probes if p.name == name)


def _assert_said(probe: Probe, detail: str, moodle_text: bool = False) -> None:
    """The probe's name, detail and fix are sentences (the detail may be Moodle's own error text; the
    completion report's fix is the harvest's own ``SETUP``, passed on as it is)."""
    assert isinstance(probe.name, Sentence)
    assert probe.detail == detail
    assert isinstance(probe.detail, Sentence) != moodle_text
    assert not probe.fix or probe.fix is SETUP or isinstance(probe.fix, Sentence)


USERS = "other users are visible in full"
FN = "core_user_get_users_by_field"
USER_CASES = [
    ("visible", [ADMIN], f"{FN} shows other users with their username and email"),
    ("none", [], f"{FN} answered no user for the site's first admin (id 2)"),
    ("no username", [SimpleNamespace(username=None, email="a@b")],
     f"{FN} leaves out username of other users"),
    ("no email", [SimpleNamespace(username="admin", email=None)], f"{FN} leaves out email of other users"),
    ("neither", [SimpleNamespace(username=None, email=None)],
     f"{FN} leaves out username, email of other users"),
]


@pytest.mark.parametrize(("users", "english"), [c[1:] for c in USER_CASES], ids=[c[0] for c in USER_CASES])
def test_the_users_probe_speaks_in_sentences(users: list[Any], english: str) -> None:
    probe = _probe(_doctor(users=users), USERS)
    _assert_said(probe, english)
    assert probe.ok == (not probe.fix)
    if probe.fix:
        assert probe.fix == ("grant the service user's role moodle/user:viewdetails, "
                             "moodle/user:viewalldetails and moodle/site:viewuseridentity: without them "
                             "Moodle answers 'no such user' for users that exist, or leaves out their "
                             "username and email")


def test_moodle_s_own_error_text_stays_as_moodle_wrote_it() -> None:
    error = _error(AccessDeniedError, "nopermissions")
    users = _probe(_doctor(users=error), USERS)
    _assert_said(users, str(error), moodle_text=True)
    cohorts = _probe(_doctor(cohorts=error), "cohorts are readable")
    _assert_said(cohorts, str(error), moodle_text=True)
    assert cohorts.fix == "grant the service user's role moodle/cohort:view and moodle/cohort:manage"
    other = _error(InvalidParameterError, "invalidparameter")
    _assert_said(_probe(_doctor(cohorts=other), "cohorts are readable"), str(other), moodle_text=True)
    _assert_said(_probe(_doctor(cohorts=None), "cohorts are readable"), "core_cohort_search_cohorts answers")


REPORT = "completion report for the harvest"
SLOW = "none found: the harvest asks once per cadre and course, slow for thousands of cadres"
REPORT_CASES = [
    ("no report functions", {"functions": EVERY_FUNCTION - REPORT_FUNCTIONS},
     "core_reportbuilder_list_reports and core_reportbuilder_retrieve_report are not in the token's "
     "service: the harvest asks once per cadre and course"),
    ("none found", {}, SLOW),
    ("none found, not in English", {"lang": "zh_cn"}, SLOW + " (the service user's language is 'zh_cn')"),
    ("found", {"report": True},
     "report 7 'Course completion export': completion is read in a few calls"),
]


@pytest.mark.parametrize(("site", "english"), [c[1:] for c in REPORT_CASES], ids=[c[0] for c in REPORT_CASES])
def test_the_completion_report_probe_speaks_in_sentences(site: dict[str, Any], english: str) -> None:
    _assert_said(_probe(_doctor(**site), REPORT), english)


CHANGED = "harvests read only what changed"
TIMES = "completion:timecompleted, completion:timestarted, access:timeaccess"
ADMIN_ADDS = ('So that a harvest reads only the rows that changed since the last one, the completion report '
              'needs a\nfilter on each date it shows. Either an admin adds them once (Site administration > '
              'Reports > Report\nbuilder > Custom reports > "Course completion export" > Edit > Filters): '
              '{filters}; or the service user\'s role gets\nmoodle/reportbuilder:editall and '
              "core_reportbuilder_filters_add is added to the token's service, and the\nnext harvest adds "
              "them itself. Filters only narrow what a viewer asks for: the report reads as before.")
CHANGED_CASES = [
    ("all there", {}, f"report 7 has the filters {TIMES}: a harvest reads only the rows changed since the "
                      "last one", ""),
    ("the harvest adds them", {"filters": ()},
     f"report 7 lacks the filters {TIMES}, which the service user may add: the next harvest adds them", ""),
    ("an admin adds one", {"filters": NEEDED[:2], "editable": False},
     "report 7 lacks the filters access:timeaccess and the service user may not add them: every harvest "
     "reads the whole report", ADMIN_ADDS.format(filters="Course access: Last access to course")),
    ("the viewer has them", {"editable": False},
     f"report 7 has the filters {TIMES}: a harvest reads only the rows changed since the last one", ""),
    ("no set_filters", {"functions": EVERY_FUNCTION - {"core_reportbuilder_set_filters"}},
     "core_reportbuilder_set_filters is not in the token's service: every harvest reads the whole report",
     "add core_reportbuilder_set_filters to the token's service (Site administration > Server > Web "
     "services > External services > Functions)"),
    ("no reports_get", {"functions": EVERY_FUNCTION - {"core_reportbuilder_reports_get"}, "editable": False},
     "cannot tell which filters report 7 has (core_reportbuilder_reports_get is not in the token's "
     "service): where one is missing, a harvest reads the whole report",
     ADMIN_ADDS.format(filters="Course completion: Time completed; Course completion: Time started; "
                               "Course access: Last access to course")),
]


@pytest.mark.parametrize(("site", "english", "fix"), [c[1:] for c in CHANGED_CASES],
                         ids=[c[0] for c in CHANGED_CASES])
def test_the_changed_rows_probe_says_what_an_admin_does(site: dict[str, Any], english: str, fix: str) -> None:
    """Whether a harvest reads only the rows that changed: never a failure (the harvest then reads the
    whole report), but the fix names the filters an admin adds, in Moodle's words."""
    probe = _probe(_doctor(report=True, **site), CHANGED)
    _assert_said(probe, english)
    assert probe.ok and probe.fix == fix
    assert not probe.fix or isinstance(probe.fix, Sentence)


def test_without_a_completion_report_nothing_is_said_of_its_filters() -> None:
    assert all(p.name != CHANGED for p in _doctor().probes)


def test_a_harvest_error_keeps_its_sentence() -> None:
    said = Sentence("report %(id)s cannot serve", id=7)
    probe = _probe(_doctor(report_error=HarvestError(said)), REPORT)
    assert probe.detail is said and not probe.ok
    plain = _probe(_doctor(report_error=HarvestError("not a sentence")), REPORT)
    assert plain.detail == "not a sentence"


MESSAGING = "cadres can be messaged"
MESSAGING_FIX = ("grant the service user's role moodle/site:sendmessage and moodle/site:readallmessages, and "
                 "keep messaging enabled (Site administration > General > Messaging > Enable messaging "
                 "system)")
MESSAGING_CASES = [
    ("reachable", None,
     "core_message_get_member_info says the service user may message users it shares no course with"),
    ("refused", [SimpleNamespace(id=2, canmessage=False)],
     "Moodle says the service user may not message the site's first admin (id 2): reminders would reach "
     "nobody who shares no course with it"),
    ("not said", [SimpleNamespace(id=2, canmessage=None)],
     "core_message_get_member_info does not say whether the service user may message others (canmessage "
     "is empty)"),
    ("nobody", [], "core_message_get_member_info answered nothing for the site's first admin (id 2): the "
     "service user may not see other users' profiles"),
]


@pytest.mark.parametrize(("members", "english"), [c[1:] for c in MESSAGING_CASES],
                         ids=[c[0] for c in MESSAGING_CASES])
def test_the_messaging_probe_speaks_in_sentences(members: list[Any] | None, english: str) -> None:
    probe = _probe(_doctor(members=members), MESSAGING)
    _assert_said(probe, english)
    assert probe.ok == (members is None)
    assert probe.fix == ("" if members is None else MESSAGING_FIX)


def test_a_messaging_error_is_moodle_s_own_text() -> None:
    error = _error(MoodleError, "disabled", "Messaging is disabled on this site")
    probe = _probe(_doctor(members=error), MESSAGING)
    _assert_said(probe, str(error), moodle_text=True)
    assert not probe.ok


def test_the_function_list_and_the_note_are_sentences() -> None:
    report = _doctor(functions=frozenset({"core_webservice_get_site_info"}))
    assert report.missing and any(c.requirement.optional for c in report.functions)
    for check in report.functions:
        assert isinstance(check.requirement.feature, Sentence)
        assert isinstance(check.fix, Sentence)
        if check.requirement.optional:
            assert isinstance(check.requirement.why, Sentence) and check.requirement.why
    cohorts = next(c for c in report.functions if c.requirement.function == "core_cohort_create_cohorts")
    assert cohorts.requirement.feature == "provisioning"
    assert cohorts.fix == ("add core_cohort_create_cohorts to the token's service (Site administration > "
                           "Server > Web services > External services > Functions); the service user's role "
                           "needs moodle/cohort:manage")
    assert report.notes and all(isinstance(note, Sentence) for note in report.notes)
    assert report.notes[0] == (
        "enrolments also need the service user's role to be allowed to assign the learner and reviewer roles "
        "(Site administration > Users > Permissions > Define roles > Allow role assignments); Moodle answers "
        "wsusercannotassign otherwise, and this cannot be checked without enrolling someone")


def _marked(template: str) -> str:
    return "«" + template + "»"


def test_moodle_s_menu_paths_are_translated_with_the_sentence() -> None:
    report = _doctor(functions=EVERY_FUNCTION - {"core_cohort_create_cohorts"})
    check = next(c for c in report.functions if c.requirement.function == "core_cohort_create_cohorts")
    assert isinstance(check.fix, Sentence)
    wording = check.fix.translated(_marked)
    assert "(«Site administration > Server > Web services > External services» > Functions)" in wording
    assert "core_cohort_create_cohorts" in wording and "moodle/cohort:manage" in wording


def _plain(report: DoctorReport) -> DoctorReport:
    """The same report with every sentence turned into plain text."""
    def checks() -> Iterator[Any]:
        for c in report.functions:
            requirement = dataclasses.replace(c.requirement, feature=str(c.requirement.feature),
                                              why=str(c.requirement.why))
            yield SimpleNamespace(requirement=requirement, available=c.available, fix=str(c.fix))
    return dataclasses.replace(
        report, fatal=None if report.fatal is None else str(report.fatal), functions=list(checks()),
        probes=[Probe(str(p.name), p.ok, str(p.detail), str(p.fix)) for p in report.probes],
        notes=[str(n) for n in report.notes])


REPORTS = {
    "fatal": {"fatal": _error(InvalidTokenError, "invalidtoken")},
    "missing": {"functions": frozenset({"core_webservice_get_site_info", FN}), "lang": "zh_cn",
                "users": [SimpleNamespace(username=None, email=None)]},
    "all set": {"report": True},
    "an admin adds filters": {"report": True, "filters": (), "editable": False},
}


@pytest.mark.parametrize("site", REPORTS.values(), ids=REPORTS.keys())
def test_the_command_and_its_page_say_exactly_the_english(site: dict[str, Any],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    report = _doctor(**site)
    print_report(report)
    said = capsys.readouterr()
    print_report(_plain(report))
    assert capsys.readouterr() == said
    page = render("console/doctor.html", report=report)
    assert page == render("console/doctor.html", report=_plain(report))
