"""The site itself: who the token is, what the service holds, and ``cadre doctor``'s verdict."""

from __future__ import annotations

import pytest

from moodle_bridge import MoodleClient, ProtocolError
from moodle_bridge.errors import InvalidTokenError
from plugin_service.moodle_requirements import required_functions
from plugin_service.services.provisioning.doctor import diagnose


def test_site_info_names_the_release_and_the_service_user(live_client: MoodleClient) -> None:
    info = live_client.core_webservice.get_site_info()
    assert info.release, "the site did not report its release"
    assert info.userid > 0 and info.username
    assert "core_webservice_get_site_info" in info.function_names


def test_preflight_reports_what_the_service_lacks(live_client: MoodleClient) -> None:
    check = live_client.preflight(["core_webservice_get_site_info", "core_no_such_function_exists"])
    assert check.missing == ("core_no_such_function_exists",)
    assert not check.ok


def test_doctor_against_the_live_site(live_client: MoodleClient) -> None:
    report = diagnose(live_client)
    assert report.fatal is None
    missing = [c.requirement.function for c in report.missing]
    if missing:
        pytest.fail("the live site's service lacks functions Cadre Companion needs: "
                    + ", ".join(missing), pytrace=False)
    assert set(required_functions()) <= report.site.function_names  # type: ignore[union-attr]


def test_a_wrong_token_is_refused(live_client: MoodleClient) -> None:
    with MoodleClient(live_client.url, "0" * 32, retries=0) as wrong, pytest.raises(InvalidTokenError):
        wrong.core_webservice.get_site_info()


def test_the_site_answers_errors_as_json_bodies(live_client: MoodleClient) -> None:
    with pytest.raises(Exception) as caught:
        live_client.call("core_no_such_function_exists", {}, write=False)
    assert not isinstance(caught.value, ProtocolError)
