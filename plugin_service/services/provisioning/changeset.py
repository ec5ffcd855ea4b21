"""The difference between the desired year and Moodle, as an ordered list of operations.

Order matters: the category before its courses, users and classes before memberships, memberships
and enrolments added before any are taken away. Nothing is ever deleted: a cadre who leaves a class
loses the membership and has the enrolment suspended (completion data stays); a departed cadre's
account is suspended.
"""

from __future__ import annotations

import gc
import html
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rules.desired import DesiredState, DesiredUser
from rules.wording import Sentence

from .moodle_state import ActualState, Enrolled

PHASES = (
    "create_category", "create_user", "update_user", "create_class", "update_class",
    "copy_course", "create_course", "update_course", "add_member", "enrol",
    "remove_member", "suspend_enrolment",
)
SIGNS = {"create_category": "+", "create_user": "+", "create_class": "+", "copy_course": "+",
         "create_course": "+", "add_member": "+", "enrol": "+", "update_user": "~",
         "update_class": "~", "update_course": "~", "remove_member": "-", "suspend_enrolment": "-"}


@dataclass(frozen=True, slots=True)  # slots: a first apply holds 100,000 of them
class Op:
    kind: str
    target: str  # the stable key of what changes (employee number, idnumber)
    says: Callable[..., Sentence]  # one of this module's sentences, made from ``words`` when it is read
    words: tuple[Any, ...]
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sign(self) -> str:
        return SIGNS[self.kind]

    @property
    def text(self) -> Sentence:
        """What a person reads in ``plan diff`` and the console. Made when it is read: a first apply's
        100,000 operations would hold some 90 MB more as sentences, and the apply never reads them."""
        return self.says(*self.words)

    def describe(self) -> str:
        return f"{self.sign} {self.text}"


@dataclass(frozen=True)
class ChangeSet:
    year: int
    ops: tuple[Op, ...]

    @property
    def empty(self) -> bool:
        return not self.ops

    def counts(self) -> dict[str, int]:
        counted = Counter(op.kind for op in self.ops)
        return {kind: counted[kind] for kind in PHASES if counted[kind]}

    def by_kind(self, kind: str) -> list[Op]:
        return [op for op in self.ops if op.kind == kind]


def diff(desired: DesiredState, actual: ActualState, *, hours_field: str | None) -> ChangeSet:
    with _collector_paused():
        return _diff(desired, actual, hours_field=hours_field)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Creating 100,000 operations makes Python's cycle collector walk the whole heap over and over
    (half the time of a diff at 10,000 cadres); nothing made here forms a cycle."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _diff(desired: DesiredState, actual: ActualState, *, hours_field: str | None) -> ChangeSet:
    ops: list[Op] = []
    year = desired.year
    if actual.category is None:
        ops.append(Op("create_category", desired.category.idnumber, _create_category,
                      (desired.category.idnumber, desired.category.name), {"name": desired.category.name}))
    ops.extend(_user_ops(desired, actual))
    ops.extend(_class_ops(desired, actual))
    ops.extend(_course_ops(desired, actual, hours_field))
    ops.extend(_membership_ops(desired, actual))
    ops.extend(_enrolment_ops(desired, actual))
    order = {kind: index for index, kind in enumerate(PHASES)}
    ops.sort(key=lambda op: order[op.kind])  # stable: keeps each phase's own order
    return ChangeSet(year, tuple(ops))


def user_fields(user: DesiredUser) -> dict[str, Any]:
    return {"firstname": user.firstname, "lastname": user.lastname, "email": user.email,
            "department": user.department, "phone2": user.phone}


def _user_ops(desired: DesiredState, actual: ActualState) -> list[Op]:
    ops = []
    for user in desired.users:
        existing = actual.users.get(user.employee_no)
        wanted = user_fields(user)
        if existing is None:
            if not user.suspended:
                ops.append(Op("create_user", user.employee_no, _create_user,
                              (user.employee_no, user.lastname + user.firstname),
                              {"username": user.username, **wanted}))
            continue
        # A field Moodle did not send (phones are shown to site admins only) cannot be compared:
        # it was written when the account was created and is left alone.
        changes = {key: value for key, value in wanted.items()
                   if value and getattr(existing, key, None) is not None
                   and getattr(existing, key) != value}
        if existing.idnumber != user.employee_no:
            changes["idnumber"] = user.employee_no
        if bool(existing.suspended) != user.suspended:
            changes["suspended"] = user.suspended
        if changes:
            what = ("suspend" if changes.get("suspended") is True
                    else "reactivate" if changes.get("suspended") is False else "update")
            listed = ", ".join(sorted(k for k in changes if k != "suspended"))
            ops.append(Op("update_user", user.employee_no, _update_user, (what, user.employee_no, listed),
                          changes))
    return ops


