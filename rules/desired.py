"""The desired state of Moodle for one plan year: what the plan and the roster say must exist.

Everything carries a stable ``idnumber`` (or username) so it can be found again in Moodle, whatever
the ids there. Nothing here knows how Moodle is read or written: the reconciler diffs this against
what it reads and writes the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def category_idnumber(year: int) -> str:
    return f"cadre:{year}"


def class_idnumber(year: int, key: str) -> str:
    return f"cadre:{year}:class:{key}"


def course_idnumber(year: int, key: str) -> str:
    return f"cadre:{year}:course:{key}"


def course_shortname(year: int, key: str) -> str:
    """Shortnames are unique in Moodle, so a copy whose idnumber was not yet set is still found."""
    return f"cadre-{year}-{key}"


def username(employee_no: str) -> str:
    return employee_no.strip().lower()


@dataclass(frozen=True)
class DesiredUser:
    employee_no: str  # Moodle user idnumber
    username: str
    firstname: str
    lastname: str
    email: str
    department: str
    phone: str
    suspended: bool  # a departed cadre's account is suspended, never deleted
    auth: str = "manual"  # the plan's moodle.auth


@dataclass(frozen=True)
class DesiredCategory:
    idnumber: str
    name: str
    parent_idnumber: str | None = None  # the plan's moodle.parent_category; None: a top-level category


@dataclass(frozen=True)
class DesiredClass:
    """A class of one tier: a Moodle cohort (system context) whose members are cadres."""

    key: str
    idnumber: str
    name: str
    tier: str
    members: frozenset[str]  # employee numbers


@dataclass(frozen=True)
class DesiredCourse:
    key: str
    idnumber: str
    shortname: str
    fullname: str
    category_idnumber: str
    hours: float
    template: str | None  # shortname of the template course to copy, None: created empty
    startdate: int  # Unix time (the plan period, midnight in the plan's time zone)
    enddate: int
    required_tiers: frozenset[str]
    elective_tiers: frozenset[str]


@dataclass(frozen=True)
class DesiredEnrolment:
    employee_no: str
    course_idnumber: str
    role: str  # a Moodle role shortname: the plan's learner role or reviewer role


@dataclass(frozen=True)
class ReviewerAssignment:
    """A leader reviews (grades) the reflections of these cadres."""

    reviewer: str  # employee number of the leader
    cadres: frozenset[str]


@dataclass(frozen=True)
class DesiredState:
    year: int
    category: DesiredCategory
    users: tuple[DesiredUser, ...]
    classes: tuple[DesiredClass, ...]
    courses: tuple[DesiredCourse, ...]
    enrolments: frozenset[DesiredEnrolment]
    reviewers: tuple[ReviewerAssignment, ...]
    learner_role: str
    reviewer_role: str
    warnings: tuple[str, ...] = field(default=())  # rules.wording.Sentence, each naming a cadre

    def users_by_employee_no(self) -> dict[str, DesiredUser]:
        return {user.employee_no: user for user in self.users}
