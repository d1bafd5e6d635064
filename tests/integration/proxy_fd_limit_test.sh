#!/usr/bin/env bash
# A proxy whose descriptor limit (RLIMIT_NOFILE) cannot hold its max_conns: it must say so at
# start, serve as many connections as the limit holds (two descriptors each) with every byte
# verified, and close the rest at accept, counted as rejected. No accept or upstream socket may
# fail with EMFILE (a client left waiting in the backlog, or a connection dropped as an error),
# and the client's failures must be exactly the proxy's rejections.
# usage: proxy_fd_limit_test.sh TOOLS_DIR BACKEND
set -u
bin="$1"
backend="$2"
conns=800
limit=1200
# shellcheck source-path=SCRIPTDIR source=tools_lib.sh
. "$(dirname "$0")/tools_lib.sh"
"$bin/ringkit-echo" --listen 127.0.0.1:0 --backend "$backend" >"$tmp/echo" 2>&1 &
echo_pid=$!
eport="$(wait_port "$tmp/echo")" || { echo "FAIL echo did not start"; cat "$tmp/echo"; exit 1; }
(ulimit -n "$limit" && exec "$bin/ringkit-proxy" --listen 127.0.0.1:0 \
  --upstream "127.0.0.1:$eport" --backend "$backend" --threads 2 --max-conns 5000 \
  --ring-size 16KiB) >"$tmp/proxy" 2>&1 &
proxy_pid=$!
pport="$(wait_port "$tmp/proxy")" || { echo "FAIL proxy did not start"; cat "$tmp/proxy"; exit 1; }
fail=0
cap="$(sed -n 's/.*serving at most \([0-9]*\) connections.*/\1/p' "$tmp/proxy")"
if [ -z "$cap" ] || [ "$cap" -ge "$conns" ] || [ "$cap" -lt $((limit / 2 - 200)) ]; then
  echo "FAIL expected a start line capping the connections near $((limit / 2)), got '$cap'"
  fail=1
  cap=0
fi
# Fails (exit 1) by design: the rejected connections are errors to the client.
timeout 60 "$bin/ringkit-load" --target "127.0.0.1:$pport" --conns "$conns" --size 64 \
  --duration 2s --threads 2 --quiet --json >"$tmp/load" 2>&1
cat "$tmp/load"
kill -TERM "$proxy_pid"
wait "$proxy_pid"
proxy_pid=
cat "$tmp/proxy"
rejected=$((conns - cap))
check_final "$tmp/proxy" "accepted=$conns " "completed=$cap " "rejected=$rejected " "refused=0 " \
  "connect_timeouts=0 " "idle_timeouts=0 " "resets=0 " "errors=0 " "submit_failures=0 " \
  "aborted=0 " || fail=1
if grep -q "Too many open files" "$tmp/proxy"; then
  echo "FAIL the proxy ran out of descriptors"
  fail=1
fi
if ! grep -q "\"errors\":$rejected}" "$tmp/load"; then
  echo "FAIL the client saw other failures than the $rejected rejected connections"
  fail=1
fi
exit $fail
