"""When to repeat a failed call, and how long to wait.

Only reads are repeated: a write whose answer was lost may have been committed, and Moodle offers no
request ids to make a repeat safe, so the caller re-reads instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Retry:
    """Exponential backoff with full jitter, capped; ``attempts`` counts the first try too."""

    attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try number ``attempt + 1`` (``attempt`` starts at 1)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0, ceiling)

    def should_retry(self, attempt: int, *, write: bool) -> bool:
        """True when another try is allowed after ``attempt`` failed tries with a transient error."""
        return not write and attempt < self.attempts


NO_RETRY = Retry(attempts=1)
