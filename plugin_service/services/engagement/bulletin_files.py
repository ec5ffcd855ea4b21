"""A bulletin's files: the PDF circulated to the leaders and department heads (``templates/documents/
bulletin``) and the XLSX of its tables, both made from the stored figures, never from today's records.

They are written once the bulletin is stored, each by a rename, to ``<documents_dir>/<year>/bulletins/
<key>.pdf`` and ``.xlsx``, and their hashes kept with the bulletin: a run killed before writing them (or
whose template failed) leaves them to the next run, which writes what is missing and nothing else. Files
once written are the bulletin as it was circulated and are not written again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rules.bulletins import RANKING_RULE, Figures, Ranked, Standing

from ...config import Settings
from ...db import session_scope
from ...models import AuditLog, Bulletin
from ..documents.document_batches import documents_root, write_atomically
from ..documents.document_values import plan_of
from ..documents.exports import Column, Table, to_xlsx_book
from .bulletin_store import load_standing

AUDIENCE_NAMES = {"leaders": "校领导", "department_heads": "部门负责人", "all": "全体参学干部"}


def audiences_text(bulletin: Bulletin) -> str:
    """"校领导 8 人、部门负责人 25 人": whom the bulletin reached, in the plan's order."""
    return "、".join(f"{AUDIENCE_NAMES.get(audience, audience)} {bulletin.readers.get(audience, 0)} 人"
                    for audience in bulletin.audiences)


def notes_text(bulletin: Bulletin) -> list[str]:
    found = []
    for note in bulletin.notes or []:
        departments = note.get("headless") if isinstance(note, dict) else None
        if departments:
            found.append(f"以下部门未找到在岗负责人，其学习情况未能发送给部门负责人：{'、'.join(departments)}。")
    return found


def _line(figures: Figures, line: Ranked | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": figures.name, "cadres": figures.cadres, "complete": figures.complete, "rate": figures.rate,
        "mean_hours": figures.mean_hours, "behind": figures.behind, "rank": None, "tied": False, "new": True,
        "rank_move": None, "rate_delta": None, "hours_delta": None}
    if line is not None:
        values.update(rank=line.rank, tied=line.tied, new=line.previous is None, rank_move=line.rank_move,
                      rate_delta=line.rate_delta, hours_delta=line.hours_delta)
    return values


def pdf_values(session: Session, bulletin: Bulletin, table: Standing) -> dict[str, Any]:
    """What the bulletin template prints (plain values, as meta.yaml names them)."""
    plan = plan_of(session, bulletin.year)
    previous = session.get(Bulletin, bulletin.previous_id) if bulletin.previous_id is not None else None
    total = Ranked(table.total, 0, False, table.total_previous)
    return {
        "title": bulletin.title, "organisation": plan.organisation if plan is not None else "",
        "year": bulletin.year, "due_on": dt.date.fromisoformat(bulletin.due_on),
        "issued_on": dt.date.fromisoformat(bulletin.issued_on),
        "records_for": dt.date.fromisoformat(bulletin.records_for),
        "previous": ({"title": previous.title, "records_for": dt.date.fromisoformat(previous.records_for)}
                     if previous is not None else None),
        "ranking_rule": RANKING_RULE, "audiences": audiences_text(bulletin),
        "total": {**_line(table.total, total), "rank": None},
        "departments": [_line(line.figures, line) for line in table.departments],
        "tiers": [_line(line.figures, line) for line in table.tiers],
        "notes": notes_text(bulletin)}


def _ranked_table(title: str, heading: str, lines: tuple[Ranked, ...]) -> Table:
    columns = (Column("rank", "名次", kind="number"), Column("tied", "并列"), Column("name", heading),
               Column("cadres", "参学人数", kind="number"), Column("complete", "已完成", kind="number"),
               Column("rate", "完成率（%）", kind="number"), Column("mean_hours", "人均学时", kind="hours"),
               Column("behind", "进度落后", kind="number"),
               Column("previous_rank", "上期名次", kind="number"),
               Column("rank_move", "名次变化（上升为正）", kind="number"),
               Column("rate_delta", "完成率变化（百分点）", kind="number"),
               Column("hours_delta", "人均学时变化", kind="hours"), Column("new", "上期未排名"))
    rows = tuple({"rank": line.rank, "tied": "并列" if line.tied else "", "name": line.name,
                  "cadres": line.figures.cadres, "complete": line.figures.complete, "rate": line.figures.rate,
                  "mean_hours": line.figures.mean_hours, "behind": line.figures.behind,
                  "previous_rank": line.previous.rank if line.previous is not None else None,
                  "rank_move": line.rank_move, "rate_delta": line.rate_delta, "hours_delta": line.hours_delta,
                  "new": "新" if line.previous is None else ""} for line in lines)
    return Table(title, columns, rows)


