"""What each standard role may do, and how Moodle names a capability in a ``nopermissions`` message.

One table for the whole fake: a course role grants the same rights whichever function checks them, as
the role's archetype does on a fresh Moodle site (for the capabilities the fake's functions check). The
fake keeps system-level grants apart, in ``FakeSite.capabilities`` (the service user holds ``*``).
"""

from __future__ import annotations

_STUDENT = frozenset({
    "gradereport/overview:view", "gradereport/user:view", "mod/assign:submit", "mod/assign:view",
    "mod/assign:viewownsubmissionsummary", "mod/feedback:complete", "mod/feedback:view",
    "mod/feedback:viewanalysepage", "mod/forum:cantogglefavourite", "mod/forum:createattachment",
    "mod/forum:deleteownpost", "mod/forum:replypost", "mod/forum:startdiscussion",
    "mod/forum:viewdiscussion", "mod/forum:viewqandawithoutposting", "mod/page:view",
    "mod/scorm:savetrack", "mod/scorm:skipview", "mod/scorm:viewscores",
    "moodle/course:isincompletionreports", "moodle/course:togglecompletion",
    "moodle/course:viewparticipants", "moodle/grade:view", "moodle/user:viewdetails",
})
_TEACHER = frozenset({
    "gradereport/grader:view", "gradereport/overview:view", "gradereport/user:view", "mod/assign:grade",
    "mod/assign:showhiddengrader", "mod/assign:view", "mod/assign:viewgrades", "mod/feedback:view",
    "mod/feedback:viewanalysepage", "mod/feedback:viewreports", "mod/forum:addnews",
    "mod/forum:canoverridediscussionlock", "mod/forum:cantogglefavourite", "mod/forum:createattachment",
    "mod/forum:deleteanypost", "mod/forum:deleteownpost", "mod/forum:editanypost",
    "mod/forum:postprivatereply", "mod/forum:readprivatereplies", "mod/forum:replynews",
    "mod/forum:replypost", "mod/forum:splitdiscussions", "mod/forum:startdiscussion",
    "mod/forum:viewanyrating", "mod/forum:viewdiscussion", "mod/forum:viewqandawithoutposting",
    "mod/page:view", "mod/scorm:viewreport", "mod/scorm:viewscores", "moodle/course:enrolreview",
    "moodle/course:markcomplete",
    "moodle/course:overridecompletion", "moodle/course:useremail", "moodle/course:viewhiddenactivities",
    "moodle/course:viewhiddencourses", "moodle/course:viewhiddensections",
    "moodle/course:viewhiddenuserfields", "moodle/course:viewparticipants", "moodle/grade:viewall",
    "moodle/role:review", "moodle/site:accessallgroups", "moodle/site:viewfullnames",
    "moodle/site:viewuseridentity", "moodle/user:viewdetails", "moodle/user:viewhiddendetails",
    "report/completion:view", "report/progress:view",
})
_EDITINGTEACHER = _TEACHER | frozenset({
    "enrol/manual:enrol", "enrol/manual:manage", "enrol/manual:unenrol", "mod/assign:editothersubmission",
    "mod/assign:grantextension", "mod/assign:revealidentities", "mod/feedback:deletesubmissions",
    "mod/feedback:edititems", "mod/forum:pindiscussions", "moodle/backup:backupcourse",
    "moodle/course:changefullname", "moodle/course:changeshortname", "moodle/course:changesummary",
    "moodle/course:enrolconfig", "moodle/course:manageactivities", "moodle/course:managegroups",
    "moodle/course:update", "moodle/course:visibility", "moodle/grade:edit", "moodle/grade:manage",
    "moodle/restore:restorecourse", "moodle/role:assign",
})
# By archetype; a manager may do everything (see ``role_may``).
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    "student": _STUDENT,
    "teacher": _TEACHER,
    "editingteacher": _EDITINGTEACHER,
    "guest": frozenset({"mod/forum:viewdiscussion"}),
    "user": frozenset(),
    "frontpage": frozenset(),
    "coursecreator": frozenset({"moodle/course:create", "moodle/course:view"}),
}

