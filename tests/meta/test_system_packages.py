"""The production image installs the same system packages for documents as a developer's set-up."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_and_the_bootstrap_install_the_same_document_packages() -> None:
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text("utf-8")
    listed = re.search(r"DOCUMENT_PACKAGES=\(([^)]*)\)", bootstrap)
    assert listed is not None
    wanted = set(listed.group(1).split())
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text("utf-8")
    install = re.search(r"apt-get install -y --no-install-recommends(.*?)&&", dockerfile, re.S)
    assert install is not None
    assert set(install.group(1).replace("\\", " ").split()) == wanted
