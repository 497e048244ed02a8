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
# (editable, with EXTRAS) when pyproject.toml or setup.py changed since the last install.
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
  want="$(for f in pyproject.toml setup.py; do [ ! -f "$REPO_ROOT/$f" ] || cat "$REPO_ROOT/$f"; done \
          | sha256sum | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "==> installing pynenc-kafka${extras:+[$extras]} into $VENV" >&2
    : >"$VENV/pip-install.log"
    pip_quietly --upgrade pip
    pip_quietly -e "$REPO_ROOT${extras:+[$extras]}"
    if grep -qi "warning" "$VENV/pip-install.log"; then
      echo "    pip printed warnings: see $VENV/pip-install.log" >&2
    fi
    echo "$want" > "$stamp"
  fi
}

# pip_quietly ARGS...: `pip install ARGS`, its output added to $VENV/pip-install.log and shown
# only if it fails. The sides' folders map into one namespace, so setuptools makes the editable
# install with an import finder and always adds a notice about folders named like the package:
# pip is told to ignore that notice (the other warnings stay in the log).
pip_quietly() {
  local log="$VENV/pip-install.log"
  if ! "$VENV/bin/python" -W "ignore:Editable installation:UserWarning" -m pip install -q "$@" \
       >>"$log" 2>&1; then
    cat "$log" >&2
    echo "error: 'pip install $*' failed (its output above is also in $log)" >&2
    exit 1
  fi
}
