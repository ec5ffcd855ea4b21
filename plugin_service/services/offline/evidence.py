"""Evidence files of claims (a certificate of attendance, a photo of the sign-in sheet): checked, kept
outside anything the web server serves, and handed back only through the service that checks the reader.

A file is taken for what its content is, not for its name: a PDF must begin as a PDF and end with its
end-of-file marker, an image must open as a JPEG or PNG (Pillow reads it whole, which also refuses a
decompression bomb). Its name only has to end as one of those kinds. Files are kept under the
``offline_evidence_dir`` setting (by default ``<documents_dir>/offline-evidence``, so that ``cadre backup``
keeps them), as ``<year>/<random>.<kind>``: the name a person gave the file is never a path.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rules.wording import Sentence

from ...config import Settings
from .errors import OfflineError

#: The kinds of file a claim may carry: media type -> the file name's ending it is stored with.
KINDS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
ENDINGS = (".pdf", ".jpg", ".jpeg", ".png")
FOLDER = "offline-evidence"


@dataclass(frozen=True)
class Evidence:
    """A file as uploaded: its bytes and the name it had."""

    data: bytes
    filename: str


@dataclass(frozen=True)
class CheckedEvidence:
    data: bytes
    filename: str  # as uploaded, without any folder
    media_type: str  # one of KINDS, from the content
    sha256: str


def evidence_root(settings: Settings) -> Path:
    configured = settings.offline_evidence_dir
    return Path(configured) if configured else Path(settings.documents_dir) / FOLDER


def max_bytes(settings: Settings) -> int:
    return int(settings.offline_evidence_max_mb * 1024 * 1024)


def check(settings: Settings, evidence: Evidence) -> CheckedEvidence:
    """The file if a claim may carry it; OfflineError saying why not otherwise."""
    name = PurePosixPath(evidence.filename.replace("\\", "/")).name.strip()[:255]
    if not evidence.data or not name:
        raise OfflineError(Sentence("attach the evidence: a PDF, JPEG or PNG file"), field="evidence")
    limit = max_bytes(settings)
    if len(evidence.data) > limit:
        raise OfflineError(Sentence("the evidence file is %(size)s MB, more than the %(limit)s MB allowed",
                                    size=_mb(len(evidence.data)), limit=_mb(limit)), field="evidence")
    if not name.lower().endswith(ENDINGS):
        raise OfflineError(Sentence('"%(name)s" is not a PDF, JPEG or PNG file', name=name), field="evidence")
    media_type = sniff(evidence.data)
    if media_type is None:
        raise OfflineError(Sentence('"%(name)s" is named as a PDF, JPEG or PNG file but its content is not '
                                    "one (or it is damaged)", name=name), field="evidence")
    return CheckedEvidence(evidence.data, name, media_type, hashlib.sha256(evidence.data).hexdigest())


def sniff(data: bytes) -> str | None:
    """The media type the content is (of KINDS), or None."""
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "application/pdf" if b"%%EOF" in data[-2048:] else None
    if data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
        return _image(data)
    return None


def _image(data: bytes) -> str | None:
    """The image's media type if Pillow reads it whole: ``verify`` checks a PNG's every chunk (a JPEG
    must also end with its end-of-image marker), then decoding every pixel refuses what is forged or too
    large to decode. Neither leans on Pillow's setting for truncated images, which a renderer in the
    same process may have turned on."""
    from PIL import Image, UnidentifiedImageError

    if data.startswith(b"\xff\xd8") and not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                found = image.format
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        return None
    return {"JPEG": "image/jpeg", "PNG": "image/png"}.get(found or "")


def store(settings: Settings, year: int, checked: CheckedEvidence) -> str:
    """Writes the file under the evidence folder (by a rename, so a reader never sees half of it) and
    returns its path relative to the folder."""
    relative = f"{year}/{secrets.token_hex(16)}{KINDS[checked.media_type]}"
    path = evidence_root(settings) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(checked.data)
    os.replace(partial, path)
    return relative


def remove(settings: Settings, relative: str) -> None:
    """Removes a file stored for a claim that was not kept after all."""
    found = located(settings, relative)
    if found is not None:
        found.unlink(missing_ok=True)


def located(settings: Settings, relative: str) -> Path | None:
    """The stored file's path, if it is inside the evidence folder and there."""
    root = evidence_root(settings).resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def _mb(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:.1f}".rstrip("0").rstrip(".")
