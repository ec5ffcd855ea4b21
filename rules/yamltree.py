"""A plan's YAML as a tree that remembers, for every value, its line and its path in the plan.

PyYAML's ``safe_load`` forgets lines and silently keeps the last of two equal keys: a plan with two
``hours:`` under one course would load, and the organisation department would never learn which one
counted. Composing the node tree ourselves keeps both the lines and the duplicates. Keys are taken as
written, so that YAML 1.1's booleans do not turn a reminder's ``on:`` into ``True``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from rules.problems import Problem
from rules.wording import Sentence


@dataclass(frozen=True)
class YNode:
    path: str  # "courses[3].required"; "" for the document
    line: int  # 1-based


@dataclass(frozen=True)
class YScalar(YNode):
    value: object  # as YAML resolves it: str, int, float, bool, date, datetime or None
    raw: str  # as written


@dataclass(frozen=True)
class YSeq(YNode):
    items: tuple[YNode, ...]


@dataclass(frozen=True)
class YMap(YNode):
    entries: dict[str, YNode] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)

    def get(self, key: str) -> YNode | None:
        return self.entries.get(key)


def describe(node: YNode) -> Sentence:
    """What was found where something else was expected, as a message says it ("found a list")."""
    if isinstance(node, YMap):
        return Sentence("a mapping")
    if isinstance(node, YSeq):
        return Sentence("a list")
    assert isinstance(node, YScalar)
    return Sentence("nothing") if node.value is None else Sentence('"%(raw)s"', raw=node.raw)


def child_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def parse(text: str, filename: str) -> tuple[YNode | None, list[Problem]]:
    """The tree of ``text``, or the syntax error that stops it; duplicate keys are reported."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(part for part in (error.context, error.problem) if part)
        return None, [Problem(filename, line, "", Sentence("not valid YAML: %(error)s", error=what))]
    except yaml.YAMLError as error:
        return None, [Problem(filename, None, "", Sentence("not valid YAML: %(error)s", error=str(error)))]
    if root is None:
        return None, [Problem(filename, None, "", Sentence("the plan is empty"))]
    problems: list[Problem] = []
    constructor = yaml.SafeLoader("")
    return _convert(root, "", filename, constructor, problems), problems


def _convert(node: yaml.Node, path: str, filename: str, constructor: yaml.SafeLoader,
             problems: list[Problem]) -> YNode:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        entries: dict[str, YNode] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(filename, key_line, path, Sentence("a key must be a plain word")))
                continue
            key = str(key_node.value)
            if key in entries:
                problems.append(Problem(filename, key_line, child_path(path, key), Sentence(
                    'duplicate key "%(key)s" (first on line %(line)s)', key=key, line=key_lines[key])))
                continue
            key_lines[key] = key_line
            entries[key] = _convert(value_node, child_path(path, key), filename, constructor, problems)
        return YMap(path, line, entries, key_lines)
    if isinstance(node, yaml.SequenceNode):
        items = tuple(_convert(item, child_path(path, index), filename, constructor, problems)
                      for index, item in enumerate(node.value))
        return YSeq(path, line, items)
    assert isinstance(node, yaml.ScalarNode)
    try:
        value = constructor.construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError):
        value = node.value  # e.g. 2026-02-30: resolved as a date, not one; reported where a date is read
    return YScalar(path, line, value, str(node.value))
