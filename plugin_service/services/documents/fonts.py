"""The fonts documents are set in: Debian's CJK fonts (installed by scripts/bootstrap.sh), kept fast to embed.

A PDF carries subsets of the fonts it uses, so the reader needs none. Cutting a subset out of a 20 MB CJK
collection costs more than laying out a certificate, so each family is cut once per machine down to a "warm"
font holding GB 2312, Latin and punctuation, under a family name of its own (``Cadre Song``, ``Cadre Kai``,
``Cadre Hei``). Templates name the warm family first and the full font after it: a name with a character
outside GB 2312 (䶮, 婳, ...) still gets its glyph, from the full font.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

#: Control and format characters (line breaks, zero-width joiners) draw nothing, so need no glyph.
INVISIBLE = ("Cc", "Cf", "Zl", "Zp")
#: Bumped whenever the warm character set or the cutting changes, so cached fonts are cut again.
WARM_VERSION = "1"


class MissingFontError(RuntimeError):
    """A font the documents need is not installed; the message names the Debian package."""


class MissingGlyphError(ValueError):
    """A value holds a character that no installed font can draw (it would print as an empty box)."""


@dataclass(frozen=True)
class Face:
    family: str  # the name templates use
    source: str  # the fontconfig family it is cut from
    package: str  # the Debian package that installs it


#: The warm families, in the order the stylesheet declares them.
WARM = (
    Face("Cadre Song", "AR PL UMing CN", "fonts-arphic-uming"),
    Face("Cadre Kai", "AR PL UKai CN", "fonts-arphic-ukai"),
    Face("Cadre Hei", "WenQuanYi Zen Hei", "fonts-wqy-zenhei"),
)
#: Full fonts that are only fallbacks: HanaMin A/B cover CJK extensions A to F for the rarest names.
FALLBACK = (
    Face("HanaMinA", "HanaMinA", "fonts-hanazono"),
    Face("HanaMinB", "HanaMinB", "fonts-hanazono"),
    Face("DejaVu Serif", "DejaVu Serif", "fonts-dejavu-core"),
    Face("DejaVu Sans", "DejaVu Sans", "fonts-dejavu-core"),
)


@dataclass(frozen=True)
class FontFile:
    path: Path
    index: int


def locate(face: Face) -> FontFile:
    """The installed file of ``face.source``, asked of fontconfig (which finds fonts wherever installed)."""
    return _locate(face.source, face.package)


@cache
def _locate(source: str, package: str) -> FontFile:
    try:
        found = subprocess.run(["fc-match", "--format=%{file}\n%{index}\n%{family}", source],
                               capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise MissingFontError(f"fontconfig (fc-match) is not usable: {exc}; "
                               "install it with: apt-get install -y fontconfig") from None
    path, index, families = [*found.split("\n"), "", "", ""][:3]
    if source.lower() not in [name.strip().lower() for name in families.split(",")]:
        raise MissingFontError(f"the font {source!r} is not installed (documents need it); install it with: "
                               f"apt-get install -y {package} (scripts/bootstrap.sh does this)")
    return FontFile(Path(path), int(index or 0))


def warm_charset() -> frozenset[int]:
    """GB 2312 (all 6,763 hanzi and its symbols), Latin-1, general and CJK punctuation, full-width forms."""
    return _warm_charset()


@cache
def _warm_charset() -> frozenset[int]:
    chars: set[int] = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    chars |= set(range(0x2000, 0x2070)) | set(range(0x2100, 0x2200)) | set(range(0x2460, 0x2500))
    chars |= set(range(0x25A0, 0x2700)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


def cache_dir() -> Path:
    """Where warm fonts are kept between runs (``$XDG_CACHE_HOME/cadre-companion/fonts``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cadre-companion" / "fonts"


def warm_font(face: Face) -> Path:
    """The warm font of ``face``: cut on first use (a few seconds), then read from the cache."""
    source = locate(face)
    stat = source.path.stat()
    key = hashlib.sha256(f"{WARM_VERSION}|{source.path}|{source.index}|{stat.st_size}|{stat.st_mtime_ns}"
                         .encode()).hexdigest()[:16]
    name = f"{face.family.replace(' ', '-').lower()}-{key}.ttf"
    for folder in (cache_dir(), Path(tempfile.gettempdir()) / "cadre-companion-fonts"):
        target = folder / name
        if target.exists():
            return target
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _cut(source, face.family, target)
            return target
        except OSError:
            continue  # a home without write access (a locked-down service account): the temp folder
    raise MissingFontError(f"cannot write the warm font {name} to {cache_dir()} nor to the temp folder")


def _cut(source: FontFile, family: str, target: Path) -> None:
    """Writes the warm subset of ``source`` renamed to ``family`` (temporary file, then an atomic rename)."""
    from fontTools import subset  # type: ignore[import-untyped]
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    font = TTFont(str(source.path), fontNumber=source.index, lazy=True)
    try:
        options = subset.Options()
        options.hinting = False
        options.layout_features = []
        options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
        options.notdef_outline = True
        options.glyph_names = False
        options.drop_tables += ["BDF ", "FFTM", "EBDT", "EBLC", "EBSC"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(warm_charset()))
        quiet = logging.getLogger("fontTools.subset")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # it warns of each bitmap table it drops, which we drop on purpose
        try:
            subsetter.subset(font)
        finally:
            quiet.setLevel(level)
        names = font["name"]
        postscript = family.replace(" ", "")
        for record in list(names.names):
            if record.nameID in (1, 4, 16):
                names.setName(family, record.nameID, record.platformID, record.platEncID, record.langID)
            elif record.nameID == 6:
                names.setName(postscript, record.nameID, record.platformID, record.platEncID, record.langID)
        for name_id in (16, 17):
            names.removeNames(nameID=name_id)
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        os.close(handle)
        try:
            font.save(temporary)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    finally:
        font.close()  # fontTools keeps the source file open until then


def font_faces_css() -> str:
    """The ``@font-face`` rules of the warm families, handed to every document."""
    rules = [f'@font-face {{ font-family: "{face.family}"; src: url("{warm_font(face).as_uri()}"); }}'
             for face in WARM]
    return "\n".join(rules)


def warm_files() -> frozenset[Path]:
    """The warm font files: the only files outside a template folder that a render may read."""
    return frozenset(warm_font(face).resolve() for face in WARM)


@cache
def _coverage() -> frozenset[int]:
    """Every code point some project font can draw (read once, and only when a rare character appears)."""
    from fontTools.ttLib import TTFont

    covered: set[int] = set()
    for face in WARM + FALLBACK:
        source = locate(face)
        font = TTFont(str(source.path), fontNumber=source.index, lazy=True)
        covered.update(font.getBestCmap() or {})
        font.close()
    return frozenset(covered)


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def check_glyphs(values: Mapping[str, Any], extra: Iterable[str] = ()) -> None:
    """Refuses a value with a character no installed font has, naming the value and the character.

    A missing glyph prints as an empty box on a paper that leaves the building; better no paper.
    """
    warm = warm_charset()
    for where, text in [*_strings(values, "values"), *(("template", item) for item in extra)]:
        for char in text:
            point = ord(char)
            if point in warm or char.isspace() or unicodedata.category(char) in INVISIBLE:
                continue
            if point not in _coverage():
                packages = sorted({face.package for face in WARM + FALLBACK})
                raise MissingGlyphError(
                    f"{where}: the character {char!r} (U+{point:04X}) has no glyph in the installed fonts "
                    f"(packages {', '.join(packages)}); install a font that has it, or correct the value")
