"""A department officer's page inside Moodle: the year's summary of their departments, as the console's
dashboard and reports count it for an officer (``Scope`` by department), with the cadres furthest
behind. Nothing of another department enters a number."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ..documents.document_values import plan_of
from ..read_models.dashboard import Dashboard, dashboard
from ..read_models.reports import CadreLine, ReportFilters, laggards
from ..read_models.scope import Scope

#: Cadres behind listed on the page; the console's report lists them all.
BEHIND_SHOWN = 30


@dataclass
class DepartmentPage:
    year: int | None
    departments: tuple[str, ...]
    summary: Dashboard
    behind: list[CadreLine] = field(default_factory=list)
    behind_total: int = 0


def department_page(session: Session, year: int | None, departments: Iterable[str]) -> DepartmentPage:
    chosen = tuple(sorted(set(departments)))
    scope = Scope(departments=frozenset(chosen))
    found = DepartmentPage(year, chosen, dashboard(session, year, scope))
    if year is None or not chosen:
        return found
    found.behind, found.behind_total = laggards(session, plan_of(session, year), ReportFilters(year), scope,
                                                limit=BEHIND_SHOWN)
    return found
