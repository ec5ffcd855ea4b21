"""The OIDC login a launch starts with (LTI 1.3's third-party initiated login), and the state it leaves
on the server for the launch to find.

Moodle opens the tool's login URL with its issuer, the user's login hint and the link; the tool sends
the browser back to Moodle's authorization endpoint with a fresh ``state`` and ``nonce``, and Moodle
posts the signed id_token with that state to the launch URL. The login and the launch may be
cross-site inside Moodle's iframe, where the browser may drop the tool's cookies, so the state is kept
in the database (by its SHA-256, with the nonce's) instead of a cookie: the launch must bring back a
state this tool issued within ``STATE_TTL``, not used before, from the same platform, with the very
nonce issued beside it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping

from pylti1p3.exception import OIDCException
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.session import SessionService
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from ...models import LtiLoginState, utcnow
from .platforms import find_platform, has_deployment
from .rejections import LaunchRejected
from .toolconf import DbToolConf, FormRequest, NoCookies

#: How long the browser has from the login to the launch (Moodle answers in a second or two).
STATE_TTL = dt.timedelta(minutes=10)
#: Used and expired states are kept this long, so a replay is told apart from a state never issued.
KEEP_USED = dt.timedelta(days=1)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class _Issued(SessionService, NoCookies):
    """Catches the state and nonce PyLTI1p3 makes for the login, to be kept on the server."""

    def __init__(self, request: FormRequest) -> None:
        super().__init__(request)
        self.state = ""
        self.nonce = ""

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        if name.startswith("state-"):
            self.state = str(value)

    def save_nonce(self, nonce: str) -> None:
        self.nonce = nonce


class _UrlRedirect(Redirect[str]):
    def __init__(self, url: str) -> None:
        self._url = url

    def do_redirect(self) -> str:
        return self._url

    def do_js_redirect(self) -> str:
        return self._url

    def set_redirect_url(self, location: str) -> None:
        self._url = location

    def get_redirect_url(self) -> str:
        return self._url


class _Login(OIDCLogin[FormRequest, DbToolConf, _Issued, _Issued, str]):
    def get_redirect(self, url: str) -> Redirect[str]:
        return _UrlRedirect(url)

    def _generate_nonce(self) -> str:
        return secrets.token_urlsafe(32)  # random only: no clock or host in it


def start_login(session: Session, params: Mapping[str, str], *, launch_url: str, secure: bool,
                now: dt.datetime | None = None) -> str:
    """The address of the platform's authorization endpoint to send the browser to; the login's state
    is stored. ``LaunchRejected`` when the login names no known platform or deployment."""
    now = now or utcnow()
    issuer, hint = params.get("iss", ""), params.get("login_hint", "")
    if not issuer or not hint or not params.get("target_link_uri"):
        raise LaunchRejected("login", "iss, login_hint and target_link_uri are required")
    platform = find_platform(session, issuer, params.get("client_id") or None)
    if platform is None:
        raise LaunchRejected("platform", f"login from issuer {issuer[:200]!r} client "
                                         f"{params.get('client_id', '')[:100]!r}")
    deployment = params.get("lti_deployment_id", "")
    if deployment and not has_deployment(platform, deployment):
        raise LaunchRejected("deployment", f"login for deployment {deployment[:100]!r} of {issuer[:200]!r}")
    request = FormRequest({**params, "client_id": platform.client_id}, secure)
    issued = _Issued(request)
    login = _Login(request, DbToolConf(session), session_service=issued, cookie_service=issued)
    try:
        url = login.get_redirect_object(launch_url).get_redirect_url()
    except OIDCException as exc:
        raise LaunchRejected("login", str(exc)) from None
    session.execute(delete(LtiLoginState).where(LtiLoginState.expires_at < now - KEEP_USED))
    session.add(LtiLoginState(state_sha256=digest(issued.state), nonce_sha256=digest(issued.nonce),
                              platform_id=platform.id, created_at=now, expires_at=now + STATE_TTL))
    return url


def consume_state(session: Session, state: str, *, now: dt.datetime | None = None) -> LtiLoginState:
    """Marks the login's state used and returns it; ``LaunchRejected`` when it is missing, unknown,
    expired or used before. Commit at once: a refused launch has still used its state."""
    now = now or utcnow()
    if not state:
        raise LaunchRejected("state", "the launch brought no state")
    row = session.get(LtiLoginState, digest(state))
    if row is None:
        raise LaunchRejected("state", "a state this tool did not issue (or issued long ago)")
    if row.used_at is not None:
        raise LaunchRejected("replay", "a state that was used before")
    if row.expires_at < now:
        raise LaunchRejected("state", "an expired state")
    claimed = session.execute(update(LtiLoginState).where(LtiLoginState.state_sha256 == row.state_sha256,
                                                          LtiLoginState.used_at.is_(None))
                              .values(used_at=now)).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        raise LaunchRejected("replay", "a state used by a concurrent launch")
    return row
