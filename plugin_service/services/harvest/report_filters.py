"""The completion report's filters that let a harvest read only the rows that changed: added by the
harvest itself where the service user may edit the report, and checked for ``cadre doctor``.

A filter is added once (``core_reportbuilder_filters_add``), for everyone who views the report; its
values are each viewer's own (``report_reads`` sets the service user's). Adding needs the right to edit
the report, which an admin's report grants only with ``moodle/reportbuilder:editall``; without it an
admin adds them by hand (``filters_setup``). Moodle answers a filter the report has already with
``invalidparameter`` (its "Duplicate filter" shows only with debugging on): the read that follows
proves whether it is there.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from moodle_bridge import AccessDeniedError, InvalidParameterError, MoodleClient, MoodleError
from rules.wording import Sentence

from ...models import AuditLog, utcnow
from .incremental import SET_FILTERS, FilterKnowledge
from .report import CompletionReport
from .report_reads import needed_filters

log = logging.getLogger(__name__)

ADD_FILTER = "core_reportbuilder_filters_add"
GET_REPORT = "core_reportbuilder_reports_get"
#: A service user found unable to edit the report is asked again after this long (its role may change).
ASK_EDIT_AGAIN = dt.timedelta(hours=20)
ACTOR = "harvest"
#: The report filters' names in Moodle's English, for an admin's instructions.
FILTER_TITLES = {"completion:timecompleted": "Course completion: Time completed",
                 "completion:timestarted": "Course completion: Time started",
                 "access:timeaccess": "Course access: Last access to course"}


def filters_setup(report: CompletionReport, missing: list[str]) -> str:
    """What an admin does so that harvests read only the rows that changed."""
    return Sentence("""\
So that a harvest reads only the rows that changed since the last one, the completion report needs a
filter on each date it shows. Either an admin adds them once (Site administration > Reports > Report
builder > Custom reports > "%(name)s" > Edit > Filters): %(filters)s; or the service user's role gets
moodle/reportbuilder:editall and core_reportbuilder_filters_add is added to the token's service, and the
next harvest adds them itself. Filters only narrow what a viewer asks for: the report reads as before.""",
                    name=report.name, filters="; ".join(FILTER_TITLES.get(name, name) for name in missing))


@dataclass(frozen=True)
class Additions:
    """Filters the harvest added to the report, those Moodle said it has already, and whether the
    service user may add filters (None: not asked)."""

    added: tuple[str, ...] = ()
    there: tuple[str, ...] = ()
    editable: bool | None = None


def add_missing_filters(client: MoodleClient, report: CompletionReport, known: FilterKnowledge,
                        functions: frozenset[str], *, audit: Callable[[str], None]) -> Additions:
    """Adds the filters ``report`` needs that earlier reads did not find on it, where the token's service
    has ``core_reportbuilder_filters_add`` and the service user may edit the report; ``audit(name)``
    records each addition as it is made. A service user found unable to is not asked again for
    ``ASK_EDIT_AGAIN``. Adding is a help, not a need: a failure stops it for this run and is logged (the
    read that follows is whole where a filter is missing)."""
    needed = needed_filters(report)
    wanted = [name for name in needed if name not in known.present]
    if not wanted or ADD_FILTER not in functions:
        return Additions()
    if known.editable is False and known.editable_seen_at is not None and (
            utcnow() - known.editable_seen_at < ASK_EDIT_AGAIN):
        return Additions()
    added: list[str] = []
    editable: bool | None = None
    there: set[str] = set()
    for name in wanted:
        if name in there:
            continue
        try:
            answer = client.core_reportbuilder.filters_add(report.id, name)
        except AccessDeniedError:
            editable = False
            break
        except InvalidParameterError:
            editable = True  # the report has it already, most likely: the read will tell
            there.add(name)
            continue
        except MoodleError as exc:
            log.warning("the filter %s was not added to report %s: %s", name, report.id, exc)
            break
        editable = True
        added.append(name)
        audit(name)
        there.update(other for other in needed if other not in answer.available and other not in added)
    return Additions(tuple(added), tuple(sorted(there)), editable)


def audit_addition(session: Session, report: CompletionReport, name: str, *, year: int) -> None:
    """The audit log's row for a filter the harvest added to the report."""
    session.add(AuditLog(actor=ACTOR, action=f"moodle:{ADD_FILTER}", target=f"report {report.id}",
                         detail={"report": report.name, "filter": name, "year": year}))


@dataclass(frozen=True)
class FilterStatus:
    """What ``cadre doctor`` finds of the report's filters: those a read of changed rows needs, those it
    has (None: it cannot tell), whether the service user may add them (None: it cannot tell), and whether
    the token's service has the functions."""

    report: CompletionReport
    needed: tuple[str, ...]
    present: frozenset[str] | None
    editable: bool | None
    can_set: bool
    can_add: bool

    @property
    def missing(self) -> list[str]:
        return [name for name in self.needed if self.present is None or name not in self.present]

    @property
    def incremental(self) -> bool:
        """Whether harvests read only changed rows: the filters are there, or the harvest adds them."""
        return self.can_set and ((self.present is not None and not self.missing)
                                 or (self.can_add and self.editable is True))


def check_filters(client: MoodleClient, report: CompletionReport, functions: frozenset[str]) -> FilterStatus:
    """Reads (only) which of the filters a read of changed rows needs the report has, and whether the
    service user may add the others (``core_reportbuilder_reports_get`` in edit mode answers only an
    editor; a viewer's answer shows the filters form, whose fields are named after the filters)."""
    needed = needed_filters(report)
    status = FilterStatus(report, needed, None, None, SET_FILTERS in functions, ADD_FILTER in functions)
    if GET_REPORT not in functions:
        return status
    area = client.core_reportbuilder
    try:
        view = area.reports_get(report.id, editmode=True, pagesize=1)
        if view.filters is not None:
            present = frozenset(name for name in needed if name not in view.filters.available)
            return FilterStatus(report, needed, present, True, status.can_set, status.can_add)
        editable: bool | None = True
    except AccessDeniedError:
        editable = False
    except MoodleError:
        return status
    try:
        view = area.reports_get(report.id, editmode=False, pagesize=1)
    except MoodleError:
        return FilterStatus(report, needed, None, editable, status.can_set, status.can_add)
    present = frozenset(name for name in needed if name in view.filter_identifiers)
    return FilterStatus(report, needed, present, editable, status.can_set, status.can_add)
