"""Cadres' claims of offline study hours (学时申报) and the decisions on them.

A claim is for a recorded training the cadre attended but was not recorded at (``claim_training``), or
for study held elsewhere (``submit_claim``: its title, day, hours and a short description), always with
an evidence file (see ``evidence``). It is submitted by the cadre (the learner's page) or on their behalf
by an admin or an officer of their department, and decided once, approved or rejected with a reason, by
an admin, an officer of the cadre's department or the cadre's reviewer (never by the cadre). Approving a
training claim records the cadre at the training; approving another counts its own hours. Either way the
cadre's record is computed again at once. Every step is in the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.offline import DESCRIPTION_MAX, NAME_MAX, REASON_MAX
from rules.wording import Sentence

from ...config import Settings, load_settings
from ...models import Cadre, Membership, OfflineAttendance, OfflineClaim, OfflineTraining, utcnow
from ..platform.audit_log import record
from .calendar import year_of
from .claim_views import ClaimView, claim_view
from .errors import NotAllowed, NotFound, OfflineError
from .evidence import Evidence, check, remove, store
from .recompute import recompute
from .trainings import attend_by_claim
from .values import day_of, hours_of, text_of
from .who import Actor, acts_for, decides, sees

STATES = ("submitted", "approved", "rejected")
DECISIONS = ("approve", "reject")
OPEN = ("submitted", "approved")  # a claim in these states stands in the way of the same claim again
Result = TypeVar("Result")


def submit_claim(session: Session, employee_no: str, title: str, date: dt.date | str, hours: float | str,
                 description: str, evidence: Evidence | tuple[bytes, str], submitted_by: str | Actor, *,
                 settings: Settings | None = None) -> ClaimView:
    """A claim for study held elsewhere, submitted for the cadre ``employee_no``.

    ``submitted_by`` is the cadre themself (the learner's page names them, "lti:T20408") or an Actor
    acting for them, who must be an admin or an officer of their department. OfflineError (with the
    field at fault) and nothing stored when something is wrong."""
    actor_name = _submitter(session, submitted_by, employee_no)
    title = text_of(title, NAME_MAX, "title")
    held_on = day_of(date)
    claimed = hours_of(hours)
    description = text_of(description, DESCRIPTION_MAX, "description", required=False)
    year = year_of(session, held_on)
    _check_cadre(session, submitted_by, employee_no, year)
    duplicate = session.scalar(select(OfflineClaim.id).where(
        OfflineClaim.employee_no == employee_no, OfflineClaim.held_on == held_on.isoformat(),
        OfflineClaim.state.in_(OPEN), OfflineClaim.training_id.is_(None)).where(
        OfflineClaim.title == title))
    if duplicate is not None:
        raise OfflineError(Sentence('%(employee_no)s claimed "%(title)s" of %(day)s already (claim %(id)s)',
                                    employee_no=employee_no, title=title, day=held_on.isoformat(),
                                    id=duplicate), field="title")
    return _file(session, settings, evidence, OfflineClaim(
        year=year, employee_no=employee_no, training_id=None, title=title, held_on=held_on.isoformat(),
        hours=claimed, description=description, submitted_by=actor_name))


def claim_training(session: Session, employee_no: str, training_id: int, description: str,
                   evidence: Evidence | tuple[bytes, str], submitted_by: str | Actor, *,
                   settings: Settings | None = None) -> ClaimView:
    """A claim that the cadre attended a recorded training though they were not recorded at it: its
    name, day and hours are the training's."""
    actor_name = _submitter(session, submitted_by, employee_no)
    training = session.get(OfflineTraining, training_id)
    if training is None:
        raise NotFound(Sentence("no training %(id)s", id=training_id), field="training")
    description = text_of(description, DESCRIPTION_MAX, "description", required=False)
    _check_cadre(session, submitted_by, employee_no, training.year)
    if session.scalar(select(OfflineAttendance.id).where(OfflineAttendance.training_id == training.id,
                                                         OfflineAttendance.employee_no == employee_no)):
        raise OfflineError(Sentence('%(employee_no)s is recorded at "%(title)s" of %(day)s already',
                                    employee_no=employee_no, title=training.name, day=training.held_on),
                           field="training")
    duplicate = session.scalar(select(OfflineClaim.id).where(
        OfflineClaim.employee_no == employee_no, OfflineClaim.training_id == training.id,
        OfflineClaim.state.in_(OPEN)))
    if duplicate is not None:
        raise OfflineError(Sentence('%(employee_no)s claimed "%(title)s" of %(day)s already (claim %(id)s)',
                                    employee_no=employee_no, title=training.name, day=training.held_on,
                                    id=duplicate), field="training")
    return _file(session, settings, evidence, OfflineClaim(
        year=training.year, employee_no=employee_no, training_id=training.id, title=training.name,
        held_on=training.held_on, hours=training.hours, description=description, submitted_by=actor_name))


def review_claim(session: Session, claim_id: int, decision: str, reason: str, decided_by: Actor) -> ClaimView:
    """Approves or rejects a submitted claim (a rejection says why). NotFound for a claim the person may
    not see, NotAllowed for one they see but may not decide (their own), OfflineError for a claim
    decided already or a rejection without its reason."""
    if decision not in DECISIONS:
        raise OfflineError(Sentence('the decision is "approve" or "reject", not "%(decision)s"',
                                    decision=decision), field="decision")
    claim = session.scalar(select(OfflineClaim).where(OfflineClaim.id == claim_id).with_for_update())
    if claim is None or not sees(session, decided_by, claim.employee_no, claim.year):
        raise NotFound(Sentence("no claim %(id)s", id=claim_id))
    if not decides(session, decided_by, claim.employee_no, claim.year):
        raise NotAllowed(Sentence("nobody decides their own claim"))
    if claim.state != "submitted":
        raise OfflineError(Sentence("claim %(id)s was %(state)s already, by %(who)s", id=claim.id,
                                    state=_state_word(claim.state), who=claim.decided_by or "-"))
    reason = text_of(reason, REASON_MAX, "reason", required=decision == "reject")
    claim.state = "approved" if decision == "approve" else "rejected"
    claim.decided_by, claim.decided_at, claim.reason = decided_by.name, utcnow(), reason or None
    session.flush()
    record(session, decided_by.name, f"offline:claim-{decision}", f"{claim.year}/claim:{claim.id}",
           employee_no=claim.employee_no, title=claim.title, day=claim.held_on, hours=claim.hours,
           reason=reason)
    if claim.state == "approved":
        training = session.get(OfflineTraining, claim.training_id) if claim.training_id is not None else None
        attended = training is not None and session.scalar(select(OfflineAttendance.id).where(
            OfflineAttendance.training_id == training.id, OfflineAttendance.employee_no == claim.employee_no))
        if training is not None and not attended:
            attend_by_claim(session, decided_by, training, claim.employee_no, claim.id)
        else:
            recompute(session, claim.year, [claim.employee_no])
    view = claim_view(session, claim.id)
    assert view is not None
    return view


def _submitter(session: Session, submitted_by: str | Actor, employee_no: str) -> str:
    if isinstance(submitted_by, Actor):
        return submitted_by.name
    if not submitted_by.strip():
        raise ValueError("submitted_by names who submits the claim")
    return submitted_by


def _check_cadre(session: Session, submitted_by: str | Actor, employee_no: str, year: int) -> None:
    cadre = session.get(Cadre, employee_no)
    if cadre is None:
        raise OfflineError(Sentence("no cadre has the employee number %(employee_no)s",
                                    employee_no=employee_no), field="employee_no")
    if isinstance(submitted_by, Actor) and not acts_for(session, submitted_by, employee_no, year):
        raise NotAllowed(Sentence("%(employee_no)s is not a cadre of your departments",
                                  employee_no=employee_no), field="employee_no")
    member = session.scalar(select(Membership.id).where(Membership.year == year,
                                                       Membership.employee_no == employee_no))
    if member is None:
        raise OfflineError(Sentence("%(employee_no)s is not in the %(year)s plan", employee_no=employee_no,
                                    year=year), field="employee_no")


def _file(session: Session, settings: Settings | None, evidence: Evidence | tuple[bytes, str],
          claim: OfflineClaim) -> ClaimView:
    """Checks and stores the evidence, then the claim; the file is removed again if the claim is not."""
    settings = settings or load_settings()
    given = evidence if isinstance(evidence, Evidence) else Evidence(*evidence)
    checked = check(settings, given)
    claim.evidence_path = store(settings, claim.year, checked)
    claim.evidence_name, claim.evidence_type = checked.filename, checked.media_type
    claim.evidence_size, claim.evidence_sha256 = len(checked.data), checked.sha256

    def keep() -> ClaimView:
        session.add(claim)
        session.flush()
        record(session, claim.submitted_by, "offline:claim", f"{claim.year}/claim:{claim.id}",
               employee_no=claim.employee_no, title=claim.title, day=claim.held_on, hours=claim.hours,
               training=claim.training_id, evidence=claim.evidence_name,
               evidence_sha256=claim.evidence_sha256)
        view = claim_view(session, claim.id)
        assert view is not None
        return view

    return _or_remove(settings, claim.evidence_path, keep)


def _or_remove(settings: Settings, relative: str, step: Callable[[], Result]) -> Result:
    try:
        return step()
    except BaseException:
        remove(settings, relative)
        raise


def _state_word(state: str) -> Sentence:
    if state == "approved":
        return Sentence("approved")
    if state == "rejected":
        return Sentence("rejected")
    return Sentence("submitted")
