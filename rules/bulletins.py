"""Bulletins (通报): where each department and tier stands, ranked, and what each reader is told.

The rules, as the organisation department circulates its bulletins:

- Everyone taking part in the year (placed in a tier, not excluded) is counted in their tier and in the
  school's total, and in their department unless they are a school leader (校级): the leaders' figures
  are the leaders tier's, and the department table ranks the departments whose heads are urged.
- A group's **completion rate** is its cadres who completed the year's requirement over its cadres, in
  percent to one decimal; its **mean hours** are its cadres' credited hours over its cadres, to two
  decimals; **behind** counts those behind the plan's pace.
- Groups are **ranked** by completion rate, then by mean hours, both as printed. Groups equal on both
  share a rank and the ranks after them are skipped (1, 2, 2, 4): no order is made up between equals,
  and a shared rank is marked 并列 wherever it is shown.
- The **change** is against the year's previous bulletin: places moved (up is positive), the rate in
  percentage points, the mean hours. A group the previous bulletin did not rank, or every group of the
  year's first bulletin, is new.
- **Readers**: a school leader (校级, or named as a department's supervising leader) is told the school's
  total, the top and bottom of the department table, the tiers, and the line of each department they
  supervise; a department's heads (its cadres in post holding one of the bulletin's head positions) their
  department's line, its rank and who in it is behind; every cadre taking part their department's (a
  leader: their tier's) standing and their own hours. Someone in several audiences gets one message with
  each part that concerns them, once per bulletin; a text longer than Moodle takes is split into parts.

Everything here is pure: the service gives the records and the roster, and stores and sends what these
functions return.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from rules.desired import username
from rules.plan_model import Bulletin, Plan, hours_text
from rules.reminders import MESSAGE_LIMIT, Outgoing, chinese_date, message_bytes
from rules.roster import Cadre, Roster
from rules.tiers import placements
from rules.vocabulary import ACTIVE

#: How a bulletin states its ranking, wherever the ranks are printed.
RANKING_RULE = ("排名规则：按完成率（已完成人数 ÷ 参学人数）从高到低排列，"
                "完成率相同的按人均学时从高到低排列；"
                "两项均相同的并列同一名次，其后名次顺延（如 1、2、2、4）。"
                "校领导计入层级和全校合计，不参加部门排名。")
#: How many departments a leader's message names at the top and at the bottom of the table.
ENDS_SHOWN = 3
#: Names of laggards per line of a head's message (a line is never split between two messages).
NAMES_PER_LINE = 15
#: What a cadre is told of their own status; ``%(end)s`` is the end of the plan period.
STATUS_WORDS = {"complete": "已完成本年度学习任务",
                "on_track": "学习进度正常，请继续按计划于 %(end)s 前完成学习任务",
                "behind": "学习进度落后于计划，请抓紧时间，于 %(end)s 前完成学习任务"}


def rounded(value: float, places: int) -> float:
    """Half up, as people round: 12.25 -> 12.3 (binary floats and ``round`` would give 12.2)."""
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Participant:
    """A cadre taking part in the year, with their learning record as last computed."""

    employee_no: str
    name: str
    department: str
    tier: str
    status: str  # complete on_track behind
    total_hours: float
    target: float
    required_hours: float
    required_min: float
    leader: bool = False  # a school leader: counted in their tier and the total, not in a department


@dataclass(frozen=True)
class Figures:
    """A group's (a department's, a tier's, the school's) counts."""

    key: str
    name: str
    cadres: int
    complete: int
    behind: int
    hours: float  # the group's credited hours added up

    @property
    def rate(self) -> float:
        """The completion rate in percent, to one decimal."""
        return rounded(100.0 * self.complete / self.cadres, 1) if self.cadres else 0.0

    @property
    def mean_hours(self) -> float:
        return rounded(self.hours / self.cadres, 2) if self.cadres else 0.0


@dataclass(frozen=True)
class Previous:
    """How the previous bulletin showed a group (rank 0: the total, which is not ranked)."""

    rank: int
    rate: float
    mean_hours: float


@dataclass(frozen=True)
class Ranked:
    figures: Figures
    rank: int
    tied: bool  # another group shares the rank
    previous: Previous | None  # None: new (not in the previous bulletin, or none before)

    @property
    def key(self) -> str:
        return self.figures.key

    @property
    def name(self) -> str:
        return self.figures.name

    @property
    def rank_move(self) -> int | None:
        """Places moved since the previous bulletin: up is positive."""
        return None if self.previous is None else self.previous.rank - self.rank

    @property
    def rate_delta(self) -> float | None:
        return None if self.previous is None else rounded(self.figures.rate - self.previous.rate, 1)

    @property
    def hours_delta(self) -> float | None:
        if self.previous is None:
            return None
        return rounded(self.figures.mean_hours - self.previous.mean_hours, 2)


@dataclass(frozen=True)
class Earlier:
    """The year's previous bulletin as it stood: by department, by tier, and the total."""

    departments: Mapping[str, Previous] = field(default_factory=dict)
    tiers: Mapping[str, Previous] = field(default_factory=dict)
    total: Previous | None = None


