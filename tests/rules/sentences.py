"""What the wording tests of the rules share: the templates a sentence is made of, and the templates a
file of ``rules/`` writes, read from its source as the catalogue's extractor reads it."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

from rules.wording import Sentence

RULES = Path(__file__).resolve().parents[2] / "rules"


def templates(sentence: str) -> Iterator[str]:
    """The sentence's template and those of the sentences among its values."""
    assert isinstance(sentence, Sentence), sentence
    yield sentence.template
    for value in sentence.values.values():
        yield from templates(value) if isinstance(value, Sentence) else ()


def written_templates(names: Iterable[str]) -> set[str]:
    """Every template the named files of ``rules/`` write."""
    found: set[str] = set()
    for name in names:
        for node in ast.walk(ast.parse((RULES / name).read_text("utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Sentence":
                first = node.args[0]
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (name, node.lineno)
                found.add(first.value)
    return found
