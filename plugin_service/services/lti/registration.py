"""LTI Dynamic Registration: Moodle's admin pastes the tool's registration URL, Moodle opens it with its
OpenID configuration URL and a registration token, and the tool registers itself (PyLTI1p3's
``DynamicRegistration``: the configuration is fetched, the tool's registration posted with the token).

Only the connected Moodle site may register the tool this way: the configuration URL must be on its
address and name it as the issuer, and every endpoint it names must be on it too. The registration page
is open to anyone (Moodle opens it in the admin's browser), so without this anyone could make the tool
fetch addresses of their choosing or store a platform of their own. Another platform is entered by an
admin on the console's settings page.

The tool asks for what it uses: resource link launches, the user's name and email (Moodle then also
sends the username, which finds the cadre), and the gradebook (line items, scores, results) for the
year's hours. Moodle keeps a dynamically registered tool pending until an admin activates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from pylti1p3.dynamic_registration import DynamicRegistration
from pylti1p3.exception import LtiException
from sqlalchemy.orm import Session

from rules.wording import Sentence

from .platforms import DYNAMIC, PlatformDetails, PlatformError, is_connected, origin, save_platform

TIMEOUT = 15.0
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPES = (AGS + "lineitem", AGS + "score", AGS + "result.readonly")
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email")


class RegistrationError(Exception):
    """Dynamic registration failed; the message says why and is shown to the admin (no secret in it)."""

    def __init__(self, message: Sentence) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ToolUrls:
    """The tool's addresses under the public base URL, as the platform must know them."""

    base: str

    @property
    def login(self) -> str:
        return f"{self.base}/lti/login"

    @property
    def launch(self) -> str:
        return f"{self.base}/lti/launch"

    @property
    def jwks(self) -> str:
        return f"{self.base}/lti/jwks.json"

    @property
    def register(self) -> str:
        return f"{self.base}/lti/register"

    @property
    def domain(self) -> str:
        return urlsplit(self.base).netloc


def tool_urls(public_base_url: str) -> ToolUrls:
    return ToolUrls(public_base_url.rstrip("/"))


@dataclass(frozen=True)
class Registered:
    platform_id: int
    name: str
    issuer: str
    client_id: str
    deployment_id: str


class _Http(requests.Session):
    """Every call with a timeout: a platform that does not answer fails the registration, not the
    process."""

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, url, *args, **kwargs)


class _Registration(DynamicRegistration):
    client_name = "Cadre Companion"
    description = "学时与学习记录 · Study hours and learning records (Cadre Companion)"

    def __init__(self, urls: ToolUrls, configuration_url: str, token: str, moodle_url: str) -> None:
        self.urls = urls
        self.configuration_url = configuration_url
        self.token = token
        self.moodle_url = moodle_url
        self.details: PlatformDetails | None = None

    def get_request_session(self) -> requests.Session:
        return _Http()

    def get_initiate_login_uri(self) -> str:
        return self.urls.login

    def get_jwks_uri(self) -> str:
        return self.urls.jwks

    def get_redirect_uris(self) -> list[str]:
        return [self.urls.launch]

    def get_scopes(self) -> list[str]:
        return list(SCOPES)

    def get_domain(self) -> str:
        return self.urls.domain

    def get_target_link_uri(self) -> str:
        return self.urls.launch

    def get_claims(self) -> list[str]:
        return list(CLAIMS)

    def get_messages(self) -> list[dict[str, str]]:
        return [
            {
                "type": "LtiResourceLinkRequest",
                "target_link_uri": self.urls.launch,
                "label": "Cadre Companion 学时",
            }
        ]

    def get_logo_uri(self) -> str:
        return ""

    def lti_registration_data(self) -> dict[str, Any]:
        data = super().lti_registration_data()
        data.pop("logo_uri", None)
        return data

    def get_openid_configuration_endpoint(self) -> str:
        return self.configuration_url

    def get_registration_token(self) -> str:
        return self.token

    def get_openid_configuration(self) -> dict[str, Any]:
        try:
            found = super().get_openid_configuration()
        except (LtiException, requests.RequestException, ValueError):
            raise RegistrationError(
                Sentence(
                    "the platform's OpenID configuration at %(url)s could not be read",
                    url=self.configuration_url,
                )
            ) from None
        return check_configuration(found, self.moodle_url)

    def complete_registration(
        self, openid_configuration: dict[str, Any], openid_registration: dict[str, Any]
    ) -> PlatformDetails:
        client_id = openid_registration.get("client_id")
        tool = openid_registration.get(TOOL_CONFIGURATION) or {}
        deployment = tool.get("deployment_id") if isinstance(tool, dict) else None
        if not isinstance(client_id, str) or not client_id:
            raise RegistrationError(
                Sentence("the platform's answer to the registration names no client id")
            )
        if not isinstance(deployment, str | int) or str(deployment) == "":
            raise RegistrationError(
                Sentence("the platform's answer to the registration names no deployment")
            )
        self.details = PlatformDetails(
            issuer=openid_configuration["issuer"],
            client_id=client_id,
            deployments=(str(deployment),),
            auth_login_url=openid_configuration["authorization_endpoint"],
            auth_token_url=openid_configuration["token_endpoint"],
            keyset_url=openid_configuration["jwks_uri"],
            name=platform_name(openid_configuration),
        )
        return self.details


