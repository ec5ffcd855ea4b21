"""Tiering and explain(): named cadres of the 2026 sample, each with the rules that placed them."""

from __future__ import annotations

from rules.plan import Hours, load_plan
from rules.roster import load_roster
from rules.tiers import Reason, explain, place
from tests.rules.plan_base import changed
from tests.rules.samples import plan_text, roster_bytes, sample_plan, sample_roster

NOT_IN_POST = ("离岗", "离职")
MIDDLE = ("正处级", "副处级")


def test_a_division_head_of_a_teaching_department() -> None:
    why = explain(sample_plan(2026), sample_roster(2026), "T21315")  # 夏浩, 商学院 党总支书记
    assert (why.outcome, why.tier, why.klass) == ("included", "teaching", "teaching")
    assert why.reasons == (
        Reason("excluded", "status", "在职", NOT_IN_POST, False),
        Reason("tier leaders", "rank", "正处级", ("校级",), False),
        Reason("tier party-admin", "department_type", "教学部门", ("党政部门",), False),
        Reason("tier party-admin", "rank", "正处级", MIDDLE, True),
        Reason("tier teaching", "department_type", "教学部门", ("教学部门",), True),
        Reason("tier teaching", "rank", "正处级", MIDDLE, True),
    )
    assert str(why.reasons[3]) == "rank 正处级 ∈ [正处级, 副处级] ✓"
    assert str(why.reasons[2]) == "department_type 教学部门 ≠ 党政部门 ✗"
    assert [c.key for c in why.required] == ["thought", "integrity", "policy", "teaching-reform"]
    assert [c.key for c in why.elective] == ["emergency", "writing", "health", "ethics"]
    assert why.hours == Hours(50, 30, 24, offline_max=10)
    assert (why.reviewer, why.reviewer_name) == ("T20051", "卢诚涛")
    assert why.lines() == [
        "T21315 夏浩",
        "  excluded (不参加本年度学习): status 在职 ∉ [离岗, 离职] ✗ → no match",
        "  tier leaders 校领导: rank 正处级 ≠ 校级 ✗ → no match",
        "  tier party-admin 党政部门中层干部: department_type 教学部门 ≠ 党政部门 ✗; rank 正处级 ∈ [正处级, "
        "副处级] ✓ → no match",
        "  tier teaching 教学部门中层干部: department_type 教学部门 = 教学部门 ✓; rank 正处级 ∈ [正处级, "
        "副处级] ✓ → match",
        "  class teaching 2026 教学部门中层干部班: no tests of its own, the whole tier → match",
        "  ⇒ tier teaching 教学部门中层干部, class teaching 2026 教学部门中层干部班",
        "  required courses (必修): thought 习近平新时代中国特色社会主义思想专题学习 10h, integrity "
        "党风廉政建设与警示教育 6h, "
        "policy 高等职业教育政策法规解读 8h, teaching-reform 职业教育教学改革与专业建设 8h (32h)",
        "  elective courses (选修): emergency 校园应急管理常识 4h, writing 公文写作与文字能力提升 4h, health "
        "干部身心健康教育 4h, "
        "ethics 职业道德与师德师风建设 4h (16h)",
        "  hours (学时): target 50, of which required at least 30, electives count up to 24",
        "  reviewer (评阅人): T20051 卢诚涛 — their supervising leader (分管校领导)",
    ]


def test_a_section_head_of_a_party_department_is_in_section_a() -> None:
    why = explain(sample_plan(2026), sample_roster(2026), "T20168")  # 卢志立, 党委办公室 科长
    assert (why.outcome, why.tier, why.klass) == ("included", "section", "section-a")
    assert why.reasons[-2:] == (
        Reason("tier section", "rank", "正科级", ("正科级", "副科级"), True),
        Reason("class section-a", "department_type", "党政部门", ("党政部门",), True),
    )
    assert [c.key for c in why.required] == ["thought", "integrity", "digital"]
    assert "finance" in [c.key for c in why.elective]
    assert why.hours == Hours(50, 20, 24, offline_max=10)
    assert why.reviewer == "T19918"
    assert "  ⇒ tier section 科级干部, class section-a 2026 科级干部一班" in why.lines()


def test_a_section_head_of_a_teaching_department_is_in_section_b() -> None:
    why = explain(sample_plan(2026), sample_roster(2026), "T21431")  # 邓晓晓, 商学院 科长
    assert (why.tier, why.klass) == ("section", "section-b")
    assert why.reasons[-2:] == (
        Reason("class section-a", "department_type", "教学部门", ("党政部门",), False),
        Reason("class section-b", "department_type", "教学部门", ("教学部门", "教辅部门"), True),
    )


