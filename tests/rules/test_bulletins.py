"""The bulletins' rules: ranking (equals share a rank, the next is skipped), the change since the previous
bulletin (and "new" without one), who reads what, and messages that fit Moodle's limit."""

from __future__ import annotations

import datetime as dt

import pytest

from rules.bulletins import (
    Earlier,
    Figures,
    Participant,
    Previous,
    audience_counts,
    bulletin_messages,
    change_text,
    headless,
    ranked,
    recipients,
    rounded,
    standing,
)
from rules.plan import load_plan
from rules.plan_model import HEAD_POSITIONS, Bulletin
from rules.reminders import MESSAGE_LIMIT, message_bytes
from rules.roster import load_roster
from tests.rules.plan_base import BASE
from tests.rules.test_plan_roster import HEADER

PLAN = load_plan(BASE, "plan.yaml")
TIERS = {t.key: t.name for t in PLAN.tiers}
RECORDS = dt.date(2026, 6, 30)
EVERYONE = Bulletin("mid-year", dt.date(2026, 7, 1), "上半年进展通报", ("leaders", "department_heads", "all"),
                    HEAD_POSITIONS)


def group(key: str, cadres: int, complete: int, hours: float, behind: int = 0) -> Figures:
    return Figures(key, key, cadres, complete, behind, hours)


def test_groups_rank_by_rate_then_mean_hours_and_equals_share_a_rank() -> None:
    lines = ranked([group("甲", 4, 2, 40.0), group("乙", 2, 1, 20.0), group("丙", 4, 3, 20.0),
                    group("丁", 4, 1, 80.0), group("戊", 2, 1, 24.0)])
    assert [(line.key, line.rank, line.tied) for line in lines] == [
        ("丙", 1, False), ("戊", 2, False), ("乙", 3, True), ("甲", 3, True), ("丁", 5, False)]
    assert [line.figures.rate for line in lines] == [75.0, 50.0, 50.0, 50.0, 25.0]


def test_a_tie_is_judged_on_the_figures_as_printed() -> None:
    # 1/3 and 333/999 print as 33.3%; 10.004 and 9.996 hours both print as 10.
    lines = ranked([group("a", 3, 1, 30.012), group("b", 999, 333, 9986.004), group("c", 3, 2, 0.0)])
    assert [(line.key, line.rank, line.tied) for line in lines] == [("c", 1, False), ("a", 2, True),
                                                                     ("b", 2, True)]
    assert (lines[1].figures.mean_hours, lines[2].figures.mean_hours) == (10.0, 10.0)


def test_rates_and_hours_round_half_up_as_people_round() -> None:
    assert rounded(12.25, 1) == 12.3 and rounded(0.125, 2) == 0.13 and rounded(2 / 3 * 100, 1) == 66.7
    assert group("a", 8, 1, 1.0).rate == 12.5 and group("a", 0, 0, 0.0).rate == 0.0
    assert group("a", 0, 0, 0.0).mean_hours == 0.0


def test_the_change_is_against_the_previous_bulletin_and_a_group_it_lacked_is_new() -> None:
    before = {"甲": Previous(1, 50.0, 40.0), "乙": Previous(3, 25.0, 12.5), "丙": Previous(2, 50.0, 30.0)}
    lines = {line.key: line for line in ranked([group("甲", 4, 2, 42.0), group("乙", 4, 3, 50.0),
                                                 group("丙", 4, 2, 120.0), group("丁", 1, 0, 0.0)], before)}
    assert (lines["乙"].rank, lines["乙"].rank_move, lines["乙"].rate_delta, lines["乙"].hours_delta) == (
        1, 2, 50.0, 0.0)
    assert (lines["甲"].rank, lines["甲"].rank_move, lines["甲"].rate_delta, lines["甲"].hours_delta) == (
        3, -2, 0.0, -29.5)
    assert (lines["丙"].rank_move, lines["丙"].rate_delta, lines["丙"].hours_delta) == (0, 0.0, 0.0)
    assert lines["丁"].previous is None and lines["丁"].rank_move is None
    assert change_text(lines["乙"]) == "较上期上升 2 名，完成率提高 50.0 个百分点，人均学时持平"
    assert change_text(lines["甲"]) == "较上期下降 2 名，完成率持平，人均学时减少 29.5"
    assert change_text(lines["丙"]) == "名次与上期持平，完成率持平，人均学时持平"
    assert change_text(lines["丁"]) == "首次参加排名"


def person(no: str, department: str, tier: str, status: str, hours: float, *, leader: bool = False,
           name: str = "") -> Participant:
    return Participant(no, name or f"干部{no}", department, tier, status, hours, 18.0, min(hours, 10.0), 10.0,
                       leader)


