# Sourced by deploy/test: the browser tests/monitor drive pynmon in, Debian's chromium and
# chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver). A fresh CI machine has neither.

BROWSER_BINARIES=(/usr/bin/chromium /usr/bin/chromedriver)

# ensure_browser: install chromium and chromium-driver with apt-get when one is missing and this
# runs as root; otherwise say how, and let the run go on (only tests/monitor need them).
ensure_browser() {
  local binary missing=() log
  for binary in "${BROWSER_BINARIES[@]}"; do
    [ -x "$binary" ] || missing+=("$binary")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "warning: ${missing[*]} not found, and deploy/test can install them only as root with apt-get:" \
         "run 'sudo apt-get install -y chromium chromium-driver' (tests/monitor fail until then)" >&2
    return 0
  fi
  echo "==> installing chromium and chromium-driver (tests/monitor drive pynmon in them)" >&2
  log="$(mktemp)"
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; } \
       >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: 'apt-get install chromium chromium-driver' failed (its output above)" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}