@dataclass(frozen=True)
class Standing:
    """A bulletin's figures: both tables ranked, and the school's total."""

    departments: tuple[Ranked, ...]
    tiers: tuple[Ranked, ...]
    total: Figures
    total_previous: Previous | None = None

    def department(self, name: str) -> Ranked | None:
        return next((line for line in self.departments if line.key == name), None)

    def tier(self, key: str) -> Ranked | None:
        return next((line for line in self.tiers if line.key == key), None)


# --- the figures -------------------------------------------------------------------------------------

def _figures(key: str, name: str, members: Sequence[Participant]) -> Figures:
    return Figures(key, name, len(members), sum(1 for p in members if p.status == "complete"),
                   sum(1 for p in members if p.status == "behind"), sum(p.total_hours for p in members))


def ranked(groups: Iterable[Figures], previous: Mapping[str, Previous] | None = None) -> tuple[Ranked, ...]:
    """The groups ranked by rate then mean hours (as printed); equals share a rank, the next is skipped.
    Among equals the order is by key, which says nothing about them."""
    ordered = sorted(groups, key=lambda f: (-f.rate, -f.mean_hours, f.key))
    ranks: list[int] = []
    for index, figures in enumerate(ordered):
        same = index > 0 and (figures.rate, figures.mean_hours) == (ordered[index - 1].rate,
                                                                     ordered[index - 1].mean_hours)
        ranks.append(ranks[-1] if same else index + 1)
    shared = {rank for rank in ranks if ranks.count(rank) > 1}
    before = previous or {}
    return tuple(Ranked(figures, rank, rank in shared, before.get(figures.key))
                 for figures, rank in zip(ordered, ranks, strict=True))


def standing(participants: Sequence[Participant], tier_names: Mapping[str, str],
             earlier: Earlier | None = None) -> Standing:
    """Both tables and the total from the participants; ``earlier`` is the previous bulletin (None: this
    is the year's first, and every group is new)."""
    by_department: dict[str, list[Participant]] = {}
    by_tier: dict[str, list[Participant]] = {}
    for participant in participants:
        by_tier.setdefault(participant.tier, []).append(participant)
        if not participant.leader:
            by_department.setdefault(participant.department, []).append(participant)
    before = earlier or Earlier()
    return Standing(
        departments=ranked((_figures(name, name, members) for name, members in by_department.items()),
                           before.departments if earlier is not None else None),
        tiers=ranked((_figures(key, tier_names.get(key, key), members) for key, members in by_tier.items()),
                     before.tiers if earlier is not None else None),
        total=_figures("", "全校", participants),
        total_previous=before.total)


# --- who reads it ------------------------------------------------------------------------------------

def is_head(cadre: Cadre, positions: Iterable[str]) -> bool:
    """A department's head: in post, not a school leader, holding one of the head positions."""
    return cadre.status == ACTIVE and not cadre.is_leader and cadre.position.strip() in set(positions)


def head_positions_held(roster: Roster) -> frozenset[str]:
    return frozenset(c.position.strip() for c in roster if c.status == ACTIVE and c.position.strip())


def departments_taking_part(plan: Plan, roster: Roster) -> frozenset[str]:
    """The departments the department table will rank: those with cadres placed in a tier (school leaders
    aside)."""
    placed = placements(plan, roster)
    return frozenset(c.department for c in roster if placed[c.employee_no].included and not c.is_leader)


def departments_without_head(roster: Roster, departments: Iterable[str],
                             positions: Iterable[str]) -> list[str]:
    """The ``departments`` where nobody in post holds a head position: a bulletin's figures for them
    would reach no head."""
    wanted = tuple(positions)
    headed = {c.department for c in roster if is_head(c, wanted)}
    return sorted(set(departments) - headed)


