"""Who is looking at the tool's pages after a launch, carried from page to page in a signed token.

Moodle shows the tool in an iframe, where a browser may refuse the companion's cookies (third-party
cookies), so the launch does not start a cookie session: every page link carries a short-lived token
signed with the secret key. The token names one person as the launch matched them; no parameter of a
page can name anyone else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

#: How long a page token stays valid: a working session inside Moodle, then a new launch.
TOKEN_MAX_AGE_S = 2 * 3600
_SALT = "cadre-lti-viewer"

__all__ = ["TOKEN_MAX_AGE_S", "Viewer", "ViewerTokenError", "load_viewer", "sign_viewer"]


@dataclass(frozen=True)
class Viewer:
    """The person a launch was matched to, and what the companion itself says they may see.

    ``roles`` holds any of ``learner`` (a cadre of the year's plan), ``reviewer`` (the plan makes them
    review some cadres' reflections) and ``officer`` (a console officer, seeing ``departments``). It
    never comes from the platform's course role alone.
    """

    platform_id: int  # LtiPlatform row the launch came from
    deployment_id: str
    moodle_userid: int
    employee_no: str | None  # the matched cadre, None when the user is no cadre (an officer only)
    name: str
    roles: tuple[str, ...]
    departments: tuple[str, ...] = ()  # an officer's departments
    locale: str = "zh"  # "zh" or "en", from the launch's locale
    course_id: int | None = None  # the Moodle course the tool was launched from
    return_url: str | None = None  # the platform's launch presentation return URL


class ViewerTokenError(Exception):
    """A page token that is missing, altered or expired: the page asks for a new launch."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def sign_viewer(viewer: Viewer, secret_key: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=_SALT).dumps(asdict(viewer))


def load_viewer(token: str, secret_key: str, max_age: int = TOKEN_MAX_AGE_S) -> Viewer:
    try:
        data = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise ViewerTokenError(expired=True) from exc
    except BadSignature as exc:
        raise ViewerTokenError(expired=False) from exc
    data["roles"] = tuple(data.get("roles", ()))
    data["departments"] = tuple(data.get("departments", ()))
    return Viewer(**data)