PEOPLE = [
    person("T1", "校领导", "leaders", "complete", 14.0, leader=True, name="王校长"),
    person("T2", "教务处", "middle", "complete", 18.0, name="李处长"),
    person("T3", "教务处", "section", "behind", 2.0, name="张科长"),
    person("T4", "图书馆", "section", "on_track", 8.0, name="赵科长"),
    person("T6", "图书馆", "middle", "behind", 0.0, name="钱馆长"),
]
ROWS = [
    "T1,王校长,男,校领导,党政部门,党委书记,校级,t1@college.example,13900000001,在职,",
    "T2,李处长,女,教务处,党政部门,处长,正处级,t2@college.example,13900000002,在职,T1",
    "T3,张科长,男,教务处,党政部门,科长,正科级,t3@college.example,13900000003,在职,T1",
    "T4,赵科长,男,图书馆,教辅部门,副科长,副科级,t4@college.example,13900000004,在职,T5",
    "T5,孙校长,男,校领导,党政部门,副校长,校级,t5@college.example,13900000005,在职,",
    "T6,钱馆长,女,图书馆,教辅部门,馆长,正处级,t6@college.example,13900000006,离岗,T5",
    "T7,周处长,男,教务处,党政部门,处长,正处级,t7@college.example,13900000007,离职,T1",
]
ROSTER = load_roster(("\n".join([HEADER, *ROWS]) + "\n").encode("utf-8"), "roster.csv")


def test_school_leaders_count_in_their_tier_and_the_total_but_rank_no_department() -> None:
    table = standing(PEOPLE, TIERS)
    assert [line.key for line in table.departments] == ["教务处", "图书馆"]
    assert (table.total.cadres, table.total.complete, table.total.behind) == (5, 2, 2)
    assert table.total.rate == 40.0 and table.total.mean_hours == 8.4
    leaders = table.tier("leaders")
    assert leaders is not None and (leaders.figures.cadres, leaders.rank, leaders.name) == (1, 1, "校领导")
    assert all(line.previous is None for line in (*table.departments, *table.tiers))
    again = standing(PEOPLE, TIERS, Earlier({"教务处": Previous(2, 0.0, 5.0)}, {}, Previous(0, 20.0, 4.0)))
    library = again.department("图书馆")
    assert again.total_previous == Previous(0, 20.0, 4.0) and library is not None and library.previous is None


def test_readers_are_the_leaders_the_heads_in_post_and_everyone_taking_part() -> None:
    table = standing(PEOPLE, TIERS)
    readers = {r.employee_no: r for r in recipients(EVERYONE, ROSTER, PEOPLE, table)}
    assert set(readers) == {"T1", "T2", "T3", "T4", "T5", "T6"}
    assert (readers["T1"].leader, readers["T1"].supervises, readers["T1"].own is not None) == (
        True, ("教务处",), True)
    assert (readers["T5"].leader, readers["T5"].supervises, readers["T5"].own) == (True, ("图书馆",), None)
    assert readers["T2"].heads == "教务处" and not readers["T2"].leader
    assert readers["T6"].heads is None, "a head on leave is not told as head"
    assert readers["T3"].heads is None and readers["T3"].own is not None
    counts = audience_counts(EVERYONE, list(readers.values()))
    assert counts == {"leaders": 2, "department_heads": 1, "all": 5}
    assert headless(EVERYONE, table, list(readers.values())) == ["图书馆"]
    heads_only = Bulletin("k", dt.date(2026, 7, 1), "通报", ("department_heads",), ("馆长",))
    assert [r.employee_no for r in recipients(heads_only, ROSTER, PEOPLE, table)] == []
    assert headless(heads_only, table, []) == ["教务处", "图书馆"]


def test_each_reader_gets_one_message_with_every_part_that_concerns_them() -> None:
    table = standing(PEOPLE, TIERS)
    readers = recipients(EVERYONE, ROSTER, PEOPLE, table)
    messages = {m.recipient: m for m in bulletin_messages(PLAN, EVERYONE, table, readers, PEOPLE, RECORDS)}
    assert set(messages) == {"T1", "T2", "T3", "T4", "T5", "T6"}
    assert all(m.key == f"2026/bulletin/mid-year/{m.recipient}" and m.kind == "bulletin"
               for m in messages.values())
    leader = messages["T1"].text
    assert leader.startswith("【上半年进展通报】\n王校长同志：您好！截至 2026年6月30日")
    assert "全校参学 5 人，已完成 2 人，完成率 40.0%，人均 8.4 学时，进度落后 2 人。" in leader
    assert "您分管的部门（1 个）：\n第 1 名 教务处：参学 2 人，已完成 1 人，完成率 50.0%" in leader
    assert "图书馆：参学" not in leader and "您本人已获得 14 学时" in leader
    head = messages["T2"].text
    assert "教务处在 2 个部门中排第 1 名：参学 2 人" in head and "首次参加排名" in head
    assert "本部门进度落后的干部（1 人）：\n张科长（2/18 学时）" in head and messages["T2"].about == ("T3",)
    assert "您所在的教务处" not in head, "a head is told their department's standing once"
    cadre = messages["T4"].text
    assert "您所在的图书馆在 2 个部门中排第 2 名，完成率 0.0%，人均 4 学时。" in cadre
    assert "学习进度正常，请继续按计划于 2026年12月15日 前完成学习任务" in cadre
    assert "学习进度落后于计划" in messages["T3"].text and "学习进度落后于计划" in messages["T6"].text
    assert messages["T5"].text.endswith("前完成学习任务。") and "您本人" not in messages["T5"].text


