"""Properties that hold for any roster under the 2026 sample plan, and for any roster HR could export."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.desired_state import desired_state
from rules.names import COMPOUND_SURNAMES, split_name
from rules.roster import Cadre, Roster, load_roster
from rules.tiers import place
from tests.rules.samples import sample_plan

RANKS = ("校级", "正处级", "副处级", "正科级", "副科级")
TYPES = ("党政部门", "教学部门", "教辅部门")
STATUSES = ("在职", "在职", "在职", "离岗", "离职")  # mostly in post
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"


@st.composite
def rosters(draw: st.DrawFn) -> tuple[Cadre, ...]:
    count = draw(st.integers(min_value=1, max_value=30))
    numbers = [f"T{n}" for n in draw(st.lists(st.integers(10000, 99999), min_size=count, max_size=count,
                                              unique=True))]
    ranks = [draw(st.sampled_from(RANKS)) for _ in numbers]
    leaders = [n for n, r in zip(numbers, ranks, strict=True) if r == "校级"]
    cadres = []
    for index, (number, rank) in enumerate(zip(numbers, ranks, strict=True)):
        name = draw(st.sampled_from(SURNAMES)) + draw(st.text(GIVEN, min_size=1, max_size=2))
        supervisor = "" if rank == "校级" or not leaders else draw(st.sampled_from(["", *leaders]))
        gender, department_type = draw(st.sampled_from("男女")), draw(st.sampled_from(TYPES))
        status, email = draw(st.sampled_from(STATUSES)), f"{number.lower()}@college.example"
        cadres.append(Cadre(number, name, gender, f"部门{index % 5}", department_type, "职务", rank, email,
                            "", status, supervisor, index + 2))
    return tuple(cadres)


@given(rosters())
@settings(max_examples=60, deadline=None)
def test_every_included_cadre_is_in_exactly_one_class_of_its_tier(cadres: tuple[Cadre, ...]) -> None:
    plan = sample_plan(2026)
    state = desired_state(plan, Roster(cadres))
    memberships = Counter(no for k in state.classes for no in k.members)
    tier_of_class = {k.key: k.tier for k in state.classes}
    for cadre in cadres:
        placement = place(plan, cadre)
        if placement.tier is None:
            assert memberships[cadre.employee_no] == 0
            continue
        assert memberships[cadre.employee_no] == 1
        [klass] = [k.key for k in state.classes if cadre.employee_no in k.members]
        assert tier_of_class[klass] == placement.tier


@given(rosters())
@settings(max_examples=60, deadline=None)
def test_enrolments_are_within_courses_and_users(cadres: tuple[Cadre, ...]) -> None:
    state = desired_state(sample_plan(2026), Roster(cadres))
    users = state.users_by_employee_no()
    courses = {c.idnumber for c in state.courses}
    for enrolment in state.enrolments:
        assert enrolment.employee_no in users and enrolment.course_idnumber in courses
        assert enrolment.role in (state.learner_role, state.reviewer_role)
        assert not users[enrolment.employee_no].suspended
    for assignment in state.reviewers:
        assert assignment.reviewer not in assignment.cadres
        assert assignment.reviewer in users


@given(rosters(), st.randoms(use_true_random=False))
@settings(max_examples=60, deadline=None)
def test_desired_state_is_deterministic_and_ignores_row_order(cadres: tuple[Cadre, ...],
                                                               random: object) -> None:
    import random as random_module

    assert isinstance(random, random_module.Random)
    plan = sample_plan(2026)
    shuffled = list(cadres)
    random.shuffle(shuffled)
    assert desired_state(plan, Roster(cadres)) == desired_state(plan, Roster(cadres))
    assert desired_state(plan, Roster(tuple(shuffled))) == desired_state(plan, Roster(cadres))


SPACES = st.sampled_from(["", " ", "\u3000", "\u00a0", "  "])


@given(rosters(), st.sampled_from(["utf-8-sig", "utf-8", "gb18030"]), st.data())
@settings(max_examples=40, deadline=None)
def test_a_roster_reads_back_whatever_the_encoding_and_padding(cadres: tuple[Cadre, ...], encoding: str,
                                                                data: st.DataObject) -> None:
    header = "工号,姓名,性别,部门,部门类别,职务,职级,邮箱,手机,在职状态,分管校领导工号"
    lines = [header]
    for cadre in cadres:
        cells = [cadre.employee_no, cadre.name, cadre.gender, cadre.department, cadre.department_type,
                 cadre.position, cadre.rank, cadre.email, cadre.mobile, cadre.status,
                 cadre.supervising_leader]
        lines.append(",".join(data.draw(SPACES) + cell + data.draw(SPACES) for cell in cells))
    roster = load_roster(("\r\n".join(lines) + "\r\n").encode(encoding), "roster.csv")
    assert roster.cadres == cadres


@given(st.sampled_from(sorted(COMPOUND_SURNAMES)) | st.sampled_from(list(SURNAMES)),
       st.text(GIVEN, min_size=1, max_size=2))
def test_a_chinese_name_splits_back_into_itself(surname: str, given_name: str) -> None:
    assert split_name(surname + given_name) == (surname, given_name)
