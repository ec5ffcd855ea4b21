"""``cadre doctor``: is this Moodle site ready for Cadre Companion, and if not, what must an admin do?

The checks read only. A failure that stops everything (unreachable, wrong token, not a Moodle) becomes
one clear line; otherwise each required function is listed as available or missing with its fix, and a
few probes catch what the function list cannot show: Moodle answering "nothing" when a capability is
missing looks like an empty site, and would make the provisioning create duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from moodle_bridge import (
    AccessDeniedError,
    FunctionNotInServiceError,
    InvalidTokenError,
    MoodleClient,
    MoodleError,
    ProtocolError,
    TransientError,
)
from moodle_bridge.areas.core_webservice import SiteInfo
from rules.wording import Sentence, said

from ...moodle_requirements import REQUIREMENTS, Requirement
from ..harvest import SETUP, FilterStatus, HarvestError, check_filters, filters_setup, find_completion_report

# Moodle's menu paths are sentences of their own: a reader's catalogue may name them as their Moodle does.
SERVICE_PAGE = Sentence("Site administration > Server > Web services > External services")
ROLE_PAGE = Sentence("Site administration > Users > Permissions > Define roles")
TOKENS_PAGE = Sentence("Site administration > Server > Web services > Manage tokens")
MESSAGING_PAGE = Sentence("Site administration > General > Messaging")


@dataclass(frozen=True)
class FunctionCheck:
    requirement: Requirement
    available: bool

    @property
    def fix(self) -> str:
        return Sentence("add %(function)s to the token's service (%(page)s > Functions); the service "
                        "user's role needs %(capabilities)s", function=self.requirement.function,
                        page=SERVICE_PAGE, capabilities=", ".join(self.requirement.capabilities))


@dataclass(frozen=True)
class Probe:
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass
class DoctorReport:
    url: str
    site: SiteInfo | None = None
    fatal: str | None = None
    functions: list[FunctionCheck] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[FunctionCheck]:
        return [c for c in self.functions if not c.available and not c.requirement.optional]

    @property
    def ok(self) -> bool:
        return self.fatal is None and not self.missing and all(p.ok for p in self.probes)


def diagnose(client: MoodleClient) -> DoctorReport:
    """Runs every check against the site behind ``client``."""
    report = DoctorReport(url=client.url)
    try:
        site = client.core_webservice.get_site_info()
    except MoodleError as exc:
        report.fatal = explain_fatal(client.url, exc)
        return report
    report.site = site
    available = site.function_names
    report.functions = [FunctionCheck(r, r.function in available) for r in REQUIREMENTS]
    for probe in PROBES:
        result = probe(client, site)
        report.probes.extend((result,) if isinstance(result, Probe) else result or ())
    report.notes.append(Sentence(
        "enrolments also need the service user's role to be allowed to assign the learner and "
        "reviewer roles (%(page)s > Allow role assignments); Moodle answers %(code)s otherwise, "
        "and this cannot be checked without enrolling someone", page=ROLE_PAGE, code="wsusercannotassign"))
    return report


def explain_fatal(url: str, exc: MoodleError) -> str:
    """One line for an error that stops every check."""
    if isinstance(exc, InvalidTokenError):
        return Sentence("%(url)s refused the token (%(code)s): create a token for the service user at "
                        "%(page)s", url=url, code=exc.errorcode, page=TOKENS_PAGE)
    if isinstance(exc, FunctionNotInServiceError):
        return Sentence("the token's service lacks %(function)s: add it at %(page)s > Functions",
                        function="core_webservice_get_site_info", page=SERVICE_PAGE)
    if isinstance(exc, TransientError):
        return Sentence("cannot reach Moodle: %(error)s", error=exc.message)
    if isinstance(exc, ProtocolError):
        return Sentence("%(url)s does not answer as a Moodle web service: %(error)s", url=url,
                        error=exc.message)
    if isinstance(exc, AccessDeniedError):
        return Sentence("the service user may not use web services (%(code)s): grant its role "
                        "%(capability)s", code=exc.errorcode, capability="webservice/rest:use")
    return Sentence("Moodle at %(url)s answered an error: %(error)s", url=url, error=str(exc))


#: A check: its finding, several where one reading of the site answers them, or None where it has none.
ProbeFunc = Callable[[MoodleClient, SiteInfo], "Probe | tuple[Probe, ...] | None"]


FIRST_ADMIN_ID = 2  # Moodle's installer creates the guest as user 1 and the first admin as user 2


def _probe_users_visible(client: MoodleClient, site: SiteInfo) -> Probe | None:
    """Moodle shows the caller itself always, but hides others without the view capabilities."""
    fn = "core_user_get_users_by_field"
    name = Sentence("other users are visible in full")
    fix = Sentence("grant the service user's role %(details)s, %(all_details)s and %(identity)s: without "
                   "them Moodle answers 'no such user' for users that exist, or leaves out their username "
                   "and email", details="moodle/user:viewdetails", all_details="moodle/user:viewalldetails",
                   identity="moodle/site:viewuseridentity")
    if fn not in site.function_names or site.userid == FIRST_ADMIN_ID:
        return None
    try:
        found = client.core_user.get_users_by_field("id", [FIRST_ADMIN_ID])
    except MoodleError as exc:
        return Probe(name, False, said(exc), fix)
    if not found:
        return Probe(name, False, Sentence("%(function)s answered no user for the site's first admin "
                                           "(id %(id)s)", function=fn, id=FIRST_ADMIN_ID), fix)
    hidden = tuple(field for field in ("username", "email") if getattr(found[0], field) is None)
    if hidden == ("username", "email"):
        return Probe(name, False, Sentence("%(function)s leaves out username, email of other users",
                                           function=fn), fix)
    if hidden == ("username",):
        return Probe(name, False, Sentence("%(function)s leaves out username of other users",
                                           function=fn), fix)
    if hidden == ("email",):
        return Probe(name, False, Sentence("%(function)s leaves out email of other users", function=fn),
                     fix)
    return Probe(name, True, Sentence("%(function)s shows other users with their username and email",
                                      function=fn))


def _probe_cohorts(client: MoodleClient, site: SiteInfo) -> Probe | None:
    fn = "core_cohort_search_cohorts"
    name = Sentence("cohorts are readable")
    if fn not in site.function_names:
        return None
    try:
        client.core_cohort.search_cohorts("cadre-doctor-probe", includes="all", limitnum=1)
    except AccessDeniedError as exc:
        return Probe(name, False, said(exc),
                     Sentence("grant the service user's role %(view)s and %(manage)s",
                              view="moodle/cohort:view", manage="moodle/cohort:manage"))
    except MoodleError as exc:
        return Probe(name, False, said(exc))
    return Probe(name, True, Sentence("%(function)s answers", function=fn))


def _probe_completion_report(client: MoodleClient, site: SiteInfo) -> Probe | tuple[Probe, ...]:
    """The harvest's fast path: a custom report on course participants with the completion columns.
    Its absence is not a failure (the harvest then asks once per cadre and course), so the probe
    passes either way and says how to create it. The report found is then checked for reading only
    what changed (``_changed_reads``)."""
    name = Sentence("completion report for the harvest")
    listing, retrieving = "core_reportbuilder_list_reports", "core_reportbuilder_retrieve_report"
    if not {listing, retrieving} <= site.function_names:
        return Probe(name, True, Sentence("%(list)s and %(retrieve)s are not in the token's service: the "
                                          "harvest asks once per cadre and course",
                                          list=listing, retrieve=retrieving), SETUP)
    try:
        report = find_completion_report(client)
    except (MoodleError, HarvestError) as exc:
        return Probe(name, False, said(exc), SETUP)
    if report is None:
        if site.lang.startswith("en"):
            return Probe(name, True, Sentence("none found: the harvest asks once per cadre and course, "
                                              "slow for thousands of cadres"), SETUP)
        return Probe(name, True, Sentence("none found: the harvest asks once per cadre and course, slow for "
                                          "thousands of cadres (the service user's language is %(lang)s)",
                                          lang=repr(site.lang)), SETUP)
    status = check_filters(client, report, site.function_names)
    return (Probe(name, True, Sentence("report %(id)s %(name)s: completion is read in a few calls",
                                       id=report.id, name=repr(report.name))),
            Probe(Sentence("harvests read only what changed"), True, *_changed_reads(status)))


def _changed_reads(status: FilterStatus) -> tuple[str, str]:
    """Whether a harvest can read only the completion report's rows that changed since the last one: the
    report has a date filter on each of its dates, or the harvest may add them. Never a failure (a
    harvest then reads the whole report every time): (what was found, what an admin does)."""
    report, setting = status.report, "core_reportbuilder_set_filters"
    filters = ", ".join(status.missing)
    if not status.can_set:
        return (Sentence("%(function)s is not in the token's service: every harvest reads the whole report",
                         function=setting),
                Sentence("add %(function)s to the token's service (%(page)s > Functions)", function=setting,
                         page=SERVICE_PAGE))
    if status.present is not None and not status.missing:
        return Sentence("report %(id)s has the filters %(filters)s: a harvest reads only the rows changed "
                        "since the last one", id=report.id, filters=", ".join(status.needed)), ""
    if status.can_add and status.editable:
        return Sentence("report %(id)s lacks the filters %(filters)s, which the service user may add: the "
                        "next harvest adds them", id=report.id, filters=filters), ""
    if status.present is None:
        return (Sentence("cannot tell which filters report %(id)s has (%(function)s is not in the token's "
                         "service): where one is missing, a harvest reads the whole report", id=report.id,
                         function="core_reportbuilder_reports_get"),
                filters_setup(report, list(status.needed)))
    return (Sentence("report %(id)s lacks the filters %(filters)s and the service user may not add them: "
                     "every harvest reads the whole report", id=report.id, filters=filters),
            filters_setup(report, status.missing))


def _probe_messaging(client: MoodleClient, site: SiteInfo) -> Probe | None:
    """Reminders go only to the people Moodle says the service user may message: ``canmessage`` of
    ``core_message_get_member_info`` asked with the privacy information, as the sending does. A cadre
    shares no course with the service user, so without ``moodle/site:readallmessages`` Moodle refuses
    everyone whose privacy setting (by default) admits only course members."""
    fn = "core_message_get_member_info"
    name = Sentence("cadres can be messaged")
    fix = Sentence("grant the service user's role %(send)s and %(all)s, and keep messaging enabled "
                   "(%(page)s > Enable messaging system)", send="moodle/site:sendmessage",
                   all="moodle/site:readallmessages", page=MESSAGING_PAGE)
    if fn not in site.function_names or site.userid == FIRST_ADMIN_ID:
        return None
    try:
        members = client.core_message.get_member_info(site.userid, [FIRST_ADMIN_ID], includeprivacyinfo=True)
    except MoodleError as exc:
        return Probe(name, False, said(exc), fix)
    if not members:
        return Probe(name, False, Sentence("%(function)s answered nothing for the site's first admin (id "
                                           "%(id)s): the service user may not see other users' profiles",
                                           function=fn, id=FIRST_ADMIN_ID), fix)
    if members[0].canmessage is None:
        return Probe(name, False, Sentence("%(function)s does not say whether the service user may message "
                                           "others (%(field)s is empty)", function=fn, field="canmessage"),
                     fix)
    if not members[0].canmessage:
        return Probe(name, False, Sentence("Moodle says the service user may not message the site's first "
                                           "admin (id %(id)s): reminders would reach nobody who shares no "
                                           "course with it", id=FIRST_ADMIN_ID), fix)
    return Probe(name, True, Sentence("%(function)s says the service user may message users it shares no "
                                      "course with", function=fn))


PROBES: tuple[ProbeFunc, ...] = (_probe_users_visible, _probe_cohorts, _probe_completion_report,
                                 _probe_messaging)
