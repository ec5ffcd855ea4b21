"""Reading loosely typed values (function options, nullable parameters, site-action arguments).

Moodle cleans option values with ``clean_param``: every function reads an option the same way, so an
option a client sends is understood alike by every function of the fake.
"""

from __future__ import annotations

from typing import Any


def param_bool(value: Any) -> bool:
    """``clean_param($value, PARAM_BOOL)``: on/yes/true and off/no/false in any case, else PHP's
    ``empty()`` (so ``"0"`` and ``""`` are false, ``"2"`` is true)."""
    text = str(value).strip().lower() if value is not None else ""
    if text in ("on", "yes", "true"):
        return True
    if text in ("off", "no", "false"):
        return False
    return text not in ("", "0")


def int_or_zero(value: Any) -> int:
    """An option value read as an integer; text that is not one reads as 0."""
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def optional_int(params: dict[str, Any], key: str, default: int) -> int:
    """An integer parameter that may be null or absent (validated ones are ints already)."""
    value = params.get(key)
    return default if value is None else int(value)
