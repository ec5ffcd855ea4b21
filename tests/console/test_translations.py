"""Every message of the console (its code and templates, and the rules' and services' sentences it shows,
as ``babel.cfg`` names them) has a Chinese translation, and the compiled catalogue the app loads is the
one the translations say.

The compiled ``.mo`` is compared by content rather than by date: a fresh checkout gives both files the
time of the checkout, so only what they hold tells whether the ``.mo`` was compiled from this ``.po``."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from babel.util import pathmatch
from jinja2.ext import babel_extract

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "plugin_service" / "translations" / "zh" / "LC_MESSAGES"
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "Sentence": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def extracted() -> dict[str, set[str]]:
    """msgid -> the files it appears in, extracted with babel's own API as ``babel.cfg`` says."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        methods, _options = parse_mapping_cfg(config)
    assert {method for _pattern, method in methods} == {"python", "jinja2"}
    found: dict[str, set[str]] = {}
    sources = [*(ROOT / "plugin_service").rglob("*.py"), *(ROOT / "rules").rglob("*.py"),
               *(ROOT / "templates").rglob("*.html")]
    for path in sources:
        relative = path.relative_to(ROOT).as_posix()
        method = next((m for pattern, m in methods if pathmatch(pattern, relative)), None)
        if method is None:
            continue
        extractor: Any = babel_extract if method == "jinja2" else "python"
        for _line, message, _comments, _context in extract_from_file(extractor, str(path), keywords=KEYWORDS):
            for msgid in (message if isinstance(message, tuple) else (message,)):
                if msgid:
                    found.setdefault(msgid, set()).add(relative)
    return found


def test_every_message_has_a_chinese_translation() -> None:
    messages = extracted()
    assert len(messages) > 300
    assert any("templates/console" in f for files in messages.values() for f in files)
    with (CATALOGUE / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale="zh")
    missing = sorted(msgid for msgid in messages if not (catalogue.get(msgid) and catalogue[msgid].string))
    assert not missing, f"{len(missing)} messages lack a Chinese translation, e.g. {missing[:5]}"
    fuzzy = sorted(m.id for m in catalogue if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy translations: {fuzzy[:5]}"
    for message in catalogue:
        if message.id and message.string:
            wanted, got = PLACEHOLDER.findall(str(message.id)), PLACEHOLDER.findall(str(message.string))
            assert set(wanted) == set(got), message.id


def test_the_compiled_catalogue_is_the_translations() -> None:
    with (CATALOGUE / "messages.po").open("rb") as po:
        source = {m.id: m.string for m in read_po(po, locale="zh") if m.id}
    with (CATALOGUE / "messages.mo").open("rb") as mo:
        compiled = {m.id: m.string for m in read_mo(mo) if m.id}
    assert compiled == source, "messages.mo is stale: run pybabel compile -d plugin_service/translations"


def test_every_sentence_is_made_from_a_literal_template() -> None:
    """The catalogue holds only what the extractor can read: a ``Sentence`` made from a variable template
    would reach the Chinese console untranslated."""
    loose = []
    for path in [*(ROOT / "rules").rglob("*.py"), *(ROOT / "plugin_service").rglob("*.py")]:
        if path.name == "wording.py":
            continue  # the class itself rebuilds sentences from stored templates
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Sentence":
                first = node.args[0] if node.args else None
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    loose.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not loose, f"Sentence made from a variable template at {loose}"
