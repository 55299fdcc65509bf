#!/usr/bin/env bash
# The test command: Debian's Chromium and PostgreSQL when missing, a virtual environment with the
# development requirements, ruff, a throwaway PostgreSQL server, then pytest with this script's
# arguments. Runs as root, or as a user through sudo where there is one.
#
#   scripts/test.sh [PYTEST ARGS...]     e.g. scripts/test.sh tests/engine -x
#   VENV=DIR scripts/test.sh             another virtual environment (default .venv; made if absent)
#   TUNING_STUDIO_TEST_PG=URL            an existing PostgreSQL database instead of a throwaway one
set -euo pipefail
cd "$(dirname "$0")/.."

# Root runs system commands itself (a fresh Debian machine has no sudo); anyone else uses sudo.
can_root() { [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; }
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
has_postgres() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
has_postgres || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
    if can_root; then
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "test.sh: not root and no sudo, so not installing ${missing[*]}:" \
            "the tests that need them are skipped" >&2
    fi
fi

VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    PY=python3.11
    command -v "$PY" >/dev/null 2>&1 || PY=python3
    "$PY" -m venv "$VENV"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"
python -m pip install -q -r requirements-dev.txt

ruff check .

# The scale-out tests need a PostgreSQL server; .ci/postgres.sh runs one as the postgres user.
if [ -z "${TUNING_STUDIO_TEST_PG:-}" ]; then
    if has_postgres && can_root; then
        trap 'as_root bash .ci/postgres.sh stop' EXIT
        eval "$(as_root bash .ci/postgres.sh start)"
    else
        echo "test.sh: no PostgreSQL server (needs Debian's postgresql, and root or sudo):" \
            "its tests are skipped" >&2
    fi
fi

python -m pytest "$@"
