# Sourced by deploy/test, deploy/fleet and deploy/lint: find Python >= 3.12, make .venv, install.
#
# pynenc needs Python >= 3.12 and the machine's python3 may be older, so look for one:
# $PYNENC_KAFKA_PYTHON, python3.13/python3.12 on PATH, then pyenv's versions.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${PYNENC_KAFKA_VENV:-$REPO_ROOT/.venv}"

python_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null
}

find_python() {
  local candidate
  for candidate in "${PYNENC_KAFKA_PYTHON:-}" python3.14 python3.13 python3.12 python3; do
    [ -n "$candidate" ] || continue
    candidate="$(command -v "$candidate" 2>/dev/null)" || continue
    if python_ok "$candidate"; then echo "$candidate"; return 0; fi
  done
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3; do
    if [ -x "$candidate" ] && python_ok "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}

# ensure_venv EXTRAS: create .venv with a 3.12+ interpreter and install the project
# (editable, with EXTRAS) when pyproject.toml changed since the last install.
ensure_venv() {
  local extras="$1" python stamp want
  if [ ! -x "$VENV/bin/python" ] || ! python_ok "$VENV/bin/python"; then
    if ! python="$(find_python)"; then
      echo "error: pynenc-kafka needs Python >= 3.12, and none was found (tried \$PYNENC_KAFKA_PYTHON," \
           "python3.14/3.13/3.12/python3 on PATH, and ~/.pyenv/versions). Install one, e.g." \
           "'pyenv install 3.12', or point PYNENC_KAFKA_PYTHON at it." >&2
      exit 1
    fi
    echo "==> creating $VENV with $python ($("$python" --version 2>&1))" >&2
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
  fi
  stamp="$VENV/.pynenc-kafka-installed${extras:+-$extras}"
  want="$(sha256sum < "$REPO_ROOT/pyproject.toml" | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing pynenc-kafka${extras:+[$extras]} into $VENV" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip >&2
    "$VENV/bin/python" -m pip install -q -e "$REPO_ROOT${extras:+[$extras]}" >&2
    echo "$want" > "$stamp"
  fi
}
