"""Whether the tool is placed in the connected Moodle, and what a Moodle admin does to place it:
``cadre doctor``'s LTI section, the settings page and the README say the same steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError

from rules.wording import Sentence

from ...db import session_scope
from .platforms import PlatformView, list_platforms
from .registration import tool_urls


@dataclass(frozen=True)
class Placement:
    registered: bool  # a platform with the connected Moodle's issuer and a deployment is stored
    platforms: list[PlatformView]
    problems: list[Sentence] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    notes: list[Sentence] = field(default_factory=list)


def admin_steps(public_base_url: str, moodle_url: str) -> list[str]:
    """What a Moodle admin does, in order, to place the tool (Moodle 4.5 and 5.x)."""
    urls = tool_urls(public_base_url)
    tool = urlsplit(urls.base)
    port = tool.port or (443 if tool.scheme == "https" else 80)
    return [
        "Site administration > Plugins > Activity modules > External tool > Manage tools: paste "
        f"{urls.register} into 'Tool URL' and press 'Add LTI Advantage'. Moodle opens the tool, which "
        "registers itself and closes the window.",
        "On the same page the new tool 'Cadre Companion' is marked Pending: press 'Activate'.",
        "Edit the tool (the gear on its card) if you want it in teachers' activity chooser: "
        "'Tool configuration usage' = 'Show in activity chooser and as a preconfigured tool'. Leave "
        "'Share launcher's name with tool' and 'Share launcher's email with tool' at Always (the "
        "registration set them; the username sent with the name finds the cadre), and "
        "'IMS LTI Assignment and Grade Services' at 'Use this service for grade sync and column "
        "management'.",
        "Moodle fetches the tool's keys from "
        f"{urls.jwks} when the tool asks for a gradebook token. Moodle's cURL security blocks private "
        "and loopback addresses and every port but 80 and 443 by default: when the tool runs at such an "
        "address or port, in Site administration > General > Security > HTTP security "
        "(admin/settings.php?section=httpsecurity) remove the tool's address range from 'cURL blocked "
        f"hosts list' (e.g. 127.0.0.0/8 and localhost for {tool.hostname}) and add {port} to 'cURL "
        "allowed ports list' (keep 443 and 80).",
        "Add the tool once to each template course (Add an activity or resource > Cadre Companion, or "
        "External tool with the preconfigured tool); with 'Accept grades from the tool' on, the hours "
        "reach the course's gradebook. Courses copied from a template carry the activity with them. "
        "Set the activity's maximum grade to 100 to read the column as the percentage of the target.",
        f"Check with `cadre doctor`: the tool's issuer must be {moodle_url or 'the connected Moodle'}.",
    ]


def placement(database_url: str, public_base_url: str, moodle_url: str) -> Placement:
    """What is stored about the tool's platforms, judged against the connected Moodle."""
    steps = admin_steps(public_base_url, moodle_url)
    try:
        with session_scope(database_url) as session:
            platforms = list_platforms(session, moodle_url)
    except SQLAlchemyError:
        return Placement(
            False, [], [Sentence("the database cannot be read: run `cadre db upgrade`")], steps
        )
    problems = []
    connected = [p for p in platforms if p.connected]
    if not moodle_url:
        problems.append(Sentence("no Moodle site is connected (CADRE_MOODLE_URL)"))
    elif not connected:
        problems.append(
            Sentence(
                "no LTI platform with issuer %(issuer)s is registered: the tool is not placed "
                "in the connected Moodle yet",
                issuer=moodle_url,
            )
        )
    for platform in platforms:
        if not platform.connected:
            problems.append(
                Sentence(
                    "platform %(name)s (%(issuer)s) is not the connected Moodle: its launches "
                    "show nobody's data",
                    name=platform.name,
                    issuer=platform.issuer,
                )
            )
    notes = []
    if urlsplit(public_base_url).scheme != "https":
        notes.append(
            Sentence(
                "the public base URL %(url)s is not https: a Moodle served over https cannot "
                "show an http tool in its frame (mixed content); use https in production",
                url=public_base_url,
            )
        )
    return Placement(
        bool(connected) and all(p.deployments for p in connected), platforms, problems, steps, notes
    )
