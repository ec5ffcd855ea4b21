"""The ``cadre`` command: what an admin runs from a shell or cron."""

from __future__ import annotations

import logging

import click

from ..config import ConfigError, load_settings
from ..logs import configure
from .bulletin import bulletin
from .doctor import doctor
from .documents import archives, certificate, certificates
from .engage import announce_command, commend_command, discussions, remind_command, survey_group
from .export import export_command
from .harvest import harvest_command, record_command
from .lti import lti
from .offline import offline
from .plan import explain, plan, roster
from .platform import backup_command, db, restore_command
from .tokens import token
from .users import user

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cadre-companion")
@click.option("-v", "--verbose", count=True, help="Log more (-v: progress, -vv: every Moodle call).")
def main(verbose: int) -> None:
    """Cadre Companion: runs the cadre training year on a self-hosted Moodle."""
    level = {0: logging.ERROR, 1: logging.INFO}.get(verbose, logging.DEBUG)
    try:
        settings = load_settings()
        configure(settings, level, text_format=TEXT_FORMAT, replace=False)
    except ConfigError:  # the command that reads the settings says what is wrong
        logging.basicConfig(level=level, format=TEXT_FORMAT)


main.add_command(doctor)
main.add_command(roster)
main.add_command(plan)
main.add_command(explain)
main.add_command(harvest_command)
main.add_command(record_command)
main.add_command(remind_command)
main.add_command(announce_command)
main.add_command(bulletin)
main.add_command(discussions)
main.add_command(commend_command)
main.add_command(survey_group)
main.add_command(certificates)
main.add_command(certificate)
main.add_command(archives)
main.add_command(export_command)
main.add_command(offline)
main.add_command(user)
main.add_command(token)
main.add_command(db)
main.add_command(backup_command)
main.add_command(restore_command)
main.add_command(lti)
