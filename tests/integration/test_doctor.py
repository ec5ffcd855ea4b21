"""``cadre doctor`` against the fake Moodle over HTTP, run as the installed command."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from moodle_bridge import MoodleClient
from moodle_bridge.fake import RunningFake
from moodle_bridge.fake.seed import add_completion_report
from plugin_service.moodle_requirements import REQUIREMENTS, required_functions
from plugin_service.services.harvest import HarvestError, find_completion_report
from plugin_service.services.provisioning.doctor import diagnose

from ..conftest import SMALL_TOKEN, TOKEN, WEAK_TOKEN

pytestmark = pytest.mark.integration
CADRE = str(Path(sys.executable).parent / "cadre")


def run_doctor(url: str, token: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADRE_")}
    return subprocess.run([CADRE, "doctor", "--moodle-url", url, "--token", token, "--timeout", "5",
                           *extra], capture_output=True, text=True, env=env, timeout=60,
                          check=False)


def test_every_function_the_project_needs_is_served_by_the_fake(client: MoodleClient) -> None:
    report = diagnose(client)
    assert report.fatal is None
    assert not [c.requirement.function for c in report.functions if not c.available]
    assert all(probe.ok for probe in report.probes) and len(report.probes) == 4
    assert report.ok


def test_doctor_passes_against_the_fake(fake: RunningFake, tmp_path: Path) -> None:
    page = tmp_path / "doctor.html"
    result = run_doctor(fake.url, TOKEN, "--html", str(page))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Release:  5.1+ (Build: 20251017)" in result.stdout
    assert "Runs as:  wsbot (Companion Bot, id 3)" in result.stdout
    for requirement in REQUIREMENTS:
        assert f"available  {requirement.function}" in result.stdout
    assert "All set" in result.stdout
    html = page.read_text("utf-8")
    assert "一切就绪 All set" in html and "core_user_create_users" in html
    assert TOKEN not in result.stdout + result.stderr + html


def test_doctor_names_the_functions_a_small_service_lacks(fake: RunningFake) -> None:
    result = run_doctor(fake.url, SMALL_TOKEN)
    assert result.returncode == 2
    missing = [line.split()[1] for line in result.stdout.splitlines()
               if line.strip().startswith("MISSING")]
    expected = [f for f in required_functions()
                if f not in ("core_webservice_get_site_info", "core_user_get_users_by_field")]
    assert missing == expected
    assert "add core_cohort_create_cohorts to the token's service" in result.stdout
    assert "moodle/cohort:manage" in result.stdout


def test_doctor_finds_users_hidden_by_a_missing_capability(fake: RunningFake) -> None:
    fake.site.site_action("set_capabilities", {"userid": 3, "capabilities": ["webservice/rest:use"]})
    result = run_doctor(fake.url, TOKEN)
    assert result.returncode == 2
    assert "FAIL other users are visible in full" in result.stdout
    assert "moodle/user:viewdetails" in result.stdout


def _messaging_probe(client: MoodleClient):
    return next(p for p in diagnose(client).probes if p.name == "cadres can be messaged")


def test_doctor_reads_message_reachability_as_the_sending_does(client: MoodleClient) -> None:
    probe = _messaging_probe(client)
    assert probe.ok and "may message users it shares no course with" in probe.detail


def test_doctor_says_a_service_user_that_may_not_message_cadres(fake: RunningFake,
                                                                client: MoodleClient) -> None:
    """Without moodle/site:readallmessages the service user may message only people it shares a course
    with, and it shares none with the site's first admin (nor with the cadres)."""
    held = {c for r in REQUIREMENTS for c in r.capabilities} | {
        "webservice/rest:use", "moodle/user:viewdetails", "moodle/user:viewalldetails",
        "moodle/site:viewuseridentity", "moodle/site:sendmessage"}
    fake.site.site_action("set_capabilities", {"userid": 3, "capabilities": sorted(
        held - {"moodle/site:readallmessages"})})
    probe = _messaging_probe(client)
    assert not probe.ok and "may not message the site's first admin" in probe.detail
    assert "moodle/site:readallmessages" in probe.fix
    result = run_doctor(fake.url, TOKEN)
    assert result.returncode == 2 and "FAIL cadres can be messaged" in result.stdout


def test_a_user_without_rights_is_told_what_is_missing(fake: RunningFake) -> None:
    result = run_doctor(fake.url, WEAK_TOKEN)
    assert result.returncode == 2
    assert "FAIL" in result.stdout


class _PlainPage(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = b"<!DOCTYPE html><html><body><h1>Welcome to our college</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def plain_site() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _PlainPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert result.stdout.strip() == ""
    return lines[0]


def test_a_wrong_token_gives_one_clear_line(fake: RunningFake) -> None:
    line = _one_clear_line(run_doctor(fake.url, "0" * 32))
    assert "refused the token (invalidtoken)" in line and "0" * 32 not in line


def test_an_unreachable_url_gives_one_clear_line() -> None:
    line = _one_clear_line(run_doctor("http://127.0.0.1:9", TOKEN))
    assert "cannot reach Moodle" in line and "connection refused" in line


def test_a_plain_web_page_gives_one_clear_line(plain_site: str) -> None:
    line = _one_clear_line(run_doctor(plain_site, TOKEN))
    assert "does not answer as a Moodle web service" in line and "HTML page" in line


def test_missing_settings_give_one_clear_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADRE_")}
    result = subprocess.run([CADRE, "doctor"], capture_output=True, text=True, env=env, timeout=60,
                            check=False)
    assert _one_clear_line(result).startswith("error: no Moodle URL")


def _report_probe(client: MoodleClient):
    return next(p for p in diagnose(client).probes if p.name == "completion report for the harvest")


def test_doctor_says_how_to_create_the_completion_report(fake: RunningFake, client: MoodleClient) -> None:
    probe = _report_probe(client)
    assert probe.ok and probe.detail.startswith("none found: the harvest asks once per cadre and course")
    assert 'report source "Course participants"' in probe.fix and "Course ID number" in probe.fix
    result = run_doctor(fake.url, TOKEN)
    assert "Course completion export" in result.stdout and result.returncode == 0


def test_doctor_finds_the_completion_report(fake: RunningFake, client: MoodleClient) -> None:
    reportid = add_completion_report(fake.site)
    probe = _report_probe(client)
    assert probe.ok and probe.detail == (f"report {reportid} 'Course completion export': completion is read "
                                         "in a few calls")


def test_a_report_without_the_needed_columns_is_not_taken(fake: RunningFake, client: MoodleClient) -> None:
    fake.site.site_action("create_report", {"name": "Participants", "columns": ["course:fullname",
                                                                                "user:fullname"]})
    assert find_completion_report(client) is None
    with pytest.raises(HarvestError, match="lacks the columns Course ID number, ID number, Completed, "
                                           "Time completed"):
        find_completion_report(client, "Participants")
    with pytest.raises(HarvestError, match="no \"Course participants\" custom report"):
        find_completion_report(client, "Nonesuch")
