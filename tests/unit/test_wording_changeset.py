"""Every change a diff lists is a Sentence, so that the Chinese console shows the plan's diff in Chinese,
while ``plan diff`` keeps its English word for word.

One year against a Moodle that differs from it in every way a diff knows: each kind of change and each
of its wordings appears once, and each text is pinned to its English. The sentences survive being stored
as the console stores them (``rules.wording.dump``) and read back.
"""

from __future__ import annotations

from moodle_bridge.areas.core_cohort import Cohort
from moodle_bridge.areas.core_course import Course
from moodle_bridge.areas.core_user import User
from plugin_service.services.provisioning.changeset import PHASES, diff
from plugin_service.services.provisioning.moodle_state import ActualState, Enrolled
from rules.desired import (
    DesiredCategory,
    DesiredClass,
    DesiredCourse,
    DesiredEnrolment,
    DesiredState,
    DesiredUser,
)
from rules.wording import Sentence, dump, load

EXPECTED = [
    "+ create category cadre:2026 (2026 年度干部学习)",
    "+ create user T1 张三",
    "~ update user T2: email",
    "~ suspend user T3",
    "~ suspend user T4: email",
    "~ reactivate user T5",
    "~ reactivate user T6: department",
    "+ create class cadre:2026:class:new (新班)",
    "~ rename class cadre:2026:class:old: 旧班 → 处级班",
    "+ copy course cadre:2026:course:policy (政策法规) from template TPL-POLICY",
    "+ create course cadre:2026:course:empty (空课程), empty: no template",
    "~ update course cadre:2026:course:kept: fullname",
    "+ add T1 to class cadre:2026:class:old",
    "+ enrol T1 in cadre:2026:course:kept as student",
    "+ reactivate the enrolment of T5 in cadre:2026:course:kept",
    "- remove T2 from class cadre:2026:class:old",
    "- remove user id 999 from class cadre:2026:class:old",
    "- suspend the enrolment of T6 in cadre:2026:course:kept",
]


def _user(no: str, *, suspended: bool = False, department: str = "党委办公室") -> DesiredUser:
    return DesiredUser(employee_no=no, username=no.lower(), firstname="三", lastname="张",
                       email=f"{no}@x.edu", department=department, phone="", suspended=suspended)


def _course(key: str, fullname: str, template: str | None) -> DesiredCourse:
    return DesiredCourse(key=key, idnumber=f"cadre:2026:course:{key}", shortname=f"2026-{key}",
                         fullname=fullname, category_idnumber="cadre:2026", hours=4.0, template=template,
                         startdate=1, enddate=2, required_tiers=frozenset({"section"}),
                         elective_tiers=frozenset())


def _moodle_user(userid: int, no: str, *, suspended: bool = False, email: str | None = None,
                 department: str = "党委办公室") -> User:
    return User(id=userid, fullname="张三", firstname="三", lastname="张", email=email or f"{no}@x.edu",
                idnumber=no, department=department, suspended=suspended)


def year_and_moodle() -> tuple[DesiredState, ActualState]:
    """The year's category is missing from this Moodle; so are a user, a class and two courses."""
    kept = "cadre:2026:course:kept"
    desired = DesiredState(
        year=2026, category=DesiredCategory("cadre:2026", "2026 年度干部学习"),
        users=(_user("T1"), _user("T2"), _user("T3", suspended=True), _user("T4", suspended=True),
               _user("T5"), _user("T6", department="科研处"), _user("T7", suspended=True)),
        classes=(DesiredClass("new", "cadre:2026:class:new", "新班", "section", frozenset()),
                 DesiredClass("old", "cadre:2026:class:old", "处级班", "section", frozenset({"T1"}))),
        courses=(_course("policy", "政策法规", "TPL-POLICY"), _course("empty", "空课程", None),
                 _course("kept", "新名称", None)),
        enrolments=frozenset({DesiredEnrolment("T1", kept, "student"),
                              DesiredEnrolment("T5", kept, "student")}),
        reviewers=(), learner_role="student", reviewer_role="teacher")
    actual = ActualState(
        users={"T2": _moodle_user(2, "T2", email="old@x.edu"), "T3": _moodle_user(3, "T3"),
               "T4": _moodle_user(4, "T4", email="old@x.edu"), "T5": _moodle_user(5, "T5", suspended=True),
               "T6": _moodle_user(6, "T6", suspended=True)},
        classes={"cadre:2026:class:old": Cohort(id=10, name="旧班", idnumber="cadre:2026:class:old")},
        members={10: {2, 999}},
        courses={kept: Course(id=20, fullname="旧名称", shortname="2026-kept", categoryid=1, idnumber=kept,
                              startdate=1, enddate=2)},
        enrolments={20: {5: Enrolled(frozenset({"student"}), False),
                         6: Enrolled(frozenset({"student"}), True)}})
    return desired, actual


def test_every_change_reads_as_before_and_is_a_sentence() -> None:
    changes = diff(*year_and_moodle(), hours_field=None)
    assert [op.describe() for op in changes.ops] == EXPECTED
    assert {op.kind for op in changes.ops} == set(PHASES)
    for op in changes.ops:
        assert isinstance(op.text, Sentence), op.describe()
        assert "%(" not in op.text.template or op.text.values, op.text.template


def test_a_stored_change_is_the_same_sentence_again() -> None:
    for op in diff(*year_and_moodle(), hours_field=None).ops:
        again = load(dump(op.text))
        assert isinstance(again, Sentence) and again == op.text
        assert again.template == op.text.template
        assert dict(again.values) == {name: str(value) for name, value in op.text.values.items()}
