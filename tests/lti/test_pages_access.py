"""The page token is the only way in: missing, altered, foreign or expired, it gets a page asking to open
the tool again from Moodle (expired and invalid worded apart), in the browser's language. Every link of a
page carries the same token; no page sets a cookie; only the companion and its Moodle may frame them."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner

from plugin_service.services.lti.viewer import TOKEN_MAX_AGE_S, Viewer, sign_viewer

from .conftest import SECRET, World, learner_token

EXPIRED = {"zh": "页面已失效", "en": "This page has expired"}
INVALID = {"zh": "链接无效", "en": "This link is not valid"}


def expired_token(monkeypatch: pytest.MonkeyPatch, employee_no: str) -> str:
    signed_at = int(time.time()) - TOKEN_MAX_AGE_S - 60
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: signed_at)
        return sign_viewer(Viewer(1, "deployment-1", 7, employee_no, "someone", ("learner",)), SECRET)


def tampered(t: str) -> str:
    """The token with one character of its signed payload changed."""
    at = len(t) // 3
    return t[:at] + ("A" if t[at] != "A" else "B") + t[at + 1:]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_refused_token_asks_to_open_the_tool_again(world: World, monkeypatch: pytest.MonkeyPatch,
                                                     lang: str) -> None:
    client = world.app.test_client()
    no = world.holders[0]
    good = learner_token(world, no)
    foreign = sign_viewer(Viewer(1, "deployment-1", 7, no, "someone", ("learner",)), "another secret")
    headers = {"Accept-Language": "zh-CN,zh;q=0.9" if lang == "zh" else "en-GB,en;q=0.8"}
    cases = {"": INVALID, "?t=": INVALID, f"?t={tampered(good)}": INVALID, f"?t={foreign}": INVALID,
             f"?t={good[:-2]}": INVALID, f"?t={expired_token(monkeypatch, no)}": EXPIRED}
    for query, wording in cases.items():
        for path in ("/lti/home", "/lti/reviewing", "/lti/department", "/lti/archive.pdf",
                     "/lti/registration-2026.pdf", "/lti/certificates/ABCDE-FGHJK-MNPQR-STVWX-YZ0123.pdf"):
            answer = client.get(f"{path}{query}", headers=headers)
            page = answer.get_data(as_text=True)
            assert answer.status_code == 401, (path, query)
            assert wording[lang] in page, (path, query)
            assert no not in page and "Set-Cookie" not in answer.headers
    assert client.get(f"/lti/home?t={good}").status_code == 200


def test_every_link_of_a_page_carries_its_token(world: World) -> None:
    t = learner_token(world, world.holders[0], "en")
    page = world.app.test_client().get(f"/lti/home?t={t}").get_data(as_text=True)
    links = re.findall(r'href="(/lti/[^"]*)"', page)
    assert len(links) >= 3
    for link in links:
        assert link.endswith(f"t={t}"), link


def test_the_pages_set_no_cookie_and_only_moodle_may_frame_them(world: World) -> None:
    client = world.app.test_client()
    t = learner_token(world, world.holders[0], "en")
    answer = client.get(f"/lti/home?t={t}&lang=zh")
    assert "Set-Cookie" not in answer.headers
    assert 'lang="en"' in answer.get_data(as_text=True)  # the launch's language, not a parameter's
    policy = answer.headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {world.year.fake.url}" in policy
    assert "script-src" not in policy and "'unsafe-inline'" not in policy
    assert "X-Frame-Options" not in answer.headers
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-store"
    for refused in (client.get("/lti/home?t=x"), client.get(f"/lti/reviewing?t={t}")):
        assert "frame-ancestors 'self' " in refused.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in refused.headers
    console = client.get("/login")
    assert console.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in console.headers["Content-Security-Policy"]


def test_the_page_leads_back_to_the_course_it_was_opened_from(world: World) -> None:
    back = f"{world.year.fake.url}/course/view.php?id=7"
    client = world.app.test_client()
    page = client.get(f"/lti/home?t={learner_token(world, world.holders[0], 'en', return_url=back)}")
    assert f'href="{back}" target="_top" id="back-to-moodle"' in page.get_data(as_text=True)
    assert 'id="back-to-moodle"' not in client.get(
        f"/lti/home?t={learner_token(world, world.holders[0], 'en')}").get_data(as_text=True)
