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

from ..moodle_requirements import REQUIREMENTS, Requirement
from .harvest import SETUP, HarvestError, find_completion_report

SERVICE_PAGE = "Site administration > Server > Web services > External services"
ROLE_PAGE = "Site administration > Users > Permissions > Define roles"


@dataclass(frozen=True)
class FunctionCheck:
    requirement: Requirement
    available: bool

    @property
    def fix(self) -> str:
        caps = ", ".join(self.requirement.capabilities)
        return (f"add {self.requirement.function} to the token's service ({SERVICE_PAGE} > "
                f"Functions); the service user's role needs {caps}")


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
        if result is not None:
            report.probes.append(result)
    report.notes.append(
        "enrolments also need the service user's role to be allowed to assign the learner and "
        f"reviewer roles ({ROLE_PAGE} > Allow role assignments); Moodle answers "
        "wsusercannotassign otherwise, and this cannot be checked without enrolling someone")
    return report


def explain_fatal(url: str, exc: MoodleError) -> str:
    """One line for an error that stops every check."""
    if isinstance(exc, InvalidTokenError):
        return (f"{url} refused the token ({exc.errorcode}): create a token for the service user at "
                "Site administration > Server > Web services > Manage tokens")
    if isinstance(exc, FunctionNotInServiceError):
        return (f"the token's service lacks core_webservice_get_site_info: add it at {SERVICE_PAGE}"
                " > Functions")
    if isinstance(exc, TransientError):
        return f"cannot reach Moodle: {exc.message}"
    if isinstance(exc, ProtocolError):
        return f"{url} does not answer as a Moodle web service: {exc.message}"
    if isinstance(exc, AccessDeniedError):
        return (f"the service user may not use web services ({exc.errorcode}): grant its role "
                "webservice/rest:use")
    return f"Moodle at {url} answered an error: {exc}"


ProbeFunc = Callable[[MoodleClient, SiteInfo], "Probe | None"]


FIRST_ADMIN_ID = 2  # Moodle's installer creates the guest as user 1 and the first admin as user 2


def _probe_users_visible(client: MoodleClient, site: SiteInfo) -> Probe | None:
    """Moodle shows the caller itself always, but hides others without the view capabilities."""
    fn = "core_user_get_users_by_field"
    name = "other users are visible in full"
    fix = ("grant the service user's role moodle/user:viewdetails, moodle/user:viewalldetails and "
           "moodle/site:viewuseridentity: without them Moodle answers 'no such user' for users that "
           "exist, or leaves out their username and email")
    if fn not in site.function_names or site.userid == FIRST_ADMIN_ID:
        return None
    try:
        found = client.core_user.get_users_by_field("id", [FIRST_ADMIN_ID])
    except MoodleError as exc:
        return Probe(name, False, str(exc), fix)
    if not found:
        return Probe(name, False, f"{fn} answered no user for the site's first admin "
                     f"(id {FIRST_ADMIN_ID})", fix)
    hidden = [field for field in ("username", "email") if getattr(found[0], field) is None]
    if hidden:
        return Probe(name, False, f"{fn} leaves out {', '.join(hidden)} of other users", fix)
    return Probe(name, True, f"{fn} shows other users with their username and email")


def _probe_cohorts(client: MoodleClient, site: SiteInfo) -> Probe | None:
    fn = "core_cohort_search_cohorts"
    if fn not in site.function_names:
        return None
    try:
        client.core_cohort.search_cohorts("cadre-doctor-probe", includes="all", limitnum=1)
    except AccessDeniedError as exc:
        return Probe("cohorts are readable", False, str(exc),
                     "grant the service user's role moodle/cohort:view and moodle/cohort:manage")
    except MoodleError as exc:
        return Probe("cohorts are readable", False, str(exc))
    return Probe("cohorts are readable", True, f"{fn} answers")


def _probe_completion_report(client: MoodleClient, site: SiteInfo) -> Probe | None:
    """The harvest's fast path: a custom report on course participants with the completion columns.
    Its absence is not a failure (the harvest then asks once per cadre and course), so the probe
    passes either way and says how to create it."""
    name = "completion report for the harvest"
    if not {"core_reportbuilder_list_reports", "core_reportbuilder_retrieve_report"} <= site.function_names:
        return Probe(name, True, "core_reportbuilder_list_reports and core_reportbuilder_retrieve_report "
                     "are not in the token's service: the harvest asks once per cadre and course", SETUP)
    try:
        report = find_completion_report(client)
    except (MoodleError, HarvestError) as exc:
        return Probe(name, False, str(exc), SETUP)
    if report is None:
        language = ("" if site.lang.startswith("en")
                    else f" (the service user's language is {site.lang!r})")
        return Probe(name, True, "none found: the harvest asks once per cadre and course, slow for "
                     f"thousands of cadres{language}", SETUP)
    return Probe(name, True, f"report {report.id} {report.name!r}: completion is read in a few calls")


PROBES: tuple[ProbeFunc, ...] = (_probe_users_visible, _probe_cohorts, _probe_completion_report)
