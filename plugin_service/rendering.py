"""Renders the project's Jinja templates in a sandbox that sees only the template folder.

Templates receive plain values (never ORM objects or clients); the sandbox refuses unsafe attribute
access, and the loader reads only from the installed ``templates`` package.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment


@cache
def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=PackageLoader("templates", ""),
        autoescape=select_autoescape(("html", "xml")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
