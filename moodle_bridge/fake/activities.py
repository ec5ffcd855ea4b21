"""The settings an activity instance holds, and their defaults.

An instance row may be made by a site action, a test or a copied course and hold only some settings:
readers take every setting through these defaults, and new instances start from them, so every path
sees the same forum or assignment.
"""

from __future__ import annotations

from typing import Any

from .db import Row

FORUM_DEFAULTS: dict[str, Any] = {
    "type": "general", "intro": "", "introformat": 1, "lang": "", "duedate": 0, "cutoffdate": 0,
    "assessed": 0, "assesstimestart": 0, "assesstimefinish": 0, "scale": 0, "grade_forum": 0,
    "grade_forum_notify": 0, "maxbytes": 0, "maxattachments": 1, "forcesubscribe": 0,
    "trackingtype": 1, "rsstype": 0, "rssarticles": 0, "warnafter": 0, "blockafter": 0,
    "blockperiod": 0, "completiondiscussions": 0, "completionreplies": 0, "completionposts": 0,
    "lockdiscussionafter": 0, "displaywordcount": 0,
}
ASSIGN_DEFAULTS: dict[str, Any] = {
    "nosubmissions": 0, "submissiondrafts": 0, "sendnotifications": 0, "sendlatenotifications": 0,
    "sendstudentnotifications": 1, "duedate": 0, "allowsubmissionsfromdate": 0, "grade": 100,
    "gradepenalty": 0, "completionsubmit": 0, "cutoffdate": 0, "gradingduedate": 0,
    "teamsubmission": 0, "requireallteammemberssubmit": 0, "teamsubmissiongroupingid": 0,
    "blindmarking": 0, "hidegrader": 0, "revealidentities": 0, "attemptreopenmethod": "untilpass",
    "maxattempts": 1, "markingworkflow": 0, "markingallocation": 0, "markinganonymous": 0,
    "requiresubmissionstatement": 0, "preventsubmissionnotingroup": 0, "timelimit": 0,
    "submissionattachments": 0, "intro": "", "introformat": 1, "alwaysshowdescription": 1,
    "onlinetext_enabled": 1, "onlinetext_wordlimit": 0, "onlinetext_wordlimitenabled": 0,
    "comments_enabled": 1,
}
# Plugin settings an instance made without ``configs`` rows reads from its flat defaults above.
_FLAT_PLUGIN_SETTINGS = ("onlinetext_enabled", "onlinetext_wordlimit", "onlinetext_wordlimitenabled",
                         "comments_enabled")


def forum_setting(forum: Row, name: str) -> Any:
    value = forum.get(name)
    return FORUM_DEFAULTS.get(name) if value is None else value


def assign_setting(assign: Row, name: str) -> Any:
    value = assign.get(name)
    return ASSIGN_DEFAULTS.get(name) if value is None else value


def forum_fields() -> dict[str, Any]:
    """A general forum as the "Add an activity" form saves it."""
    return dict(FORUM_DEFAULTS)


def news_forum_fields() -> dict[str, Any]:
    """The Announcements forum ``forum_get_course_forum`` adds to a course."""
    return {**FORUM_DEFAULTS, "type": "news", "intro": "General news and announcements", "maxbytes": 512000,
            "forcesubscribe": 1}


def page_fields() -> dict[str, Any]:
    return {"intro": "", "introformat": 1,
            "content": "<p>请在学习前阅读本页。Please read this page first.</p>",
            "contentformat": 1, "legacyfiles": 0, "display": 5,
            "displayoptions": 'a:2:{s:10:"printintro";s:1:"0";s:17:"printlastmodified";s:1:"1";}',
            "revision": 1, "printintro": 0, "printlastmodified": 1, "completionview": 0}


def assign_fields() -> dict[str, Any]:
    """An assignment with online text on (no word limit), files off, feedback comments on."""
    fields = {key: value for key, value in ASSIGN_DEFAULTS.items() if key not in _FLAT_PLUGIN_SETTINGS}
    fields.update({"activity": "", "activityformat": 1, "configs": [
        {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "enabled", "value": "1"},
        {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "wordlimit", "value": "0"},
        {"plugin": "onlinetext", "subtype": "assignsubmission", "name": "wordlimitenabled", "value": "0"},
        {"plugin": "file", "subtype": "assignsubmission", "name": "enabled", "value": "0"},
        {"plugin": "comments", "subtype": "assignsubmission", "name": "enabled", "value": "0"},
        {"plugin": "comments", "subtype": "assignfeedback", "name": "enabled", "value": "1"},
        {"plugin": "comments", "subtype": "assignfeedback", "name": "commentinline", "value": "0"},
    ]})
    return fields
