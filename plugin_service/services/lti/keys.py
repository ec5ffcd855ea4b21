"""The tool's own RSA keys: the one that signs (service-token requests to the platform), and the set the
platform verifies with (``/lti/jwks.json``).

A key is made the first time one is needed. Private keys are stored encrypted (Fernet, with a key
derived from the secret key) and never leave this module except to sign. A rotation makes a new key the
signing one at once and keeps the old one published for a grace period: a platform that cached the old
set, or a token signed a moment before, still verifies. After the grace period the old key is retired:
no longer published, its private half erased. Each ``kid`` is the key's RFC 7638 thumbprint.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwcrypto.jwk import JWK
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import AuditLog, LtiToolKey, utcnow

KEY_BITS = 2048
#: How long a replaced key stays published: longer than any token it signed lives, and than a platform
#: keeps a key set without fetching it again when a signature does not verify.
GRACE = dt.timedelta(hours=24)
ACTIVE, PREVIOUS, RETIRED = "active", "previous", "retired"


class ToolKeyError(Exception):
    """The stored signing key cannot be read (it was encrypted under another secret key)."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    public_pem: str


@dataclass(frozen=True)
class KeyView:
    """What the console and the command line show of a key: never its private half."""

    kid: str
    status: str
    created_at: dt.datetime
    created_by: str
    retire_after: dt.datetime | None
    retired_at: dt.datetime | None


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"cadre-companion lti tool key v1").derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def _new_key(session: Session, secret_key: str, actor: str) -> LtiToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    jwk = JWK.from_pem(pem)
    public = json.loads(jwk.export_public())
    public.update(kid=jwk.thumbprint(), alg="RS256", use="sig")
    row = LtiToolKey(kid=public["kid"], status=ACTIVE, public_jwk=public, created_by=actor,
                     private_key=_fernet(secret_key).encrypt(pem).decode("ascii"))
    session.add(row)
    session.flush()
    return row


def _active(session: Session) -> LtiToolKey | None:
    return session.scalars(select(LtiToolKey).where(LtiToolKey.status == ACTIVE)
                           .order_by(LtiToolKey.id.desc()).limit(1)).first()


def ensure_key(session: Session, secret_key: str) -> LtiToolKey:
    """The signing key, made now if there is none yet."""
    found = _active(session)
    if found is None:
        found = _new_key(session, secret_key, "first use")
        session.add(AuditLog(actor="lti", action="lti:key-create", target=found.kid))
    return found


def signing_key(session: Session, secret_key: str) -> SigningKey:
    row = ensure_key(session, secret_key)
    try:
        pem = _fernet(secret_key).decrypt(row.private_key.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        raise ToolKeyError("the tool's signing key was stored under another secret key: rotate the keys "
                        "(cadre lti rotate-keys) to make a new one") from None
    public_pem = JWK(**row.public_jwk).export_to_pem().decode("ascii")
    return SigningKey(row.kid, pem, public_pem)


def retire_expired(session: Session, now: dt.datetime | None = None) -> list[str]:
    """Retires the replaced keys whose grace period is over; returns their kids."""
    now = now or utcnow()
    retired = []
    for row in session.scalars(select(LtiToolKey).where(LtiToolKey.status == PREVIOUS,
                                                         LtiToolKey.retire_after <= now)):
        row.status, row.retired_at, row.private_key = RETIRED, now, ""
        session.add(AuditLog(actor="lti", action="lti:key-retire", target=row.kid))
        retired.append(row.kid)
    return retired


def published(session: Session, secret_key: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """The key set platforms verify the tool's signatures with: the signing key and those in their
    grace period."""
    retire_expired(session, now)
    ensure_key(session, secret_key)
    rows = session.scalars(select(LtiToolKey).where(LtiToolKey.status.in_((ACTIVE, PREVIOUS)))
                           .order_by(LtiToolKey.id.desc()))
    return {"keys": [dict(row.public_jwk) for row in rows]}


def rotate(session: Session, secret_key: str, *, actor: str, grace: dt.timedelta = GRACE,
           now: dt.datetime | None = None) -> tuple[str, list[str]]:
    """Makes a new signing key; the one it replaces stays published for ``grace``. Returns the new kid
    and the kids now in their grace period."""
    now = now or utcnow()
    retire_expired(session, now)
    replaced = []
    for row in session.scalars(select(LtiToolKey).where(LtiToolKey.status == ACTIVE)):
        row.status, row.retire_after = PREVIOUS, now + grace
        replaced.append(row.kid)
    session.flush()
    new = _new_key(session, secret_key, actor)
    session.add(AuditLog(actor=actor, action="lti:key-rotate", target=new.kid,
                         detail={"replaced": replaced, "grace_hours": grace.total_seconds() / 3600}))
    return new.kid, replaced


def key_views(session: Session) -> list[KeyView]:
    return [KeyView(row.kid, row.status, row.created_at, row.created_by, row.retire_after, row.retired_at)
            for row in session.scalars(select(LtiToolKey).order_by(LtiToolKey.id.desc()))]
