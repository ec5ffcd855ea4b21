"""Behind a reverse proxy that terminates HTTPS: with ``trusted_proxies`` set, the scheme and the client's
address are the ones the proxy saw; without it, the headers anyone can send are ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, request

from plugin_service.web.access import self_authenticated

from ..console.conftest import make_app, settings_for

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


@pytest.mark.parametrize(("trusted", "secure"), [(1, True), (0, False)])
def test_the_proxy_s_scheme_is_believed_only_when_trusted(tmp_path: Path, trusted: int, secure: bool) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'cadre.sqlite3'}", trusted_proxies=trusted,
                            public_base_url="https://cadre.example.edu")
    app = make_app(settings)
    seen: dict[str, object] = {}
    probe = Blueprint("proxy_probe", __name__)

    @probe.get("/_scheme")
    def scheme() -> str:
        seen.update(secure=request.is_secure, address=request.remote_addr)
        return ""

    self_authenticated(probe.name)  # the test's own route opens without a sign-in
    app.register_blueprint(probe)
    client = app.test_client()
    client.get("/_scheme", headers=FORWARDED)
    assert seen["secure"] is secure
    assert seen["address"] == ("203.0.113.9" if trusted else "127.0.0.1")
    answer = client.get("/login?lang=en", headers=FORWARDED)
    assert ("Secure" in answer.headers["Set-Cookie"]) is secure
    assert app.config["SESSION_COOKIE_SECURE"] is True  # the public base URL is https
