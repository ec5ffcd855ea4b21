"""The plan's bulletins (通报): when each goes out, under which title, to whom; and what the roster tells
of them (departments whose head nobody is, head positions nobody holds).

A bulletin is dated like an announcement, within the plan period; its key defaults to its date, so that
one date is one bulletin unless the plan names a second one that day (which then gets "<date>-2").
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from rules.bulletins import departments_taking_part, departments_without_head, head_positions_held
from rules.plan_model import AUDIENCES, HEAD_POSITIONS, Bulletin, Plan
from rules.plan_reader import Reader
from rules.plan_schema import Context, key_node
from rules.problems import Problem
from rules.roster import Roster
from rules.vocabulary import close_match
from rules.wording import Sentence
from rules.yamltree import YMap, YNode

FIELDS = ("key", "on", "title", "to", "head_positions")
#: A title is repeated at the head of every message of the bulletin: it must leave room for the figures.
TITLE_MAX = 60
_SHOWN = 10  # departments named in one message before "and N more"


def bulletins(ctx: Context, node: YNode | None) -> tuple[Bulletin, ...]:
    """The bulletins read whole; one with an error is dropped, the others are still checked."""
    r = ctx.r
    found: list[Bulletin] = []
    keyed: list[tuple[str | None, YNode]] = []
    per_day: Counter[dt.date] = Counter()
    items = r.sequence(node, "bulletins")
    for item in items:
        m = r.mapping(item, FIELDS, ("on", "title", "to"))
        on = r.date(m, "on")
        if on is not None and ctx.period is not None and on not in ctx.period and m is not None:
            r.at(_child(m, "on"), Sentence(
                "the bulletin's date %(day)s is outside the plan period %(start)s – %(end)s",
                day=on.isoformat(), start=ctx.period.start.isoformat(), end=ctx.period.end.isoformat()))
        key = r.key(m) if m is not None and "key" in m.entries else None
        if key is None and on is not None:
            per_day[on] += 1
            key = on.isoformat() if per_day[on] == 1 else f"{on.isoformat()}-{per_day[on]}"
        keyed.append((key, key_node(item)))
        title = r.text(m, "title") or ""
        if len(title) > TITLE_MAX and m is not None:
            r.at(_child(m, "title"), Sentence(
                "the title is %(length)s characters long; a bulletin's title holds at most %(most)s",
                length=len(title), most=TITLE_MAX))
        to = _audiences(r, m)
        positions = _positions(r, m)
        if m is not None and "head_positions" in m.entries and "department_heads" not in to \
                and r.intact(m, "to"):
            r.at(_child(m, "head_positions"), Sentence(
                "head_positions only matter to a bulletin sent to department_heads"), "warning")
        found.append(Bulletin(key or "", on or dt.date.min, title, to,
                              positions if positions is not None else HEAD_POSITIONS, item.line))
    r.unique(keyed, "bulletin")
    return tuple(b for b, item in zip(found, items, strict=True) if not r.broken(item.path))


def _audiences(r: Reader, m: YMap | None) -> tuple[str, ...]:
    words = r.words(m, "to")
    if words is None:
        return ()
    named: set[str] = set()
    for word in words:
        audience = word.raw.strip()
        if audience in AUDIENCES:
            named.add(audience)
            continue
        close, allowed = close_match(audience, AUDIENCES), ", ".join(AUDIENCES)
        if close is None:
            r.at(word, Sentence('unknown audience "%(audience)s" (audiences: %(allowed)s)',
                                audience=audience, allowed=allowed))
        else:
            r.at(word, Sentence('unknown audience "%(audience)s" (did you mean "%(close)s"?) '
                                "(audiences: %(allowed)s)", audience=audience, close=close, allowed=allowed))
    if not words and m is not None:
        r.at(_child(m, "to"), Sentence("a bulletin needs an audience (%(allowed)s)",
                                       allowed=", ".join(AUDIENCES)))
    return tuple(audience for audience in AUDIENCES if audience in named)


def _positions(r: Reader, m: YMap | None) -> tuple[str, ...] | None:
    """The positions that count as a department's head, as the roster writes them (free text)."""
    words = r.words(m, "head_positions")
    if words is None:
        return None
    positions = tuple(dict.fromkeys(word.raw.strip() for word in words if word.raw.strip()))
    if not positions and m is not None:
        r.at(_child(m, "head_positions"), Sentence(
            "head_positions needs at least one position (like 处长, 院长)"))
    return positions


def check_bulletins_against_roster(plan: Plan, roster: Roster) -> list[Problem]:
    """Warnings of bulletins to department heads: a head position nobody in post holds (most likely
    misspelt), and departments whose figures would reach no head because nobody in post holds a head
    position there; each at the first bulletin with those head positions."""
    problems: list[Problem] = []
    to_heads = [(index, b) for index, b in enumerate(plan.bulletins) if "department_heads" in b.to]
    if not to_heads:
        return problems
    held, taking_part = head_positions_held(roster), departments_taking_part(plan, roster)
    told: set[tuple[str, ...]] = set()  # head positions already checked: each finding is told once
    for index, bulletin in to_heads:
        where = f"bulletins[{index}]"
        if bulletin.head_positions in told:
            continue
        told.add(bulletin.head_positions)
        if bulletin.head_positions != HEAD_POSITIONS:
            problems += [Problem(plan.filename, bulletin.line, f"{where}.head_positions", Sentence(
                '%(fact)s "%(value)s" is nobody\'s in %(roster)s', fact="position", value=position,
                roster=roster.filename), "warning")
                for position in bulletin.head_positions if position not in held]
        headless = departments_without_head(roster, taking_part, bulletin.head_positions)
        if headless:
            listed = "、".join(headless[:_SHOWN])
            more = len(headless) - _SHOWN
            departments = listed if more <= 0 else Sentence("%(listed)s and %(more)s more", listed=listed,
                                                            more=more)
            problems.append(Problem(plan.filename, bulletin.line, f"{where}.to", Sentence(
                "%(count)s department(s) of %(roster)s have nobody in post as %(positions)s: their figures "
                "reach no head (name the head's position in head_positions): %(departments)s",
                count=len(headless), roster=roster.filename, positions="、".join(bulletin.head_positions),
                departments=departments), "warning"))
    return problems


def _child(m: YMap, key: str) -> YNode:
    node = m.get(key)
    assert node is not None
    return node
