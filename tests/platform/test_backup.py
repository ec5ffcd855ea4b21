"""``cadre backup`` and ``cadre restore`` on SQLite and PostgreSQL: a backup taken, the database dropped
and the documents deleted, the archive restored, and every table holds the same rows, the console shows
the same records and certificates, and the certificates' PDFs and verification answer as before. A
damaged archive, one from a newer schema, a database that holds rows and a documents folder that is
not empty are refused without changing anything."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin_service import create_app
from plugin_service.cli import main
from plugin_service.config import Settings
from plugin_service.db import engine_for, session_scope, upgrade
from plugin_service.models import Certificate
from plugin_service.services.documents.certificates import issue_year, revoke
from plugin_service.services.documents.serials import display
from plugin_service.services.platform.backup import MANIFEST, BackupError, backup, restore
from plugin_service.services.platform.version import schema_head

from ..conftest import POSTGRES_URL
from ..console.conftest import add_users, sign_in
from ..documents.registry import settings_for
from ..documents.seed import SeededYear, add_course, seed_year

ISSUED_ON = dt.date(2026, 12, 20)
CSRF = re.compile(r'(name="csrf_token" value=")[^"]+')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(database_url, tmp_path, broker_url="memory://")


@pytest.fixture
def year(settings: Settings) -> SeededYear:
    """12 cadres with records; certificates issued, one superseded by a second version, one revoked."""
    seeded = seed_year(settings.database_url, cadres=12)
    issue_year(settings, 2026, actor="test", today=ISSUED_ON)
    late = next(no for no in seeded.eligible() if seeded.profiles[no] == "exact")
    add_course(seeded, late)
    issue_year(settings, 2026, actor="test", today=ISSUED_ON + dt.timedelta(days=10))
    with session_scope(settings.database_url) as session:
        other = session.scalars(select(Certificate.serial).where(Certificate.status == "valid",
                                                                 Certificate.employee_no != late)).first()
    assert other is not None
    revoke(settings, other, reason="issued in error", actor="test")
    add_users(settings.database_url)
    return seeded


def environment(settings: Settings) -> dict[str, str]:
    return {"CADRE_DATABASE_URL": settings.database_url, "CADRE_DOCUMENTS_DIR": settings.documents_dir,
            "CADRE_SECRET_KEY": settings.secret_key}


def cadre(settings: Settings, args: list[str]) -> Any:
    return CliRunner().invoke(main, args, env=environment(settings), catch_exceptions=False)


def every_row(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in key order, JSON columns as their text."""
    with engine_for(database_url).connect() as connection:
        metadata = sa.MetaData()
        metadata.reflect(bind=connection)
        found = {}
        for table in metadata.sorted_tables:
            columns = [sa.cast(c, sa.Text) if isinstance(c.type, sa.JSON) else c for c in table.columns]
            order = list(table.primary_key.columns) or list(table.columns)
            found[table.name] = [tuple(row) for row in connection.execute(select(*columns).order_by(*order))]
        return found


def drop(settings: Settings) -> None:
    """The database gone (a dropped PostgreSQL database, a deleted SQLite file) and the documents too."""
    url = sa.make_url(settings.database_url)
    engine_for(settings.database_url).dispose()
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.database}{suffix}").unlink(missing_ok=True)
    else:
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
        admin.dispose()
    shutil.rmtree(settings.documents_dir)


def console(settings: Settings) -> FlaskClient:
    app = create_app(settings)
    return sign_in(app.test_client(), "admin")


def what_the_console_shows(settings: Settings, seeded: SeededYear) -> dict[str, Any]:
    client = console(settings)
    shown: dict[str, Any] = {}
    for no in sorted(seeded.profiles):
        answer = client.get(f"/cadres/{no}?year=2026")
        assert answer.status_code == 200
        shown[no] = CSRF.sub(r"\1", answer.get_data(as_text=True))
    shown["list"] = CSRF.sub(r"\1", client.get("/cadres/?year=2026").get_data(as_text=True))
    with session_scope(settings.database_url) as session:
        for cert in session.scalars(select(Certificate).order_by(Certificate.id)):
            with client.get(f"/cadres/{cert.employee_no}/certificates/{display(cert.serial)}.pdf") as pdf:
                paper = (pdf.status_code, pdf.data)
            verified = client.get(f"/verify/{display(cert.serial)}")
            shown[cert.serial] = (cert.status, *paper, verified.status_code, verified.get_data(as_text=True))
    return shown


def test_a_backup_restored_into_a_dropped_database_shows_the_same_records_and_certificates(
        settings: Settings, year: SeededYear, tmp_path: Path) -> None:
    archive = tmp_path / "backups" / "cadre.tar.gz"
    shown = what_the_console_shows(settings, year)
    rows = every_row(settings.database_url)
    statuses = {shown_cert[0] for shown_cert in shown.values() if isinstance(shown_cert, tuple)}
    assert len(rows["certificate"]) >= 3 and statuses == {"superseded", "revoked", "valid"}

    made = cadre(settings, ["backup", "-o", str(archive)])
    assert made.exit_code == 0, made.output
    assert f"schema {schema_head()}" in made.output and "documents" in made.output
    drop(settings)

    restored = cadre(settings, ["restore", str(archive)])

    assert restored.exit_code == 0, restored.output
    assert every_row(settings.database_url) == rows
    assert what_the_console_shows(settings, year) == shown
    again = cadre(settings, ["restore", str(archive)])
    assert again.exit_code == 2 and "is not empty" in again.output  # nothing is overwritten


