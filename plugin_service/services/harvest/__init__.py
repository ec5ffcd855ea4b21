"""Harvesting a plan year from Moodle into learning records (see ``run`` for the steps), and reading
what harvests stored (``learning_records``: one cadre's record of a year, the year's summary per tier)."""

from .context import HarvestError
from .report import SETUP, CompletionReport, find_completion_report
from .report_filters import FilterStatus, check_filters, filters_setup
from .run import HarvestResult, Progress, harvest

__all__ = ["SETUP", "CompletionReport", "FilterStatus", "HarvestError", "HarvestResult", "Progress",
           "check_filters", "filters_setup", "find_completion_report", "harvest"]
