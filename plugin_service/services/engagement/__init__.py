"""Engagement (督促, 分类推送, 通报, 定期交流, 表彰, 培训需求): reminders, announcements, progress bulletins,
discussion windows, the commendation list and the training-needs survey, all driven by the plan and sent
through Moodle."""

from .errors import EngagementError
from .run import JobResult, announce, bulletins, commend, engage, remind, survey, sync_discussions

__all__ = ["EngagementError", "JobResult", "announce", "bulletins", "commend", "engage", "remind", "survey",
           "sync_discussions"]
