"""Whether employee numbers name cadres someone may record offline hours for in a year: a cadre of the
roster, in the year's plan, and within the person's departments."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.wording import Sentence

from ...models import Cadre, Membership
from .errors import OfflineError
from .who import Actor, scope_for

CHUNK = 500


def attendee_problems(session: Session, actor: Actor, year: int, numbers: Iterable[str]
                      ) -> dict[str, Sentence]:
    """Employee number -> why ``actor`` may not record it in ``year`` (only those with a problem)."""
    wanted = sorted(set(numbers))
    departments: dict[str, str] = {}
    members: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        departments.update(session.execute(select(Cadre.employee_no, Cadre.department)
                                           .where(Cadre.employee_no.in_(chunk))).all())
        members.update(session.scalars(select(Membership.employee_no).where(
            Membership.year == year, Membership.employee_no.in_(chunk))))
    scope = scope_for(session, actor, year)
    problems: dict[str, Sentence] = {}
    for number in wanted:
        if number not in departments:
            problems[number] = Sentence("no cadre has the employee number %(employee_no)s",
                                        employee_no=number)
        elif number not in members:
            problems[number] = Sentence("%(employee_no)s is not in the %(year)s plan", employee_no=number,
                                        year=year)
        elif not actor.records or not scope.allows(departments[number], number):
            problems[number] = Sentence("%(employee_no)s is not a cadre of your departments",
                                        employee_no=number)
    return problems


def check_attendees(session: Session, actor: Actor, year: int, numbers: list[str],
                    field: str = "attendees") -> None:
    """OfflineError listing every employee number ``actor`` may not record in ``year``."""
    problems = attendee_problems(session, actor, year, numbers)
    if problems:
        raise OfflineError(*problems.values(), field=field)