# The names Moodle's language pack gives the capabilities the fake refuses; "(capability)" otherwise.
CAPABILITY_NAMES = {
    "enrol/manual:enrol": "Enrol users",
    "enrol/manual:unenrol": "Unenrol users from the course",
    "gradereport/user:view": "View your own grade report",
    "mod/assign:grade": "Grade assignment",
    "mod/assign:view": "View assignment",
    "mod/assign:viewgrades": "View grades",
    "mod/feedback:complete": "Complete a feedback",
    "mod/feedback:viewanalysepage": "View the analysis page after submit",
    "mod/feedback:viewreports": "View reports",
    "mod/forum:replypost": "Reply to posts",
    "mod/forum:startdiscussion": "Start new discussions",
    "mod/forum:viewdiscussion": "View discussions",
    "mod/scorm:savetrack": "Save tracks",
    "mod/scorm:viewreport": "View reports",
    "moodle/backup:backupcourse": "Backup courses",
    "moodle/backup:configure": "Configure backup options",
    "moodle/backup:userinfo": "Backup user data",
    "moodle/category:manage": "Manage categories",
    "moodle/category:viewhiddencategories": "See hidden categories",
    "moodle/cohort:assign": "Add and remove cohort members",
    "moodle/cohort:manage": "Create, delete and move cohorts",
    "moodle/cohort:view": "View site-wide cohorts",
    "moodle/course:changecategory": "Change course category",
    "moodle/course:changefullname": "Change course full name",
    "moodle/course:changeidnumber": "Change course ID number",
    "moodle/course:changeshortname": "Change course short name",
    "moodle/course:changesummary": "Change course summary",
    "moodle/course:create": "Create courses",
    "moodle/course:delete": "Delete courses",
    "moodle/course:enrolreview": "Review course enrolments",
    "moodle/course:manageactivities": "Manage activities",
    "moodle/course:managegroups": "Manage groups",
    "moodle/course:overridecompletion": "Override activity completion status",
    "moodle/course:update": "Update course settings",
    "moodle/course:view": "View courses without participation",
    "moodle/course:viewhiddencourses": "View hidden courses",
    "moodle/course:viewparticipants": "View participants",
    "moodle/course:visibility": "Hide/show courses",
    "moodle/grade:edit": "Edit grades",
    "moodle/grade:manage": "Manage grade items",
    "moodle/grade:view": "View own grades",
    "moodle/grade:viewall": "View grades of other users",
    "moodle/reportbuilder:edit": "Edit your own custom reports",
    "moodle/reportbuilder:view": "View custom reports",
    "moodle/restore:configure": "Configure restore options",
    "moodle/restore:restorecourse": "Restore courses",
    "moodle/restore:userinfo": "Restore user data",
    "moodle/role:assign": "Assign roles to users",
    "moodle/role:review": "Review permissions for others",
    "moodle/site:accessallgroups": "Access all groups",
    "moodle/site:sendmessage": "Send messages to any user",
    "moodle/site:viewparticipants": "View participants",
    "moodle/user:create": "Create users",
    "moodle/user:delete": "Delete users",
    "moodle/user:update": "Update user profiles",
    "moodle/user:viewalldetails": "View user full information",
    "moodle/user:viewdetails": "View user profiles",
    "report/completion:view": "View course completion report",
    "report/progress:view": "View activity completion reports",
}


def capability_name(capability: str) -> str:
    return CAPABILITY_NAMES.get(capability, capability)


def role_may(archetype: str, capability: str) -> bool:
    """Whether a role of this archetype (or short name, for roles without one) holds the capability."""
    return archetype == "manager" or capability in ROLE_CAPABILITIES.get(archetype, frozenset())
