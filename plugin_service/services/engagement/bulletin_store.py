"""Bulletins as stored: a bulletin's ranked figures written as lines and read back as the rules'
``Standing``, and the year's bulletins in the order they were issued.

The lines keep the figures exactly as printed (rate and mean hours rounded as the bulletin showed them)
with the previous bulletin's values beside them, so that a bulletin reads back the same years later,
whatever happened to the records since.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rules.bulletins import Earlier, Figures, Previous, Ranked, Standing

from ...models import Bulletin, BulletinLine

GROUPINGS = ("department", "tier", "total")


def latest(session: Session, year: int) -> Bulletin | None:
    """The year's most recently issued bulletin: the one the next is compared with."""
    return session.scalars(select(Bulletin).where(Bulletin.year == year)
                           .order_by(Bulletin.id.desc()).limit(1)).first()


def issued(session: Session, year: int) -> list[Bulletin]:
    """The year's bulletins, oldest first."""
    return list(session.scalars(select(Bulletin).where(Bulletin.year == year).order_by(Bulletin.id)))


def find(session: Session, year: int, key: str) -> Bulletin | None:
    return session.scalars(select(Bulletin).where(Bulletin.year == year, Bulletin.key == key)).first()


def _line(bulletin_id: int, grouping: str, position: int, line: Ranked) -> BulletinLine:
    figures, previous = line.figures, line.previous
    return BulletinLine(
        bulletin_id=bulletin_id, grouping=grouping, key=figures.key, name=figures.name, position=position,
        cadres=figures.cadres, complete=figures.complete, behind=figures.behind, hours=figures.hours,
        rate=figures.rate, mean_hours=figures.mean_hours, rank=line.rank, tied=line.tied,
        is_new=previous is None, previous_rank=previous.rank if previous is not None else None,
        previous_rate=previous.rate if previous is not None else None,
        previous_mean_hours=previous.mean_hours if previous is not None else None)


def store_standing(session: Session, bulletin: Bulletin, table: Standing) -> None:
    """Writes the bulletin's lines (replacing any it had) in the caller's transaction."""
    session.execute(delete(BulletinLine).where(BulletinLine.bulletin_id == bulletin.id))
    rows = [_line(bulletin.id, "department", n, line) for n, line in enumerate(table.departments, start=1)]
    rows += [_line(bulletin.id, "tier", n, line) for n, line in enumerate(table.tiers, start=1)]
    total = Ranked(table.total, 0, False, table.total_previous)
    rows.append(_line(bulletin.id, "total", 0, total))
    rows[-1].rank = None
    session.add_all(rows)
    session.flush()


def _ranked(row: BulletinLine) -> Ranked:
    previous = None
    if not row.is_new and row.previous_rate is not None and row.previous_mean_hours is not None:
        previous = Previous(row.previous_rank or 0, row.previous_rate, row.previous_mean_hours)
    figures = Figures(row.key, row.name, row.cadres, row.complete, row.behind, row.hours)
    return Ranked(figures, row.rank or 0, row.tied, previous)


def load_standing(session: Session, bulletin_id: int) -> Standing:
    """The bulletin's figures as it printed them."""
    rows = list(session.scalars(select(BulletinLine).where(BulletinLine.bulletin_id == bulletin_id)
                                .order_by(BulletinLine.grouping, BulletinLine.position)))
    departments = tuple(_ranked(r) for r in rows if r.grouping == "department")
    tiers = tuple(_ranked(r) for r in rows if r.grouping == "tier")
    total_row = next((r for r in rows if r.grouping == "total"), None)
    if total_row is None:
        return Standing(departments, tiers, Figures("", "全校", 0, 0, 0, 0.0))
    total = _ranked(total_row)
    return Standing(departments, tiers, total.figures, total.previous)


def earlier(session: Session, bulletin_id: int) -> Earlier:
    """A stored bulletin as the next one compares itself with."""
    table = load_standing(session, bulletin_id)
    return earlier_of(table)


def earlier_of(table: Standing) -> Earlier:
    return Earlier(departments={line.key: Previous(line.rank, line.figures.rate, line.figures.mean_hours)
                                for line in table.departments},
                   tiers={line.key: Previous(line.rank, line.figures.rate, line.figures.mean_hours)
                          for line in table.tiers},
                   total=Previous(0, table.total.rate, table.total.mean_hours))