def _class_ops(desired: DesiredState, actual: ActualState) -> list[Op]:
    ops = []
    for klass in desired.classes:
        existing = actual.classes.get(klass.idnumber)
        if existing is None:
            ops.append(Op("create_class", klass.idnumber, _create_class, (klass.idnumber, klass.name),
                          {"name": klass.name}))
        elif existing.plain_name != klass.name:
            ops.append(Op("update_class", klass.idnumber, _rename_class,
                          (klass.idnumber, existing.plain_name, klass.name), {"name": klass.name}))
    return ops


def _course_ops(desired: DesiredState, actual: ActualState, hours_field: str | None) -> list[Op]:
    ops = []
    for course in desired.courses:
        wanted: dict[str, Any] = {"fullname": course.fullname, "shortname": course.shortname,
                                  "startdate": course.startdate, "enddate": course.enddate,
                                  "hours": course.hours}
        existing = actual.courses.get(course.idnumber) or actual.courses_by_shortname.get(course.shortname)
        if existing is None:
            if course.template:
                ops.append(Op("copy_course", course.idnumber, _copy_course,
                              (course.idnumber, course.fullname, course.template),
                              {"template": course.template, **wanted}))
            else:
                ops.append(Op("create_course", course.idnumber, _create_course,
                              (course.idnumber, course.fullname), wanted))
            continue
        changes: dict[str, Any] = {}
        if existing.idnumber != course.idnumber:
            changes["idnumber"] = course.idnumber
        if html.unescape(existing.fullname) != course.fullname:
            changes["fullname"] = course.fullname
        if existing.startdate != course.startdate:
            changes["startdate"] = course.startdate
        if existing.enddate != course.enddate:
            changes["enddate"] = course.enddate
        if hours_field and existing.customfield(hours_field) not in (None, _hours_text(course.hours)):
            changes["hours"] = course.hours
        if changes:
            ops.append(Op("update_course", course.idnumber, _update_course,
                          (course.idnumber, ", ".join(sorted(changes))),
                          {"courseid": existing.id, **changes}))
    return ops


def _membership_ops(desired: DesiredState, actual: ActualState) -> list[Op]:
    adds, removes = [], []
    users = actual.users
    managed = {user.id: no for no, user in users.items()}
    for klass in desired.classes:
        cohort = actual.classes.get(klass.idnumber)
        current = actual.members.get(cohort.id, set()) if cohort else set()
        for employee_no in sorted(klass.members):
            userid = actual.userid(employee_no)
            if userid is None or userid not in current:
                adds.append(Op("add_member", f"{klass.idnumber}/{employee_no}", _add_member,
                               (employee_no, klass.idnumber),
                               {"class": klass.idnumber, "employee_no": employee_no}))
        wanted_ids = {actual.userid(no) for no in klass.members}
        for userid in sorted(current - wanted_ids):
            cadre = managed.get(userid)
            who = cadre if cadre is not None else f"user id {userid}"
            removes.append(Op("remove_member", f"{klass.idnumber}/{who}", _remove_member,
                              (cadre, userid, klass.idnumber),
                              {"class": klass.idnumber, "userid": userid}))
    return adds + removes


