"""The fake Moodle's server: transport rules, simulated latency, fault injection, test interface."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
import requests

from moodle_bridge import MoodleClient, ProtocolError, Retry, TransientError
from moodle_bridge.fake import Faults, RunningFake, fixed, serve, stock_site
from moodle_bridge.fake.control import FakeControl

from ..conftest import TOKEN

pytestmark = pytest.mark.integration
FN = "core_webservice_get_site_info"


def test_plain_get_without_format_answers_xml(fake: RunningFake) -> None:
    answer = requests.get(fake.url + "/webservice/rest/server.php", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/xml")
    assert "<ERRORCODE>invalidtoken</ERRORCODE>" in answer.text


def test_xml_success_answer(fake: RunningFake) -> None:
    answer = requests.post(fake.url + "/webservice/rest/server.php",
                           data={"wstoken": TOKEN, "wsfunction": FN}, timeout=5)
    assert "<KEY name=\"username\"><VALUE>wsbot</VALUE>" in answer.text


def test_missing_function_name(fake: RunningFake) -> None:
    answer = requests.post(fake.url + "/webservice/rest/server.php",
                           data={"wstoken": TOKEN, "moodlewsrestformat": "json"}, timeout=5)
    assert answer.json()["errorcode"] == "invalidparameter"


def test_debug_adds_debuginfo(fake: RunningFake) -> None:
    data = {"wstoken": TOKEN, "wsfunction": "core_nonexistent_function", "moodlewsrestformat": "json"}
    assert "debuginfo" not in requests.post(fake.url + "/webservice/rest/server.php", data=data,
                                            timeout=5).json()
    fake.site.site_action("set_config", {"name": "debug", "value": 32767})
    body = requests.post(fake.url + "/webservice/rest/server.php", data=data, timeout=5).json()
    assert body["errorcode"] == "invalidrecordunknown" and "external_functions" in body["debuginfo"]


def test_a_503_fault_is_retried_by_the_client_for_reads() -> None:
    site = stock_site(tokens={"wsbot": TOKEN})
    with serve(site, faults=Faults(rate=0.5, seed=3, kinds=("http503",))) as fake:
        with MoodleClient(fake.url, TOKEN, retries=Retry(attempts=10, base_delay=0.001,
                                                         max_delay=0.002)) as client:
            for _ in range(20):
                assert client.core_webservice.get_site_info().username == "wsbot"
        assert client.calls[FN] > 20
        assert site.calls[FN] == 20


@pytest.mark.parametrize(("kind", "error"), [("truncated", ProtocolError),
                                             ("timeout", TransientError),
                                             ("http500", TransientError)])
def test_each_fault_kind_reaches_the_client_as_its_error(kind: str, error: type) -> None:
    site = stock_site(tokens={"wsbot": TOKEN})
    with serve(site, faults=Faults(rate=1.0, kinds=(kind,), timeout_s=1.5)) as fake, \
            MoodleClient(fake.url, TOKEN, timeout=0.5, retries=0) as client, pytest.raises(error):
        client.core_webservice.get_site_info()
    ran_anyway = kind in ("truncated", "timeout")
    assert site.calls[FN] == (1 if ran_anyway else 0)


def test_latency_is_simulated_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each call sleeps its cost (what is asserted is the sleep asked for, never a measured time)."""
    slept: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        real_sleep(seconds)

    site = stock_site(tokens={"wsbot": TOKEN})
    with serve(site, latency=fixed(50)) as fake:
        monkeypatch.setattr(time, "sleep", sleep)  # the server's sleeps go through the time module
        with MoodleClient(fake.url, TOKEN) as client:
            for _ in range(4):
                client.core_webservice.get_site_info()
    assert slept == [pytest.approx(0.05)] * 4


def test_the_test_interface_counts_and_drives(fake: RunningFake) -> None:
    control = FakeControl(fake.url)
    with MoodleClient(fake.url, TOKEN) as client:
        client.core_webservice.get_site_info()
    assert control.stats()["calls"] == {FN: 1}
    control.reset_stats()
    assert control.stats()["total"] == 0
    assert control.set_clock(1_800_000_000, frozen=True) == 1_800_000_000
    assert control.advance_clock(60) == 1_800_000_060
    assert control.site_action("set_config", {"name": "debug", "value": 0}) == {"name": "debug",
                                                                                 "value": "0"}
    with pytest.raises(RuntimeError, match="unknown site action"):
        control.site_action("fly")
    control.set_faults(1.0, kinds=["http503"])
    with MoodleClient(fake.url, TOKEN, retries=0) as client, pytest.raises(TransientError):
        client.core_webservice.get_site_info()
    control.close()


def test_the_fake_runs_as_a_program() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "moodle_bridge.fake", "--port", str(port), "--token", TOKEN,
               "--latency-ms", "1", "--release", "4.5", "--contention"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            assert f"serving on http://127.0.0.1:{port}" in process.stdout.readline()
            with MoodleClient(f"http://127.0.0.1:{port}", TOKEN) as client:
                info = client.core_webservice.get_site_info()
                assert info.siteurl == f"http://127.0.0.1:{port}"
                assert info.release == "4.5 (Build: 20241007)"
            control = FakeControl(f"http://127.0.0.1:{port}")
            assert control.stats()["contention"] is True
            control.close()
        finally:
            process.terminate()
            assert process.wait(timeout=10) == 0
