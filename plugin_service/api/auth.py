"""Token authentication of the JSON API: ``Authorization: Bearer <token>`` on every request."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import g, request
from flask_smorest import abort

from ..db import session_scope
from ..services.platform.api_tokens import TokenGrant, recognise
from ..services.read_models.scope import Scope
from ..web.access import settings

F = TypeVar("F", bound=Callable[..., Any])



def token_required(*, write: bool = False) -> Callable[[F], F]:
    """Refuses a request without an active token (401), or a read-only token where ``write`` (403)."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            grant = None
            if scheme.lower() == "bearer" and token.strip():
                with session_scope(settings().database_url) as session:
                    grant = recognise(session, token.strip())
            if grant is None:
                abort(401, message="an API token is needed: send 'Authorization: Bearer <token>' "
                                   "(`cadre token add NAME` makes one)")
            assert grant is not None  # abort raised
            if write and not grant.can_write:
                abort(403, message=f"token {grant.name!r} may only read")
            g.api_grant = grant
            return view(*args, **kwargs)
        return cast(F, wrapped)
    return decorate


def grant_scope() -> Scope:
    grant: TokenGrant = g.api_grant
    return Scope(departments=grant.departments)


def grant_name() -> str:
    grant: TokenGrant = g.api_grant
    return f"api:{grant.name}"
