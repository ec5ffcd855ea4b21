"""The areas of Moodle the client reaches, one module per Moodle component."""

from ._base import Area, MoodleWarning, WriteResult
from .core_cohort import CoreCohort
from .core_completion import CoreCompletion
from .core_course import CoreCourse
from .core_enrol import CoreEnrol
from .core_grades import CoreGrades, GradereportOverview
from .core_group import CoreGroup
from .core_message import CoreMessage
from .core_reportbuilder import CoreReportbuilder
from .core_role import CoreRole
from .core_user import CoreUser
from .core_webservice import CoreWebservice
from .enrol_manual import EnrolManual
from .gradereport_user import GradereportUser
from .mod_assign import ModAssign
from .mod_feedback import ModFeedback
from .mod_forum import ModForum
from .mod_scorm import ModScorm

__all__ = [
    "Area",
    "CoreCohort",
    "CoreCompletion",
    "CoreCourse",
    "CoreEnrol",
    "CoreGrades",
    "CoreGroup",
    "CoreMessage",
    "CoreReportbuilder",
    "CoreRole",
    "CoreUser",
    "CoreWebservice",
    "EnrolManual",
    "GradereportOverview",
    "GradereportUser",
    "ModAssign",
    "ModFeedback",
    "ModForum",
    "ModScorm",
    "MoodleWarning",
    "WriteResult",
]