def test_the_manifest_names_version_schema_time_and_every_member_s_checksum(
        settings: Settings, year: SeededYear, tmp_path: Path) -> None:
    archive = tmp_path / "cadre.tar.gz"
    done = backup(settings, archive, now=dt.datetime(2026, 12, 31, 18, 0, tzinfo=dt.UTC))
    with tarfile.open(archive) as opened:
        names = opened.getnames()
        manifest = json.load(opened.extractfile(MANIFEST))  # type: ignore[arg-type]
    assert names[-1] == MANIFEST and set(names[:-1]) == set(manifest["files"])
    assert manifest["schema"] == schema_head() and manifest["created_at"] == "2026-12-31T18:00:00+00:00"
    assert manifest["version"].endswith(f"+schema.{schema_head()}")
    assert manifest["database"]["tables"]["certificate"] == done.tables["certificate"] >= 3
    pdfs = [name for name in names if name.startswith("documents/2026/certificates/")]
    assert done.documents == manifest["documents"] and len(pdfs) >= 3
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())


# --- what a restore refuses ------------------------------------------------------------------------

@pytest.fixture
def taken(tmp_path: Path) -> Iterator[tuple[Settings, Path]]:
    """A small year backed up from SQLite, its database and documents then gone."""
    source = settings_for(f"sqlite:///{tmp_path / 'source.sqlite3'}", tmp_path / "source",
                          broker_url="memory://")
    seeded = seed_year(source.database_url, cadres=6)
    issue_year(source, 2026, actor="test", today=ISSUED_ON)
    assert seeded.eligible()
    archive = tmp_path / "cadre.tar.gz"
    backup(source, archive)
    target = settings_for(f"sqlite:///{tmp_path / 'target.sqlite3'}", tmp_path / "target",
                          broker_url="memory://")
    yield target, archive
    engine_for(target.database_url).dispose()


def rewritten(archive: Path, out: Path, change: Any) -> Path:
    """A copy of the archive with ``change(name, data)`` applied to each member (None drops it)."""
    with tarfile.open(archive) as source, tarfile.open(out, "w:gz") as target:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            data = change(member.name, data)
            if data is None:
                continue
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    return out


def refused(settings: Settings, archive: Path, match: str) -> None:
    with pytest.raises(BackupError, match=match):
        restore(settings, archive)
    assert not Path(settings.documents_dir).exists()
    database = Path(sa.make_url(settings.database_url).database or "")
    if database.exists():
        with engine_for(settings.database_url).connect() as connection:
            assert sa.inspect(connection).get_table_names() == []


def test_a_damaged_document_is_refused(taken: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, archive = taken

    def flip(name: str, data: bytes) -> bytes:
        return data[:-10] + b"0123456789" if name.endswith(".pdf") else data

    refused(settings, rewritten(archive, tmp_path / "flipped.tar.gz", flip), "checksum or size differs")


def test_a_missing_or_extra_member_is_refused(taken: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, archive = taken
    dropped = rewritten(archive, tmp_path / "dropped.tar.gz",
                        lambda name, data: None if name == "database/cadre.jsonl" else data)
    refused(settings, dropped, "missing: database/cadre.jsonl")


def test_a_cut_archive_is_refused(taken: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, archive = taken
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    refused(settings, cut, "not a readable backup")
    plain = tmp_path / "plain.tar.gz"
    plain.write_bytes(gzip.compress(b"not a tar file at all"))
    refused(settings, plain, "not a readable backup|has no manifest")


def test_an_archive_of_a_newer_schema_is_refused(taken: tuple[Settings, Path], tmp_path: Path) -> None:
    settings, archive = taken

    def newer(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        manifest.update(schema="0099", version="9.0.0+schema.0099")
        return json.dumps(manifest).encode()

    refused(settings, rewritten(archive, tmp_path / "newer.tar.gz", newer),
            "schema revision '0099' is unknown to this code.*9.0.0")


def test_a_member_outside_the_archive_s_folders_is_refused(taken: tuple[Settings, Path],
                                                          tmp_path: Path) -> None:
    settings, archive = taken
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(evil, "w:gz") as target:
        for member in source:
            target.addfile(member, source.extractfile(member))
        info = tarfile.TarInfo("documents/../../escaped.txt")
        info.size = 2
        target.addfile(info, io.BytesIO(b"hi"))
    refused(settings, evil, "outside its folders")
    assert not (tmp_path / "escaped.txt").exists()


def test_a_database_holding_rows_or_documents_in_the_folder_are_not_overwritten(
        taken: tuple[Settings, Path]) -> None:
    settings, archive = taken
    seed_year(settings.database_url, cadres=2, prefix="X")
    with pytest.raises(BackupError, match="database is not empty"):
        restore(settings, archive)
    with engine_for(settings.database_url).connect() as connection:
        assert connection.scalar(sa.text("SELECT COUNT(*) FROM cadre")) == 2
    documents = Path(settings.documents_dir)
    documents.mkdir(parents=True)
    (documents / "kept.txt").write_text("an organisation's own file")
    with pytest.raises(BackupError, match=r"documents folder .* is not empty"):
        restore(settings, archive)
    assert (documents / "kept.txt").read_text() == "an organisation's own file"


def test_a_database_with_the_schema_but_no_rows_takes_the_restore(taken: tuple[Settings, Path]) -> None:
    settings, archive = taken
    upgrade(settings.database_url)  # `cadre db upgrade` run on the new database first
    done = restore(settings, archive)
    assert done.tables["cadre"] == 6 and done.documents >= 1