def supervised_departments(roster: Roster) -> dict[str, frozenset[str]]:
    """Leader's employee number (as Moodle compares it) -> the departments whose cadres name them as
    their supervising leader (分管校领导)."""
    found: dict[str, set[str]] = {}
    for cadre in roster:
        if cadre.supervising_leader and not cadre.is_leader:
            found.setdefault(username(cadre.supervising_leader), set()).add(cadre.department)
    return {leader: frozenset(departments) for leader, departments in found.items()}


@dataclass(frozen=True)
class Recipient:
    """Someone a bulletin goes to, with each part of it that concerns them."""

    employee_no: str
    name: str
    leader: bool = False  # in the leaders' audience
    supervises: tuple[str, ...] = ()  # the ranked departments the leader supervises
    heads: str | None = None  # the department they head
    own: Participant | None = None  # their own record, as a cadre taking part


def recipients(bulletin: Bulletin, roster: Roster, participants: Sequence[Participant],
               table: Standing) -> list[Recipient]:
    """Everyone the bulletin goes to, by employee number; a leader or head who is not in the roster's
    service (departed, on leave) is not told, nor is a head whose department has nobody taking part."""
    ranked_departments = {line.key for line in table.departments}
    found: dict[str, Recipient] = {}
    if "leaders" in bulletin.to:
        supervising = supervised_departments(roster)
        for cadre in roster:
            if cadre.status != ACTIVE or not (cadre.is_leader or username(cadre.employee_no) in supervising):
                continue
            mine = supervising.get(username(cadre.employee_no), frozenset()) & ranked_departments
            found[cadre.employee_no] = Recipient(cadre.employee_no, cadre.name, leader=True,
                                                 supervises=tuple(line.key for line in table.departments
                                                                  if line.key in mine))
    if "department_heads" in bulletin.to:
        for cadre in roster:
            if is_head(cadre, bulletin.head_positions) and cadre.department in ranked_departments:
                earlier = found.get(cadre.employee_no, Recipient(cadre.employee_no, cadre.name))
                found[cadre.employee_no] = Recipient(earlier.employee_no, earlier.name, earlier.leader,
                                                     earlier.supervises, cadre.department)
    if "all" in bulletin.to:
        for participant in participants:
            earlier = found.get(participant.employee_no, Recipient(participant.employee_no, participant.name))
            found[participant.employee_no] = Recipient(earlier.employee_no, earlier.name, earlier.leader,
                                                       earlier.supervises, earlier.heads, participant)
    return [found[number] for number in sorted(found)]


def audience_counts(bulletin: Bulletin, readers: Sequence[Recipient]) -> dict[str, int]:
    """How many people each audience of the bulletin reaches (someone may be in several)."""
    counts = {"leaders": sum(1 for r in readers if r.leader),
              "department_heads": sum(1 for r in readers if r.heads is not None),
              "all": sum(1 for r in readers if r.own is not None)}
    return {audience: counts[audience] for audience in bulletin.to}


def headless(bulletin: Bulletin, table: Standing, readers: Sequence[Recipient]) -> list[str]:
    """The ranked departments a bulletin to department heads reaches no head of."""
    if "department_heads" not in bulletin.to:
        return []
    headed = {r.heads for r in readers if r.heads is not None}
    return [line.key for line in table.departments if line.key not in headed]


# --- what the messages say ---------------------------------------------------------------------------

def _h(value: float) -> str:
    return hours_text(rounded(value, 2))


def _rank(line: Ranked) -> str:
    return f"第 {line.rank} 名" + ("（并列）" if line.tied else "")


def change_text(line: Ranked) -> str:
    """The change since the previous bulletin, in words."""
    if line.previous is None:
        return "首次参加排名"
    move, rate, hours = line.rank_move or 0, line.rate_delta or 0.0, line.hours_delta or 0.0
    place = (f"较上期上升 {move} 名" if move > 0 else f"较上期下降 {-move} 名" if move < 0
             else "名次与上期持平")
    return place + "，" + _deltas(rate, hours)


def _deltas(rate: float, hours: float) -> str:
    said = (f"完成率提高 {abs(rate):.1f} 个百分点" if rate > 0 else f"完成率下降 {abs(rate):.1f} 个百分点"
            if rate < 0 else "完成率持平")
    said += "，" + (f"人均学时增加 {_h(abs(hours))}" if hours > 0 else f"人均学时减少 {_h(abs(hours))}"
                   if hours < 0 else "人均学时持平")
    return said