def test_a_cadre_on_leave_is_excluded_and_keeps_the_account() -> None:
    why = explain(sample_plan(2026), sample_roster(2026), "T20448")  # 朱洋强, 离岗
    assert (why.outcome, why.tier, why.klass, why.suspended) == ("excluded", None, None, False)
    assert why.reasons == (Reason("excluded", "status", "离岗", NOT_IN_POST, True),)
    assert why.required == () and why.reviewer is None
    assert why.lines() == [
        "T20448 朱洋强",
        "  excluded (不参加本年度学习): status 离岗 ∈ [离岗, 离职] ✓ → match",
        "  ⇒ excluded this year (本年度不参加学习): no class, no course; account kept (保留账号)",
    ]


def test_a_school_leader_is_reviewed_by_the_fallback_who_reviews_nobody_for_themself() -> None:
    plan, roster = sample_plan(2026), sample_roster(2026)
    why = explain(plan, roster, "T19918")  # 崔嘉俊, 校长
    assert (why.outcome, why.tier, why.klass) == ("included", "leaders", "leaders")
    assert why.reasons[-1] == Reason("tier leaders", "rank", "校级", ("校级",), True)
    assert [c.key for c in why.required] == ["thought", "integrity", "governance"]
    assert why.hours == Hours(40, 20, 24, offline_max=10)
    assert why.reviewer == "T19880"
    assert why.reviewer_why == "a 校级 leader is reviewed by the fallback reviewer"
    fallback = explain(plan, roster, "T19880")
    assert fallback.reviewer is None
    assert fallback.lines()[-1] == ("  reviewer (评阅人): none (无) — a 校级 leader is reviewed by the "
                                    "fallback reviewer, "
                                    "T19880 余娟文, would review themself: nobody reviews")


def test_a_cadre_not_in_the_roster() -> None:
    why = explain(sample_plan(2026), sample_roster(2026), "T99999")
    assert why.outcome == "not in roster"
    assert why.lines() == ["T99999: not in the roster (不在名册中)"]


def test_a_departed_cadre_is_excluded_and_suspended() -> None:
    why = explain(sample_plan(2027), sample_roster(2027), "T20168")  # 卢志立 离职 in 2027
    assert (why.outcome, why.suspended) == ("excluded", True)
    assert why.lines()[-1] == ("  ⇒ excluded this year (本年度不参加学习): no class, no course; "
                               "account suspended (账号停用)")


def test_not_in_post_is_excluded_even_when_the_plan_forgets_to_say_so() -> None:
    text = plan_text(2026)
    start = text.index("excluded:")
    plan = load_plan(text[:start] + text[text.index("classes:"):], "plan.yaml")
    why = explain(plan, sample_roster(2026), "T20448")
    assert why.outcome == "excluded"
    assert why.reasons == (Reason("not in post", "status", "离岗", NOT_IN_POST, True),)


def test_a_cadre_matching_no_tier() -> None:
    plan = load_plan(changed("match: {rank: [正科级, 副科级]}", "match: {rank: [正科级]}"), "plan.yaml")
    header = "工号,姓名,部门,部门类别,职级,在职状态"
    roster = load_roster(f"{header}\nT4,赵科长,图书馆,教辅部门,副科级,在职\n".encode(), "roster.csv")
    why = explain(plan, roster, "T4")
    assert (why.outcome, why.tier) == ("no tier", None)
    assert why.lines()[-1] == "  ⇒ matches no tier (未匹配任何层级): no class, no course"


def test_promotions_of_2027_change_the_rank_the_tier_sees() -> None:
    """The sample's promotions are 副处级 → 正处级 and 副院长 → 院长: the same tier both years."""
    for number, tier in [("T20408", "party-admin"), ("T20473", "party-admin"), ("T22155", "teaching")]:
        before = explain(sample_plan(2026), sample_roster(2026), number)
        after = explain(sample_plan(2027), sample_roster(2027), number)
        assert (before.tier, after.tier) == (tier, tier)
        assert before.reasons[-1].value == "副处级" and after.reasons[-1].value == "正处级"


def test_a_section_head_promoted_to_deputy_division_head_moves_tier() -> None:
    text = roster_bytes(2027).decode("utf-8-sig").replace("校长办公室,党政部门,科长,正科级",
                                                          "校长办公室,党政部门,副主任,副处级")
    promoted = load_roster(text.encode("utf-8"), "roster-2027.csv")
    before = place(sample_plan(2027), sample_roster(2027)["T20306"])
    after = place(sample_plan(2027), promoted["T20306"])
    assert (before.tier, before.klass) == ("section", "section-a")
    assert (after.tier, after.klass) == ("party-admin", "party-admin")
    moved = explain(sample_plan(2027), promoted, "T20306")
    assert "policy" in [c.key for c in moved.required] and "digital" not in [c.key for c in moved.required]
