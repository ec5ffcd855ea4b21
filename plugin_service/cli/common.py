"""What the commands share: settings, the database, the Moodle client, and printing problems."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from moodle_bridge import MoodleClient, MoodleError
from rules.problems import InputError, Problem

from ..config import ConfigError, Settings, load_settings
from ..moodle import client_from_settings
from ..services.platform.site_settings import effective
from ..services.platform.upgrades import UpgradeRefused, guarded_upgrade

EXIT_PROBLEMS = 2


def fail(message: str) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(EXIT_PROBLEMS)


def settings_or_fail(**overrides: Any) -> Settings:
    try:
        return effective(load_settings(**overrides))
    except ConfigError as exc:
        fail(str(exc))


def ready_database(settings: Settings) -> None:
    """The schema is brought up to date before a command uses the database (not under a running job
    of another version: ``cadre db upgrade`` says which)."""
    try:
        guarded_upgrade(settings.database_url)
    except UpgradeRefused as exc:
        fail(str(exc))


@contextmanager
def moodle(settings: Settings) -> Iterator[MoodleClient]:
    try:
        client = client_from_settings(settings)
    except ConfigError as exc:
        fail(str(exc))
    with client:
        try:
            yield client
        except MoodleError as exc:
            fail(f"Moodle: {exc}")


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")


def print_problems(problems: list[Problem] | tuple[Problem, ...]) -> None:
    for problem in problems:
        color = "yellow" if problem.severity == "warning" else "red"
        click.secho(str(problem), fg=color, err=problem.severity != "warning")


def report_input_error(exc: InputError) -> NoReturn:
    print_problems(exc.problems)
    errors = len(exc.errors)
    fail(f"{errors} problem(s) in the input; nothing was changed")
