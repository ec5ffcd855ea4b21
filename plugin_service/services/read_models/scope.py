"""Which cadres someone may see: everyone (an admin), the cadres of some departments (an officer), or
the cadres a school leader reviews (a reviewer). Every query of the dashboard, the reports and the cadre
pages takes a ``Scope`` and filters in SQL, so a page's numbers never include what its reader may not see.

Who reviews whom follows the plan's rule (``rules.reviewers``) on the stored roster, exactly as the
provisioning enrolled the reviewers; it is computed once per plan and roster state and kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from rules.reviewers import reviewer_for
from rules.roster import Cadre as RosterCadre
from rules.roster import Roster

from ...models import Cadre, Membership
from ..documents.document_values import plan_of


@dataclass(frozen=True)
class Scope:
    """``None`` means no limit on that side; both sides hold when both are set."""

    departments: frozenset[str] | None = None
    employee_nos: frozenset[str] | None = None

    @property
    def everything(self) -> bool:
        return self.departments is None and self.employee_nos is None

    def allows(self, department: str, employee_no: str) -> bool:
        return ((self.departments is None or department in self.departments)
                and (self.employee_nos is None or employee_no in self.employee_nos))

    def condition(self, department: Any = Cadre.department, employee_no: Any = Cadre.employee_no
                  ) -> ColumnElement[bool]:
        """The scope as a WHERE condition on the cadre's department and employee number columns."""
        parts: list[ColumnElement[bool]] = []
        if self.departments is not None:
            parts.append(department.in_(sorted(self.departments)) if self.departments else false())
        if self.employee_nos is not None:
            parts.append(employee_no.in_(sorted(self.employee_nos)) if self.employee_nos else false())
        if not parts:
            return true()
        return parts[0] if len(parts) == 1 else parts[0] & parts[1]


EVERYTHING = Scope()


def roster_from_store(session: Session) -> Roster:
    """The stored cadres (the latest applied roster) as the rules see a roster."""
    rows = session.execute(select(Cadre.employee_no, Cadre.name, Cadre.gender, Cadre.department,
                                  Cadre.department_type, Cadre.position, Cadre.rank, Cadre.email,
                                  Cadre.mobile, Cadre.status, Cadre.supervising_leader))
    return Roster(tuple(RosterCadre(*row) for row in rows), filename="stored roster")


_cache: dict[tuple[Any, ...], dict[str, frozenset[str]]] = {}
_lock = threading.Lock()


def reviewers_of_year(session: Session, year: int) -> dict[str, frozenset[str]]:
    """Reviewer's employee number -> the cadres of ``year`` they review."""
    plan = plan_of(session, year)
    if plan is None or plan.reviewers is None:
        return {}
    count, changed = session.execute(select(func.count(), func.max(Cadre.updated_at))
                                     .select_from(Cadre)).one()
    members = session.scalar(select(func.count()).select_from(Membership).where(Membership.year == year))
    key = (str(session.get_bind().engine.url), year, plan.sha256, count, changed, members)
    with _lock:
        if key in _cache:
            return _cache[key]
    roster = roster_from_store(session)
    placed = session.scalars(select(Membership.employee_no).where(Membership.year == year,
                                                                  Membership.tier_key.is_not(None),
                                                                  Membership.excluded.is_(None)))
    found: dict[str, set[str]] = {}
    for employee_no in placed:
        cadre = roster.get(employee_no)
        if cadre is None:
            continue
        choice = reviewer_for(plan, roster, cadre)
        if choice.reviewer is not None:
            found.setdefault(choice.reviewer, set()).add(cadre.employee_no)
    result = {reviewer: frozenset(cadres) for reviewer, cadres in found.items()}
    with _lock:
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = result
    return result


def reviewer_scope(session: Session, year: int | None, reviewer_no: str) -> Scope:
    if year is None:
        return Scope(employee_nos=frozenset())
    return Scope(employee_nos=reviewers_of_year(session, year).get(reviewer_no, frozenset()))
