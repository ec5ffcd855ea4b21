"""The bulletin's PDF: its tables with shared ranks and changes, the year's first bulletin, and a table too
long for one page."""

from __future__ import annotations

from typing import Any

from plugin_service.services.documents.render import preview_values, render_pdf

from .test_render import has, pages, text_of


def line(name: str, rank: int, *, tied: bool = False, new: bool = False,
         move: int | None = 0) -> dict[str, Any]:
    return {"name": name, "cadres": 10, "complete": 5, "rate": 50.0, "mean_hours": 30.25, "behind": 2,
            "rank": rank, "tied": tied, "new": new, "rank_move": None if new else move,
            "rate_delta": None if new else -2.5, "hours_delta": None if new else 4.0}


def test_the_tables_print_ranks_ties_and_changes() -> None:
    sample = preview_values("bulletin") | {
        "departments": [line("教务处", 1, tied=True, move=3), line("图书馆", 1, tied=True, move=-1),
                        line("商学院", 3, new=True)]}
    text = text_of(render_pdf("bulletin", sample))
    has(text, "1并列教务处", "50.0%", "30.25", "升3", "-2.5", "+4", "1并列图书馆", "降1", "3商学院", "新")
    has(text, "与上期通报相比，完成率提高 12.5 个百分点，人均学时增加 8.2", "排名规则：按完成率")


def test_the_year_s_first_bulletin_says_so() -> None:
    sample = preview_values("bulletin")
    first = sample | {"previous": None,
                      "total": sample["total"] | {"new": True, "rate_delta": None, "hours_delta": None},
                      "departments": [line("教务处", 1, new=True)], "tiers": [], "notes": []}
    text = text_of(render_pdf("bulletin", first))
    has(text, "本期为本年度首次通报", "暂无层级数据")
    assert "与上期通报相比" not in text


def test_a_long_table_runs_over_pages_with_every_department() -> None:
    names = [f"第{n:02d}教学部（马克思主义学院思想政治理论课教学研究部）" for n in range(1, 71)]
    sample = preview_values("bulletin") | {"departments": [line(name, n) for n, name in enumerate(names, 1)]}
    pdf = render_pdf("bulletin", sample)
    assert len(pages(pdf)) >= 2
    has(text_of(pdf), *names)
