"""Tokens of the JSON API: made (shown once), listed, revoked, and recognised from a request.

A token is 32 random bytes (``secrets``), URL-safe; only its SHA-256 is stored, so a database copy
reveals no usable token. Comparing digests of a fixed length leaks nothing useful through timing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import ApiToken, AuditLog, utcnow

PREFIX = "cct_"
NAME_LIMIT = 64


class TokenError(Exception):
    """A token cannot be made or revoked as asked; the message says why."""


@dataclass(frozen=True)
class TokenGrant:
    """What a recognised token may do."""

    name: str
    can_write: bool
    departments: frozenset[str] | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def make_token(session: Session, name: str, *, actor: str, can_write: bool = False,
               departments: list[str] | None = None) -> str:
    """Stores a new token named ``name`` and returns it: the only time it is seen in full."""
    name = name.strip()
    if not name or len(name) > NAME_LIMIT:
        raise TokenError(f"a token needs a name of 1 to {NAME_LIMIT} characters")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError(f"a token named {name!r} exists already: revoke it or choose another name")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_sha256=digest(token), prefix=token[:10], can_write=can_write,
                         departments=sorted(set(departments)) if departments else None, created_by=actor))
    session.add(AuditLog(actor=actor, action="api-token:make", target=name,
                         detail={"can_write": can_write, "departments": departments or None}))
    session.commit()
    return token


def revoke_token(session: Session, name: str, *, actor: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
    if row is None:
        raise TokenError(f"no active token named {name!r}")
    row.revoked_at = utcnow()
    session.add(AuditLog(actor=actor, action="api-token:revoke", target=name))
    session.commit()


def tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at)))


def recognise(session: Session, token: str) -> TokenGrant | None:
    """The grant of an active token (its last use noted), or None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest(token),
                                                ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    row.last_used_at = utcnow()
    session.commit()
    departments = frozenset(row.departments) if row.departments is not None else None
    return TokenGrant(row.name, row.can_write, departments)