def platform_name(configuration: dict[str, Any]) -> str:
    """Moodle's configuration names its product and release, not the site: both, with its address."""
    platform = configuration.get(PLATFORM_CONFIGURATION) or {}
    product = str(platform.get("product_family_code") or "LTI platform").strip()
    version = str(platform.get("version") or "").strip()
    host = urlsplit(str(configuration.get("issuer", ""))).netloc
    label = f"{product.capitalize() if product.islower() else product} {version}".strip()
    return f"{label} · {host}"[:255]


def check_configuration(found: Any, moodle_url: str) -> dict[str, Any]:
    """A platform's OpenID configuration, if it is the connected Moodle's and names every endpoint on it."""
    if not isinstance(found, dict):
        raise RegistrationError(Sentence("the platform's OpenID configuration is not a JSON object"))
    issuer = found.get("issuer")
    if not isinstance(issuer, str) or not is_connected(issuer, moodle_url):
        raise RegistrationError(
            Sentence(
                "the OpenID configuration's issuer %(issuer)s is not the connected Moodle site %(moodle)s",
                issuer=str(issuer)[:200],
                moodle=moodle_url,
            )
        )
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint"):
        value = found.get(field)
        if not isinstance(value, str) or origin(value) != origin(moodle_url):
            raise RegistrationError(
                Sentence(
                    "the OpenID configuration's %(field)s is missing or not on the connected Moodle site",
                    field=field,
                )
            )
    if not isinstance(found.get(PLATFORM_CONFIGURATION), dict):
        raise RegistrationError(Sentence("the OpenID configuration is not an LTI platform's"))
    return found  # the issuer as Moodle writes it: launches must name it exactly so


def register(
    session: Session, *, configuration_url: str, token: str, public_base_url: str, moodle_url: str
) -> Registered:
    """Registers the tool with the platform that opened the registration page, and stores the platform.
    ``RegistrationError`` says what went wrong; nothing is stored then."""
    if not moodle_url:
        raise RegistrationError(
            Sentence("no Moodle site is connected: set its address in the settings first")
        )
    if not configuration_url:
        raise RegistrationError(
            Sentence(
                "open this address from Moodle's Manage tools page (Add LTI "
                "Advantage): Moodle adds its configuration and a registration token"
            )
        )
    parts = urlsplit(configuration_url)
    if parts.scheme not in ("http", "https") or origin(configuration_url) != origin(moodle_url):
        raise RegistrationError(
            Sentence(
                "the registration was started by %(site)s, not by the connected Moodle site %(moodle)s",
                site=origin(configuration_url) if parts.scheme in ("http", "https") else "?",
                moodle=moodle_url,
            )
        )
    flow = _Registration(tool_urls(public_base_url), configuration_url, token, moodle_url)
    try:
        flow.register()
    except RegistrationError:
        raise
    except (LtiException, requests.RequestException, AssertionError, ValueError, KeyError):
        raise RegistrationError(
            Sentence("the platform refused the registration or its answer could not be read")
        ) from None
    assert flow.details is not None
    try:
        row = save_platform(session, flow.details, actor=DYNAMIC)
    except PlatformError as exc:
        raise RegistrationError(
            Sentence(
                "the platform's answer is not usable: %(field)s: %(error)s",
                field=exc.field,
                error=exc.message,
            )
        ) from None
    return Registered(row.id, row.name, row.issuer, row.client_id, flow.details.deployments[0])
