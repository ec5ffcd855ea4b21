"""Urging (督促) and targeted announcements (分类推送): who gets which message on which day, and what it says.

The rules, as the organisation department applies them:

- A reminder is due on its date. If the service could not send it that day (it was down, or the records
  were not fresh), it is still sent during the ``GRACE_DAYS`` after; later it has expired, because a
  mid-year reminder in the autumn would mislead more than help.
- A cadre receives a reminder when they are in one of its tiers, take part in the year (not excluded) and
  meet **every** condition of its ``when``, judged on their learning record as harvested for that day.
  A condition naming a course only concerns cadres whose tier studies that course; the word ``required``
  instead of a course means any required course of the cadre's tier.
- ``to: learner`` sends the cadre their own message with their own numbers; ``supervising_leader`` and
  ``reviewer`` send that leader one digest listing all their cadres the reminder concerns (a leader is
  not sent a digest naming themself).
- Each message has a key: the same rule, period and person is never messaged twice. The period of a
  reminder is its date; of an announcement, its key.
- An announcement reaches every cadre of its tiers who takes part in the year, on its date (with the same
  grace as reminders).

Everything here is pure: the service gives the records and sends what these functions return.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rules.plan_model import ANY_REQUIRED, Announcement, Condition, Course, Plan, Reminder, hours_text

#: Days after its date during which a missed reminder or announcement is still sent.
GRACE_DAYS = 14
#: Moodle refuses longer messages: bytes of UTF-8 (PHP's strlen), so 1,365 Chinese characters at most.
MESSAGE_LIMIT = 4096


def message_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


@dataclass(frozen=True)
class CadreStanding:
    """What a reminder may ask about one cadre, from the harvested learning record."""

    employee_no: str
    name: str
    department: str
    tier: str | None  # None: excluded this year
    total_hours: float
    required_hours: float
    target: float
    required_min: float
    completed: frozenset[str]  # course keys completed (first completion counts)
    started: frozenset[str]  # course keys opened or completed
    reflections: frozenset[str]  # course keys with a submitted reflection
    supervising_leader: str = ""  # employee number
    reviewer: str = ""  # employee number of who reviews their reflections


@dataclass(frozen=True)
class Outgoing:
    """One message to send: ``key`` makes it unique for ever; ``recipient`` is an employee number."""

    key: str
    kind: str  # reminder, digest, announcement
    source: str  # the reminder's or announcement's key
    recipient: str
    text: str
    about: tuple[str, ...] = ()  # the cadres a digest lists


def is_due(on: dt.date, today: dt.date) -> bool:
    return on <= today <= on + dt.timedelta(days=GRACE_DAYS)


def has_expired(on: dt.date, today: dt.date) -> bool:
    return today > on + dt.timedelta(days=GRACE_DAYS)


def _courses(plan: Plan, tier: str, value: str) -> list[Course]:
    if value == ANY_REQUIRED:
        return list(plan.required_courses(tier))
    course = plan.course(value)
    return [course] if course is not None and tier in course.tiers() else []


def condition_holds(plan: Plan, condition: Condition, cadre: CadreStanding) -> bool:
    """Whether ``cadre`` meets one condition (a course condition on a course they do not study: no)."""
    assert cadre.tier is not None
    kind, value = condition.kind, condition.value
    if kind == "hours_below":
        return cadre.total_hours < float(value) - 1e-9
    if kind == "required_hours_below":
        return cadre.required_hours < float(value) - 1e-9
    courses = _courses(plan, cadre.tier, str(value))
    if kind == "reflection_missing":
        return any(c.reflection is not None and c.key not in cadre.reflections for c in courses)
    if kind == "course_incomplete":
        return any(c.key not in cadre.completed for c in courses)
    if kind == "course_not_started":
        return any(c.key not in cadre.started and c.key not in cadre.completed for c in courses)
    raise ValueError(f"unknown condition {kind!r}")


def concerned(plan: Plan, reminder: Reminder, cadres: Iterable[CadreStanding]) -> list[CadreStanding]:
    """The cadres ``reminder`` concerns, in employee-number order."""
    return sorted((c for c in cadres if c.tier is not None and c.tier in reminder.tiers
                   and all(condition_holds(plan, condition, c) for condition in reminder.when)),
                  key=lambda c: c.employee_no)


def reminder_messages(plan: Plan, reminder: Reminder, cadres: Sequence[CadreStanding],
                      names: Mapping[str, str]) -> list[Outgoing]:
    """Every message ``reminder`` sends: one per concerned cadre (``learner``) and one digest per leader.

    ``names`` gives the leaders' names by employee number (a leader missing from it is still messaged,
    addressed without a name)."""
    found = concerned(plan, reminder, cadres)
    period = reminder.on.isoformat()
    out: list[Outgoing] = []
    if "learner" in reminder.to:
        out.extend(Outgoing(f"{plan.year}/reminder/{reminder.key}/{period}/{c.employee_no}", "reminder",
                            reminder.key, c.employee_no, learner_text(plan, reminder, c)) for c in found)
    leaders: dict[str, dict[str, CadreStanding]] = {}
    for role in ("supervising_leader", "reviewer"):
        if role not in reminder.to:
            continue
        for cadre in found:
            leader = getattr(cadre, role)
            if leader and leader != cadre.employee_no:
                leaders.setdefault(leader, {}).setdefault(cadre.employee_no, cadre)
    for leader in sorted(leaders):
        parts = digest_texts(plan, reminder, names.get(leader, ""), list(leaders[leader].values()))
        for number, (text, listed) in enumerate(parts, start=1):
            suffix = "" if len(parts) == 1 else f"/part-{number}"
            out.append(Outgoing(f"{plan.year}/digest/{reminder.key}/{period}/{leader}{suffix}", "digest",
                                reminder.key, leader, text, tuple(c.employee_no for c in listed)))
    return out


def announcement_messages(plan: Plan, announcement: Announcement,
                          cadres: Iterable[CadreStanding]) -> list[Outgoing]:
    text = announcement_text(plan, announcement)
    return [Outgoing(f"{plan.year}/announcement/{announcement.key}/{c.employee_no}", "announcement",
                     announcement.key, c.employee_no, text)
            for c in sorted(cadres, key=lambda c: c.employee_no)
            if c.tier is not None and c.tier in announcement.to]


# --- what the messages say ---------------------------------------------------------------------


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _h(value: float) -> str:
    return hours_text(round(value, 2))


def _titles(courses: Iterable[Course]) -> str:
    return "、".join(f"《{c.name}》" for c in courses)


def condition_sentence(plan: Plan, condition: Condition, cadre: CadreStanding) -> str:
    """Why the reminder concerns the cadre, in their own numbers."""
    assert cadre.tier is not None
    kind, value = condition.kind, condition.value
    if kind == "hours_below":
        return f"目前获得的学时低于本阶段应达到的 {_h(float(value))} 学时。"
    if kind == "required_hours_below":
        return f"目前必修课获得的学时低于本阶段应达到的 {_h(float(value))} 学时。"
    courses = _courses(plan, cadre.tier, str(value))
    if kind == "reflection_missing":
        owed = [c for c in courses if c.reflection is not None and c.key not in cadre.reflections]
        return "".join(f"尚未提交{_titles([c])}的{c.reflection.title}（不少于 {c.reflection.min_chars} 字），"
                       f"截止日期为 {chinese_date(c.reflection.due)}。"
                       for c in owed if c.reflection is not None)
    if kind == "course_incomplete":
        missing = [c for c in courses if c.key not in cadre.completed]
        return f"尚有 {len(missing)} 门课程未完成：{_titles(missing)}。"
    missing = [c for c in courses if c.key not in cadre.started and c.key not in cadre.completed]
    return f"尚有 {len(missing)} 门课程未开始学习：{_titles(missing)}。"


def _requirement(cadre: CadreStanding) -> str:
    return (f"本年度要求完成 {_h(cadre.target)} 学时，其中必修课不少于 {_h(cadre.required_min)} 学时；"
            f"您目前共获得 {_h(cadre.total_hours)} 学时（必修 {_h(cadre.required_hours)} 学时）。")


def learner_text(plan: Plan, reminder: Reminder, cadre: CadreStanding) -> str:
    reasons = "".join("您" + condition_sentence(plan, c, cadre) for c in reminder.when)
    return (f"{cadre.name}同志：您好！截至 {chinese_date(reminder.on)}，{reasons}{_requirement(cadre)}"
            f"请登录在线学习平台，按计划于 {chinese_date(plan.period.end)} 前完成学习任务。\n"
            f"{plan.organisation}")


def _criteria(plan: Plan, reminder: Reminder) -> str:
    said = []
    for condition in reminder.when:
        value = condition.value
        if condition.kind == "hours_below":
            said.append(f"学时低于 {_h(float(value))} 学时")
        elif condition.kind == "required_hours_below":
            said.append(f"必修课学时低于 {_h(float(value))} 学时")
        else:
            course = plan.course(str(value))
            what = "必修课" if value == ANY_REQUIRED else _titles([course]) if course else str(value)
            said.append({"reflection_missing": f"尚未提交{what}的学习心得",
                         "course_incomplete": f"{what}未完成",
                         "course_not_started": f"{what}未开始学习"}[condition.kind])
    return "、".join(said)


def digest_texts(plan: Plan, reminder: Reminder, leader_name: str,
                 cadres: Sequence[CadreStanding]) -> list[tuple[str, list[CadreStanding]]]:
    """The digest for one leader, split into as few messages as Moodle's length limit allows."""
    greeting = f"{leader_name}同志：您好！" if leader_name else "您好！"
    head = (f"{greeting}截至 {chinese_date(reminder.on)}，您联系的以下干部{_criteria(plan, reminder)}，"
            f"学习进度需要督促（共 {len(cadres)} 人）：\n")
    tail = f"请督促他们按计划于 {chinese_date(plan.period.end)} 前完成学习任务。\n{plan.organisation}"
    lines = [f"{n}. {c.name}（{c.department}）已获得 {_h(c.total_hours)} / {_h(c.target)} 学时，"
             f"必修 {_h(c.required_hours)} / {_h(c.required_min)} 学时"
             for n, c in enumerate(cadres, start=1)]
    parts: list[tuple[str, list[CadreStanding]]] = []
    body: list[str] = []
    listed: list[CadreStanding] = []
    fixed = message_bytes(head) + message_bytes(tail) + 1
    used = 0
    for line, cadre in zip(lines, cadres, strict=True):
        size = message_bytes(line) + 1
        if body and fixed + used + size > MESSAGE_LIMIT:
            parts.append((head + "\n".join(body) + "\n" + tail, listed))
            body, listed, used = [], [], 0
        body.append(line)
        listed.append(cadre)
        used += size
    if body:
        parts.append((head + "\n".join(body) + "\n" + tail, listed))
    return parts


def announcement_text(plan: Plan, announcement: Announcement) -> str:
    return f"【{announcement.subject}】\n{announcement.body}\n{plan.organisation}"
