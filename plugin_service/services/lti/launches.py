"""A launch's id_token checked before anyone is shown anything.

The checks, in order, each with its own refusal (``rejections``): the state (issued here, unused, not
expired: ``login``), the token's form, the platform (issuer and client id stored), the audience (the
tool's client id; ``azp`` where several), the signature with the platform's key named by ``kid`` and
the token's times (``exp``, ``iat``), the nonce (the one issued with the state), the deployment, and
the message: a resource link launch of LTI 1.3.0 with a user and a link. PyLTI1p3 reads the token,
verifies the signature (PyJWT), finds the deployment and checks the message's claims; the state and
nonce are the companion's own (kept on the server, see ``login``).
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from pylti1p3.exception import LtiException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.session import SessionService
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import LtiPlatform, utcnow
from .login import digest
from .platforms import PlatformKeysError, platform_key
from .rejections import LaunchRejected
from .toolconf import DbToolConf, FormRequest, NoCookies

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
RESOURCE_LINK = "LtiResourceLinkRequest"


@dataclass(frozen=True)
class ValidLaunch:
    """A launch whose every check passed: the platform it came from and its verified claims."""

    platform_id: int
    issuer: str
    client_id: str
    deployment_id: str
    claims: dict[str, Any]

    def claim(self, name: str, default: Any = None) -> Any:
        """An LTI claim by its short name (``context``, ``roles``, ...)."""
        return self.claims.get(CLAIM + name, default)


class _Launch(MessageLaunch[FormRequest, DbToolConf, SessionService, NoCookies]):
    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)


def _audience(body: Mapping[str, Any]) -> list[str]:
    aud = body.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(item, str) for item in aud):
        return list(aud)
    return []


def _platform(session: Session, body: Mapping[str, Any]) -> LtiPlatform:
    issuer = body.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise LaunchRejected("token", "the id_token names no issuer")
    platforms = list(session.scalars(select(LtiPlatform).where(LtiPlatform.issuer == issuer)))
    if not platforms:
        raise LaunchRejected("platform", f"launch from unknown issuer {issuer[:200]!r}")
    audience = _audience(body)
    mine = [p for p in platforms if p.client_id in audience]
    if len(mine) != 1:
        raise LaunchRejected("audience", f"id_token of {issuer[:200]!r} for {audience[:3]!r}")
    platform = mine[0]
    if len(audience) > 1 and body.get("azp") != platform.client_id:
        raise LaunchRejected(
            "audience", f"id_token for several audiences without azp = {platform.client_id!r}"
        )
    if audience[0] != platform.client_id:  # PyLTI1p3 reads the client id from the first audience
        raise LaunchRejected("audience", "the tool's client id is not the token's first audience")
    return platform


def _signature(
    session: Session,
    launch: _Launch,
    platform: LtiPlatform,
    conf: DbToolConf,
    header: Mapping[str, Any],
    http: requests.Session | None,
    now: dt.datetime,
) -> None:
    kid, alg = header.get("kid"), header.get("alg")
    if alg != "RS256" or not isinstance(kid, str) or not kid:
        raise LaunchRejected(
            "signature", f"id_token signed with alg {str(alg)[:20]!r}, kid {str(kid)[:80]!r}"
        )
    try:
        key = platform_key(session, platform, kid, now=now, http=http)
    except PlatformKeysError as exc:
        raise LaunchRejected("platform_keys", str(exc)) from None
    if key is None:
        raise LaunchRejected("signature", f"no key {kid[:80]!r} in the platform's key set")
    conf.keysets[platform.id] = {"keys": [key]}
    launch.validate_registration()
    try:
        launch.validate_jwt_signature()
    except LtiException as exc:
        cause = exc.__cause__
        if isinstance(cause, jwt.ExpiredSignatureError | jwt.ImmatureSignatureError):
            raise LaunchRejected("expired", str(cause)) from None
        raise LaunchRejected("signature", type(cause or exc).__name__) from None


def _times(body: Mapping[str, Any]) -> None:
    if not all(isinstance(body.get(name), int | float) for name in ("exp", "iat")):
        raise LaunchRejected("token", "the id_token lacks exp or iat")


def validate_launch(
    session: Session,
    form: Mapping[str, str],
    *,
    expected_nonce_sha256: str,
    state_platform_id: int,
    secure: bool,
    http: requests.Session | None = None,
    now: dt.datetime | None = None,
) -> ValidLaunch:
    """Checks a launch whose state was consumed (``login.consume_state``): the state's nonce digest and
    platform are what the token must match. ``LaunchRejected`` names the first check that failed."""
    now = now or utcnow()
    request = FormRequest(form, secure)
    conf = DbToolConf(session)
    launch = _Launch(
        request,
        conf,
        session_service=SessionService(request),
        cookie_service=NoCookies(),
        requests_session=http,
    )
    launch.set_auto_validation(False)
    if not form.get("id_token"):
        raise LaunchRejected("token", "the launch brought no id_token")
    try:
        launch.validate_jwt_format()
    except LtiException:
        raise LaunchRejected("token", "the id_token is not a JWT") from None
    body: dict[str, Any] = dict(launch.get_launch_data())
    try:
        header = jwt.get_unverified_header(form["id_token"])
    except jwt.InvalidTokenError:
        raise LaunchRejected("token", "the id_token's header cannot be read") from None
    platform = _platform(session, body)
    if platform.id != state_platform_id:
        raise LaunchRejected("state", "the state was issued for a login from another platform")
    _times(body)
    _signature(session, launch, platform, conf, header, http, now)
    nonce = body.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(digest(nonce), expected_nonce_sha256):
        raise LaunchRejected("replay", "the id_token's nonce is not the one issued with the state")
    deployment = body.get(CLAIM + "deployment_id")
    if not isinstance(deployment, str) or not deployment:
        raise LaunchRejected("token", "the id_token names no deployment")
    try:
        launch.validate_deployment()
    except LtiException:
        raise LaunchRejected(
            "deployment", f"deployment {deployment[:100]!r} of {platform.issuer[:200]!r}"
        ) from None
    message_type = body.get(CLAIM + "message_type")
    if message_type != RESOURCE_LINK:
        raise LaunchRejected("message_type", f"message type {str(message_type)[:60]!r}")
    try:
        launch.validate_message()
    except LtiException as exc:
        raise LaunchRejected("token", str(exc)[:200]) from None
    return ValidLaunch(platform.id, platform.issuer, platform.client_id, deployment, body)
