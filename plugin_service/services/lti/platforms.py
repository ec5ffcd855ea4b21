"""The platforms the tool trusts: registered by Moodle itself (dynamic registration) or entered by an
admin, each with its deployments and its keys as fetched from its key set URL.

Only the connected Moodle site (``moodle_url``) can be the platform of a launch that shows anyone's
data: its user ids are the ones the companion provisioned. Other platforms may be stored (a rehearsal
site, a move to a new address) but their launches find nobody (``identity``).

A platform's keys are fetched from its key set URL and kept in the database for an hour, shared by
every process. A token signed with a key the stored set does not hold makes the set be fetched again
(at most once in ``REFETCH_AFTER``, so forged key ids cannot make the tool hammer the platform): the
platform may have rotated its keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from rules.wording import Sentence

from ...models import AuditLog, LtiDeployment, LtiPlatform, utcnow

KEYSET_TTL = dt.timedelta(hours=1)
REFETCH_AFTER = dt.timedelta(seconds=5)
FETCH_TIMEOUT = 10.0
DYNAMIC = "dynamic registration"


class PlatformError(Exception):
    """A platform's details are not acceptable; ``field`` names the one at fault. Nothing was stored."""

    def __init__(self, field: str, message: Sentence) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PlatformKeysError(Exception):
    """The platform's key set could not be fetched or read (the message says which URL and why)."""


@dataclass(frozen=True)
class PlatformView:
    id: int
    issuer: str
    client_id: str
    name: str
    deployments: tuple[str, ...]
    auth_login_url: str
    auth_token_url: str
    keyset_url: str
    registered_by: str
    created_at: dt.datetime
    connected: bool  # the issuer is the connected Moodle site


def site_address(url: str) -> str:
    """A site's address as compared: scheme and host in lower case, no default port, no trailing /."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    if ":" in host:  # an IPv6 literal
        netloc = f"[{host}]" if port in (None, default) else f"[{host}]:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def origin(url: str) -> str:
    """The web origin of ``url`` (scheme, host, port), as a content security policy names it."""
    parts = urlsplit(site_address(url))
    return f"{parts.scheme}://{parts.netloc}"


def is_connected(issuer: str, moodle_url: str) -> bool:
    """Whether a platform's issuer is the connected Moodle site (Moodle's issuer is its wwwroot)."""
    return bool(moodle_url) and site_address(issuer) == site_address(moodle_url)


def _view(row: LtiPlatform, moodle_url: str) -> PlatformView:
    return PlatformView(
        row.id,
        row.issuer,
        row.client_id,
        row.name,
        tuple(d.deployment_id for d in row.deployments),
        row.auth_login_url,
        row.auth_token_url,
        row.keyset_url,
        row.registered_by,
        row.created_at,
        is_connected(row.issuer, moodle_url),
    )


def list_platforms(session: Session, moodle_url: str) -> list[PlatformView]:
    rows = session.scalars(
        select(LtiPlatform).options(selectinload(LtiPlatform.deployments)).order_by(LtiPlatform.id)
    )
    return [_view(row, moodle_url) for row in rows]


def find_platform(session: Session, issuer: str, client_id: str | None) -> LtiPlatform | None:
    """The platform of ``issuer`` and ``client_id``; without a client id, the issuer's only one."""
    rows = list(session.scalars(select(LtiPlatform).where(LtiPlatform.issuer == issuer)))
    if client_id is None:
        return rows[0] if len(rows) == 1 else None
    return next((row for row in rows if row.client_id == client_id), None)


def has_deployment(platform: LtiPlatform, deployment_id: str) -> bool:
    return any(d.deployment_id == deployment_id for d in platform.deployments)


def frame_origins(session: Session, moodle_url: str) -> list[str]:
    """The origins allowed to frame the tool's pages: the connected Moodle and the registered
    platforms' sites."""
    found = {origin(moodle_url)} if moodle_url else set()
    found |= {origin(issuer) for issuer in session.scalars(select(LtiPlatform.issuer).distinct())}
    return sorted(found)


