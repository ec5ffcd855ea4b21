"""The Moodle connection as set in the console, overriding the environment and the config file.

The token is write-only: it is stored encrypted (Fernet) with a key derived from the secret key, and
nothing ever decrypts it except to call Moodle. A token stored under another secret key cannot be read
back; it is then treated as unset, and the settings page says to enter it again.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from rules.wording import Sentence

from ...config import Settings
from ...db import session_scope
from ...models import AuditLog, SiteSetting, utcnow

URL_KEY, TOKEN_KEY = "moodle_url", "moodle_token"


class SettingError(Exception):
    """A setting's new value is not acceptable; the message names the field. Nothing was changed."""

    def __init__(self, field: str, message: Sentence) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"cadre-companion site_setting v1").derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret_key: str, value: str) -> str:
    return _fernet(secret_key).encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(secret_key: str, value: str) -> str | None:
    """The plain value, or None when it was encrypted under another secret key."""
    try:
        return _fernet(secret_key).decrypt(value.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None


@dataclass(frozen=True)
class Connection:
    """What the settings page shows of the connection: never the token itself."""

    url: str
    url_source: str  # console, environment, none
    token_source: str  # console, environment, none
    token_unreadable: bool  # stored under another secret key
    updated_at: datetime | None
    updated_by: str


def _stored(session: Session) -> dict[str, SiteSetting]:
    return {row.key: row for row in session.scalars(select(SiteSetting))}


def effective(settings: Settings) -> Settings:
    """``settings`` with the connection set in the console, where one is; unchanged when the database
    cannot be read (not created yet: the command using it says so)."""
    try:
        with session_scope(settings.database_url) as session:
            stored = _stored(session)
    except SQLAlchemyError:
        return settings
    changes: dict[str, Any] = {}
    if URL_KEY in stored:
        changes["moodle_url"] = stored[URL_KEY].value
    if TOKEN_KEY in stored:
        token = decrypt(settings.secret_key, stored[TOKEN_KEY].value)
        if token is not None:
            changes["moodle_token"] = token
    return dataclasses.replace(settings, **changes) if changes else settings


def connection(session: Session, settings: Settings) -> Connection:
    stored = _stored(session)
    url_row, token_row = stored.get(URL_KEY), stored.get(TOKEN_KEY)
    unreadable = token_row is not None and decrypt(settings.secret_key, token_row.value) is None
    if token_row is not None and not unreadable:
        token_source = "console"
    else:
        token_source = "environment" if settings.moodle_token else "none"
    rows = [row for row in (url_row, token_row) if row is not None]
    latest = max(rows, key=lambda row: row.updated_at) if rows else None
    return Connection(url=url_row.value if url_row else settings.moodle_url,
                      url_source="console" if url_row else "environment" if settings.moodle_url else "none",
                      token_source=token_source, token_unreadable=unreadable,
                      updated_at=latest.updated_at if latest else None,
                      updated_by=latest.updated_by if latest else "")


def check_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingError("moodle_url", Sentence("not a web address: it starts with https:// (or http://) "
                                                  "and names the Moodle site, for example "
                                                  "https://moodle.example.edu"))
    if parts.username or parts.password or parts.query or parts.fragment:
        raise SettingError("moodle_url", Sentence("the site's address only: no user, query or #fragment"))
    return url


def check_token(token: str) -> str:
    token = token.strip()
    if not 8 <= len(token) <= 128 or any(ch.isspace() for ch in token) or not token.isascii():
        raise SettingError("moodle_token", Sentence("a web-service token is 8 to 128 letters and digits "
                                                    "without spaces (Moodle's are 32)"))
    return token


def save_connection(session: Session, settings: Settings, *, url: str | None, token: str | None,
                    actor: str) -> list[str]:
    """Stores a new URL and/or token (None or empty: unchanged); returns what changed. The audit log
    records which settings changed, never the token."""
    changed: list[str] = []
    stored = _stored(session)
    now = utcnow()
    if url:
        url = check_url(url)
    if token:
        token = check_token(token)
    current_url = stored[URL_KEY].value if URL_KEY in stored else settings.moodle_url
    if url and url != current_url:
        row = stored.get(URL_KEY) or SiteSetting(key=URL_KEY, secret=False)
        row.value, row.updated_at, row.updated_by = url, now, actor
        session.add(row)
        changed.append(URL_KEY)
    if token:
        row = stored.get(TOKEN_KEY) or SiteSetting(key=TOKEN_KEY, secret=True)
        row.value, row.updated_at, row.updated_by = encrypt(settings.secret_key, token), now, actor
        session.add(row)
        changed.append(TOKEN_KEY)
    if changed:
        session.add(AuditLog(actor=actor, action="settings:change", target="moodle",
                             detail={"changed": changed, **({"moodle_url": url} if url else {})}))
    return changed


def forget_connection(session: Session, *, actor: str) -> list[str]:
    """Removes the console's connection settings: the environment's apply again."""
    stored = _stored(session)
    removed = sorted(key for key in (URL_KEY, TOKEN_KEY) if key in stored)
    for key in removed:
        session.delete(stored[key])
    if removed:
        session.add(AuditLog(actor=actor, action="settings:reset", target="moodle",
                             detail={"removed": removed}))
    return removed
