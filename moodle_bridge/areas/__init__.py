"""The areas of Moodle the client reaches, one module per Moodle component."""

from ._base import Area, MoodleWarning, WriteResult
from .core_webservice import CoreWebservice
from .core_user import CoreUser
from .core_cohort import CoreCohort
from .core_course import CoreCourse
from .enrol_manual import EnrolManual
from .core_enrol import CoreEnrol
from .core_role import CoreRole
from .core_completion import CoreCompletion
from .gradereport_user import GradereportUser
from .mod_forum import ModForum
from .mod_assign import ModAssign
from .mod_feedback import ModFeedback
from .core_message import CoreMessage
from .core_reportbuilder import CoreReportbuilder
from .core_group import CoreGroup

__all__ = ['Area', 'CoreCohort', 'CoreCompletion', 'CoreCourse', 'CoreEnrol', 'CoreGroup', 'CoreMessage', 'CoreReportbuilder', 'CoreRole', 'CoreUser', 'CoreWebservice', 'EnrolManual', 'GradereportUser', 'ModAssign', 'ModFeedback', 'ModForum', 'MoodleWarning', 'WriteResult']
