#!/usr/bin/env bash
# 9,000 concurrent connections through ONE proxy worker, every byte verified, as separate
# processes (ringkit-load -> ringkit-proxy -> ringkit-echo) so each stays under its fd limit.
# Then the proxy's final counters must account for every connection: accepted=9000
# completed=9000 and nothing in any failure counter.
# usage: proxy_scale_test.sh TOOLS_DIR BACKEND      (exit 77 = skipped: fd limit too low)
set -u
bin="$1"
backend="$2"
conns=9000
need=$((2 * conns + 100))
hard="$(ulimit -Hn)"
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
  echo "SKIP: the hard fd limit is $hard; the proxy needs $need for $conns connections"
  exit 77
fi
ulimit -n "$need"
# shellcheck source-path=SCRIPTDIR source=tools_lib.sh
. "$(dirname "$0")/tools_lib.sh"
"$bin/ringkit-echo" --listen 127.0.0.1:0 --backend "$backend" >"$tmp/echo" 2>&1 &
echo_pid=$!
eport="$(wait_port "$tmp/echo")" || { echo "FAIL echo did not start"; cat "$tmp/echo"; exit 1; }
"$bin/ringkit-proxy" --listen 127.0.0.1:0 --upstream "127.0.0.1:$eport" --backend "$backend" \
  --threads 1 --max-conns 20000 --ring-size 64KiB >"$tmp/proxy" 2>&1 &
proxy_pid=$!
pport="$(wait_port "$tmp/proxy")" || { echo "FAIL proxy did not start"; cat "$tmp/proxy"; exit 1; }
fail=0
if ! timeout 120 "$bin/ringkit-load" --target "127.0.0.1:$pport" --conns "$conns" --size 64 \
  --duration 3s --quiet >"$tmp/load" 2>&1; then
  echo "FAIL ringkit-load:"
  cat "$tmp/load"
  fail=1
fi
cat "$tmp/load"
kill -TERM "$proxy_pid"
wait "$proxy_pid"
proxy_pid=
cat "$tmp/proxy"
check_final "$tmp/proxy" "accepted=$conns " "completed=$conns " "rejected=0 " "refused=0 " \
  "connect_timeouts=0 " "idle_timeouts=0 " "resets=0 " "errors=0 " "submit_failures=0 " \
  "aborted=0 " || fail=1
exit $fail
