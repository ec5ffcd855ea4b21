"""What one plan year looks like in Moodle now, read with as few calls as Moodle allows.

Objects are found by the stable keys the desired state gives them: users by idnumber (employee number)
and, for accounts made by hand, by username; the year's category, classes and courses by idnumber,
courses also by shortname (a copy whose idnumber was not yet set when a run stopped).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from moodle_bridge import MoodleClient
from moodle_bridge.areas.core_cohort import Cohort
from moodle_bridge.areas.core_course import Category, Course
from moodle_bridge.areas.core_user import User, UserField
from rules.desired import DesiredState


class MoodleStateError(Exception):
    """Moodle holds something the companion cannot safely decide about (e.g. duplicate idnumbers)."""


@dataclass(slots=True)  # one per enrolment read: 100,000 at 10,000 cadres
class Enrolled:
    roles: frozenset[str]
    active: bool


@dataclass
class ActualState:
    category: Category | None = None
    users: dict[str, User] = field(default_factory=dict)  # employee number -> user
    classes: dict[str, Cohort] = field(default_factory=dict)  # idnumber -> cohort
    members: dict[int, set[int]] = field(default_factory=dict)  # cohort id -> user ids
    courses: dict[str, Course] = field(default_factory=dict)  # idnumber -> course
    courses_by_shortname: dict[str, Course] = field(default_factory=dict)
    templates: dict[str, Course | None] = field(default_factory=dict)  # shortname -> template
    enrolments: dict[int, dict[int, Enrolled]] = field(default_factory=dict)  # course -> user -> ...

    def userid(self, employee_no: str) -> int | None:
        user = self.users.get(employee_no)
        return user.id if user else None


def read_state(client: MoodleClient, desired: DesiredState,
               extra_employee_nos: set[str] | None = None) -> ActualState:
    """Reads the year's objects; ``extra_employee_nos`` adds cadres known from earlier rosters."""
    state = ActualState()
    found = client.core_course.get_categories({"idnumber": desired.category.idnumber},
                                              addsubcategories=False)
    state.category = found[0] if found else None
    _read_users(client, desired, state, extra_employee_nos or set())
    _read_classes(client, desired, state)
    _read_courses(client, desired, state)
    _read_enrolments(client, state)
    return state


def _read_users(client: MoodleClient, desired: DesiredState, state: ActualState,
                extra: set[str]) -> None:
    wanted = sorted({user.employee_no for user in desired.users} | extra)
    by_idnumber: dict[str, list[User]] = defaultdict(list)
    for user in _users_by_field(client, "idnumber", wanted):
        if user.idnumber:
            by_idnumber[user.idnumber].append(user)
    duplicates = {no: users for no, users in by_idnumber.items() if len(users) > 1}
    if duplicates:
        listed = "; ".join(f"{no}: user ids {', '.join(str(u.id) for u in users)}"
                           for no, users in sorted(duplicates.items()))
        raise MoodleStateError("Moodle has several users with the same idnumber (employee number), "
                               f"so the right account cannot be chosen: {listed}. Give each its own "
                               "idnumber in Moodle, then run again")
    state.users = {no: users[0] for no, users in by_idnumber.items()}
    usernames = {user.username: user.employee_no for user in desired.users
                 if user.employee_no not in state.users}
    if usernames:
        for user in _users_by_field(client, "username", sorted(usernames)):
            if user.username in usernames:
                state.users[usernames[user.username]] = user


def _users_by_field(client: MoodleClient, field: UserField, values: list[str]) -> list[User]:
    """``get_users_by_field`` with the chunks sent in parallel: each value matches its own users, so no
    user comes back from two chunks."""
    chunks = list(client.batches(values))
    found = client.fan_out(lambda chunk: client.core_user.get_users_by_field(field, chunk), chunks)
    return [user for users in found for user in users]


def _read_classes(client: MoodleClient, desired: DesiredState, state: ActualState) -> None:
    prefix = desired.category.idnumber + ":class:"
    for cohort in client.core_cohort.iter_search_cohorts(prefix, includes="all"):
        if cohort.idnumber and cohort.idnumber.startswith(prefix):
            state.classes[cohort.idnumber] = cohort
    if state.classes:
        ids = [cohort.id for cohort in state.classes.values()]
        for members in client.core_cohort.get_cohort_members(ids):
            state.members[members.cohortid] = set(members.userids)
    for cohort in state.classes.values():
        state.members.setdefault(cohort.id, set())


def _read_courses(client: MoodleClient, desired: DesiredState, state: ActualState) -> None:
    if state.category is not None:
        for course in client.core_course.get_courses_by_field("category", state.category.id).courses:
            if course.idnumber:
                state.courses[course.idnumber] = course
            state.courses_by_shortname[course.shortname] = course
    missing = [wanted for wanted in desired.courses if wanted.idnumber not in state.courses]
    shortnames = [wanted.shortname for wanted in missing
                  if wanted.shortname not in state.courses_by_shortname]
    templates = sorted({c.template for c in missing if c.template})
    # One call per shortname (Moodle takes a single value), sent in parallel.
    found = client.fan_out(lambda shortname: client.core_course.get_courses_by_field(
        "shortname", shortname).courses, shortnames + templates)
    for shortname, courses in zip(shortnames, found[:len(shortnames)], strict=True):
        if courses:
            state.courses_by_shortname[shortname] = courses[0]
    for template, courses in zip(templates, found[len(shortnames):], strict=True):
        state.templates[template] = courses[0] if courses else None


def _read_enrolments(client: MoodleClient, state: ActualState) -> None:
    courses = list({course.id: course.id for course in
                    [*state.courses.values(), *state.courses_by_shortname.values()]}.values())
    shared: dict[frozenset[str], frozenset[str]] = {}  # nearly everyone holds the same one or two roles
    state.enrolments = dict(client.fan_out(partial(read_course_enrolments, client, shared=shared), courses))


def read_course_enrolments(client: MoodleClient, courseid: int, *,
                           shared: dict[frozenset[str], frozenset[str]] | None = None,
                           ) -> tuple[int, dict[int, Enrolled]]:
    """Everyone enrolled in one course: their roles, and whether the enrolment is active."""
    roles_seen = shared if shared is not None else {}
    enrolled: dict[int, Enrolled] = {}
    for user in client.core_enrol.iter_enrolled_users(courseid, page_size=5000, userfields=["roles"]):
        roles = user.role_shortnames
        enrolled[user.id] = Enrolled(roles_seen.setdefault(roles, roles), active=True)
    # Suspended is the complement of active (Moodle's onlysuspended / onlyactive options), and
    # there are few of them: reading those rather than every active user halves the work.
    for user in client.core_enrol.iter_enrolled_users(courseid, page_size=5000,
                                                       onlysuspended=True, userfields=["id"]):
        if user.id in enrolled:
            enrolled[user.id].active = False
    return courseid, enrolled
