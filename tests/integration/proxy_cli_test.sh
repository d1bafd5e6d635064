#!/usr/bin/env bash
# CLI contract of the tools: --help/--version exit 0; bad arguments exit 2 with one line on
# stderr; a busy port exits 2; SIGTERM drains, prints the final counters and exits 0; IPv6
# ([::1]) end to end where the machine has it.
# usage: proxy_cli_test.sh TOOLS_DIR
set -u
bin="$1"
fail=0
# shellcheck source-path=SCRIPTDIR source=tools_lib.sh
. "$(dirname "$0")/tools_lib.sh"
check() {  # check NAME EXPECTED_RC CMD...
  local name="$1" want="$2"
  shift 2
  local out rc
  out="$("$@" 2>&1)"
  rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL $name: exit $rc, want $want: $out"
    fail=1
  else
    echo "ok   $name"
  fi
}
for t in ringkit-proxy ringkit-echo ringkit-load ringkit-feed; do
  check "$t --help" 0 "$bin/$t" --help
  check "$t --version" 0 "$bin/$t" --version
  check "$t bogus flag" 2 "$bin/$t" --bogus
done
check "proxy without --upstream" 2 "$bin/ringkit-proxy" --listen 127.0.0.1:0
check "proxy bad endpoint" 2 "$bin/ringkit-proxy" --listen nope --upstream 127.0.0.1:1
check "proxy bad ring size" 2 "$bin/ringkit-proxy" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --ring-size 1000
check "proxy bad duration" 2 "$bin/ringkit-proxy" --listen 127.0.0.1:0 --upstream 127.0.0.1:1 --idle-timeout soon
check "load bad size" 2 "$bin/ringkit-load" --target 127.0.0.1:1 --size 0
check "IPv6 address without brackets" 2 "$bin/ringkit-load" --target ::1:1
check "host that is not a name" 2 "$bin/ringkit-proxy" --listen 127.0.0.1:0 --upstream 'a b:1'
check "feed store list too short" 2 "$bin/ringkit-feed" --listen 127.0.0.1:0 --store-slots 8,8,8
check "feed store list not numbers" 2 "$bin/ringkit-feed" --listen 127.0.0.1:0 --store-slots 8,8,x,8,8
check "feed store without room for max_payload" 2 "$bin/ringkit-feed" --listen 127.0.0.1:0 --threads 2 --store-large 0
check "feed zero slots" 2 "$bin/ringkit-feed" --listen 127.0.0.1:0 --store-slots 8,8,0,8,8
one_line="$("$bin/ringkit-proxy" --bogus 2>&1 | wc -l)"
[ "$one_line" = 1 ] || { echo "FAIL bad arguments print $one_line lines, want 1"; fail=1; }

# An echo server to proxy to.
"$bin/ringkit-echo" --listen 127.0.0.1:0 >"$tmp/echo.out" 2>&1 &
echo_pid=$!
port="$(wait_port "$tmp/echo.out")"
# A port held by a listener without SO_REUSEPORT is busy for the proxy.
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True)
time.sleep(30)' >"$tmp/busy.out" &
busy_pid=$!
for _ in $(seq 1 100); do
  bport="$(head -1 "$tmp/busy.out")"
  [ -n "$bport" ] && break
  sleep 0.05
done
check "proxy busy port" 2 timeout 10 "$bin/ringkit-proxy" --listen "127.0.0.1:$bport" --upstream 127.0.0.1:1
kill "$busy_pid" 2>/dev/null
wait "$busy_pid" 2>/dev/null

# SIGTERM: drain and exit 0 with the final counters, after real traffic.
"$bin/ringkit-proxy" --listen 127.0.0.1:0 --upstream "127.0.0.1:$port" >"$tmp/proxy.out" 2>&1 &
proxy_pid=$!
pport="$(wait_port "$tmp/proxy.out")"
check "load through the proxy" 0 "$bin/ringkit-load" --target "127.0.0.1:$pport" --conns 4 --messages 2000 --quiet
kill -TERM "$proxy_pid"
wait "$proxy_pid"
rc=$?
[ "$rc" = 0 ] || { echo "FAIL proxy SIGTERM exit $rc"; fail=1; }
grep -q '^final: .*completed=4 .*errors=0' "$tmp/proxy.out" ||
  { echo "FAIL final counters:"; cat "$tmp/proxy.out"; fail=1; }
kill -TERM "$echo_pid"
wait "$echo_pid"

# IPv6 ([::1]) on every side, when the machine has an IPv6 loopback.
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
  "$bin/ringkit-echo" --listen '[::1]:0' >"$tmp/echo.out" 2>&1 &
  echo_pid=$!
  port="$(wait_port "$tmp/echo.out")"
  "$bin/ringkit-proxy" --listen '[::1]:0' --upstream "[::1]:$port" >"$tmp/proxy.out" 2>&1 &
  proxy_pid=$!
  pport="$(wait_port "$tmp/proxy.out")"
  check "load over IPv6" 0 "$bin/ringkit-load" --target "[::1]:$pport" --conns 4 --messages 2000 --quiet
  kill -TERM "$proxy_pid" "$echo_pid"
  wait "$proxy_pid" "$echo_pid"
  if ! grep -q 'listening on \[::1\]:[0-9]* -> \[::1\]:' "$tmp/proxy.out" ||
    ! grep -q '^final: .*completed=4 .*errors=0' "$tmp/proxy.out"; then
    echo "FAIL IPv6 proxy:"
    cat "$tmp/proxy.out"
    fail=1
  fi
else
  echo "skip IPv6: no ::1 on this machine"
fi
exit $fail