def _counts(figures: Figures) -> str:
    return (f"参学 {figures.cadres} 人，已完成 {figures.complete} 人，完成率 {figures.rate:.1f}%，"
            f"人均 {_h(figures.mean_hours)} 学时，进度落后 {figures.behind} 人")


def department_line(line: Ranked) -> str:
    return f"{_rank(line)} {line.name}：{_counts(line.figures)}；{change_text(line)}。"


def _total(table: Standing) -> str:
    total = table.total
    said = f"全校{_counts(total)}"
    if table.total_previous is not None:
        said += "；较上期" + _deltas(rounded(total.rate - table.total_previous.rate, 1),
                                  rounded(total.mean_hours - table.total_previous.mean_hours, 2))
    return said + "。"


def _short(line: Ranked) -> str:
    return f"{line.rank}. {line.name}（{line.figures.rate:.1f}%{'，并列' if line.tied else ''}）"


def _group(lines: Sequence[Ranked]) -> str:
    """Departments at one end of the table; many sharing one rank are counted rather than named."""
    if len(lines) <= 2 * ENDS_SHOWN:
        return "；".join(_short(line) for line in lines)
    first = lines[0]
    names = "、".join(line.name for line in lines[:ENDS_SHOWN])
    if all(line.rank == first.rank for line in lines):
        return (f"{names}等 {len(lines)} 个部门并列第 {first.rank} 名（完成率 {first.figures.rate:.1f}%，"
                f"人均 {_h(first.figures.mean_hours)} 学时）")
    return f"{names}等 {len(lines)} 个部门（第 {first.rank}–{lines[-1].rank} 名）"


def _table_ends(table: Standing) -> str:
    lines = table.departments
    if not lines:
        return ""
    if len(lines) <= 2 * ENDS_SHOWN:
        return f"各部门排名（共 {len(lines)} 个）：" + _group(lines) + "。"
    top = [line for line in lines if line.rank <= lines[ENDS_SHOWN - 1].rank]
    bottom = [line for line in lines if line.rank >= lines[-ENDS_SHOWN].rank and line not in top]
    said = f"部门排名（共 {len(lines)} 个）前列：" + _group(top) + "。"
    return said + ("排名靠后：" + _group(bottom) + "。" if bottom else "")


def _tiers(table: Standing) -> str:
    if not table.tiers:
        return ""
    return "各层级：" + "；".join(f"{_rank(line)} {line.name}，完成率 {line.figures.rate:.1f}%，人均 "
                              f"{_h(line.figures.mean_hours)} 学时" for line in table.tiers) + "。"


def _leader_blocks(plan: Plan, table: Standing, reader: Recipient) -> list[str]:
    blocks = [_total(table), _table_ends(table), _tiers(table)]
    if reader.supervises:
        blocks.append(f"您分管的部门（{len(reader.supervises)} 个）：")
        blocks += [department_line(line) for line in table.departments if line.key in reader.supervises]
        blocks.append(f"请督促分管部门干部按计划于 {chinese_date(plan.period.end)} 前完成学习任务。")
    return [block for block in blocks if block]


def _head_blocks(plan: Plan, table: Standing, department: str,
                 participants: Sequence[Participant]) -> list[tuple[str, tuple[str, ...]]]:
    line = table.department(department)
    assert line is not None
    blocks: list[tuple[str, tuple[str, ...]]] = [(
        f"{department}在 {len(table.departments)} 个部门中排{_rank(line)}：{_counts(line.figures)}；"
        f"{change_text(line)}。", ())]
    behind = sorted((p for p in participants if p.department == department and not p.leader
                     and p.status == "behind"), key=lambda p: p.employee_no)
    if not behind:
        blocks.append(("本部门暂无进度落后的干部，请继续保持。", ()))
        return blocks
    blocks.append((f"本部门进度落后的干部（{len(behind)} 人）：", ()))
    for start in range(0, len(behind), NAMES_PER_LINE):
        chunk = behind[start:start + NAMES_PER_LINE]
        blocks.append(("、".join(f"{p.name}（{_h(p.total_hours)}/{_h(p.target)} 学时）" for p in chunk),
                       tuple(p.employee_no for p in chunk)))
    blocks.append((f"请督促本部门干部按计划于 {chinese_date(plan.period.end)} 前完成学习任务。", ()))
    return blocks


