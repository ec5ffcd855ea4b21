"""Why a login or a launch is refused. Each kind has its HTTP status and its own page (the tool's
``error.html``); nothing of the refused request is kept but a log line without secrets."""

from __future__ import annotations

#: kind -> HTTP status
STATUS = {
    "login": 400,  # the login initiation lacks what the specification requires
    "platform": 403,  # no stored platform has this issuer and client id
    "deployment": 403,  # the platform is known, this deployment of the tool is not
    "state": 400,  # no state, or one this tool never issued, or one that expired
    "replay": 403,  # a state used before, or a nonce that is not the one issued with it
    "token": 400,  # no id_token, or one that is malformed or lacks a required claim
    "signature": 403,  # not signed by a key of the platform
    "expired": 403,  # signed, but outside its validity (exp, iat, nbf)
    "audience": 403,  # issued for another tool (aud / azp)
    "message_type": 400,  # not a resource link launch
    "platform_error": 403,  # the platform answered the login with an error instead of a token
    "platform_keys": 502,  # the platform's keys could not be fetched
    "not_connected": 403,  # a launch from a platform that is not the connected Moodle site
    "unknown_user": 403,  # the launch names no Moodle user id (sub)
    "identity_conflict": 403,  # the launch's ids name different people
    "registration": 400,  # dynamic registration could not be completed
}


class LaunchRejected(Exception):
    """A refused login, launch or registration: ``kind`` picks the page, ``detail`` goes to the log
    only (never to the page) and never holds a token, state or nonce."""

    def __init__(self, kind: str, detail: str = "") -> None:
        if kind not in STATUS:
            raise ValueError(f"unknown rejection kind {kind!r}")
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail

    @property
    def status(self) -> int:
        return STATUS[self.kind]
