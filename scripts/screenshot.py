"""Takes the README's screenshot of the dashboard (``docs/dashboard.png``): a year of harvested records
seeded into a fresh SQLite database (the sample plan, ``--cadres`` cadres across its tiers and
departments, a finished harvest), the console served on loopback, and Debian's Chromium signed in as an
admin. Run it again after changing the dashboard's look."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from plugin_service import create_app  # noqa: E402
from plugin_service.config import Settings  # noqa: E402
from plugin_service.db import session_scope  # noqa: E402
from plugin_service.models import HarvestRun, utcnow  # noqa: E402
from plugin_service.services.platform.console_users import create_user  # noqa: E402
from tests.browser.live import chromium, missing_browser, served  # noqa: E402
from tests.documents.seed import seed_year  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

YEAR = 2026
AS_OF = dt.date(YEAR, 9, 30)  # the autumn of the year: some complete, some on track, some behind
PASSWORD = "screenshot password 2026"
SIZE: ViewportSize = {"width": 1280, "height": 900}


def seed(database_url: str, cadres: int) -> None:
    from tests.documents.seed import recompute

    seeded = seed_year(database_url, year=YEAR, cadres=cadres, prefix="S")
    recompute(seeded, AS_OF)
    with session_scope(database_url) as session:
        finished = utcnow() - dt.timedelta(hours=5)  # last night's harvest: the page shows it fresh
        session.add(HarvestRun(year=YEAR, mode="incremental", path="report", status="done",
                               today=AS_OF.isoformat(), started_at=finished - dt.timedelta(minutes=3),
                               finished_at=finished, moodle_calls=96, rows_read=cadres, changes=cadres // 20,
                               seconds=180.0))
        create_user(session, "admin", PASSWORD, role="admin", actor="screenshot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cadres", type=int, default=480)
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "dashboard.png"))
    args = parser.parse_args(argv)
    reason = missing_browser()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="cadre-screenshot-") as temp:
        database_url = f"sqlite:///{Path(temp) / 'cadre.sqlite3'}"
        seed(database_url, args.cadres)
        app = create_app(Settings(database_url=database_url, secret_key="screenshot", broker_url="memory://",
                                  ratelimit_storage="memory://", documents_dir=str(Path(temp) / "documents")))
        with served(app) as base, chromium() as browser:
            page = browser.new_page(viewport=SIZE, locale="zh-CN")
            page.goto(f"{base}/login")
            page.fill("#username", "admin")
            page.fill("#password", PASSWORD)
            page.click("#login")
            page.wait_for_url(re.compile(r"/$"))
            page.goto(f"{base}/?year={YEAR}")
            page.get_by_test_id("tiles").wait_for()
            output = Path(args.output)
            output.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(output), full_page=False)
    print(f"{output} ({output.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
