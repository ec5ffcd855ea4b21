"""Typed results: Moodle's JSON answers read into frozen dataclasses.

Fields Moodle adds in newer releases are ignored; a field the dataclass requires (no default) that is
missing raises a ``ProtocolError`` naming the function and the field's path. Values are coerced the way
Moodle's own clients must: some functions send ids as strings (``"6"``), booleans as ``0``/``1``.
"""

from __future__ import annotations

import dataclasses
import html
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar, Union

from .errors import ProtocolError

T = TypeVar("T")

_Converter = Callable[[Any, str, str], Any]
_plans: dict[type, list[tuple[str, _Converter, bool]]] = {}


def parse(cls: type[T], data: Any, wsfunction: str, path: str = "") -> T:
    """Reads ``data`` as an instance of the dataclass ``cls``."""
    if not isinstance(data, dict):
        raise _shape_error(wsfunction, path or "(answer)", "an object", data)
    plan = _plans.get(cls)
    if plan is None:
        plan = _plan_for(cls)
    values: dict[str, Any] = {}
    for name, convert, required in plan:
        if name in data:
            values[name] = convert(data[name], wsfunction, f"{path}.{name}" if path else name)
        elif required:
            where = f"{path}.{name}" if path else name
            raise ProtocolError(
                f"the answer lacks the required field '{where}'", wsfunction=wsfunction
            )
    return cls(**values)


def parse_list(cls: type[T], data: Any, wsfunction: str, path: str = "") -> list[T]:
    """Reads a JSON list of objects as a list of ``cls``."""
    if not isinstance(data, list):
        raise _shape_error(wsfunction, path or "(answer)", "a list", data)
    return [parse(cls, item, wsfunction, f"{path}[{index}]") for index, item in enumerate(data)]


def unescape(text: str) -> str:
    """Moodle returns names HTML-escaped (``&amp;``); compare plan names with the unescaped form."""
    return html.unescape(text)


def _shape_error(wsfunction: str, where: str, expected: str, got: Any) -> ProtocolError:
    return ProtocolError(
        f"expected {expected} at '{where}', got {type(got).__name__}", wsfunction=wsfunction
    )


def _plan_for(cls: type) -> list[tuple[str, _Converter, bool]]:
    hints = typing.get_type_hints(cls)
    plan = []
    for field in dataclasses.fields(cls):
        required = (
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        )
        plan.append((field.name, _converter(hints[field.name]), required))
    _plans[cls] = plan
    return plan


def _converter(hint: Any) -> _Converter:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        inner = [arg for arg in args if arg is not type(None)]
        convert_inner = _converter(inner[0]) if len(inner) == 1 else _identity
        return lambda value, fn, path: None if value is None else convert_inner(value, fn, path)
    if hint in _SCALARS:
        slow = _SCALARS[hint]
        exact: type = hint
        # Most values already have the declared type: skip the coercion then.
        return lambda value, fn, path: value if type(value) is exact else slow(value, fn, path)
    if origin in (list, tuple):
        convert_item = _converter(args[0]) if args else _identity

        def convert_seq(value: Any, fn: str, path: str) -> Any:
            if not isinstance(value, list):
                raise _shape_error(fn, path, "a list", value)
            items = [convert_item(item, fn, f"{path}[{i}]") for i, item in enumerate(value)]
            return tuple(items) if origin is tuple else items

        return convert_seq
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        nested: type = hint
        return lambda value, fn, path: parse(nested, value, fn, path)
    return _identity


def _identity(value: Any, fn: str, path: str) -> Any:
    return value


def _to_int(value: Any, fn: str, path: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise _shape_error(fn, path, "an integer", value) from None


def _to_float(value: Any, fn: str, path: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _shape_error(fn, path, "a number", value) from None


def _to_bool(value: Any, fn: str, path: str) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _to_str(value: Any, fn: str, path: str) -> str:
    if isinstance(value, (dict, list)):
        raise _shape_error(fn, path, "a string", value)
    return "" if value is None else str(value)


_SCALARS: dict[Any, _Converter] = {int: _to_int, float: _to_float, bool: _to_bool, str: _to_str}
