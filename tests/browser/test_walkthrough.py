"""The year in the console, in real Chromium, as the organisation department walks it: sign in, upload a
plan with a mistake and see its line, fix it, see the diff against Moodle, apply it and watch the job
finish; the cadres study in Moodle; harvest; find a cadre by name and open their page; open the report
and download it as XLSX (read back: Chinese intact); look at the audit log and the settings; switch to
English. A screenshot of each main page is saved under ``artifacts/screenshots/``.

The app is the real one (``create_app``) served by werkzeug on a loopback port in a thread, on a fresh
SQLite database, with a fake Moodle over HTTP; Celery runs the console's jobs eagerly, in the request
that starts them, so the job page shows them finished."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
from playwright.sync_api import Browser, Page, expect

from moodle_bridge.fake import serve
from plugin_service.config import Settings

from ..conftest import TOKEN
from ..console.conftest import PASSWORD, add_users, make_app, settings_for
from ..console.test_inputs_jobs import BROKEN
from ..harvest.world import PLAN_FILE, Year, library_site, small_roster, spread
from .live import served

WAIT_MS = 60_000


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def upload(page: Page, base: str, plan: Path, roster: Path) -> None:
    page.goto(f"{base}/inputs/")
    page.set_input_files("#plan-file", str(plan))
    page.set_input_files("#roster-file", str(roster))
    page.click("#upload")


def test_a_year_walked_in_the_browser(browser: Browser, screenshots: Path, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'cadre.sqlite3'}"
    plan_text, roster = PLAN_FILE.read_text("utf-8"), small_roster()
    broken = plan_text.replace(*BROKEN)
    broken_line = next(n for n, line in enumerate(broken.splitlines(), 1) if BROKEN[1] in line)
    files = tmp_path / "files"
    files.mkdir()
    (files / "broken").mkdir()
    (files / "broken" / "plan-2026.yaml").write_text(broken, "utf-8")
    (files / "plan-2026.yaml").write_text(plan_text, "utf-8")
    (files / "roster-2026.csv").write_bytes(roster)
    rows = list(csv.DictReader(io.StringIO(roster.decode("utf-8-sig"))))

    with serve(library_site()) as fake:
        settings = settings_for(database_url, moodle_url=fake.url, moodle_token=TOKEN,
                                documents_dir=str(tmp_path / "documents"))
        app = make_app(settings)
        add_users(database_url)
        with served(app) as base:
            context = browser.new_context(accept_downloads=True, locale="zh-CN",
                                          viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(WAIT_MS)

            # Signing in: any page sends an anonymous visitor to the sign-in form first.
            page.goto(f"{base}/reports/")
            expect(page).to_have_url(f"{base}/login?next=/reports/")
            page.fill("#username", "admin")
            page.fill("#password", PASSWORD)
            page.click("#login")
            expect(page).to_have_url(f"{base}/reports/")
            expect(page.get_by_test_id("current-user")).to_contain_text("admin")
            expect(page.locator("#nav-dashboard")).to_have_text("首页")

            # A plan with a mistake: the problem is shown with its file and line; nothing is stored.
            upload(page, base, files / "broken" / "plan-2026.yaml", files / "roster-2026.csv")
            problems = page.get_by_test_id("problems")
            expect(problems).to_be_visible()
            wrong = problems.locator(f'tr.problem[data-line="{broken_line}"]')
            expect(wrong).to_contain_text("plan-2026.yaml")
            expect(wrong).to_contain_text("teachers")
            shot(page, screenshots, "upload")

            # Fixed: the files are valid; the diff against Moodle is a job whose result the upload's page
            # shows (at once here: the job ran in the request); then the changes are applied as a job.
            upload(page, base, files / "plan-2026.yaml", files / "roster-2026.csv")
            expect(page).to_have_url(re.compile(r"/inputs/uploads/\d+$"))
            upload_page = page.url
            page.click("#show-diff")
            expect(page).to_have_url(upload_page)
            expect(page.get_by_test_id("diff-job")).to_have_count(0)
            counts = page.get_by_test_id("diff-counts")
            expect(counts).to_be_visible()
            assert int(counts.locator('[data-kind="create_user"]').inner_text()) == len(rows)
            expect(page.get_by_test_id("diff-ops")).to_contain_text("T")
            shot(page, screenshots, "diff")
            page.click("#apply")
            expect(page.locator("#job-state")).to_have_attribute("data-state", "done")
            page.click("#open-run")
            expect(page.locator("#moodle-calls")).not_to_have_text("0")

            # The cadres study in Moodle for half a year; the harvest is started from the jobs page.
            year = Year(fake, Settings(moodle_url=fake.url, moodle_token=TOKEN, database_url=database_url,
                                       secret_key="test", moodle_batch_size=50, moodle_max_workers=4),
                        plan_text, roster, {}, {})
            year.apply()  # Moodle matches the plan already: this finds the course and user ids
            spread(year)
            page.click("#nav-jobs")
            page.click("#start-harvest")
            expect(page.locator("#job-state")).to_have_attribute("data-state", "done")
            page.click("#open-run")
            expect(page.get_by_test_id("steps")).to_be_visible()
            page.click("#nav-jobs")
            expect(page.get_by_test_id("job-requests")).to_be_visible()
            expect(page.get_by_test_id("runs")).to_contain_text("2026")
            shot(page, screenshots, "jobs")

            # A cadre, found by a part of their Chinese name.
            cadre = next(r for r in rows if r["在职状态"] != "离岗" and r.get("职级") != "校级")
            page.click("#nav-cadres")
            page.fill("#q", cadre["姓名"][1:])
            page.click("#search")
            page.locator(f'[data-testid="cadre-link"]:text-is("{cadre["工号"]}")').click()
            expect(page.get_by_test_id("cadre-name")).to_contain_text(cadre["姓名"])
            expect(page.get_by_test_id("record-summary")).to_be_visible()
            expect(page.get_by_test_id("courses")).to_be_visible()
            shot(page, screenshots, "cadre")

            # The report by department, and its XLSX read back.
            page.click("#nav-reports")
            table = page.get_by_test_id("report-table")
            expect(table).to_be_visible()
            departments = {r["部门"] for r in rows if r["在职状态"] != "离岗"}
            shown = table.inner_text()
            assert any(d in shown for d in departments), shown[:500]
            shot(page, screenshots, "report")
            with page.expect_download() as download:
                page.click("#export-summary")
            assert download.value.suggested_filename == "2026 年度统计报表（按部门）.xlsx"
            saved = tmp_path / "report.xlsx"
            download.value.save_as(saved)
            book = openpyxl.load_workbook(saved)
            sheet = book.active
            assert sheet is not None
            cells = {str(v) for row in sheet.iter_rows(values_only=True) for v in row if v is not None}
            book.close()
            assert {"部门", "人数", "平均学时", "合计"} <= cells
            assert departments & cells

            # The audit log holds what was done here; the settings never show the token.
            page.click("#nav-audit")
            audit = page.get_by_test_id("audit-table")
            for action in ("console:upload", "console:queue:harvest"):  # the action in words, its code beside
                expect(audit.locator(f'td[title="{action}"]').first).to_have_text(re.compile(r"[\u4e00-\u9fff]"))
            shot(page, screenshots, "audit")
            page.click("#nav-settings")
            expect(page.locator("#moodle-url")).to_contain_text(fake.url)
            assert TOKEN not in page.content()
            shot(page, screenshots, "settings")

            # A department officer is added from the users page, for one department of the roster.
            page.click("#manage-users")
            page.fill("#username", "officer-walk")
            page.select_option("#role", "officer")
            department = page.locator("#departments option").first.inner_text()
            page.select_option("#departments", label=department)
            page.fill("#password", "officer walk password")
            page.fill("#password_again", "officer walk password")
            page.click("#add-user")
            row = page.get_by_test_id("users").locator("tr", has_text="officer-walk")
            expect(row).to_contain_text(department)
            shot(page, screenshots, "users")

            page.click("#nav-dashboard")
            expect(page.get_by_test_id("tiles")).to_be_visible()
            assert int(page.locator("#tile-cadres").inner_text().replace(",", "")) > 0
            expect(page.get_by_test_id("harvest-age")).to_be_visible()
            shot(page, screenshots, "dashboard")

            # English: the page again with every text in English, and the choice kept for the next page.
            page.click("#lang-en")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.locator("#nav-dashboard")).to_have_text("Dashboard")
            expect(page.locator("#nav-reports")).to_have_text("Reports")
            page.click("#nav-reports")
            expect(page.locator("#export-summary")).to_have_text("Export the table (XLSX)")
            shot(page, screenshots, "report-en")
            context.close()
