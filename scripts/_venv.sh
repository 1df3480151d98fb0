# Shared by scripts/start and scripts/test: make .venv with benhan installed (and the test extra
# when asked). Re-installs only when pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "benhan needs Python 3.11 or newer (Debian/Ubuntu: apt-get install python3)" >&2
  return 1
}

ensure_venv() {   # $1: pip extra ("" or "test")
  local extra="${1:-}" py stamp hash
  py="$(find_python)"
  if [ ! -x .venv/bin/python ]; then
    if ! "$py" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing python3-venv (Debian's Python ships without venv)…"
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        "$py" -m venv .venv
      else
        echo "cannot create a virtual environment: run 'sudo apt-get install python3-venv' and try again" >&2
        return 1
      fi
    fi
  fi
  # The stamp holds the pyproject.toml hash and the extra installed with it. The test extra is a
  # superset: after ./scripts/test, ./scripts/start installs nothing (and needs no network), and
  # the other way round installs once. Only a changed pyproject.toml installs again.
  hash="$(sha256sum < pyproject.toml | cut -c1-16)"
  stamp=".venv/.benhan-installed"
  if [ -f "$stamp" ] && { grep -qx -- "${hash}-test" "$stamp" || grep -qx -- "${hash}-${extra}" "$stamp"; }; then
    return 0
  fi
  echo "installing benhan and its dependencies into .venv (once; needs the package registry)…"
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ -n "$extra" ]; then
    .venv/bin/python -m pip install --quiet -e ".[$extra]"
  else
    .venv/bin/python -m pip install --quiet -e .
  fi
  echo "${hash}-${extra}" > "$stamp"
}
