"""``pip install`` of the built wheel into a fresh venv gives a working ``cadre``, templates included."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from moodle_bridge.fake import RunningFake

from ..conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaging")]


def test_the_wheel_installs_and_renders_a_template(tmp_path: Path, fake: RunningFake) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(dist), str(ROOT)], check=True, timeout=300)
    wheel = next(dist.glob("cadre_companion-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "templates/console/doctor.html" in names
    assert "moodle_bridge/fake/data/signatures.json" in names
    assert "moodle_bridge/py.typed" in names
    assert not [n for n in names if n.startswith("tests/")]

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    str(wheel)], check=True, timeout=600)
    page = tmp_path / "report.html"
    result = subprocess.run(
        [str(env_dir / "bin" / "cadre"), "doctor", "--moodle-url", fake.url, "--token", TOKEN,
         "--html", str(page)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    html = page.read_text("utf-8")
    assert "<h1>Moodle 连接检查 · Moodle check</h1>" in html
    assert "Fake Moodle" in html and "5.1+ (Build: 20251017)" in html

    where = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c",
         "import templates, plugin_service; print(templates.__file__); print(plugin_service.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True)
    assert all(str(env_dir) in line for line in where.stdout.split())
