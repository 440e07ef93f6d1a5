#!/usr/bin/env bash
# The silo's memory under one load, for each set of silo arguments given (a memory_budget, say): RSS at rest, 2 s after
# the load, 20 s after it (quiet: IdleMemoryTrim has run), 20 s after its streams are deleted, and at its peak (VmHWM),
# with the load's throughput (from a cold start: the first seconds run slower while the JIT tiers code up).
#   perf/footprint/run.sh [--reps N] [--load "LOAD ARGS"] "SILO ARGS" ["SILO ARGS"...]     ("" for the defaults)
# LOAD ARGS are perf/Load's (default: store1m, 1M messages of 128 B kept in one stream); builds are the Release ones.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
reps=1 load="js-pub-async --streams 1 --pubs 1 --size 128 --window 256 --msgs 1000000 --keep"
while [[ $# -gt 0 && $1 == --* ]]; do
  case "$1" in
    --reps) reps=$2; shift 2;;
    --load) load=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
[[ $# -gt 0 ]] || { sed -n '2,5p' "$0"; exit 2; }
rss() { awk "/^$2:/ { print int(\$2 / 1024) }" "/proc/$1/status"; }
echo "| silo arguments | rep | at rest MB | 2 s after MB | 20 s after MB | 20 s after deleting MB | peak MB | msgs/s | load avg |"
echo "|---|---|---|---|---|---|---|---|---|"
for rep in $(seq 1 "$reps"); do
  for args in "$@"; do
    port=$((30000 + RANDOM % 10000)); store=$(mktemp -d); log=$(mktemp)
    # shellcheck disable=SC2086
    dotnet "$ROOT/src/Silo/bin/Release/net10.0/Platform.Silo.dll" -a 127.0.0.1 -p "$port" -m 0 -js -sd "$store" \
      --silo_port -1 --orleans_gateway_port -1 $args > "$log" 2>&1 & pid=$!
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
      kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
      sleep 0.05
    done
    sleep 2
    rest=$(rss "$pid" VmRSS); loadavg=$(cut -d' ' -f1 /proc/loadavg)
    # shellcheck disable=SC2086
    rate=$(dotnet "$ROOT/perf/Load/bin/Release/net10.0/Platform.Load.dll" $load --url "nats://127.0.0.1:$port" \
      2>/dev/null | awk '/throughput/ { gsub(",", "", $2); print $2; exit }')
    sleep 2; after=$(rss "$pid" VmRSS); sleep 18; quiet=$(rss "$pid" VmRSS)
    "$ROOT/perf/footprint/delete-streams.sh" "$port"
    sleep 20; deleted=$(rss "$pid" VmRSS); peak=$(rss "$pid" VmHWM)
    failures=$(grep -c OutOfMemory "$log" || true)
    kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$store" "$log"
    echo "| \`${args:-(defaults)}\` | $rep | $rest | $after | $quiet | $deleted | $peak | ${rate:-failed}$([ "$failures" -gt 0 ] && echo " ($failures OutOfMemory lines)") | $loadavg |"
  done
done
