"""What Cadre Companion needs from a Moodle site: functions in the token's service, and capabilities.

Kept as data so ``cadre doctor`` can tell an admin exactly what to enable, and so each feature's needs
are written down once. Capabilities follow the measurements of a least-privilege role on Moodle 5.1.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.wording import Sentence


@dataclass(frozen=True)
class Requirement:
    function: str
    feature: str
    capabilities: tuple[str, ...]
    optional: bool = False
    why: str = ""


# A feature is both the key the services select their functions by and its name shown to an admin.
PROVISIONING = Sentence("provisioning")
HARVEST = Sentence("harvest")
ENGAGEMENT = Sentence("engagement")
SITE = Sentence("site")


def _r(function: str, feature: str, *capabilities: str, optional: bool = False,
       why: str = "") -> Requirement:
    return Requirement(function, feature, capabilities, optional, why)


REQUIREMENTS: tuple[Requirement, ...] = (
    _r("core_webservice_get_site_info", SITE, "webservice/rest:use"),
    _r("core_user_get_users_by_field", PROVISIONING, "moodle/user:viewdetails",
       "moodle/user:viewalldetails", "moodle/site:viewuseridentity"),
    _r("core_user_create_users", PROVISIONING, "moodle/user:create"),
    _r("core_user_update_users", PROVISIONING, "moodle/user:update"),
    _r("core_cohort_search_cohorts", PROVISIONING, "moodle/cohort:view"),
    _r("core_cohort_create_cohorts", PROVISIONING, "moodle/cohort:manage"),
    _r("core_cohort_update_cohorts", PROVISIONING, "moodle/cohort:manage"),
    _r("core_cohort_get_cohort_members", PROVISIONING, "moodle/cohort:view"),
    _r("core_cohort_add_cohort_members", PROVISIONING, "moodle/cohort:assign"),
    _r("core_cohort_delete_cohort_members", PROVISIONING, "moodle/cohort:assign"),
    _r("core_course_get_categories", PROVISIONING, "moodle/category:viewhiddencategories"),
    _r("core_course_create_categories", PROVISIONING, "moodle/category:manage"),
    _r("core_course_get_courses_by_field", PROVISIONING, "moodle/course:view",
       "moodle/course:viewhiddencourses"),
    _r("core_course_create_courses", PROVISIONING, "moodle/course:create",
       "moodle/course:visibility"),
    _r("core_course_update_courses", PROVISIONING, "moodle/course:update",
       "moodle/course:changeidnumber", "moodle/course:changefullname",
       "moodle/course:changeshortname", "moodle/course:changesummary",
       "moodle/course:changecategory", "moodle/course:visibility"),
    _r("core_course_duplicate_course", PROVISIONING, "moodle/course:create",
       "moodle/backup:backupcourse", "moodle/restore:restorecourse",
       "moodle/backup:configure", "moodle/restore:configure", "moodle/backup:userinfo"),
    _r("enrol_manual_enrol_users", PROVISIONING, "enrol/manual:enrol", "moodle/role:assign"),
    _r("core_enrol_get_enrolled_users", PROVISIONING, "moodle/course:viewparticipants",
       "moodle/course:enrolreview", "moodle/user:viewdetails", "moodle/site:accessallgroups"),
    _r("core_completion_get_course_completion_status", HARVEST, "report/completion:view"),
    _r("core_completion_get_activities_completion_status", HARVEST, "report/progress:view"),
    _r("gradereport_user_get_grade_items", HARVEST, "gradereport/user:view",
       "moodle/grade:viewall"),
    _r("mod_assign_get_assignments", HARVEST, "mod/assign:view"),
    _r("mod_assign_get_submissions", HARVEST, "mod/assign:view", "mod/assign:grade"),
    _r("mod_assign_get_grades", HARVEST, "mod/assign:view", "mod/assign:grade"),
    _r("mod_forum_get_forums_by_courses", HARVEST, "mod/forum:viewdiscussion"),
    _r("mod_forum_get_forum_discussions", HARVEST, "mod/forum:viewdiscussion"),
    _r("mod_forum_get_discussion_posts", HARVEST, "mod/forum:viewdiscussion"),
    _r("mod_scorm_get_scorms_by_courses", HARVEST, "mod/scorm:viewreport", optional=True,
       why=Sentence("study time from SCORM courseware: the packages of the year's courses")),
    _r("mod_scorm_get_scorm_scoes", HARVEST, "mod/scorm:viewreport", optional=True,
       why=Sentence("study time from SCORM courseware: the SCOs of each package")),
    _r("mod_scorm_get_scorm_attempt_count", HARVEST, "mod/scorm:viewreport", optional=True,
       why=Sentence("study time from SCORM courseware: how many attempts each cadre made")),
    _r("mod_scorm_get_scorm_sco_tracks", HARVEST, "mod/scorm:viewreport", optional=True,
       why=Sentence("study time from SCORM courseware: the time each attempt tracked")),
    _r("core_reportbuilder_list_reports", HARVEST, "moodle/reportbuilder:viewall", optional=True,
       why=Sentence("the fast harvest path reads a custom report instead of one call per cadre and course")),
    _r("core_reportbuilder_retrieve_report", HARVEST, "moodle/reportbuilder:viewall",
       optional=True, why=Sentence("the fast harvest path")),
    _r("core_reportbuilder_set_filters", HARVEST, "moodle/reportbuilder:viewall", optional=True,
       why=Sentence("a harvest reads only the completion report's rows that changed since the last one "
                    "(the service user's own filter values)")),
    _r("core_reportbuilder_filters_add", HARVEST, "moodle/reportbuilder:editall", optional=True,
       why=Sentence("the harvest adds the date filters the completion report needs for reading only what "
                    "changed, where an admin did not")),
    _r("core_reportbuilder_reports_get", HARVEST, "moodle/reportbuilder:viewall", optional=True,
       why=Sentence("cadre doctor reads which filters the completion report has, and whether the service "
                    "user may add them")),
    _r("core_message_send_instant_messages", ENGAGEMENT, "moodle/site:sendmessage",
       "moodle/site:readallmessages"),
    _r("core_message_get_member_info", ENGAGEMENT, "moodle/site:sendmessage",
       why=Sentence("checks that each recipient exists and may be messaged before a message is sent")),
    _r("core_message_get_messages", ENGAGEMENT, "moodle/site:sendmessage",
       why=Sentence("checks whether a message whose sending was interrupted was delivered, before "
                    "resending it")),
    _r("mod_forum_add_discussion", ENGAGEMENT, "mod/forum:startdiscussion"),
    _r("mod_forum_set_lock_state", ENGAGEMENT, "moodle/course:manageactivities"),
    _r("mod_feedback_get_feedbacks_by_courses", ENGAGEMENT, "mod/feedback:view"),
    _r("mod_feedback_get_items", ENGAGEMENT, "mod/feedback:view"),
    _r("mod_feedback_get_responses_analysis", ENGAGEMENT, "mod/feedback:viewreports"),
)


def required_functions(*, include_optional: bool = False) -> list[str]:
    return [r.function for r in REQUIREMENTS if include_optional or not r.optional]


def requirement(function: str) -> Requirement | None:
    return next((r for r in REQUIREMENTS if r.function == function), None)
