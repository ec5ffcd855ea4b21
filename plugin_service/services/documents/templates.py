"""Finding a document's template folder, reading its ``meta.yaml`` and checking values against it.

A kind's folder is looked for in the organisation's folder (``documents_templates`` setting or the
``templates_dir`` argument) and else in the packaged ``templates/documents``, so an organisation copies only
the folders it restyles. ``meta.yaml`` says which HTML file serves which language and which values the
template expects; values are checked against it before rendering, so a missing value is named as such
rather than surfacing as a Jinja error deep inside the layout.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import templates as templates_package

PACKAGED = Path(templates_package.__file__).resolve().parent / "documents"
BASE = "_base"
TYPES = ("text", "integer", "number", "date", "boolean", "mapping", "list", "any")
PAPERS = ("A4", "A5", "A3")


class TemplateError(Exception):
    """A template folder is missing or invalid, a value does not match it, or a render broke the sandbox.

    The message names the template folder and file, and what was refused or is missing.
    """


@dataclass(frozen=True)
class Folder:
    kind: str
    path: Path
    base: Path | None  # the shared _base folder beside it (or the packaged one)
    meta: Mapping[str, Any]
    languages: Mapping[str, str]  # lang -> HTML file name
    pages: int | None  # at most this many pages, when meta.yaml says so
    stylesheets: tuple[str, ...]  # the folder's CSS files, applied in this order

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.path, self.base) if self.base is not None else (self.path,)

    def html_file(self, lang: str) -> str:
        if lang not in self.languages:
            raise TemplateError(f"{self.path}/meta.yaml: no template for language {lang!r} "
                                f"(this folder has: {', '.join(sorted(self.languages))})")
        return self.languages[lang]


def root_folder(templates_dir: Path | None) -> Path:
    """The organisation's template root: the argument, else the ``documents_templates`` setting, else ours."""
    if templates_dir is None:
        from ...config import load_settings

        configured = load_settings().documents_templates
        templates_dir = Path(configured) if configured else PACKAGED
    if not templates_dir.is_dir():
        raise TemplateError(f"{templates_dir}: the documents template folder does not exist "
                            "(setting documents_templates / CADRE_DOCUMENTS_TEMPLATES)")
    return templates_dir.resolve()


_loaded: dict[tuple[Path, str], tuple[int, Folder]] = {}


def folder(kind: str, templates_dir: Path | None = None) -> Folder:
    """The template folder of ``kind``, read (again whenever its meta.yaml changes) and checked."""
    root = root_folder(templates_dir)
    path = root / kind if (root / kind).is_dir() else PACKAGED / kind
    meta_file = path / "meta.yaml"
    if not meta_file.is_file():
        raise TemplateError(f"{path}: no template folder for {kind!r} (it needs a meta.yaml)")
    stamp = meta_file.stat().st_mtime_ns
    cached = _loaded.get((path, kind))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    base = root / BASE if (root / BASE).is_dir() else PACKAGED / BASE
    found = _read(kind, path, base if base.is_dir() else None)
    _loaded[(path, kind)] = (stamp, found)
    return found


