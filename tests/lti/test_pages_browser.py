"""The pages in real Chromium as a phone shows them (360 px wide) and as Moodle frames them: nothing runs
off the side on any page, in either language; the hours bar tells its values to assistive technology;
the page shows inside a frame of the Moodle site and refuses a frame of any other site."""

from __future__ import annotations

import dataclasses
from typing import Any

from playwright.sync_api import Browser, Page, ViewportSize
from sqlalchemy import select

from plugin_service.db import session_scope
from plugin_service.models import LearningRecordRow

from ..browser.live import served
from ..console.conftest import OFFICER_DEPARTMENTS, make_app
from .conftest import World, learner_token, token

PHONE: ViewportSize = {"width": 360, "height": 740}
#: Elements reaching past the viewport's edges; the skip link waits off-screen, and a table's headings are
#: hidden off the layout when its rows stack on a phone.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const over = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.skip')) continue;
    const head = el.closest('thead');
    if (head && getComputedStyle(head).position === 'absolute') continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > width + 0.5 || box.left < -0.5) {
      const where = `${Math.round(box.left)}..${Math.round(box.right)}`;
      over.push(`${el.tagName.toLowerCase()}.${el.className} ${where}`);
    }
  }
  return {width, scroll: document.documentElement.scrollWidth, over: over.slice(0, 8)};
}"""


def pages(world: World) -> dict[str, str]:
    with session_scope(world.year.database_url) as session:
        by_status = {row.status: row.employee_no for row in session.scalars(
            select(LearningRecordRow).where(LearningRecordRow.year == 2026)
            .order_by(LearningRecordRow.employee_no))}
    found = {f"learner-{status}-{lang}": f"/lti/home?t={learner_token(world, no, lang)}"
             for status, no in by_status.items() for lang in ("zh", "en")}
    everything = token(world.holders[0], ("learner", "reviewer", "officer"), departments=OFFICER_DEPARTMENTS)
    found["certificate-holder"] = f"/lti/home?t={learner_token(world, world.holders[0], 'zh')}"
    found["reviewer"] = f"/lti/reviewing?t={token('T19880', ('reviewer',), locale='zh')}"
    found["officer"] = f"/lti/department?t={token(None, ('officer',), departments=OFFICER_DEPARTMENTS)}"
    found["all-roles"] = f"/lti/home?t={everything}"
    found["unknown"] = f"/lti/home?t={token(None, (), locale='en')}"
    found["refused"] = "/lti/home?t=altered"
    found["not-found"] = f"/lti/certificates/ABCDE-FGHJK-MNPQR-STVWX-YZ0123.pdf?t={everything}"
    return found


def overflow(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(OVERFLOW)
    return found


def test_no_page_runs_off_a_phones_screen(world: World, browser: Browser) -> None:
    with served(world.app) as base:
        context = browser.new_context(viewport=PHONE, locale="zh-CN")
        page = context.new_page()
        for name, path in pages(world).items():
            page.goto(base + path)
            assert page.locator("h1").count() == 1, name
            found = overflow(page)
            assert found["scroll"] <= PHONE["width"] and not found["over"], (name, found)
        context.close()


def test_the_hours_bar_tells_its_values(world: World, browser: Browser) -> None:
    no = world.holders[1]
    with session_scope(world.year.database_url) as session:
        row = session.scalar(select(LearningRecordRow).where(LearningRecordRow.year == 2026,
                                                             LearningRecordRow.employee_no == no))
    assert row is not None
    with served(world.app) as base:
        page = browser.new_page(viewport=PHONE)
        page.goto(f"{base}/lti/home?t={learner_token(world, no, 'en')}")
        bar = page.get_by_role("progressbar", name="Hours in 2026")
        assert bar.get_attribute("aria-valuemin") == "0"
        assert bar.get_attribute("aria-valuemax") == f"{round(row.target_hours, 2):g}"
        assert bar.get_attribute("aria-valuenow") == f"{round(min(row.total_hours, row.target_hours), 2):g}"
        assert bar.get_attribute("aria-valuetext") == (
            f"{round(row.total_hours, 2):g} of {round(row.target_hours, 2):g} hours")
        page.close()


def test_moodle_may_frame_the_pages_and_no_other_site_may(world: World, browser: Browser) -> None:
    """A course page of "Moodle" (a loopback server the companion is configured with) frames the tool;
    the same page reached under another host name is another site, whose frame the browser refuses."""
    framing: dict[str, str] = {}

    def course_page(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [(f'<!DOCTYPE html><html><body><h1>Moodle</h1><iframe id="tool" src="{framing["tool"]}" '
                 'width="360" height="700"></iframe></body></html>').encode()]

    with served(course_page) as moodle:
        app = make_app(dataclasses.replace(world.app.config["CADRE_SETTINGS"], moodle_url=moodle))
        with served(app) as base:
            framing["tool"] = f"{base}/lti/home?t={learner_token(world, world.holders[0], 'zh')}"
            context = browser.new_context(viewport={"width": 1024, "height": 900})
            page = context.new_page()
            page.goto(f"{moodle}/mod/lti/view.php?id=1")
            title = page.frame_locator("#tool").locator('[data-testid="learner-title"]')
            assert title.inner_text().startswith("我的学习")
            found: dict[str, Any] = page.frames[1].evaluate(OVERFLOW)
            assert found["width"] <= 360 and found["scroll"] <= found["width"] and not found["over"], found

            refused: list[str] = []
            page.on("requestfailed", lambda request: refused.append(f"{request.url} {request.failure}"))
            page.goto(f"{moodle.replace('127.0.0.1', 'localhost')}/mod/lti/view.php?id=1")
            page.wait_for_load_state("load")
            assert len(page.frames) == 2
            assert page.frames[1].locator('[data-testid="learner-title"]').count() == 0
            assert any("/lti/home" in line and "ERR_BLOCKED_BY_RESPONSE" in line for line in refused), refused
            context.close()
