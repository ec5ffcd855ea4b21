"""The error of the engagement jobs."""

from __future__ import annotations


class EngagementError(Exception):
    """An engagement job cannot run or did not finish; the message says why and what happens next."""
