"""The report (统计报表) as spreadsheets: the summary by group, every laggard, the commendation list.
Headings are Chinese, as every export the organisation department files; ``exports`` writes them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rules.hours import STATUS_NAMES
from rules.study_time import describe_zh

from ..documents.document_values import plan_of
from ..documents.exports import Column, Table
from .reports import GroupLine, Report, ReportFilters, laggards
from .scope import EVERYTHING, Scope

GROUP_HEADINGS = {"department": "部门", "tier": "层级", "class": "班级"}


def _share(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _line(line: GroupLine, name: str) -> dict[str, object]:
    return {"group": name, "cadres": line.cadres, "complete": line.complete, "on_track": line.on_track,
            "behind": line.behind, "complete_share": _share(line.complete, line.cadres),
            "mean_hours": round(line.mean_hours, 2), "hours_met": line.hours_met,
            "mean_offline_hours": round(line.mean_offline_hours, 2), "offline_cadres": line.offline_cadres,
            "required_met": line.required_met,
            "required_share": _share(line.required_done, line.required_owed),
            "reflections_owed": line.reflections_owed, "reflections_submitted": line.reflections_submitted,
            "reflections_short": line.reflections_short, "reflections_awaiting": line.reflections_awaiting,
            "mean_points": round(line.mean_points, 2), "discussants": line.discussants,
            "mean_study": _minutes(line.mean_study_seconds),
            "mean_study_text": describe_zh(line.mean_study_seconds)}


def _minutes(seconds: float | None) -> float | None:
    """Study time in minutes for a spreadsheet's number cell; None (empty) where not tracked."""
    return None if seconds is None else round(seconds / 60, 1)


def summary_table(found: Report) -> Table:
    rows = [_line(line, line.name or "（未填写）") for line in found.groups]
    rows.append(_line(found.total, "合计"))
    columns = (Column("group", GROUP_HEADINGS[found.filters.group_by]),
               Column("cadres", "人数", kind="number"),
               Column("complete", "已完成", kind="number"), Column("on_track", "进度正常", kind="number"),
               Column("behind", "进度落后", kind="number"),
               Column("complete_share", "完成率（%）", kind="number"),
               Column("mean_hours", "平均学时", kind="hours"),
               Column("mean_offline_hours", "其中人均线下学时", kind="hours"),
               Column("offline_cadres", "计入线下学时人数", kind="number"),
               Column("hours_met", "学时达标人数", kind="number"),
               Column("required_met", "必修课全部完成人数", kind="number"),
               Column("required_share", "必修课完成率（%）", kind="number"),
               Column("reflections_owed", "应交学习心得", kind="number"),
               Column("reflections_submitted", "已交学习心得", kind="number"),
               Column("reflections_short", "字数不足", kind="number"),
               Column("reflections_awaiting", "待评阅", kind="number"),
               Column("mean_points", "平均发言积分", kind="hours"),
               Column("discussants", "参与交流人数", kind="number"),
               Column("mean_study", "人均学习时长（分钟）", kind="number"),
               Column("mean_study_text", "人均学习时长"))
    return Table(f"{found.filters.year} 年度统计报表（按{GROUP_HEADINGS[found.filters.group_by]}）", columns,
                 tuple(rows))


def laggards_table(session: Session, filters: ReportFilters, scope: Scope = EVERYTHING) -> Table:
    """Every cadre behind the pace (or of the filtered status), furthest behind first."""
    rows, _total = laggards(session, plan_of(session, filters.year), filters, scope, limit=None)
    columns = (Column("employee_no", "工号"), Column("name", "姓名"), Column("department", "部门"),
               Column("tier", "层级"), Column("class", "班级"), Column("status", "状态"),
               Column("total", "总学时", kind="hours"), Column("required", "必修学时", kind="hours"),
               Column("offline", "线下学时", kind="hours"),
               Column("target", "目标学时", kind="hours"), Column("points", "发言积分", kind="hours"),
               Column("since", "状态起始日期", kind="date"))
    return Table(f"{filters.year} 年度学习进度落后干部", columns, tuple(
        {"employee_no": r.employee_no, "name": r.name, "department": r.department, "tier": r.tier,
         "class": r.klass, "status": STATUS_NAMES.get(r.status, r.status), "total": r.total_hours,
         "required": r.required_hours, "offline": r.offline_hours, "target": r.target_hours,
         "points": r.discussion_points, "since": r.status_since} for r in rows))


def study_table(found: Report) -> Table:
    """Study time per course from the SCORM courseware; a course whose courseware tracks no time reads
    "未记录" (not tracked), never zero."""
    columns = (Column("course", "课程"), Column("tracked", "课件记录时长"),
               Column("cadres", "人数", kind="number"), Column("attempts", "学习次数", kind="number"),
               Column("total", "总学习时长（分钟）", kind="number"),
               Column("mean", "人均学习时长（分钟）", kind="number"),
               Column("mean_text", "人均学习时长"))
    return Table(f"{found.filters.year} 年度课程学习时长", columns, tuple(
        {"course": c.name, "tracked": "是" if c.tracked else "否",
         "cadres": c.cadres if c.tracked else None, "attempts": c.attempts if c.tracked else None,
         "total": _minutes(c.seconds if c.tracked else None), "mean": _minutes(c.mean_seconds),
         "mean_text": describe_zh(c.mean_seconds)} for c in found.courses))


def commendation_table(found: Report) -> Table:
    columns = (Column("tier", "层级"), Column("rank", "名次", kind="number"), Column("tied", "并列"),
               Column("employee_no", "工号"), Column("name", "姓名"), Column("department", "部门"),
               Column("total", "总学时", kind="hours"), Column("points", "发言积分", kind="hours"),
               Column("grade", "学习心得平均成绩", kind="number"),
               Column("completed_on", "完成日期", kind="date"))
    return Table(f"{found.filters.year} 年度表彰候选名单", columns, tuple(
        {"tier": c.tier, "rank": c.rank, "tied": "是" if c.tied else "", "employee_no": c.employee_no,
         "name": c.name, "department": c.department, "total": c.total_hours, "points": c.discussion_points,
         "grade": round(c.reflection_grade, 1) if c.reflection_grade is not None else None,
         "completed_on": c.completed_on} for c in found.commendation))
