"""What the LTI tool's addresses carry never reaches a log line: the access log writes request lines, and
those of the tool hold a registration token (``/lti/register``) or a viewer's page token (``t``)."""

from __future__ import annotations

from plugin_service.logs import Redact


def test_registration_and_page_tokens_are_masked_in_request_lines() -> None:
    registration = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJaQ0Z1In0.c2lnbmF0dXJl"
    page = "eyJwbGF0Zm9ybV9pZCI6MX0.aQ1b2c.Zm9yZ2Vk"
    lines = [
        f'"GET /lti/register?openid_configuration=http%3A%2F%2Fm%2Fc.php&registration_token={registration} '
        'HTTP/1.1" 200',
        f'"GET /lti/home?t={page} HTTP/1.1" 200',
        f'"GET /lti/reviewing?year=2026&t={page} HTTP/1.1" 200',
        f"launch form id_token={registration}&state=s",
    ]
    for line in lines:
        cleaned = Redact.clean(line)
        assert registration not in cleaned and page not in cleaned, cleaned
        assert "***" in cleaned
    assert Redact.clean('"GET /cadres?t=kept HTTP/1.1"') == '"GET /cadres?t=kept HTTP/1.1"'
