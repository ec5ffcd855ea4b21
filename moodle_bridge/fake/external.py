"""Moodle's external API rules: form decoding, parameter validation, return cleaning.

Every function the fake serves goes through these, driven by the signatures the real site declares
(``data/signatures.json``), so its errors and answer shapes follow Moodle's own ``external_api``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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


Cleaner = Callable[[Any], Any]
_MISSING = object()
_BAD_DEFAULT = object()


@cache
def returns_cleaner(wsfunction: str) -> Cleaner:
    """``clean_returns`` of one function's declared returns, compiled once: the same answers and the
    same errors, without walking the description for every value of a large answer."""
    description = signatures()[wsfunction].get("returns")
    if description is None:
        return lambda value: None
    compiled = _compile(description)

    def clean(value: Any) -> Any:
        try:
            return compiled(value)
        except InvalidResponse:
            return clean_returns(description, value)  # raises again, naming where
    return clean


def _compile(description: Signature) -> Cleaner:
    kind = description["kind"]
    if kind == "value":
        return _compile_value(description.get("type", "raw"))
    if kind == "object":
        return _compile_object(description)
    if kind == "list":
        return _compile_list(description["of"])
    raise ValueError(f"unknown description kind {kind!r}")


def _passes(description: Signature) -> tuple[type, ...]:
    """The types a value of this description keeps as it is (no cast needed), for inlined checks."""
    if description["kind"] != "value":
        return ()
    ptype = description.get("type", "raw")
    kept: tuple[type, ...] = {"int": (int,), "float": (), "bool": (bool,),
                              "raw": (str, int, float, bool)}.get(ptype, (str,))
    return (type(None), *kept)


def _compile_list(of_description: Signature) -> Cleaner:
    of = _compile(of_description)
    passes = _passes(of_description)

    def clean_list(value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise InvalidResponse("expected a list")
        if passes:
            return [item if item.__class__ in passes else of(item) for item in value]
        return [of(item) for item in value]
    return clean_list


def _compile_object(description: Signature) -> Cleaner:
    """A cleaner for one structure, written out key by key: large answers are mostly structures."""
    scope: dict[str, Any] = {"MISSING": _MISSING, "BAD": _BAD_DEFAULT, "InvalidResponse": InvalidResponse}
    lines = ["def clean_object(value):"]
    if description.get("required") != 1:
        lines += ["    if value is None:", "        return None"]
    lines += ["    if value.__class__ is not dict:",
              "        if isinstance(value, list) and not value:",
              "            value = {}",
              "        elif not isinstance(value, dict):",
              "            raise InvalidResponse('expected an object')",
              "    result = {}",
              "    get = value.get"]
    for number, (key, sub) in enumerate(description.get("keys", {}).items()):
        scope[f"C{number}"] = _compile(sub)
        scope[f"P{number}"] = _passes(sub)
        lines += [f"    item = get({key!r}, MISSING)", "    if item is MISSING:"]
        if sub.get("required") == 1:
            lines.append("        raise InvalidResponse('required key missing')")
        elif sub.get("required") == 0 and sub["kind"] == "value":
            given = _default(sub)
            try:
                scope[f"D{number}"] = None if given is None else clean_returns(sub, given, key)
            except InvalidResponse:
                scope[f"D{number}"] = _BAD_DEFAULT
            lines += [f"        if D{number} is BAD:", "            raise InvalidResponse('bad default')",
                      f"        result[{key!r}] = D{number}"]
        else:
            lines.append("        pass")
        if scope[f"P{number}"]:
            lines += [f"    elif item.__class__ in P{number}:", f"        result[{key!r}] = item"]
        lines += ["    else:", f"        result[{key!r}] = C{number}(item)"]
    lines.append("    return result if result else []")
    exec("\n".join(lines), scope)  # the code is written here, from the site's own signatures
    cleaner: Cleaner = scope["clean_object"]
    return cleaner


def _compile_value(ptype: str) -> Cleaner:
    passes = _passes({"kind": "value", "type": ptype})
    if ptype == "float":
        def clean_float(value: Any) -> Any:
            if value.__class__ is float:
                return int(value) if value.is_integer() else value  # PHP's json_encode: 70.0 -> 70
            return None if value is None else _cast(ptype, value, "")
        return clean_float

    def clean_value(value: Any) -> Any:
        if value.__class__ in passes:
            return value
        return _cast(ptype, value, "")
    return clean_value


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
