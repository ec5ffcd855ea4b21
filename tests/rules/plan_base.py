"""A small valid plan (no warnings) that the plan tests change one line at a time; line numbers matter."""

from __future__ import annotations

BASE = """\
year: 2026
title: 测试计划
period: {start: 2026-03-01, end: 2026-12-15}
moodle: {category: 2026 干部在线学习, learner_role: student, reviewer_role: teacher}
hours: {target: 18, required_min: 10, elective_max: 8}
tiers:
  - key: leaders
    name: 校领导
    match: {rank: [校级]}
    hours: {target: 14, required_min: 8}
  - key: middle
    name: 中层干部
    match: {rank: [正处级, 副处级]}
  - key: section
    name: 科级干部
    match: {rank: [正科级, 副科级]}
excluded:
  match: {status: [离岗, 离职]}
classes:
  - {key: leaders, tier: leaders, name: 校领导班}
  - {key: middle, tier: middle, name: 中层干部班}
  - {key: section-a, tier: section, name: 科级一班, match: {department_type: 党政部门}}
  - {key: section-b, tier: section, name: 科级二班, match: {department_type: [教学部门, 教辅部门]}}
courses:
  - key: thought
    name: 思想专题
    hours: 10
    template: TPL-THOUGHT
    required: all
    reflection: {title: 学习心得, due: 2026-06-30, min_chars: 1500}
  - key: policy
    name: 政策法规
    hours: 6
    template: TPL-POLICY
    required: [middle]
  - {key: writing, name: 公文写作, hours: 4, template: TPL-WRITING, elective: all}
  - {key: health, name: 身心健康, hours: 4, template: TPL-HEALTH, elective: [middle, section]}
reviewers: {by: supervising_leader, fallback: T1}
discussions:
  - key: spring
    course: thought
    title: 学习交流
    opens: 2026-04-01
    closes: 2026-04-30
    points: {per_post: 1, max: 5}
    tiers: [middle, section]
reminders:
  - key: mid-year
    on: 2026-07-01
    when: {hours_below: 10}
    to: [learner, supervising_leader]
announcements:
  - on: 2026-03-05
    to: all
    subject: 启动
    body: 请按时完成。
commendation: {top_per_tier: 3, min_hours: 18}
certificate:
  title: 学时证明书
  issuer: 组织部
  requires: {hours_met: true, required_met: true}
"""


def changed(old: str, new: str, *, count: int = 1) -> str:
    """BASE with ``old`` (which must be there) replaced by ``new``."""
    assert old in BASE, old
    return BASE.replace(old, new, count)
