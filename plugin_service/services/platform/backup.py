"""``cadre backup`` and ``cadre restore``: the companion's database and documents in one archive.

The archive is a ``.tar.gz`` holding ``database/<table>.jsonl`` (``rows``: every table, portable between
SQLite and PostgreSQL), ``documents/...`` (the issued certificates, archives, forms and ZIPs under
``documents_dir``) and, last, ``manifest.json``: the format, the code version that wrote it, the
schema revision of the database, the time, the rows per table, and the SHA-256 and size of every other
member.

The database is read consistently: SQLite is first copied with SQLite's backup API (the service may
keep writing meanwhile) and read from the copy; PostgreSQL is read in one repeatable-read transaction.

A restore refuses an archive it cannot trust (unreadable, a member missing, extra, outside the archive's
folders or not matching its checksum, a manifest of another format) and one whose schema is newer than
this code knows; it restores only into an empty database (a new one, or one whose tables hold no rows)
and an empty or absent documents folder, so nothing is ever overwritten. It builds the schema of the
archive's revision with the migrations, loads the rows, and upgrades to this code's revision.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import sqlalchemy as sa
from alembic.migration import MigrationContext

from ...config import Settings
from ...db import engine_for, upgrade
from . import rows
from .version import code_version, known_revisions, package_version, schema_head

FORMAT = "cadre-companion-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 20


class BackupError(Exception):
    """The backup or restore cannot be done; the message says why. A refused restore changed nothing."""


@dataclass
class Outcome:
    """What a backup wrote or a restore put back."""

    archive: Path
    schema: str
    tables: dict[str, int] = field(default_factory=dict)
    documents: int = 0
    bytes: int = 0


# --- taking a backup ---------------------------------------------------------------------------------

def _sqlite_path(database_url: str) -> Path | None:
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _revision(connection: sa.Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    return str(heads[0]) if len(heads) == 1 else None


@contextlib.contextmanager
def _consistent(database_url: str, scratch: Path) -> Iterator[sa.Connection]:
    """A connection that sees one moment of the database."""
    path = _sqlite_path(database_url)
    if path is not None:
        if not path.is_file():
            raise BackupError(f"there is no database at {path}")
        copy = scratch / "snapshot.sqlite3"
        source, target = sqlite3.connect(path), sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        engine = sa.create_engine(f"sqlite:///{copy}")
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()
        return
    engine = engine_for(database_url)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, \
            connection.begin():
        yield connection


class _Hashing(io.RawIOBase):
    """Reads a file while hashing what was read."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.digest = handle, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _add(archive: tarfile.TarFile, path: Path, name: str, files: dict[str, dict[str, Any]]) -> None:
    info = archive.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with path.open("rb") as handle:
        reader = _Hashing(handle)
        archive.addfile(info, reader)
    files[name] = {"sha256": reader.digest.hexdigest(), "size": info.size}


def documents_of(settings: Settings) -> Iterator[tuple[Path, str]]:
    """Every file under ``documents_dir`` with its name in the archive."""
    root = Path(settings.documents_dir)
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path, "documents/" + path.relative_to(root).as_posix()


def backup(settings: Settings, target: Path, *, now: dt.datetime | None = None) -> Outcome:
    """Writes the archive to ``target`` (through a temporary file renamed at the end)."""
    if target.exists():
        raise BackupError(f"{target} exists already: name a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    files: dict[str, dict[str, Any]] = {}
    tables: dict[str, int] = {}
    documents = 0
    with tempfile.TemporaryDirectory(prefix="cadre-backup-") as temp:
        scratch = Path(temp)
        try:
            with tarfile.open(partial, "w:gz") as archive:
                with _consistent(settings.database_url, scratch) as connection:
                    schema = _revision(connection)
                    if schema is None:
                        raise BackupError("the database has no schema revision: is it the companion's?")
                    for table in rows.tables(connection):
                        dumped = scratch / f"{table.name}.jsonl"
                        with dumped.open("w", encoding="utf-8") as out:
                            tables[table.name] = rows.dump_table(connection, table, out)
                        _add(archive, dumped, f"database/{table.name}.jsonl", files)
                        dumped.unlink()
                for path, name in documents_of(settings):
                    _add(archive, path, name, files)
                    documents += 1
                manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": code_version(),
                            "package_version": package_version(), "schema": schema,
                            "created_at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
                            "database": {"dialect": sa.make_url(settings.database_url).get_backend_name(),
                                         "tables": tables, "order": list(tables)},
                            "documents": documents, "files": files}
                data = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(dt.datetime.now().timestamp()), 0o644
                archive.addfile(info, io.BytesIO(data))
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return Outcome(target, schema, tables, documents, target.stat().st_size)


# --- restoring it -------------------------------------------------------------------------------------

def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"the archive holds {name!r}, outside its folders: refused")
    if path.parts[0] not in ("database", "documents") and name != MANIFEST:
        raise BackupError(f"the archive holds {name!r}, which no backup has: refused")
    return path