def _own_blocks(plan: Plan, table: Standing, reader: Recipient, tier_names: Mapping[str, str]) -> list[str]:
    own = reader.own
    assert own is not None
    blocks = []
    if not reader.leader and reader.heads is None:
        if own.leader:
            line = table.tier(own.tier)
            if line is not None:
                blocks.append(f"您所在的{tier_names.get(own.tier, own.tier)}在 {len(table.tiers)} 个层级中排"
                              f"{_rank(line)}，完成率 {line.figures.rate:.1f}%，"
                              f"人均 {_h(line.figures.mean_hours)} 学时。")
        else:
            line = table.department(own.department)
            if line is not None:
                blocks.append(f"您所在的{own.department}在 {len(table.departments)} 个部门中排{_rank(line)}，"
                              f"完成率 {line.figures.rate:.1f}%，人均 {_h(line.figures.mean_hours)} 学时。")
    status = STATUS_WORDS.get(own.status, STATUS_WORDS["on_track"]) % {"end": chinese_date(plan.period.end)}
    blocks.append(f"您本人已获得 {_h(own.total_hours)} 学时（年度目标 {_h(own.target)} 学时，其中必修 "
                  f"{_h(own.required_hours)} / {_h(own.required_min)} 学时），{status}。")
    return blocks


def bulletin_messages(plan: Plan, bulletin: Bulletin, table: Standing, readers: Sequence[Recipient],
                      participants: Sequence[Participant], records_for: dt.date) -> list[Outgoing]:
    """One message per reader (split into parts only where Moodle's limit asks), keyed by bulletin and
    person so that it is sent once. ``records_for`` is the day the records were computed for."""
    tier_names = {t.key: t.name for t in plan.tiers}
    out: list[Outgoing] = []
    for reader in readers:
        blocks: list[tuple[str, tuple[str, ...]]] = []
        if reader.leader:
            blocks += [(block, ()) for block in _leader_blocks(plan, table, reader)]
        if reader.heads is not None:
            blocks += _head_blocks(plan, table, reader.heads, participants)
        if reader.own is not None:
            blocks += [(block, ()) for block in _own_blocks(plan, table, reader, tier_names)]
        head = (f"【{bulletin.title}】\n{reader.name}同志：您好！截至 {chinese_date(records_for)}，"
                f"{plan.year} 年度干部在线学习情况通报如下：\n")
        parts = _split(head, blocks, plan.organisation)
        for number, (text, about) in enumerate(parts, start=1):
            suffix = "" if len(parts) == 1 else f"/part-{number}"
            key = f"{plan.year}/bulletin/{bulletin.key}/{reader.employee_no}{suffix}"
            out.append(Outgoing(key, "bulletin", bulletin.key, reader.employee_no, text, about))
    return out


def _split(head: str, blocks: Sequence[tuple[str, tuple[str, ...]]],
           tail: str) -> list[tuple[str, tuple[str, ...]]]:
    """The blocks under ``head`` and above ``tail``, in as few messages as Moodle's limit allows; a block
    is split only where it alone would not fit (at its separators, else between characters)."""
    fixed = message_bytes(head) + (message_bytes(tail) + 1 if tail else 0)
    parts: list[tuple[str, tuple[str, ...]]] = []
    body: list[str] = []
    about: list[str] = []
    used = 0
    for whole, listed in blocks:
        for index, text in enumerate(_fitted(whole, MESSAGE_LIMIT - fixed - 1)):
            size = message_bytes(text) + 1
            if body and fixed + used + size > MESSAGE_LIMIT:
                parts.append(_part(head, body, tail, about))
                body, about, used = [], [], 0
            body.append(text)
            if index == 0:
                about.extend(listed)
            used += size
    if body or not parts:
        parts.append(_part(head, body, tail, about))
    return parts


def _fitted(text: str, room: int) -> list[str]:
    """``text`` in pieces of at most ``room`` bytes, cut after a separator where one is at hand."""
    pieces: list[str] = []
    while message_bytes(text) > room:
        cut = len(text.encode("utf-8")[:room].decode("utf-8", errors="ignore"))
        at = max(text.rfind(mark, 0, cut) for mark in "；、，。\n")
        cut = at + 1 if at > 0 else cut
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text] if text else pieces


def _part(head: str, body: list[str], tail: str, about: list[str]) -> tuple[str, tuple[str, ...]]:
    return head + "\n".join(body) + ("\n" + tail if tail else ""), tuple(about)