def _read(kind: str, path: Path, base: Path | None) -> Folder:
    meta_file = path / "meta.yaml"
    try:
        meta = yaml.safe_load(meta_file.read_text("utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise TemplateError(f"{meta_file}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(meta, dict):
        raise TemplateError(f"{meta_file}: must be a mapping with name, paper, languages and values")
    for key in ("name", "paper", "languages", "values"):
        if key not in meta:
            raise TemplateError(f"{meta_file}: field {key!r} is missing")
    if meta["paper"] not in PAPERS:
        raise TemplateError(f"{meta_file}: field 'paper' is {meta['paper']!r}; one of {', '.join(PAPERS)}")
    languages = meta["languages"]
    if not isinstance(languages, dict) or not languages:
        raise TemplateError(f"{meta_file}: field 'languages' maps a language (zh, en) to its HTML file")
    for lang, name in languages.items():
        if not isinstance(name, str) or "/" in name or not (path / name).is_file():
            raise TemplateError(f"{meta_file}: languages.{lang} names {name!r}, which is not a file "
                                f"in {path}")
    pages = meta.get("pages")
    if pages is not None and (not isinstance(pages, int) or isinstance(pages, bool) or pages < 1):
        raise TemplateError(f"{meta_file}: field 'pages' (the most pages a document may have) must be "
                            f"a positive whole number, got {pages!r}")
    stylesheets = meta.get("stylesheets", [])
    if not isinstance(stylesheets, list) or not all(
            isinstance(name, str) and "/" not in name and (path / name).is_file() for name in stylesheets):
        raise TemplateError(f"{meta_file}: field 'stylesheets' lists CSS files of this folder "
                            f"(found {stylesheets!r})")
    _check_spec(meta["values"], f"{meta_file}: values")
    return Folder(kind, path, base, meta, dict(languages), pages, tuple(stylesheets))


def _check_spec(fields: Any, where: str) -> None:
    if not isinstance(fields, dict):
        raise TemplateError(f"{where}: must map each value's name to its description")
    for name, spec in fields.items():
        if not isinstance(spec, dict) or spec.get("type") not in TYPES:
            raise TemplateError(f"{where}.{name}: needs a 'type', one of {', '.join(TYPES)}")
        if spec["type"] == "mapping" and "fields" in spec:
            _check_spec(spec["fields"], f"{where}.{name}.fields")
        if spec["type"] == "list" and "items" in spec:
            _check_spec({"item": spec["items"]}, f"{where}.{name}")


def check_values(found: Folder, values: Mapping[str, Any]) -> None:
    """Every required value is present and of its type; raises TemplateError naming the first that is not."""
    _check_fields(found.meta["values"], values, "values", found)


def _check_fields(fields: Mapping[str, Any], values: Mapping[str, Any], where: str, found: Folder) -> None:
    for name, spec in fields.items():
        if name not in values:
            if spec.get("required", True):
                raise TemplateError(f"{found.kind} ({found.path}/meta.yaml): the value {where}[{name!r}] "
                                    f"is required and missing{_note(spec)}")
            continue
        _check_value(spec, values[name], f"{where}[{name!r}]", found)


def _check_value(spec: Mapping[str, Any], value: Any, where: str, found: Folder) -> None:
    kind: str = spec["type"]
    if value is None:
        if spec.get("nullable", False) or kind == "any":
            return
        raise TemplateError(f"{found.kind} ({found.path}/meta.yaml): {where} is None, but must be "
                            f"{kind}{_note(spec)}")
    expected: tuple[type, ...] = {"text": (str,), "integer": (int,), "number": (int, float),
                                  "date": (dt.date,), "boolean": (bool,), "mapping": (Mapping,),
                                  "list": (list, tuple), "any": (object,)}[kind]
    wrong_bool = isinstance(value, bool) and kind in ("integer", "number")
    if wrong_bool or not isinstance(value, expected):
        raise TemplateError(f"{found.kind} ({found.path}/meta.yaml): {where} must be {kind}, got "
                            f"{type(value).__name__} {value!r:.60}")
    checked: Any = value
    if kind == "mapping" and "fields" in spec:
        _check_fields(spec["fields"], checked, where, found)
    if kind == "list" and "items" in spec:
        for index, item in enumerate(checked):
            _check_value(spec["items"], item, f"{where}[{index}]", found)


def _note(spec: Mapping[str, Any]) -> str:
    note = spec.get("note")
    return f" ({note})" if note else ""


def preview_values(kind: str, templates_dir: Path | None = None) -> dict[str, Any]:
    """The folder's ``preview.json`` as render values: ISO dates where meta.yaml says ``date``."""
    found = folder(kind, templates_dir)
    preview = found.path / "preview.json"
    try:
        data = json.loads(preview.read_text("utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"{preview}: missing (each template folder has sample values)") from None
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{preview} line {exc.lineno}: not valid JSON: {exc.msg}") from None
    return _dates(found.meta["values"], data, str(preview))


def _dates(fields: Mapping[str, Any], data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        return data
    converted = dict(data)
    for name, spec in fields.items():
        if name in converted:
            converted[name] = _date_value(spec, converted[name], f"{where}: {name}")
    return converted


def _date_value(spec: Mapping[str, Any], value: Any, where: str) -> Any:
    if spec["type"] == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise TemplateError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
    if spec["type"] == "mapping" and "fields" in spec:
        return _dates(spec["fields"], value, where)
    if spec["type"] == "list" and "items" in spec and isinstance(value, list):
        return [_date_value(spec["items"], item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value
