"""How long a launch of the LTI tool takes, from the login initiation to the learner's page: N launches
of a simulated Moodle (``tests/lti/platform.py``: Moodle's OpenID configuration, registration, key set and
id_tokens over HTTP on loopback) against the tool served in-process by Flask's test client, on a year of
the sample plan applied to the fake Moodle, learnt and harvested (SQLite).

Each launch is what a browser inside Moodle goes through: ``/lti/login`` (the platform's issuer, login
hint and deployment; the tool stores the state and answers the redirect to Moodle's authorization
endpoint), Moodle's id_token posted to ``/lti/launch`` (state used, signature verified with the platform's
key set as stored, nonce, deployment, message, the cadre matched, the line item remembered; a 303 with
the page token) and ``/lti/home`` (the learner's page). The platform's own work (signing the id_token) is
not counted; the web process's (gunicorn) is not either.

Prints one JSON object (``--json``) with ``launches``, ``p50_ms``, ``p95_ms``, ``max_ms`` (login to page),
the same for each of the three requests (``login_p95_ms``, ``launch_p95_ms``, ``page_p95_ms``), and
``keyset_fetches``: how often the tool fetched the platform's key set (once: it is kept). Set-up is timed
apart (``setup_s``). ``--launches N`` sets the count (default 200).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from moodle_bridge.fake import serve as serve_fake  # noqa: E402
from plugin_service.db import session_scope  # noqa: E402
from plugin_service.models import Cadre, LearningRecordRow  # noqa: E402
from tests.console.conftest import make_app, settings_for  # noqa: E402
from tests.harvest.world import library_site, provision, small_roster, spread  # noqa: E402
from tests.lti.platform import MoodleUser, SimulatedMoodle  # noqa: E402
from tests.lti.platform import serve as serve_platform  # noqa: E402


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _summary(values: list[float], prefix: str = "") -> dict[str, float]:
    return {f"{prefix}p50_ms": round(statistics.median(values), 2),
            f"{prefix}p95_ms": round(_percentile(values, 0.95), 2),
            f"{prefix}max_ms": round(max(values), 2)}


def run(launches: int, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    database_url = f"sqlite:///{workdir / 'cadre.sqlite3'}"
    with serve_fake(library_site()) as fake, serve_platform(SimulatedMoodle()) as platform:
        year = provision(fake, database_url, roster=small_roster())
        spread(year)
        year.harvest()
        settings = settings_for(database_url, moodle_url=platform.url, public_base_url="https://cadre.example.edu")
        app = make_app(settings)
        client = app.test_client()
        answer = client.get(platform.registration_url())
        assert answer.status_code == 200, answer.get_data(as_text=True)
        with session_scope(database_url) as session:
            learners = [(no, int(userid or 0), name) for no, userid, name in session.execute(
                select(Cadre.employee_no, Cadre.moodle_userid, Cadre.name)
                .join(LearningRecordRow, LearningRecordRow.employee_no == Cadre.employee_no)
                .where(LearningRecordRow.tier_key.is_not(None), Cadre.moodle_userid.is_not(None))
                .order_by(Cadre.employee_no))]
        setup = time.perf_counter() - started
        totals: list[float] = []
        steps: dict[str, list[float]] = {"login_": [], "launch_": [], "page_": []}
        for number in range(launches):
            no, userid, name = learners[number % len(learners)]
            user = MoodleUser(userid, username=no.lower(), idnumber=no, name=name)
            begun = time.perf_counter()
            login = platform.login(client, user)
            after_login = time.perf_counter()
            state, nonce = platform.authorize(login)
            token = platform.sign(platform.claims(user, nonce=nonce, lineitem=platform.lineitem()))
            before_launch = time.perf_counter()
            launched = client.post("/lti/launch", data={"id_token": token, "state": state})
            after_launch = time.perf_counter()
            assert launched.status_code == 303, launched.get_data(as_text=True)
            page = client.get(launched.headers["Location"])
            done = time.perf_counter()
            assert page.status_code == 200 and name in page.get_data(as_text=True), page.status_code
            steps["login_"].append((after_login - begun) * 1000)
            steps["launch_"].append((after_launch - before_launch) * 1000)
            steps["page_"].append((done - after_launch) * 1000)
            totals.append((after_login - begun + done - before_launch) * 1000)
    results: dict[str, Any] = {"launches": launches, "learners": len(learners), **_summary(totals)}
    for prefix, values in steps.items():
        results.update(_summary(values, prefix))
    results.update(keyset_fetches=platform.keyset_fetches, setup_s=round(setup, 1))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--launches", type=int, default=200)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="cadre-bench-lti-") as temp:
        results = run(max(args.launches, 1), Path(temp))
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        for key, value in results.items():
            print(f"{key:20} {json.dumps(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
