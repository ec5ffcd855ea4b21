"""A simulated LTI 1.3 platform that answers as Moodle's mod_lti does, over real HTTP on loopback.

It serves Moodle's OpenID configuration (``/mod/lti/openid-configuration.php``), its registration
endpoint (the registration token checked, a client id and a deployment handed out as
``openid-registration.php`` does), its key set (``certs.php``, with keys that can be rotated), its
token endpoint (``token.php``: the tool's client assertion verified against the tool's own key set, as
Moodle fetches it) and the gradebook services' scores endpoint (a score for a user who cannot be graded
in the course is refused with 400, and a score older than the last one too). It signs id_tokens as
``lti_build_jwt_request`` does, and plays the browser through a login and a launch against the tool.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from jwt.algorithms import RSAAlgorithm
from werkzeug.test import TestResponse

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"


@dataclass
class PlatformKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def make(cls) -> PlatformKey:
        return cls(secrets.token_hex(8), rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def jwk(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        found.update(kid=self.kid, alg="RS256", use="sig")
        return found


@dataclass
class MoodleUser:
    """A Moodle account as a launch describes it."""

    userid: int
    username: str | None = None
    idnumber: str | None = None
    name: str = "Someone"


@dataclass
class Score:
    lineitem: str
    body: dict[str, Any]
    status: int


@dataclass
class SimulatedMoodle:
    url: str = ""
    client_id: str = "cadreClient01"
    deployment_id: str = "7"
    keys: list[PlatformKey] = field(default_factory=lambda: [PlatformKey.make()])
    registration_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    tool_jwks: Callable[[], dict[str, Any]] | None = None  # how the platform reads the tool's key set
    registrations: list[dict[str, Any]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    gradable: set[int] = field(default_factory=set)  # user ids the gradebook accepts (empty: everyone)
    keyset_fetches: int = 0
    fail_token: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    _last_score: dict[tuple[str, str], float] = field(default_factory=dict)

    # --- what Moodle publishes ---

    @property
    def issuer(self) -> str:
        return self.url

    def openid_configuration(self) -> dict[str, Any]:
        base = self.url
        return {
            "issuer": base,
            "token_endpoint": f"{base}/mod/lti/token.php",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "jwks_uri": f"{base}/mod/lti/certs.php",
            "authorization_endpoint": f"{base}/mod/lti/auth.php",
            "registration_endpoint": f"{base}/mod/lti/openid-registration.php",
            "scopes_supported": [
                AGS + "lineitem",
                AGS + "lineitem.readonly",
                AGS + "result.readonly",
                AGS + "score",
                "openid",
            ],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "moodle",
                "version": "5.1+ (Build: 20251017)",
                "messages_supported": [
                    {"type": "LtiResourceLinkRequest"},
                    {"type": "LtiDeepLinkingRequest", "placements": ["ContentArea"]},
                ],
                "variables": [],
            },
        }

    def registration_url(self, *, scope: str = "reg", token: str | None = None) -> str:
        """The address Moodle opens: the tool's registration URL with its configuration and a token."""
        now = int(time.time())
        token = token or jwt.encode(
            {"sub": self.client_id, "scope": scope, "iat": now, "exp": now + 3600},
            self.registration_secret,
            algorithm="HS256",
        )
        return "/lti/register?" + urlencode(
            {
                "openid_configuration": f"{self.url}/mod/lti/openid-configuration.php",
                "registration_token": token,
            }
        )

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.keys]}

    def rotate(self, keep_old: bool = True) -> PlatformKey:
        new = PlatformKey.make()
        self.keys = [new, *self.keys] if keep_old else [new]
        return new

    # --- id_tokens ---

    def claims(
        self,
        user: MoodleUser,
        *,
        nonce: str,
        context_id: str = "5",
        resource_link: str = "11",
        lineitem: str | None = None,
        locale: str = "zh_cn",
        message_type: str = "LtiResourceLinkRequest",
        deployment_id: str | None = None,
        aud: Any = None,
        lifetime: int = 60,
    ) -> dict[str, Any]:
        """The claims of a launch as Moodle 4.5/5.1 sends them for ``user``."""
        now = int(time.time())
        body: dict[str, Any] = {
            "nonce": nonce,
            "iat": now,
            "exp": now + lifetime,
            "iss": self.issuer,
            "aud": self.client_id if aud is None else aud,
            "sub": str(user.userid),
            CLAIM + "deployment_id": deployment_id or self.deployment_id,
            CLAIM + "target_link_uri": "https://cadre.example.edu/lti/launch",
            CLAIM + "lis": {"person_sourcedid": user.idnumber or "", "course_section_sourcedid": ""},
            CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
            CLAIM + "context": {
                "id": context_id,
                "label": "c1",
                "title": "党性教育",
                "type": ["CourseSection"],
            },
            CLAIM + "message_type": message_type,
            CLAIM + "resource_link": {"title": "Cadre Companion", "id": resource_link},
            CLAIM + "version": "1.3.0",
            CLAIM + "launch_presentation": {
                "locale": locale,
                "document_target": "iframe",
                "return_url": f"{self.url}/mod/lti/return.php?course={context_id}",
            },
            CLAIM + "tool_platform": {
                "product_family_code": "moodle",
                "version": "2025100600",
                "guid": "127.0.0.1",
                "name": "Moodle",
                "description": "Moodle",
            },
            CLAIM + "custom": {},
        }
        if user.username is not None:
            body.update(given_name=user.name[1:], family_name=user.name[:1], name=user.name)
            body[CLAIM + "ext"] = {"user_username": user.username, "lms": "moodle-2"}
        if lineitem is not None:
            body[AGS_CLAIM] = {
                "scope": [
                    AGS + "lineitem",
                    AGS + "lineitem.readonly",
                    AGS + "result.readonly",
                    AGS + "score",
                ],
                "lineitems": f"{self.url}/mod/lti/services.php/{context_id}/lineitems?type_id=1",
                "lineitem": lineitem,
            }
        return body

    def lineitem(self, course: int = 5, item: int = 21) -> str:
        return f"{self.url}/mod/lti/services.php/{course}/lineitems/{item}/lineitem?type_id=1"

    def sign(
        self, body: dict[str, Any], key: PlatformKey | None = None, *, headers: dict[str, Any] | None = None
    ) -> str:
        key = key or self.keys[0]
        return jwt.encode(body, key.pem(), algorithm="RS256", headers={"kid": key.kid, **(headers or {})})

    # --- the browser between the two ---

    def login(
        self,
        client: FlaskClient,
        user: MoodleUser,
        *,
        method: str = "GET",
        deployment_id: str | None = None,
        client_id: str | None = None,
        issuer: str | None = None,
    ) -> TestResponse:
        params = {
            "iss": issuer or self.issuer,
            "target_link_uri": "https://cadre.example.edu/lti/launch",
            "login_hint": str(user.userid),
            "lti_message_hint": json.dumps({"cmid": 11, "launchid": "x1"}),
            "client_id": client_id or self.client_id,
            "lti_deployment_id": deployment_id or self.deployment_id,
        }
        if method == "POST":
            return client.post("/lti/login", data=params)
        return client.get("/lti/login", query_string=params)

    def authorize(self, response: TestResponse) -> tuple[str, str]:
        """What Moodle's auth.php reads from the tool's redirect: the state and the nonce."""
        assert response.status_code == 302, response.get_data(as_text=True)
        location = response.headers["Location"]
        assert location.startswith(f"{self.url}/mod/lti/auth.php?"), location
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert query["scope"] == "openid" and query["response_type"] == "id_token"
        assert query["response_mode"] == "form_post" and query["prompt"] == "none"
        assert query["client_id"] == self.client_id and query["redirect_uri"].endswith("/lti/launch")
        return query["state"], query["nonce"]

    def launch(
        self,
        client: FlaskClient,
        user: MoodleUser,
        change: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        **claims: Any,
    ) -> TestResponse:
        """Login, authorization and the launch's form post, as a browser inside Moodle goes through them."""
        state, nonce = self.authorize(self.login(client, user))
        body = self.claims(user, nonce=nonce, **claims)
        if change is not None:
            body = change(body)
        return client.post("/lti/launch", data={"id_token": self.sign(body), "state": state})

    # --- the HTTP side ---

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | str]:
        if method == "GET" and path == "/mod/lti/openid-configuration.php":
            return 200, self.openid_configuration()
        if method == "GET" and path == "/mod/lti/certs.php":
            with self.lock:
                self.keyset_fetches += 1
            return 200, self.jwks()
        if method == "POST" and path == "/mod/lti/openid-registration.php":
            return self._register(headers, body)
        if method == "POST" and path == "/mod/lti/token.php":
            return self._token(headers, body)
        if method == "POST" and path.endswith("/lineitem/scores"):
            return self._score(path, query, headers, body)
        return 404, {"error": "not found"}

    def _register(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | str]:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return 401, "missing_registration_token"
        try:
            token = jwt.decode(auth[7:], self.registration_secret, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return 401, "invalid registration token"
        payload = json.loads(body)
        tool = payload.get("https://purl.imsglobal.org/spec/lti-tool-configuration") or {}
        for name in (
            "response_types",
            "initiate_login_uri",
            "redirect_uris",
            "client_name",
            "jwks_uri",
            "token_endpoint_auth_method",
        ):
            if not payload.get(name):
                return 400, f"missing required attribute {name}"
        if not tool.get("domain") or urlsplit(tool.get("target_link_uri", "")).netloc != tool["domain"]:
            return 400, "domain_targetlinkuri_mismatch"
        with self.lock:
            self.registrations.append(payload)
        return 200, {
            "client_id": token["sub"],
            "response_types": ["id_token"],
            "jwks_uri": payload["jwks_uri"],
            "initiate_login_uri": payload["initiate_login_uri"],
            "grant_types": ["client_credentials", "implicit"],
            "redirect_uris": payload["redirect_uris"],
            "application_type": "web",
            "token_endpoint_auth_method": "private_key_jwt",
            "client_name": payload["client_name"],
            "logo_uri": "",
            "scope": payload.get("scope", ""),
            "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                "version": "1.3.0",
                "deployment_id": self.deployment_id,
                "target_link_uri": tool["target_link_uri"],
                "domain": tool["domain"],
                "description": tool.get("description", ""),
                "claims": ["sub", "iss", "name"],
            },
        }

    def _token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | str]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with self.lock:
            self.token_requests.append(form)
        if self.fail_token:
            return 400, {"error": "invalid_client"}
        if form.get("grant_type") != "client_credentials" or not form.get("scope"):
            return 400, {"error": "unsupported_grant_type"}
        assertion = form.get("client_assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            if unverified.get("sub") != self.client_id:
                return 400, {"error": "invalid_client"}
            assert self.tool_jwks is not None, "the test names how the platform reads the tool's keys"
            keys = jwt.PyJWKSet.from_dict(self.tool_jwks())
            kid = jwt.get_unverified_header(assertion).get("kid")
            key = next(k for k in keys.keys if k.key_id == kid)
            jwt.decode(assertion, key.key, algorithms=["RS256"], audience=f"{self.url}/mod/lti/token.php")
        except (jwt.InvalidTokenError, StopIteration) as exc:
            return 400, {"error": f"invalid_client: {type(exc).__name__}"}
        return 200, {
            "access_token": secrets.token_hex(16),
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": form["scope"],
        }

    def _score(
        self, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | str]:
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401, "missing token"
        if headers.get("content-type") != "application/vnd.ims.lis.v1.score+json":
            return 400, "wrong content type"
        score = json.loads(body)
        lineitem = f"{self.url}{path.removesuffix('/scores')}?" + urlencode(query)
        userid = str(score.get("userId", ""))
        status = 200
        required = ("userId", "timestamp", "gradingProgress", "activityProgress")
        if any(name not in score for name in required) or (
            "scoreGiven" in score and "scoreMaximum" not in score
        ):
            status = 400
        elif self.gradable and int(userid) not in self.gradable:
            status = 400  # is_user_gradable_in_course
        else:
            moment = dt.datetime.fromisoformat(score["timestamp"]).timestamp()
            last = self._last_score.get((lineitem, userid))
            if last is not None and last >= moment:
                status = 400  # "Refusing score with an earlier timestamp"
            else:
                self._last_score[(lineitem, userid)] = moment
        with self.lock:
            self.scores.append(Score(lineitem, score, status))
        return status, "" if status == 200 else "score refused"


@contextmanager
def serve(platform: SimulatedMoodle) -> Iterator[SimulatedMoodle]:
    """Runs the platform on a free loopback port until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, data = platform.handle(
                method,
                parts.path,
                {k: v[0] for k, v in parse_qs(parts.query).items()},
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            raw = (json.dumps(data) if isinstance(data, dict) else data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if isinstance(data, dict) else "text/plain")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    platform.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield platform
    finally:
        server.shutdown()
        server.server_close()
