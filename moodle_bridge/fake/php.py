"""PHP's renderings of values, where Moodle puts them in what it answers.

Error ``debuginfo`` carries SQL parameters as ``var_export`` prints them, some answers carry
``json_encode`` output as a string, and a validation message shows a value as PHP casts it to a string:
the fake must print them the same way to answer what Moodle answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def php_export(value: Any) -> str:
    """``var_export`` of a scalar: integers bare, strings single-quoted, ``NULL``, ``true``/``false``."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def php_array(items: Iterable[tuple[int | str, Any]]) -> str:
    """``var_export`` of an array, as a DML exception prints its parameters."""
    lines = "".join(f"  {php_export(key)} => {php_export(value)},\n" for key, value in items)
    return f"array (\n{lines})"


def php_string(value: Any) -> str:
    """A scalar cast to a PHP string: ``true`` is ``1`` and ``false`` the empty string."""
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


def php_json(value: Any) -> str:
    """``json_encode`` as PHP writes it: ASCII-escaped unicode, escaped slashes, no spaces."""
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/")