def _url(field: str, value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 1000:
        raise PlatformError(field, Sentence("not a web address: it starts with https:// (or http://)"))
    if parts.username or parts.password or parts.fragment:
        raise PlatformError(field, Sentence("a web address without user, password or #fragment"))
    return value


def _text(field: str, value: str, limit: int = 255) -> str:
    value = value.strip()
    if not value:
        raise PlatformError(field, Sentence("required"))
    if len(value) > limit or any(ch.isspace() and ch != " " for ch in value):
        raise PlatformError(field, Sentence("at most %(limit)s characters on one line", limit=limit))
    return value


@dataclass(frozen=True)
class PlatformDetails:
    """A platform as an admin enters it or dynamic registration learns it."""

    issuer: str
    client_id: str
    deployments: tuple[str, ...]
    auth_login_url: str
    auth_token_url: str
    keyset_url: str
    name: str = ""

    def checked(self) -> PlatformDetails:
        """The same details, trimmed; ``PlatformError`` names the first field at fault."""
        issuer = _url("issuer", self.issuer)  # exactly as the platform's tokens name it
        if urlsplit(issuer).query:
            raise PlatformError("issuer", Sentence("the issuer is the site's address, without a query"))
        deployments = tuple(dict.fromkeys(_text("deployment_id", d) for d in self.deployments if d.strip()))
        if not deployments:
            raise PlatformError("deployment_id", Sentence("at least one deployment id is required"))
        return PlatformDetails(
            issuer,
            _text("client_id", self.client_id),
            deployments,
            _url("auth_login_url", self.auth_login_url),
            _url("auth_token_url", self.auth_token_url),
            _url("keyset_url", self.keyset_url),
            self.name.strip()[:255] or urlsplit(issuer).hostname or issuer,
        )


def save_platform(session: Session, details: PlatformDetails, *, actor: str) -> LtiPlatform:
    """Stores a platform, or updates the one of the same issuer and client id (its deployments are
    added to); audited."""
    details = details.checked()
    row = find_platform(session, details.issuer, details.client_id)
    created = row is None
    if row is None:
        row = LtiPlatform(issuer=details.issuer, client_id=details.client_id, registered_by=actor)
        session.add(row)
    changed_keys = row.keyset_url != details.keyset_url
    row.name, row.auth_login_url, row.auth_token_url = (
        details.name,
        details.auth_login_url,
        details.auth_token_url,
    )
    row.keyset_url = details.keyset_url
    if changed_keys:
        row.keyset, row.keyset_fetched_at = None, None
    known = {d.deployment_id for d in row.deployments}
    added = [d for d in details.deployments if d not in known]
    for deployment_id in added:
        row.deployments.append(LtiDeployment(deployment_id=deployment_id))
    session.flush()
    session.add(
        AuditLog(
            actor=actor,
            action="lti:platform-add" if created else "lti:platform-update",
            target=f"{row.issuer} {row.client_id}",
            detail={"deployments_added": added, "name": row.name},
        )
    )
    return row


def remove_platform(session: Session, platform_id: int, *, actor: str) -> bool:
    row = session.get(LtiPlatform, platform_id)
    if row is None:
        return False
    session.add(AuditLog(actor=actor, action="lti:platform-remove", target=f"{row.issuer} {row.client_id}"))
    session.execute(delete(LtiDeployment).where(LtiDeployment.platform_id == platform_id))
    session.delete(row)
    return True


def fetch_keyset(url: str, session: requests.Session | None = None) -> dict[str, Any]:
    """A key set (JWKS) as a platform publishes it; ``PlatformKeysError`` says what went wrong."""
    http = session or requests
    try:
        response = http.get(url, timeout=FETCH_TIMEOUT, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise PlatformKeysError(
            f"the platform's keys at {url} could not be fetched: {type(exc).__name__}"
        ) from None
    if response.status_code != 200:
        raise PlatformKeysError(f"the platform's keys at {url} answered HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise PlatformKeysError(f"the platform's keys at {url} are not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise PlatformKeysError(f'the platform\'s keys at {url} are not a key set (no "keys" list)')
    return {"keys": [key for key in data["keys"] if isinstance(key, dict)]}


def _matching(keyset: dict[str, Any] | None, kid: str) -> dict[str, Any] | None:
    for key in (keyset or {}).get("keys", []):
        if key.get("kid") == kid and key.get("kty") == "RSA" and key.get("alg", "RS256") == "RS256":
            return dict(key)
    return None


def platform_key(
    session: Session,
    platform: LtiPlatform,
    kid: str,
    *,
    now: dt.datetime | None = None,
    http: requests.Session | None = None,
) -> dict[str, Any] | None:
    """The platform's public key ``kid`` (a JWK), or None when even a fresh key set lacks it."""
    now = now or utcnow()
    fetched = platform.keyset_fetched_at
    if fetched is not None and now - fetched < KEYSET_TTL:
        found = _matching(platform.keyset, kid)
        if found is not None or now - fetched < REFETCH_AFTER:
            return found
    platform.keyset = fetch_keyset(platform.keyset_url, http)
    platform.keyset_fetched_at = now
    session.flush()
    return _matching(platform.keyset, kid)
