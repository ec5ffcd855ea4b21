"""Moodle's external API rules: form decoding, parameter validation, return cleaning.

Every function the fake serves goes through these, driven by the signatures the real site declares
(``data/signatures.json``), so its errors and answer shapes follow Moodle's own ``external_api``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from .php import php_string
from .wserror import WSError, invalid_parameter, invalid_type

Signature = dict[str, Any]
_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_ALPHANUMEXT = re.compile(r"^[A-Za-z0-9_\-]*$")


@cache
def signatures() -> dict[str, Signature]:
    text = resources.files(__package__).joinpath("data/signatures.json").read_text("utf-8")
    functions: dict[str, Signature] = json.loads(text)["functions"]
    return functions


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Reads PHP-style ``a[0][b]=v`` pairs into nested dicts (lists stay dicts keyed by index)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split_key(key)
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return root


def _split_key(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    parts = [head]
    if rest:
        parts.extend(piece for piece in rest.rstrip("]").split("]["))
    return parts


def validate_parameters(description: Signature, params: Any) -> Any:
    """``external_api::validate_parameters``: check, cast and fill defaults, or raise invalidparameter."""
    kind = description["kind"]
    if kind == "value":
        return _validate_value(description, params)
    if kind == "object":
        if not isinstance(params, dict):
            raise invalid_parameter("Only arrays accepted. The bad value is: '"
                                    + php_string(params) + "'")
        result: dict[str, Any] = {}
        keys: dict[str, Signature] = description.get("keys", {})
        for key, sub in keys.items():
            if key not in params:
                if sub.get("required") == 1:
                    raise invalid_parameter(f"Missing required key in single structure: {key}")
                if sub.get("required") == 0:
                    result[key] = _default(sub)
                continue
            try:
                result[key] = validate_parameters(sub, params[key])
            except WSError as exc:
                raise invalid_parameter(
                    f"{key} => Invalid parameter value detected: {exc.debuginfo}") from None
        unexpected = [key for key in params if key not in keys]
        if unexpected:
            raise invalid_parameter(
                f"Unexpected keys ({', '.join(unexpected)}) detected in parameter array.")
        return result
    if kind == "list":
        if params == "" or params is None:
            params = {}
        if not isinstance(params, (dict, list)):
            raise invalid_parameter("Only arrays accepted. The bad value is: '"
                                    + php_string(params) + "'")
        items = list(params.values()) if isinstance(params, dict) else params
        return [validate_parameters(description["of"], item) for item in items]
    raise ValueError(f"unknown description kind {kind!r}")


def _default(sub: Signature) -> Any:
    if sub["kind"] == "value":
        return sub.get("default")
    if sub["kind"] == "list":
        return sub.get("default") if sub.get("default") is not None else []
    return sub.get("default")


def _validate_value(description: Signature, value: Any) -> Any:
    if isinstance(value, (dict, list)):
        raise invalid_type("Array", description["type"])
    if value is None:
        if description.get("allownull", True):
            return None
        raise invalid_type("", description["type"])
    ptype = description.get("type", "raw")
    text = value if isinstance(value, str) else php_string(value)
    if ptype == "int":
        if isinstance(value, bool) or not _INT.match(text.strip() if isinstance(value, str) else text):
            raise invalid_type(text, ptype)
        return int(text)
    if ptype == "float":
        if not _FLOAT.match(text):
            raise invalid_type(text, ptype)
        return float(text)
    if ptype == "bool":
        lowered = text.lower()
        if lowered in ("1", "true"):
            return True
        if lowered in ("0", "false", ""):
            return False
        raise invalid_type(text, ptype)
    if ptype in ("alphanumext", "alphanum", "alpha", "alphaext") and not _ALPHANUMEXT.match(text):
        raise invalid_type(text, ptype)
    return text


class InvalidResponse(Exception):
    """The fake built an answer its signature does not allow: a bug in the fake."""


def clean_returns(description: Signature | None, value: Any, path: str = "") -> Any:
    """``external_api::clean_returnvalue``: keep declared keys, cast types, fill defaults."""
    if description is None:
        return None
    kind = description["kind"]
    if kind == "value":
        if value is None:
            return None
        return _cast(description.get("type", "raw"), value, path)
    if kind == "object":
        if value is None and description.get("required") != 1:
            return None
        if isinstance(value, list) and not value:
            value = {}  # PHP's empty array
        if not isinstance(value, dict):
            raise InvalidResponse(f"{path or 'answer'}: expected an object, got {value!r}")
        result: dict[str, Any] = {}
        for key, sub in description.get("keys", {}).items():
            where = f"{path}.{key}" if path else key
            if key not in value:
                if sub.get("required") == 1:
                    raise InvalidResponse(f"{where}: required key missing")
                if sub.get("required") == 0 and sub["kind"] == "value":  # never for structures
                    default = _default(sub)
                    result[key] = None if default is None else clean_returns(sub, default, where)
                continue
            result[key] = clean_returns(sub, value[key], where)
        return result if result else []  # json_encode of an empty PHP array
    if kind == "list":
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise InvalidResponse(f"{path or 'answer'}: expected a list, got {value!r}")
        return [clean_returns(description["of"], item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise ValueError(f"unknown description kind {kind!r}")


def _cast(ptype: str, value: Any, path: str) -> Any:
    if ptype == "raw" and isinstance(value, (bool, int, float)):
        return value  # clean_param(PARAM_RAW) hands PHP's bool/int/float back unchanged
    try:
        if ptype == "int":
            return int(value)
        if ptype == "float":
            number = float(value)
            return int(number) if number.is_integer() else number  # PHP json_encode: 70.0 -> 70
        if ptype == "bool":
            return bool(int(value)) if isinstance(value, str) else bool(value)
    except (TypeError, ValueError):
        raise InvalidResponse(f"{path}: {value!r} is not {ptype}") from None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and ptype not in ("raw", "text"):
        return str(int(value))
    return str(value)