def _enrolment_ops(desired: DesiredState, actual: ActualState) -> list[Op]:
    enrols, suspends = [], []
    wanted: dict[tuple[str, str], set[str]] = {}
    for enrolment in desired.enrolments:
        wanted.setdefault((enrolment.course_idnumber, enrolment.employee_no), set()).add(enrolment.role)
    # Each course's and each user's current enrolments are looked up once, not once per pair.
    enrolled_in: dict[str, dict[int, Enrolled]] = {}
    for course in desired.courses:
        found = actual.courses.get(course.idnumber) or actual.courses_by_shortname.get(course.shortname)
        enrolled_in[course.idnumber] = actual.enrolments.get(found.id, {}) if found is not None else {}
    userids = {no: user.id for no, user in actual.users.items()}
    says: Callable[..., Sentence]
    words: tuple[str, ...]
    for (course_idnumber, employee_no), roles in sorted(wanted.items()):
        userid = userids.get(employee_no)
        current = enrolled_in[course_idnumber].get(userid) if userid is not None else None
        for role in sorted(roles) if len(roles) > 1 else roles:
            if current is None or role not in current.roles:
                says, words = _enrol, (employee_no, course_idnumber, role)
            elif not current.active:
                says, words = _reactivate_enrolment, (employee_no, course_idnumber)
            else:
                continue
            enrols.append(Op("enrol", f"{course_idnumber}/{employee_no}/{role}", says, words,
                             {"course": course_idnumber, "employee_no": employee_no, "role": role}))
    managed = {user.id: no for no, user in actual.users.items()}
    for course in desired.courses:
        existing = actual.courses.get(course.idnumber) or actual.courses_by_shortname.get(course.shortname)
        if existing is None:
            continue
        for userid, enrolled in sorted(actual.enrolments.get(existing.id, {}).items()):
            cadre = managed.get(userid)
            if cadre is None or not enrolled.active or (course.idnumber, cadre) in wanted:
                continue  # people the companion does not manage (teachers, admins) are left alone
            role = sorted(enrolled.roles)[0] if enrolled.roles else desired.learner_role
            suspends.append(Op("suspend_enrolment", f"{course.idnumber}/{cadre}", _suspend_enrolment,
                               (cadre, course.idnumber),
                               {"course": course.idnumber, "employee_no": cadre, "role": role}))
    return enrols + suspends


def _hours_text(hours: float) -> str:
    return f"{hours:g}"


# --- the sentences of the changes, as a person reads them ------------------------------------------

def _create_category(idnumber: str, name: str) -> Sentence:
    return Sentence("create category %(idnumber)s (%(name)s)", idnumber=idnumber, name=name)


def _create_user(employee_no: str, name: str) -> Sentence:
    return Sentence("create user %(employee_no)s %(name)s", employee_no=employee_no, name=name)


def _update_user(what: str, employee_no: str, fields: str) -> Sentence:
    """``what`` is suspend, reactivate or update; ``fields`` the changed fields' names, or empty."""
    if what == "suspend":
        return (Sentence("suspend user %(employee_no)s: %(fields)s", employee_no=employee_no, fields=fields)
                if fields else Sentence("suspend user %(employee_no)s", employee_no=employee_no))
    if what == "reactivate":
        return (Sentence("reactivate user %(employee_no)s: %(fields)s", employee_no=employee_no,
                         fields=fields)
                if fields else Sentence("reactivate user %(employee_no)s", employee_no=employee_no))
    return Sentence("update user %(employee_no)s: %(fields)s", employee_no=employee_no, fields=fields)


def _create_class(idnumber: str, name: str) -> Sentence:
    return Sentence("create class %(idnumber)s (%(name)s)", idnumber=idnumber, name=name)


def _rename_class(idnumber: str, old: str, new: str) -> Sentence:
    return Sentence("rename class %(idnumber)s: %(old)s → %(new)s", idnumber=idnumber, old=old, new=new)


def _copy_course(idnumber: str, name: str, template: str) -> Sentence:
    return Sentence("copy course %(idnumber)s (%(name)s) from template %(template)s", idnumber=idnumber,
                    name=name, template=template)


def _create_course(idnumber: str, name: str) -> Sentence:
    return Sentence("create course %(idnumber)s (%(name)s), empty: no template", idnumber=idnumber, name=name)


def _update_course(idnumber: str, fields: str) -> Sentence:
    return Sentence("update course %(idnumber)s: %(fields)s", idnumber=idnumber, fields=fields)


def _add_member(employee_no: str, klass: str) -> Sentence:
    return Sentence("add %(employee_no)s to class %(klass)s", employee_no=employee_no, klass=klass)


def _remove_member(employee_no: str | None, userid: int, klass: str) -> Sentence:
    """A member the companion does not manage is named by their Moodle user id."""
    if employee_no is None:
        return Sentence("remove user id %(userid)s from class %(klass)s", userid=userid, klass=klass)
    return Sentence("remove %(employee_no)s from class %(klass)s", employee_no=employee_no, klass=klass)


def _enrol(employee_no: str, course: str, role: str) -> Sentence:
    return Sentence("enrol %(employee_no)s in %(course)s as %(role)s", employee_no=employee_no, course=course,
                    role=role)


def _reactivate_enrolment(employee_no: str, course: str) -> Sentence:
    return Sentence("reactivate the enrolment of %(employee_no)s in %(course)s", employee_no=employee_no,
                    course=course)


def _suspend_enrolment(employee_no: str, course: str) -> Sentence:
    return Sentence("suspend the enrolment of %(employee_no)s in %(course)s", employee_no=employee_no,
                    course=course)
