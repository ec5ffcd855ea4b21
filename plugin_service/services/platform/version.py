"""Which code is running: the package's version and the schema revision it was written for.

A job lock records it (``locks.job_lock``), so that ``cadre db upgrade`` can tell a job of the code
being replaced from one of the new code; a backup's manifest records it too.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

from alembic.script import ScriptDirectory

from ...db import MIGRATIONS, alembic_config

PACKAGE = "cadre-companion"


@cache
def package_version() -> str:
    """The installed package's version ("unknown" when run from a checkout that is not installed)."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return "unknown"


@cache
def schema_head() -> str:
    """The newest migration this code carries: the schema it expects."""
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations in {MIGRATIONS} have {len(heads)} heads, not one")
    return str(heads[0])


def code_version() -> str:
    """``<package version>+schema.<revision>``: two processes of one version expect the same schema."""
    return f"{package_version()}+schema.{schema_head()}"


@cache
def known_revisions() -> tuple[str, ...]:
    """Every schema revision this code can build, oldest first."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return tuple(rev.revision for rev in reversed(list(script.walk_revisions())))