def _unpack(archive_path: Path, staging: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Extracts every member into ``staging``, hashing it; returns the manifest and what was found."""
    found: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            for member in archive:
                path = _safe_name(member.name)
                if not member.isfile():
                    raise BackupError(f"the archive's {member.name!r} is not a plain file: refused")
                source = archive.extractfile(member)
                assert source is not None
                if member.name == MANIFEST:
                    manifest = json.loads(source.read(16 << 20).decode("utf-8"))
                    continue
                destination = staging.joinpath(*path.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                digest, size = hashlib.sha256(), 0
                with destination.open("wb") as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                found[member.name] = {"sha256": digest.hexdigest(), "size": size}
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"{archive_path} is not a readable backup ({type(exc).__name__}: {exc})") from None
    if not isinstance(manifest, dict):
        raise BackupError(f"{archive_path} has no manifest: not a backup of Cadre Companion, or cut short")
    return manifest, found


def check_manifest(manifest: dict[str, Any], found: dict[str, dict[str, Any]]) -> None:
    """Refuses an archive of another format, or whose members are not exactly those the manifest lists."""
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"the archive's format is {manifest.get('format')!r} "
                          f"{manifest.get('format_version')!r}, not {FORMAT} {FORMAT_VERSION}")
    listed: dict[str, dict[str, Any]] = manifest.get("files") or {}
    missing, extra = sorted(set(listed) - set(found)), sorted(set(found) - set(listed))
    damaged = sorted(name for name in set(listed) & set(found) if listed[name] != found[name])
    problems = ([f"missing: {', '.join(missing[:5])}"] if missing else []) + (
        [f"not in the manifest: {', '.join(extra[:5])}"] if extra else []) + (
        [f"checksum or size differs: {', '.join(damaged[:5])}"] if damaged else [])
    if problems:
        raise BackupError("the archive is damaged; " + "; ".join(problems))
    schema = manifest.get("schema")
    known = known_revisions()
    if schema not in known:
        raise BackupError(f"the archive's schema revision {schema!r} is unknown to this code (which knows "
                          f"up to {schema_head()}): it was written by a newer version, "
                          f"{manifest.get('version')}; restore it with that version or a later one")


def _create_if_dropped(database_url: str) -> None:
    """A PostgreSQL database that was dropped is made again (empty), through the server's ``postgres``
    database; SQLite makes its file itself."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "postgresql" or not url.database:
        return
    try:
        with engine_for(database_url).connect():
            return
    except sa.exc.OperationalError as exc:
        if "does not exist" not in str(exc.orig):
            raise BackupError(f"the database cannot be reached: {type(exc.orig).__name__}") from None
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            name = url.database.replace('"', '""')
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def _clear_empty_database(database_url: str) -> None:
    """Drops the tables of a database whose tables hold no rows; refuses one that holds any."""
    engine = engine_for(database_url)
    engine.dispose()
    _create_if_dropped(database_url)
    with engine.begin() as connection:
        metadata = sa.MetaData()
        metadata.reflect(bind=connection)
        holding = sorted(table.name for table in metadata.sorted_tables if table.name not in rows.SKIPPED
                         and connection.scalar(sa.select(sa.func.count()).select_from(table)))
        if holding:
            raise BackupError(f"the database is not empty ({', '.join(holding[:5])} hold rows): restore "
                              "into a new database, or drop this one first")
        metadata.drop_all(bind=connection)


def _documents_target(settings: Settings) -> Path:
    root = Path(settings.documents_dir)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise BackupError(f"the documents folder {root} is not empty: restore into an empty or absent one")
    return root


def restore(settings: Settings, archive_path: Path) -> Outcome:
    """Puts the archive's database and documents back (see the module's docstring for what it refuses)."""
    documents_root = _documents_target(settings)
    documents_root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".cadre-restore-", dir=documents_root.parent) as temp:
        staging = Path(temp)
        manifest, found = _unpack(archive_path, staging)
        check_manifest(manifest, found)
        _clear_empty_database(settings.database_url)
        schema: str = manifest["schema"]
        upgrade(settings.database_url, schema)
        tables: dict[str, int] = {}
        with engine_for(settings.database_url).begin() as connection:
            for table in manifest["database"]["order"]:
                name, count = rows.load_table(connection, staging / "database" / f"{table}.jsonl")
                tables[name] = count
            if tables != manifest["database"]["tables"]:
                raise BackupError(f"the rows read ({tables}) are not those the manifest lists")
            rows.reset_sequences(connection)
        upgrade(settings.database_url)
        staged_documents = staging / "documents"
        if staged_documents.is_dir():
            if documents_root.exists():
                documents_root.rmdir()
            shutil.move(str(staged_documents), str(documents_root))
    return Outcome(archive_path, schema, tables, int(manifest.get("documents", 0)),
                   archive_path.stat().st_size)
