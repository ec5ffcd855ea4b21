"""The stored platforms and the tool's key as PyLTI1p3 reads them: its tool configuration, its
registrations, and a request made of a launch's form.

PyLTI1p3 keeps a login's state in a browser cookie and its nonce in a cookie session. Neither survives
Moodle's iframe in a browser that refuses third-party cookies, so the companion keeps both on the
server (``login``) and gives the library no cookie to read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pylti1p3.cookie import CookieService
from pylti1p3.deployment import Deployment
from pylti1p3.registration import Registration
from pylti1p3.request import Request
from pylti1p3.tool_config.abstract import ToolConfAbstract
from sqlalchemy.orm import Session

from ...models import LtiPlatform
from .keys import SigningKey
from .platforms import find_platform, has_deployment


class FormRequest(Request):
    """A request as PyLTI1p3 reads it: the parameters of the login or the launch form."""

    def __init__(self, params: Mapping[str, str], secure: bool) -> None:
        self._params = dict(params)
        self._secure = secure

    def is_secure(self) -> bool:
        return self._secure

    def get_param(self, key: str) -> str:
        return self._params.get(key, "")


class NoCookies(CookieService):
    """No cookie is read or written: Moodle's iframe may refuse them."""

    def get_cookie(self, name: str) -> str | None:
        return None

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        return None


def registration(platform: LtiPlatform, key: SigningKey | None = None,
                 keyset: dict[str, Any] | None = None) -> Registration:
    found = (Registration().set_issuer(platform.issuer).set_client_id(platform.client_id)
             .set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
             .set_auth_audience(platform.auth_token_url).set_key_set_url(platform.keyset_url))
    if keyset is not None:
        found.set_key_set(keyset)  # type: ignore[arg-type]
    if key is not None:
        found.set_tool_private_key(key.private_pem).set_tool_public_key(key.public_pem)
    return found


class DbToolConf(ToolConfAbstract[FormRequest]):
    """The platforms stored in the database; any issuer may have several client ids."""

    def __init__(self, session: Session, key: SigningKey | None = None) -> None:
        self._session = session
        self._key = key
        self.keysets: dict[int, dict[str, Any]] = {}  # platform id -> keys to verify its token with

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def _registration(self, iss: str, client_id: str | None) -> Registration | None:
        platform = find_platform(self._session, iss, client_id or None)
        if platform is None:
            return None
        return registration(platform, self._key, self.keysets.get(platform.id))

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        return self._registration(iss, None)  # type: ignore[return-value]

    def find_registration_by_params(self, iss: str, client_id: str, *args: Any, **kwargs: Any
                                    ) -> Registration:
        return self._registration(iss, client_id)  # type: ignore[return-value]

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self._deployment(iss, None, deployment_id)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str, *args: Any,
                                  **kwargs: Any) -> Deployment | None:
        return self._deployment(iss, client_id, deployment_id)

    def _deployment(self, iss: str, client_id: str | None, deployment_id: str) -> Deployment | None:
        platform = find_platform(self._session, iss, client_id)
        if platform is None or not has_deployment(platform, deployment_id):
            return None
        return Deployment().set_deployment_id(deployment_id)
