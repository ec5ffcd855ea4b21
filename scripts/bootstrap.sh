#!/usr/bin/env bash
# Creates .venv and installs the project with its test and dev tools; installs missing system
# packages with apt-get when run as root on Debian. Re-running is cheap: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
pick_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

PYTHON=$(pick_python || true)
if [ -z "$PYTHON" ]; then need_apt+=(python3 python3-venv python3-dev); fi
if [ -n "$PYTHON" ] && ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then need_apt+=(python3-venv); fi
# Documents (certificates, archives, forms) are laid out by WeasyPrint on Pango, with HarfBuzz's subsetter
# embedding the CJK fonts below: the PDFs carry their own fonts, so these must be on the machine that renders.
DOCUMENT_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-arphic-uming
                   fonts-arphic-ukai fonts-wqy-zenhei fonts-hanazono fonts-dejavu-core)
# The console's browser tests, the README screenshot and its benchmark drive Debian's Chromium (Playwright
# with executable_path=/usr/bin/chromium; Playwright's own browser downloads are never used).
BROWSER_PACKAGES=(chromium)
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${DOCUMENT_PACKAGES[@]}" "${BROWSER_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      need_apt+=("$pkg")
    fi
  done
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need_apt[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    PYTHON=$(pick_python)
  else
    echo "error: missing system packages; as root run: apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
fi

stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  touch "$stamp"
fi
