"""Links from the tool's pages back into Moodle: a course's page, and the grading page of one learner's
submission in an assignment.

Moodle's grading page is addressed by the assignment's course module id (``cmid``), which the harvest
does not keep: it keeps the assignment's own id. The course module of an assignment never changes, so
the ids are asked of Moodle once (``mod_assign_get_assignments``, the call the harvest itself makes, one
call for all the courses a page needs) and kept for the life of the process. When Moodle cannot be
asked (unreachable, refused), the page links to the course's list of assignments instead, one click
further from the submission: a page never waits long on Moodle nor fails because of it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from urllib.parse import urlencode

from moodle_bridge import MoodleError

from ...config import ConfigError, Settings
from ...moodle import client_from_settings

#: How long a page waits for Moodle's answer about course modules.
LOOKUP_TIMEOUT_S = 8.0

_cmids: dict[tuple[str, int], int] = {}  # (Moodle URL, assignment id) -> course module id
_lock = threading.Lock()
log = logging.getLogger(__name__)


def course_url(moodle_url: str, courseid: int | None) -> str | None:
    if not moodle_url or courseid is None:
        return None
    return f"{moodle_url.rstrip('/')}/course/view.php?{urlencode({'id': courseid})}"


def grading_url(moodle_url: str, cmid: int, userid: int) -> str:
    """Moodle's grader for one learner's submission in the assignment ``cmid``."""
    query = urlencode({"id": cmid, "action": "grader", "userid": userid})
    return f"{moodle_url.rstrip('/')}/mod/assign/view.php?{query}"


def assignments_url(moodle_url: str, courseid: int) -> str:
    """The course's list of assignments: where a grader goes when the course module is unknown."""
    return f"{moodle_url.rstrip('/')}/mod/assign/index.php?{urlencode({'id': courseid})}"


def assignment_cmids(settings: Settings, wanted: Mapping[int, int]) -> dict[int, int]:
    """Course module id of each assignment of ``wanted`` (assignment id -> Moodle course id) that Moodle
    names; the ones it does not (or cannot: Moodle unreachable) are left out."""
    url = settings.moodle_url
    with _lock:
        known = {aid: _cmids[(url, aid)] for aid in wanted if (url, aid) in _cmids}
    missing = {aid: courseid for aid, courseid in wanted.items() if aid not in known}
    if not missing or not url:
        return known
    try:
        with client_from_settings(settings, timeout=LOOKUP_TIMEOUT_S, retries=0) as client:
            answer = client.mod_assign.get_assignments(sorted(set(missing.values())))
    except (MoodleError, ConfigError, OSError) as exc:
        log.warning("the course modules of %s assignments could not be read from Moodle: %s",
                    len(missing), type(exc).__name__)
        return known
    found = {a.id: a.cmid for a in answer.assignments if a.id in missing}
    with _lock:
        _cmids.update({(url, aid): cmid for aid, cmid in found.items()})
    return {**known, **found}
