"""Dynamic registration as Moodle runs it, the OIDC login and the launch, against a simulated Moodle:
what the tool asks Moodle for, what it stores, and the viewer a launch leads to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from plugin_service.db import session_scope
from plugin_service.models import LtiDeployment, LtiLoginState, LtiPlatform
from plugin_service.services.lti.viewer import Viewer, load_viewer

from .platform import AGS
from .tool import LEARNER, LEARNER_ID, PUBLIC, Tool, learner, tool_for

SECRET = "console-test-secret"


@pytest.fixture
def tool(database_url: str) -> Iterator[Tool]:
    with tool_for(database_url) as found:
        yield found


@pytest.fixture
def unregistered(tmp_path: Path) -> Iterator[Tool]:
    with tool_for(f"sqlite:///{tmp_path / 'cadre.sqlite3'}", registered=False) as found:
        yield found


def viewer_of(location: str) -> Viewer:
    parts = urlsplit(location)
    assert parts.path == "/lti/home"
    return load_viewer(parse_qs(parts.query)["t"][0], SECRET)


def platforms(tool: Tool) -> list[tuple[str, str, str, str, str, str, list[str]]]:
    with session_scope(tool.database_url) as session:
        return [
            (
                p.issuer,
                p.client_id,
                p.name,
                p.auth_login_url,
                p.auth_token_url,
                p.keyset_url,
                [d.deployment_id for d in p.deployments],
            )
            for p in session.scalars(select(LtiPlatform))
        ]


def test_dynamic_registration_registers_the_tool_as_moodle_expects_and_stores_the_platform(
    tool: Tool,
) -> None:
    platform = tool.platform
    [sent] = platform.registrations
    assert sent["initiate_login_uri"] == f"{PUBLIC}/lti/login"
    assert sent["redirect_uris"] == [f"{PUBLIC}/lti/launch"]
    assert sent["jwks_uri"] == f"{PUBLIC}/lti/jwks.json"
    assert sent["token_endpoint_auth_method"] == "private_key_jwt" and sent["application_type"] == "web"
    assert "id_token" in sent["response_types"] and "client_credentials" in sent["grant_types"]
    assert set(sent["scope"].split()) == {AGS + "lineitem", AGS + "score", AGS + "result.readonly"}
    config = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert config["domain"] == "cadre.example.edu"
    assert config["target_link_uri"] == f"{PUBLIC}/lti/launch"
    assert set(config["claims"]) == {"iss", "sub", "name", "given_name", "family_name", "email"}
    assert [m["type"] for m in config["messages"]] == ["LtiResourceLinkRequest"]
    assert platforms(tool) == [
        (
            platform.url,
            platform.client_id,
            f"Moodle 5.1+ (Build: 20251017) · {urlsplit(platform.url).netloc}",
            f"{platform.url}/mod/lti/auth.php",
            f"{platform.url}/mod/lti/token.php",
            f"{platform.url}/mod/lti/certs.php",
            [platform.deployment_id],
        )
    ]


def test_the_registration_page_closes_moodles_dialog_and_only_moodle_may_frame_it(
    unregistered: Tool,
) -> None:
    answer = unregistered.client.get(
        unregistered.platform.registration_url(), headers={"Accept-Language": "en"}
    )
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "org.imsglobal.lti.close" in page and "Cadre Companion is registered" in page
    csp = answer.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {unregistered.platform.url}" in csp
    assert "script-src 'sha256-" in csp and "unsafe-inline" not in csp
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "X-Frame-Options" not in answer.headers


def test_registering_again_updates_the_platform_instead_of_adding_one(tool: Tool) -> None:
    answer = tool.client.get(tool.platform.registration_url(scope="reg-update"))
    assert answer.status_code == 200
    assert len(platforms(tool)) == 1 and len(tool.platform.registrations) == 2


@pytest.mark.parametrize(
    "case", ["another site", "no configuration", "bad token", "configuration elsewhere"]
)
def test_a_registration_that_cannot_be_trusted_stores_nothing(unregistered: Tool, case: str) -> None:
    platform = unregistered.platform
    url = platform.registration_url()
    if case == "another site":  # anyone could open the page with a configuration of their own
        url = url.replace(
            platform.url.replace(":", "%3A").replace("/", "%2F"), "http%3A%2F%2F127.0.0.2%3A9"
        )
    elif case == "no configuration":
        url = "/lti/register"
    elif case == "bad token":
        url = platform.registration_url(token="not-a-token")
    else:
        original = platform.openid_configuration
        platform.openid_configuration = lambda: {  # type: ignore[method-assign]
            **original(),
            "registration_endpoint": "http://127.0.0.3/r",
        }
    answer = unregistered.client.get(url, headers={"Accept-Language": "en"})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "The registration did not complete" in page and "org.imsglobal.lti.close" not in page
    assert platforms(unregistered) == []
    assert platform.registrations == []


def test_a_launch_leads_to_the_learners_page_with_a_viewer_token(tool: Tool) -> None:
    answer = tool.platform.launch(tool.client, learner(), locale="en_us")
    assert answer.status_code == 303, answer.get_data(as_text=True)
    viewer = viewer_of(answer.headers["Location"])
    assert viewer.employee_no == LEARNER and viewer.moodle_userid == LEARNER_ID
    assert viewer.roles == ("learner",) and viewer.locale == "en" and viewer.course_id == 5
    assert viewer.deployment_id == tool.platform.deployment_id
    assert viewer.return_url == f"{tool.platform.url}/mod/lti/return.php?course=5"
    assert "Set-Cookie" not in answer.headers


def test_the_login_also_answers_a_post_and_keeps_its_state_on_the_server_only(tool: Tool) -> None:
    answer = tool.platform.login(tool.client, learner(), method="POST")
    state, nonce = tool.platform.authorize(answer)
    assert "Set-Cookie" not in answer.headers
    with session_scope(tool.database_url) as session:
        [row] = session.scalars(select(LtiLoginState))
        assert row.state_sha256 != state and state not in row.state_sha256 and nonce not in row.nonce_sha256
        assert row.used_at is None
    body = tool.platform.claims(learner(), nonce=nonce)
    launched = tool.client.post("/lti/launch", data={"id_token": tool.platform.sign(body), "state": state})
    assert launched.status_code == 303


def test_a_deployment_is_added_to_its_platform_when_moodle_registers_a_second_tool_type(tool: Tool) -> None:
    tool.platform.deployment_id = "8"
    assert tool.client.get(tool.platform.registration_url(scope="reg-update")).status_code == 200
    with session_scope(tool.database_url) as session:
        assert session.scalar(select(func.count()).select_from(LtiDeployment)) == 2
    assert tool.platform.launch(tool.client, learner(), deployment_id="8").status_code == 303


def test_the_console_stays_unframeable_while_the_tools_pages_may_be_framed_by_moodle(tool: Tool) -> None:
    console = tool.client.get("/login")
    assert "frame-ancestors 'none'" in console.headers["Content-Security-Policy"]
    assert console.headers["X-Frame-Options"] == "DENY"
    refused = tool.client.get("/lti/login")
    assert f"frame-ancestors 'self' {tool.platform.url}" in refused.headers["Content-Security-Policy"]
    assert refused.headers["Referrer-Policy"] == "no-referrer"
    assert "X-Frame-Options" not in refused.headers
