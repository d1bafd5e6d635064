# shellcheck shell=bash
# Shared by the integration scripts that run the tools as separate processes (source it).
# Sets `tmp` (a scratch directory) and an EXIT trap that stops proxy_pid and echo_pid by PID
# and removes it.
tmp="$(mktemp -d)"
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  kill "${proxy_pid:-}" "${echo_pid:-}" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# wait_port FILE: prints the port of the tool's "listening on HOST:PORT" line in FILE.
wait_port() {
  for _ in $(seq 1 200); do
    p="$(grep -o 'listening on [^ ]*:[0-9]*' "$1" | sed 's/.*://')"
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.05
  done
  return 1
}

# check_final FILE WANT...: every WANT ("name=value ") is in FILE's "final:" line; prints a
# FAIL line for each that is not and returns 1 if any.
check_final() {
  local final want bad=0
  final="$(grep '^final:' "$1")"
  shift
  for want in "$@"; do
    case "$final" in
      *"$want"*) ;;
      *) echo "FAIL final counters lack '$want'"; bad=1 ;;
    esac
  done
  return $bad
}
