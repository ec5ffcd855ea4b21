"""Who may do what with offline hours.

- An admin records trainings and decides every claim.
- A department officer records trainings for the cadres of their departments, claims for them, and
  decides their claims.
- A reviewer (school leader) decides the claims of the cadres the plan has them review (the same
  cadres whose reflections they review, ``read_models.scope``), and sees their trainings.
- A learner (a cadre on the learner's page) claims for themself and sees their own claims.

Nobody decides their own claim. A claim someone may not see is "not found", as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ...models import Cadre
from ..read_models.scope import EVERYTHING, Scope, reviewer_scope

ADMIN, OFFICER, REVIEWER, LEARNER = "admin", "officer", "reviewer", "learner"
ROLES = (ADMIN, OFFICER, REVIEWER, LEARNER)


@dataclass(frozen=True)
class Actor:
    """A person acting on offline hours. ``name`` is how the audit log and the claims name them
    ("console:officer1", "cli", "lti:T20408"); ``departments`` are an officer's, ``employee_no`` a
    reviewer's or a learner's own."""

    name: str
    role: str
    departments: frozenset[str] = frozenset()
    employee_no: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {self.role!r}")

    @property
    def records(self) -> bool:
        """Whether they record trainings and claim on cadres' behalf."""
        return self.role in (ADMIN, OFFICER)


#: The command line acts with an admin's rights (whoever runs it can reach the database anyway).
COMMAND_LINE = Actor("cli", ADMIN)


def scope_for(session: Session, actor: Actor, year: int | None) -> Scope:
    """The cadres ``actor`` sees in ``year``."""
    if actor.role == ADMIN:
        return EVERYTHING
    if actor.role == OFFICER:
        return Scope(departments=actor.departments)
    if actor.role == REVIEWER:
        return reviewer_scope(session, year, actor.employee_no or "")
    return Scope(employee_nos=frozenset({actor.employee_no}) if actor.employee_no else frozenset())


def sees(session: Session, actor: Actor, employee_no: str, year: int) -> bool:
    """Whether ``actor`` sees the cadre's offline hours and claims of ``year``."""
    cadre = session.get(Cadre, employee_no)
    return cadre is not None and scope_for(session, actor, year).allows(cadre.department, employee_no)


def acts_for(session: Session, actor: Actor, employee_no: str, year: int) -> bool:
    """Whether ``actor`` may record the cadre at a training or claim hours for them."""
    if actor.role == LEARNER:
        return actor.employee_no == employee_no
    return actor.records and sees(session, actor, employee_no, year)


def decides(session: Session, actor: Actor, employee_no: str, year: int) -> bool:
    """Whether ``actor`` may approve or reject the cadre's claims of ``year``."""
    if actor.role == LEARNER or (actor.employee_no is not None and actor.employee_no == employee_no):
        return False
    return sees(session, actor, employee_no, year)
