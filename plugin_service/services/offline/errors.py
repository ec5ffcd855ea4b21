"""What goes wrong with offline hours, said as ``rules.wording.Sentence`` so that the console shows it in
the reader's language, the command line and the learner's page in theirs."""

from __future__ import annotations

from rules.wording import Sentence


class OfflineError(Exception):
    """Bad input or a refused step; nothing was changed. ``messages`` says every reason (a form's
    attendees may have several), ``field`` names the form field at fault."""

    def __init__(self, *messages: Sentence, field: str | None = None) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.field = field

    @property
    def message(self) -> Sentence:
        return self.messages[0]


class NotAllowed(OfflineError):
    """The person may not do this (another department's cadre, not their reviewer)."""


class NotFound(OfflineError):
    """No such training or claim, or none the person may see: the answer never tells which."""
