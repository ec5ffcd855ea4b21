"""Moodle calls and failed calls per web-service function, summed in the database over every process.

The web process, the workers and the command line each make their own calls; a Prometheus scrape
reaches one web process only. So each client adds what it counted to one row per function
(``MoodleCallStat``) when it closes, and at most every ``FLUSH_EVERY`` seconds while a long job runs,
and ``/metrics`` reads the sums: the same numbers whichever process answers the scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ...db import session_scope
from ...models import MoodleCallStat, utcnow

log = logging.getLogger(__name__)

#: Seconds between two additions while a client is in use (a harvest runs for minutes).
FLUSH_EVERY = 30.0


def database_exists(database_url: str) -> bool:
    """False for an SQLite file not made yet: counting calls must not create a database (``cadre
    doctor`` runs without one)."""
    if database_url.startswith("sqlite:///") and not database_url.startswith("sqlite:///:memory:"):
        return Path(database_url.removeprefix("sqlite:///")).is_file()
    return True


def add(database_url: str, calls: Mapping[str, int], errors: Mapping[str, int]) -> bool:
    """Adds these counts to the sums; False (and a warning) when the database cannot take them, which
    never fails the job that made the calls."""
    functions = sorted(f for f in set(calls) | set(errors) if calls.get(f) or errors.get(f))
    if not functions or not database_exists(database_url):
        return not functions
    for attempt in (1, 2):  # a second try when another process inserted a function's row meanwhile
        try:
            with session_scope(database_url) as session:
                for function in functions:  # always in the same order: no deadlock between writers
                    n, failed = calls.get(function, 0), errors.get(function, 0)
                    changed = session.execute(
                        update(MoodleCallStat).where(MoodleCallStat.function == function)
                        .values(calls=MoodleCallStat.calls + n, errors=MoodleCallStat.errors + failed,
                                updated_at=utcnow()))
                    if changed.rowcount == 0:  # type: ignore[attr-defined]
                        session.add(MoodleCallStat(function=function, calls=n, errors=failed))
                        session.flush()
            return True
        except IntegrityError as exc:
            if attempt == 2:
                log.warning("Moodle call counts not recorded: %s", type(exc).__name__)
        except SQLAlchemyError as exc:
            log.warning("Moodle call counts not recorded: %s", type(exc).__name__)
            return False
    return False


def totals(database_url: str) -> dict[str, tuple[int, int]]:
    """function -> (calls, failed calls) since the database was made."""
    with session_scope(database_url) as session:
        return {function: (int(calls), int(errors)) for function, calls, errors in session.execute(
            select(MoodleCallStat.function, MoodleCallStat.calls, MoodleCallStat.errors)
            .order_by(MoodleCallStat.function))}
