"""``cadre certificates issue``, ``cadre certificate show|revoke``, ``cadre archives build`` and
``cadre export``: what they print and how they exit."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import Result
from openpyxl import load_workbook

from ..harvest.world import cli
from .registry import PUBLIC_BASE, certificates
from .seed import SeededYear, seed_year


@pytest.fixture
def seeded(database_url: str) -> SeededYear:
    return seed_year(database_url, cadres=10)


def run(args: list[str], seeded: SeededYear, tmp_path: Path, **settings: str) -> Result:
    values = {"documents_dir": str(tmp_path / "documents"), "public_base_url": PUBLIC_BASE,
              "documents_workers": "1", **settings}
    return cli(args, database_url=seeded.database_url, fake=None, **values)


def test_issue_show_and_revoke(seeded: SeededYear, tmp_path: Path) -> None:
    eligible = seeded.eligible()
    first = run(["certificates", "issue", "--year", "2026", "--today", "2026-12-20"], seeded, tmp_path)
    assert first.exit_code == 0, first.output
    assert f"Certificates 2026: batch 1, {len(eligible)} in the batch" in first.output
    assert f"issued (new) {len(eligible):>42}"[-6:] in first.output
    assert f"ZIP: {tmp_path / 'documents' / '2026' / 'certificates-2026.zip'}" in first.output
    again = run(["certificates", "issue", "--today", "2026-12-21"], seeded, tmp_path)  # the newest year
    assert again.exit_code == 0 and "unchanged" in again.output
    assert f"{len(eligible):>6}" in again.output.split("unchanged")[1].splitlines()[0]

    cert = certificates(seeded.database_url)[0]
    shown = run(["certificate", "show", cert.data["serial"].lower()], seeded, tmp_path)
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith(f"{cert.data['serial']}  valid 有效")
    assert cert.data["name"] in shown.output and cert.employee_no in shown.output
    assert f"verify: {PUBLIC_BASE}/verify/{cert.serial}" in shown.output
    assert str(tmp_path / "documents" / cert.pdf_path) in shown.output

    missing = run(["certificate", "show", "0" * 26], seeded, tmp_path)
    assert missing.exit_code == 2 and "no certificate has the serial" in missing.output
    no_reason = run(["certificate", "revoke", cert.serial], seeded, tmp_path)
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    revoked = run(["certificate", "revoke", cert.serial, "--reason", "学时认定有误"], seeded, tmp_path)
    assert revoked.exit_code == 0 and revoked.output.startswith("revoked\n")
    assert "revoked 已撤销" in revoked.output and "学时认定有误" in revoked.output
    twice = run(["certificate", "revoke", cert.serial, "--reason", "again"], seeded, tmp_path)
    assert twice.exit_code == 2 and "already revoked" in twice.output


def test_overrides_need_a_cadre_and_a_reason(seeded: SeededYear, tmp_path: Path) -> None:
    short = next(no for no, profile in sorted(seeded.profiles.items()) if profile in ("short", "gap"))
    lone_reason = run(["certificates", "issue", "--reason", "x"], seeded, tmp_path)
    assert lone_reason.exit_code == 2 and "--reason goes with --override" in lone_reason.output
    no_reason = run(["certificates", "issue", "--override", short], seeded, tmp_path)
    assert no_reason.exit_code == 2 and "--override needs --reason" in no_reason.output
    assert certificates(seeded.database_url) == []

    done = run(["certificates", "issue", "--override", short, "--reason", "经部务会研究同意"], seeded,
               tmp_path)

    assert done.exit_code == 0, done.output
    assert done.output.startswith("issued (override, reason recorded)\n")
    assert "override: 经部务会研究同意" in done.output
    [cert] = certificates(seeded.database_url)
    assert (cert.employee_no, cert.override_reason, cert.issued_by) == (short, "经部务会研究同意", "cli")
    unknown = run(["certificates", "issue", "--override", "NOBODY", "--reason", "x"], seeded, tmp_path)
    assert unknown.exit_code == 2 and "no 2026 learning record for NOBODY" in unknown.output


def test_archives_build_and_exports(seeded: SeededYear, tmp_path: Path) -> None:
    built = run(["archives", "build", "--year", "2026", "--today", "2026-12-20"], seeded, tmp_path)
    assert built.exit_code == 0, built.output
    assert "Archives and registration forms 2026: batch 1, 20 in the batch" in built.output
    assert f"ZIP: {tmp_path / 'documents' / '2026' / 'archives-2026.zip'}" in built.output
    wrong_tier = run(["archives", "build", "--tier", "nobody"], seeded, tmp_path)
    assert wrong_tier.exit_code == 2 and "no tier 'nobody'" in wrong_tier.output

    csv_path = tmp_path / "records.csv"
    exported = run(["export", "records", "--format", "csv", "-o", str(csv_path)], seeded, tmp_path)
    assert exported.exit_code == 0 and exported.output == f"{csv_path}: 2026 年度干部学习记录, 10 rows\n"
    assert csv_path.read_bytes().startswith("\ufeff工号,姓名,部门".encode())
    xlsx_path = tmp_path / "summary.xlsx"
    summary = run(["export", "summary", "-o", str(xlsx_path)], seeded, tmp_path)
    assert summary.exit_code == 0
    sheet = load_workbook(io.BytesIO(xlsx_path.read_bytes())).active
    assert sheet is not None and sheet["A1"].value == "层级" and sheet["A2"].value == "校领导"
    empty = run(["export", "certificates", "--format", "csv", "-o", str(tmp_path / "c.csv")], seeded,
                tmp_path)
    assert empty.exit_code == 0 and "headings only" in empty.output
    mismatch = run(["export", "records", "--format", "xlsx", "-o", str(tmp_path / "r.csv")], seeded, tmp_path)
    assert mismatch.exit_code == 2 and "must end in .xlsx" in mismatch.output


def test_without_a_plan_or_a_broker_the_commands_say_so(database_url: str, tmp_path: Path) -> None:
    nothing = cli(["certificates", "issue"], database_url=database_url)
    assert nothing.exit_code == 2 and "no plan was applied yet" in nothing.output
    seeded = seed_year(database_url, cadres=2)
    unreachable = run(["certificates", "issue", "--queue"], seeded, tmp_path, secret_key="test",
                      broker_url="redis://127.0.0.1:9/0")
    assert unreachable.exit_code == 2 and "cannot reach the broker" in unreachable.output, unreachable.output