def test_a_long_message_is_split_where_moodle_s_limit_asks_and_nobody_is_lost() -> None:
    many = [person(f"S{n:03d}", "继续教育学院", "section", "behind", 1.0, name=f"学员{n:03d}号同志")
            for n in range(400)]
    rows = [*ROWS, "H1,吴院长,男,继续教育学院,教学部门,院长,正处级,h1@college.example,13900000011,在职,T1"]
    roster = load_roster(("\n".join([HEADER, *rows]) + "\n").encode("utf-8"), "roster.csv")
    table = standing(many, TIERS)
    only_heads = Bulletin("k", dt.date(2026, 7, 1), "通报", ("department_heads",), HEAD_POSITIONS)
    readers = recipients(only_heads, roster, many, table)
    parts = bulletin_messages(PLAN, only_heads, table, readers, many, RECORDS)
    assert len(parts) > 1 and all(message_bytes(p.text) <= MESSAGE_LIMIT for p in parts)
    assert [p.key for p in parts] == [f"2026/bulletin/k/H1/part-{n}" for n in range(1, len(parts) + 1)]
    listed = [no for p in parts for no in p.about]
    assert listed == [p.employee_no for p in many]
    assert all(p.text.startswith("【通报】\n") for p in parts)
    assert sum(p.text.count("号同志（") for p in parts) == 400


@pytest.mark.parametrize("audience", ["leaders", "department_heads", "all"])
def test_a_bulletin_reaches_only_its_audiences(audience: str) -> None:
    table = standing(PEOPLE, TIERS)
    bulletin = Bulletin("k", dt.date(2026, 7, 1), "通报", (audience,), HEAD_POSITIONS)
    readers = recipients(bulletin, ROSTER, PEOPLE, table)
    expected = {"leaders": {"T1", "T5"}, "department_heads": {"T2"}, "all": {p.employee_no for p in PEOPLE}}
    assert {r.employee_no for r in readers} == expected[audience]
    assert list(audience_counts(bulletin, readers)) == [audience]


def test_at_the_year_s_start_every_department_ties_and_the_leader_is_told_so_within_the_limit() -> None:
    names = [f"马克思主义学院第{n:02d}教研部" for n in range(60)]
    many = [person(f"S{n:03d}", name, "section", "behind", 0.0) for n, name in enumerate(names)]
    table = standing(many, TIERS)
    assert {line.rank for line in table.departments} == {1} and all(line.tied for line in table.departments)
    leaders_only = Bulletin("k", dt.date(2026, 3, 15), "通报", ("leaders",), HEAD_POSITIONS)
    rows = [*ROWS[:1], *(f"S{n:03d},干部{n},男,{name},教学部门,科长,正科级,,,在职,T1"
                         for n, name in enumerate(names))]
    roster = load_roster(("\n".join([HEADER, *rows]) + "\n").encode("utf-8"), "roster.csv")
    readers = recipients(leaders_only, roster, many, table)
    messages = bulletin_messages(PLAN, leaders_only, table, readers, many, RECORDS)
    assert [m.recipient for m in messages][:1] == ["T1"] and all(message_bytes(m.text) <= MESSAGE_LIMIT
                                                                   for m in messages)
    text = "".join(m.text for m in messages)
    assert f"{names[0]}、{names[1]}、{names[2]}等 60 个部门并列第 1 名（完成率 0.0%，人均 0 学时）" in text
    assert "排名靠后" not in text
    assert all(f" {name}：参学 1 人" in text for name in names), "the leader's own departments are all told"


def test_a_block_too_long_for_one_message_is_cut_at_its_separators() -> None:
    from rules.bulletins import _split

    block = "、".join(f"第{n}项说明文字" for n in range(600))
    parts = _split("【通报】\n", [(block, ("T1",))], "组织部")
    assert len(parts) > 1 and all(message_bytes(text) <= MESSAGE_LIMIT for text, _about in parts)
    assert "".join(text.removeprefix("【通报】\n").removesuffix("\n组织部") for text, _a in parts) == block
    assert all(text.removesuffix("\n组织部").endswith("、") for text, _a in parts[:-1])
    assert next(about for _t, about in parts) == ("T1",) and all(not about for _t, about in parts[1:])