def tables(session: Session, bulletin: Bulletin, table: Standing) -> list[Table]:
    """The XLSX's sheets: the departments, the tiers, then what the bulletin is (dates, total, rule)."""
    values = pdf_values(session, bulletin, table)
    total = values["total"]
    about = [("通报", bulletin.title), ("年度", bulletin.year), ("计划日期", bulletin.due_on),
             ("印发日期", bulletin.issued_on), ("数据截至", bulletin.records_for),
             ("上期通报", values["previous"]["title"] if values["previous"] else "（本年度首次通报）"),
             ("全校参学人数", total["cadres"]), ("已完成人数", total["complete"]),
             ("完成率（%）", total["rate"]),
             ("人均学时", total["mean_hours"]), ("进度落后人数", total["behind"]),
             ("完成率变化（百分点）", total["rate_delta"]), ("人均学时变化", total["hours_delta"]),
             ("通报对象", values["audiences"]), ("排名规则", RANKING_RULE),
             *(("说明", note) for note in values["notes"])]
    rows = tuple({"item": item, "value": "" if value is None else str(value)} for item, value in about)
    return [_ranked_table("按部门", "部门", table.departments), _ranked_table("按层级", "层级", table.tiers),
            Table("说明", (Column("item", "项目"), Column("value", "内容")), rows)]


def xlsx_bytes(session: Session, bulletin: Bulletin) -> bytes:
    table = load_standing(session, bulletin.id)
    return to_xlsx_book(tables(session, bulletin, table), bulletin.title)


def pdf_bytes(session: Session, bulletin: Bulletin, templates_dir: str = "") -> bytes:
    from ..documents.render import render_pdf  # the layout engine is heavy: loaded where a PDF is made

    values = pdf_values(session, bulletin, load_standing(session, bulletin.id))
    return render_pdf("bulletin", values, templates_dir=Path(templates_dir) if templates_dir else None)


def relative_path(bulletin: Bulletin, suffix: str) -> str:
    return f"{bulletin.year}/bulletins/{bulletin.key}{suffix}"


def _present(root: Path, path: str, digest: str | None) -> bool:
    return bool(path) and digest is not None and (root / path).is_file()


def write_missing(settings: Settings, year: int, *, actor: str) -> list[Path]:
    """Writes every file of the year's bulletins that is not written yet; returns the files written.
    A template that fails raises ``documents.templates.TemplateError`` after the files before it stand."""
    root = documents_root(settings)
    written: list[Path] = []
    with session_scope(settings.database_url) as session:
        wanting = [b.id for b in session.scalars(select(Bulletin).where(
            Bulletin.year == year, or_(Bulletin.pdf_sha256.is_(None), Bulletin.xlsx_sha256.is_(None))))]
        wanting += [b.id for b in session.scalars(select(Bulletin).where(Bulletin.year == year))
                    if b.id not in wanting and not (_present(root, b.pdf_path, b.pdf_sha256)
                                                    and _present(root, b.xlsx_path, b.xlsx_sha256))]
    for bulletin_id in sorted(wanting):
        with session_scope(settings.database_url) as session:
            bulletin = session.get(Bulletin, bulletin_id)
            assert bulletin is not None
            made = {}
            if not _present(root, bulletin.xlsx_path, bulletin.xlsx_sha256):
                made[".xlsx"] = xlsx_bytes(session, bulletin)
            if not _present(root, bulletin.pdf_path, bulletin.pdf_sha256):
                made[".pdf"] = pdf_bytes(session, bulletin, settings.documents_templates)
            for suffix, data in made.items():
                path = relative_path(bulletin, suffix)
                write_atomically(root / path, data)
                digest = hashlib.sha256(data).hexdigest()
                if suffix == ".pdf":
                    bulletin.pdf_path, bulletin.pdf_sha256 = path, digest
                else:
                    bulletin.xlsx_path, bulletin.xlsx_sha256 = path, digest
                written.append(root / path)
            files = sorted(relative_path(bulletin, suffix) for suffix in made)
            session.add(AuditLog(actor=actor, action="bulletin:files",
                                 target=f"{year}/bulletin/{bulletin.key}",
                                 detail={"bulletin": bulletin.id, "files": files}))
    return written
