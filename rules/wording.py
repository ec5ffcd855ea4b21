"""What the rules say to people, kept so that a reader can have it in their own language.

A ``Sentence`` is the English sentence itself (a ``str``: the command line, logs, the API and tests read
it like any text) that also remembers how it was made: an English template with named placeholders
(``'unknown tier "%(key)s"'``) and the values put into it. The template is the message id that a
language catalogue translates — the console's Chinese catalogue holds every template written in
``rules/`` — and the values are data (codes, names, numbers), or sentences themselves, translated in turn.

Templates follow Python's ``%``-formatting with named placeholders only; a template given values
writes a literal percent sign as ``%%``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class Sentence(str):
    """An English sentence with its template and values, to be translated where it is shown."""

    template: str
    values: Mapping[str, Any]

    def __new__(cls, template: str, /, **values: Any) -> Sentence:
        made = super().__new__(cls, template % values if values else template)
        made.template = template
        made.values = values
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (self.template, dict(self.values))

    def translated(self, translate: Callable[[str], str]) -> str:
        """The sentence in the language of ``translate`` (template in, translated template out)."""
        values = {name: value.translated(translate) if isinstance(value, Sentence) else value
                  for name, value in self.values.items()}
        wording = translate(self.template)
        return wording % values if values else wording


def _rebuild(template: str, values: dict[str, Any]) -> Sentence:
    return Sentence(template, **values)


def translated(text: object, translate: Callable[[str], str]) -> str:
    """``text`` in the reader's language where it is a ``Sentence``; any other text as it is."""
    if isinstance(text, Sentence):
        return text.translated(translate)
    return "" if text is None else str(text)


def said(error: BaseException) -> str:
    """What an error was raised with: the ``Sentence`` itself where it is one (``str(error)`` would lose
    its template), else the error's text."""
    first = error.args[0] if len(error.args) == 1 else None
    return first if isinstance(first, Sentence) else str(error)


def dump(text: str) -> str | dict[str, Any]:
    """``text`` as JSON that keeps a sentence's template and values (plain text stays a string)."""
    if not isinstance(text, Sentence):
        return str(text)
    return {"template": text.template,
            "values": {name: dump(value) if isinstance(value, str) else value
                       for name, value in text.values.items()}}


def load(stored: Any) -> str:
    """The text ``dump`` stored: a ``Sentence`` again where one was stored."""
    if isinstance(stored, dict) and isinstance(stored.get("template"), str):
        values = stored.get("values") or {}
        return Sentence(stored["template"], **{name: load(value) for name, value in values.items()})
    return "" if stored is None else str(stored)
