"""The commendation list and the survey summary as tables, for the screen and for XLSX/CSV exports."""

from __future__ import annotations

from rules.commendation import Commended
from rules.plan_model import Plan
from rules.survey import Summary

from ..documents.exports import Column, Table


def commendation_table(plan: Plan, listed: list[Commended]) -> Table:
    tiers = {t.key: t.name for t in plan.tiers}
    columns = (Column("tier", "层级 Tier"), Column("rank", "名次 Rank", kind="number"),
               Column("employee_no", "工号 Employee no."), Column("name", "姓名 Name"),
               Column("department", "部门 Department"),
               Column("total_hours", "总学时 Hours", kind="hours"),
               Column("required_hours", "必修学时 Required", kind="hours"),
               Column("elective_hours", "选修学时 Elective", kind="hours"),
               Column("discussion_points", "交流加分 Discussion points", kind="number"),
               Column("reflection_grade", "心得平均成绩 Reflection grade", kind="number"),
               Column("completed_on", "完成日期 Completed on", kind="date"),
               Column("tied", "并列 Tied"))
    rows = tuple({"tier": tiers.get(e.tier, e.tier), "rank": e.rank, "employee_no": e.candidate.employee_no,
                  "name": e.candidate.name, "department": e.candidate.department,
                  "total_hours": e.candidate.total_hours, "required_hours": e.candidate.required_hours,
                  "elective_hours": e.candidate.elective_hours,
                  "discussion_points": e.candidate.discussion_points,
                  "reflection_grade": (round(e.candidate.reflection_grade, 1)
                                       if e.candidate.reflection_grade is not None else None),
                  "completed_on": e.candidate.completed_on, "tied": "并列" if e.tied else ""}
                 for e in listed)
    return Table(f"{plan.year} 年度表彰名单", columns, rows)


def survey_table(plan: Plan, summary: Summary) -> Table:
    """One row per answer of a choice question (with counts by tier), then the free-text answers."""
    tiers = sorted(summary.rate_by_tier)
    columns = (Column("question", "问题 Question"), Column("answer", "选项或回答 Answer"),
               Column("total", "人数 Count", kind="number"),
               *(Column(f"tier:{tier}", tier, kind="number") for tier in tiers),
               Column("department", "部门 Department"))
    rows: list[dict[str, object]] = []
    for question in summary.questions:
        for choice in question.choices:
            rows.append({"question": question.question.label, "answer": choice.choice, "total": choice.total,
                         **{f"tier:{tier}": choice.by_tier.get(tier, 0) for tier in tiers},
                         "department": "；".join(f"{d} {n}" for d, n in choice.by_department.items())})
        if question.mean is not None:
            rows.append({"question": question.question.label, "answer": "平均值 mean",
                         "total": round(question.mean, 2)})
        for tier, department, text in question.texts:
            rows.append({"question": question.question.label, "answer": text, "total": 1,
                         f"tier:{tier}": 1, "department": department})
    for tier in tiers:
        answered, cadres = summary.rate_by_tier[tier]
        rate = f"，答卷率 {answered / cadres:.0%}" if cadres else ""
        rows.append({"question": "答卷人数 Respondents", "answer": tier, "total": answered,
                     f"tier:{tier}": answered, "department": f"本层级共 {cadres} 人{rate}"})
    return Table(f"{plan.year} 年度培训需求调查汇总", columns, tuple(rows))
