#!/usr/bin/env bash
# Deletes perf/Load's streams (LOAD0 ... LOAD15) on the NATS server at 127.0.0.1:PORT through the JetStream API, on
# a plain socket (no client to start); streams that do not exist are answered with an error and left alone.
#   perf/footprint/delete-streams.sh PORT
set -euo pipefail
port=$1
{ printf 'CONNECT {"verbose":false}\r\n'
  # The API answers only requests with a reply subject; the answers are not read.
  for n in $(seq 0 15); do printf 'PUB $JS.API.STREAM.DELETE.LOAD%d _INBOX.delete 0\r\n\r\n' "$n"; done
  printf 'PING\r\n'; sleep 1; } | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3" || true
