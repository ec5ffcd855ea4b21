"""Moodle's form encoding of nested parameters.

Moodle's REST server reads PHP form arrays: ``users[0][customfields][0][value]=...``. Booleans travel
as ``1``/``0`` (PHP would read ``"False"`` as true), ``None`` values are left out (Moodle then applies the
parameter's default), and an empty list is sent as nothing at all, which PHP reads as an absent key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FormPairs = list[tuple[str, str]]


def encode_value(value: Any) -> str:
    """Renders one scalar the way PHP will read it back."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def encode_params(params: Mapping[str, Any]) -> FormPairs:
    """Flattens a nested mapping into ordered ``(key, value)`` form pairs."""
    pairs: FormPairs = []
    for key, value in params.items():
        _flatten(str(key), value, pairs)
    return pairs


_SCALARS = (str, int, float, bool)


def _flatten(prefix: str, value: Any, pairs: FormPairs) -> None:
    kind = type(value)
    if kind in _SCALARS:  # the common case first: concrete type checks are cheap, ABC checks are not
        pairs.append((prefix, encode_value(value)))
    elif value is None:
        return
    elif kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]", item, pairs)
    elif kind in (list, tuple) or (isinstance(value, Sequence) and not isinstance(value, bytes)):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, pairs)
    else:
        pairs.append((prefix, encode_value(value)))
