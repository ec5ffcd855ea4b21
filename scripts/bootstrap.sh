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
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need_apt[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    PYTHON=$(pick_python)
  else
    echo "error: Python >= 3.11 with venv is needed (Debian: apt-get install ${need_apt[*]})" >&2
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
