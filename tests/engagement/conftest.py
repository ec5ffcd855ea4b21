"""The engagement tests' site is the harvest tests' one: the course library with the completion report,
and the sample year applied for 28 cadres of every tier, nothing learnt yet."""

from __future__ import annotations

from ..harvest.conftest import fake, small

__all__ = ["fake", "small"]
