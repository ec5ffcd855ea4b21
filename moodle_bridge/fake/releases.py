"""The Moodle releases the fake can be: 5.1 (the default) and 4.5 LTS, as the recording sites answered.

A site's ``release`` string ("4.5 (Build: 20241007)") says which one it is; ``branch`` reads it as
``(4, 5)`` so a function can ask ``site.branch < (5, 0)`` where the two releases differ. What differs,
as recorded (``tests/contract/recordings/FINDINGS.md``):

- a missing record: 5.1 with debugging off says ``invalidrecordunknown``, 4.5 the thrower's own code
  (``invalidrecord`` naming the table, ``invaliduser``...) (``wserror.MissingRecord``);
- fields only 5.1 declares in its returns (``ONLY_IN_5_1`` below, checked against both sites'
  ``signatures.json`` by ``tests/contract``): a 4.5 answer never carries them;
- ``core_message_get_member_info``, ``core_reportbuilder_retrieve_report`` past the last page,
  ``enrol_manual_enrol_users`` of an unknown user and the order of posts of the same second in
  ``mod_forum_get_discussion_posts``: see those functions' modules.
"""

from __future__ import annotations

import re
from typing import Any

# Short name -> (release, version) as ``core_webservice_get_site_info`` reports them.
RELEASES: dict[str, tuple[str, str]] = {
    "5.1": ("5.1+ (Build: 20251017)", "2025100600.02"),
    "4.5": ("4.5 (Build: 20241007)", "2024100700"),
}
DEFAULT = "5.1"
_BRANCH = re.compile(r"^(\d+)\.(\d+)")

# Per function, the paths of returned fields 4.5 does not declare ("[]" steps into a list's items).
ONLY_IN_5_1: dict[str, tuple[str, ...]] = {
    "core_message_get_member_info": ("[].cancreatecontact",),
    "core_reportbuilder_list_reports": ("reports[].customfields",),
    "core_reportbuilder_reports_get": ("button", "infocontainer"),
    "core_reportbuilder_retrieve_report": ("details.customfields",),
    "mod_assign_get_assignments": ("courses[].assignments[].gradepenalty",),
    "mod_feedback_get_analysis": ("itemsdata[].item.nameformat", "itemsdata[].item.presentationformat"),
    "mod_feedback_get_items": ("items[].nameformat", "items[].presentationformat"),
    "mod_scorm_get_scorms_by_courses": ("scorms[].enabledaiactions", "scorms[].enableaitools"),
}


def branch_of(release: str) -> tuple[int, int]:
    """``(major, minor)`` of a release string; an unreadable one counts as the default release."""
    match = _BRANCH.match(release.strip())
    if match is None:
        match = _BRANCH.match(DEFAULT)
        assert match is not None
    return int(match.group(1)), int(match.group(2))


def as_answered_by(branch: tuple[int, int], wsfunction: str, result: Any) -> Any:
    """A cleaned answer as ``branch`` sends it: without the fields only 5.1 declares."""
    if branch >= (5, 0):
        return result
    for path in ONLY_IN_5_1.get(wsfunction, ()):
        _drop(result, _parts(path))
    return result


def _parts(path: str) -> list[str]:
    """``reports[].customfields`` -> ``["reports", "[]", "customfields"]``."""
    return [part for part in re.split(r"\.|(?=\[\])", path) if part]


def _drop(node: Any, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if head == "[]":
        for item in node if isinstance(node, list) else ():
            if rest:
                _drop(item, rest)
        return
    if not isinstance(node, dict):
        return
    if rest:
        _drop(node.get(head), rest)
    else:
        node.pop(head, None)
