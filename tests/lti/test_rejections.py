"""Every launch the tool must refuse gets the tool's own page with a 4xx status and nothing else: no
viewer token, no redirect, no line item or score remembered, no cookie."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from plugin_service.db import session_scope
from plugin_service.models import AuditLog, LtiLineItem, LtiScore

from .platform import PlatformKey
from .tool import Tool, learner, tool_for


@pytest.fixture
def tool(tmp_path: Path) -> Iterator[Tool]:
    with tool_for(f"sqlite:///{tmp_path / 'cadre.sqlite3'}") as found:
        yield found


def refused(tool: Tool, answer: TestResponse, status: int, kind: str) -> str:
    page = answer.get_data(as_text=True)
    assert answer.status_code == status, page
    assert f'data-kind="{kind}"' in page
    assert "Location" not in answer.headers and "Set-Cookie" not in answer.headers
    assert not re.search(r"[?&]t=", page) and "id_token" not in page and "/lti/home" not in page
    with session_scope(tool.database_url) as session:
        assert session.scalar(select(func.count()).select_from(LtiLineItem)) == 0
        assert session.scalar(select(func.count()).select_from(LtiScore)) == 0
    return page


def _post(tool: Tool, body: dict[str, Any], state: str, key: PlatformKey | None = None) -> TestResponse:
    return tool.client.post("/lti/launch", data={"id_token": tool.platform.sign(body, key), "state": state})


def _fresh(tool: Tool) -> tuple[str, str]:
    return tool.platform.authorize(tool.platform.login(tool.client, learner()))


def test_a_login_from_an_unknown_platform_or_client_is_refused(tool: Tool) -> None:
    refused(
        tool,
        tool.platform.login(tool.client, learner(), issuer="https://moodle.elsewhere.example"),
        403,
        "platform",
    )
    refused(tool, tool.platform.login(tool.client, learner(), client_id="someone-else"), 403, "platform")


def test_a_login_for_an_unknown_deployment_is_refused(tool: Tool) -> None:
    refused(tool, tool.platform.login(tool.client, learner(), deployment_id="99"), 403, "deployment")


def test_a_login_without_issuer_or_hint_is_refused(tool: Tool) -> None:
    refused(tool, tool.client.get("/lti/login", query_string={"iss": tool.platform.issuer}), 400, "login")


def test_a_launch_token_from_an_unknown_platform_is_refused(tool: Tool) -> None:
    state, nonce = _fresh(tool)
    body = {**tool.platform.claims(learner(), nonce=nonce), "iss": "https://moodle.elsewhere.example"}
    refused(tool, _post(tool, body, state), 403, "platform")


def test_a_launch_for_an_unknown_deployment_is_refused(tool: Tool) -> None:
    refused(tool, tool.platform.launch(tool.client, learner(), deployment_id="99"), 403, "deployment")
    with session_scope(tool.database_url) as session:  # signed by the platform: worth an audit row
        [row] = session.scalars(select(AuditLog).where(AuditLog.action == "lti:refused:deployment"))
        assert row.outcome == "failed" and "id_token" not in json.dumps(row.detail)


def test_a_replayed_launch_is_refused(tool: Tool) -> None:
    state, nonce = _fresh(tool)
    form = {"id_token": tool.platform.sign(tool.platform.claims(learner(), nonce=nonce)), "state": state}
    assert tool.client.post("/lti/launch", data=form).status_code == 303
    refused_again = tool.client.post("/lti/launch", data=form)
    assert refused_again.status_code == 403 and 'data-kind="replay"' in refused_again.get_data(as_text=True)


def test_an_old_token_with_a_fresh_state_is_a_replay(tool: Tool) -> None:
    _state, old_nonce = _fresh(tool)
    stolen = tool.platform.claims(learner(), nonce=old_nonce)
    state, _nonce = _fresh(tool)
    refused(tool, _post(tool, stolen, state), 403, "replay")


def test_an_expired_token_is_refused(tool: Tool) -> None:
    refused(tool, tool.platform.launch(tool.client, learner(), lifetime=-5), 403, "expired")


def test_a_token_issued_in_the_future_is_refused(tool: Tool) -> None:
    def later(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "iat": int(time.time()) + 600, "exp": int(time.time()) + 660}

    refused(tool, tool.platform.launch(tool.client, learner(), change=later), 403, "expired")


def test_a_token_signed_by_another_key_is_refused(tool: Tool) -> None:
    state, nonce = _fresh(tool)
    forger = PlatformKey(
        tool.platform.keys[0].kid, PlatformKey.make().private
    )  # the platform's kid, not its key
    refused(
        tool, _post(tool, tool.platform.claims(learner(), nonce=nonce), state, forger), 403, "signature"
    )


def test_a_token_with_an_unknown_key_id_is_refused(tool: Tool) -> None:
    state, nonce = _fresh(tool)
    refused(
        tool,
        _post(tool, tool.platform.claims(learner(), nonce=nonce), state, PlatformKey.make()),
        403,
        "signature",
    )


def test_a_tampered_token_is_refused(tool: Tool) -> None:
    """Whose launch it is cannot be changed: the body altered after signing breaks the signature."""
    state, nonce = _fresh(tool)
    token = tool.platform.sign(tool.platform.claims(learner(), nonce=nonce))
    head, _body, signature = token.split(".")
    other = {**tool.platform.claims(learner(), nonce=nonce), "sub": "102"}
    forged = ".".join([head, jwt.utils.base64url_encode(json.dumps(other).encode()).decode(), signature])
    refused(
        tool, tool.client.post("/lti/launch", data={"id_token": forged, "state": state}), 403, "signature"
    )


def test_an_unsigned_token_is_refused(tool: Tool) -> None:
    state, nonce = _fresh(tool)
    token = jwt.encode(tool.platform.claims(learner(), nonce=nonce), None, algorithm="none")  # type: ignore[arg-type]
    refused(
        tool, tool.client.post("/lti/launch", data={"id_token": token, "state": state}), 403, "signature"
    )


@pytest.mark.parametrize("aud", ["another-tool", ["another-tool", "cadreClient01"], ["cadreClient01", "x"]])
def test_a_token_for_another_audience_is_refused(tool: Tool, aud: Any) -> None:
    refused(tool, tool.platform.launch(tool.client, learner(), aud=aud), 403, "audience")


@pytest.mark.parametrize("state", ["", "state-made-up", "x" * 5000])
def test_a_missing_or_unknown_state_is_refused(tool: Tool, state: str) -> None:
    _state, nonce = _fresh(tool)
    refused(tool, _post(tool, tool.platform.claims(learner(), nonce=nonce), state), 400, "state")


def test_an_expired_state_is_refused(tool: Tool) -> None:
    from plugin_service.models import LtiLoginState

    state, nonce = _fresh(tool)
    with session_scope(tool.database_url) as session:
        for row in session.scalars(select(LtiLoginState)):
            row.expires_at = row.created_at
    refused(tool, _post(tool, tool.platform.claims(learner(), nonce=nonce), state), 400, "state")


@pytest.mark.parametrize("message_type", ["LtiDeepLinkingRequest", "LtiSubmissionReviewRequest", "Other"])
def test_a_message_other_than_a_resource_link_is_refused(tool: Tool, message_type: str) -> None:
    refused(
        tool, tool.platform.launch(tool.client, learner(), message_type=message_type), 400, "message_type"
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda body: {
            k: v for k, v in body.items() if k != "https://purl.imsglobal.org/spec/lti/claim/resource_link"
        },
        lambda body: {**body, "https://purl.imsglobal.org/spec/lti/claim/version": "1.1"},
        lambda body: {k: v for k, v in body.items() if k != "exp"},
        lambda body: {**body, "sub": ""},
    ],
)
def test_a_token_missing_what_a_launch_needs_is_refused(
    tool: Tool, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    refused(tool, tool.platform.launch(tool.client, learner(), change=change), 400, "token")


def test_no_token_or_garbage_is_refused(tool: Tool) -> None:
    state, _nonce = _fresh(tool)
    refused(tool, tool.client.post("/lti/launch", data={"state": state}), 400, "token")
    state, _nonce = _fresh(tool)
    refused(tool, tool.client.post("/lti/launch", data={"id_token": "a.b.c", "state": state}), 400, "token")


def test_the_platforms_error_answer_is_shown_as_such(tool: Tool) -> None:
    state, _nonce = _fresh(tool)
    refused(
        tool,
        tool.client.post("/lti/launch", data={"error": "access_denied", "state": state}),
        403,
        "platform_error",
    )


def test_a_refusal_page_speaks_the_launchs_language(tool: Tool) -> None:
    english = tool.platform.launch(tool.client, learner(), lifetime=-5, locale="en_us")
    assert "The sign-in has expired" in english.get_data(as_text=True)
    chinese = tool.platform.launch(tool.client, learner(), lifetime=-5, locale="zh_cn")
    assert "The sign-in has expired" not in chinese.get_data(as_text=True)
