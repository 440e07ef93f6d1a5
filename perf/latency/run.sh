#!/usr/bin/env bash
# Where the silo's slow seconds come from: one silo, a fixed-rate JetStream publish with the latency of every second
# (perf/Load --timeline) and, beside it, the silo's runtime counters of every second from an EventPipe session
# (dotnet-counters: GC pauses and collections, allocation, CPU, thread-pool queue, lock contention); then
# correlate.py lines them up.
#   perf/latency/run.sh RATE [SECS] [OUT_DIR]     e.g. perf/latency/run.sh 90000 60 /tmp/lat50
# RATE in messages per second (perf/compare's jslatency uses 50% of nats-server's jsasync1 median). Needs the
# Release builds (perf/compare/run.sh makes them) and dotnet-counters (dotnet tool install -g dotnet-counters).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RATE=${1:?rate}; SECS=${2:-60}; OUT=${3:-$(mktemp -d /tmp/perf-latency.XXXXXX)}
COUNTERS=${DOTNET_COUNTERS:-$HOME/.dotnet/tools/dotnet-counters}
[ -x "$COUNTERS" ] || { echo "dotnet-counters not found at $COUNTERS (dotnet tool install -g dotnet-counters)" >&2; exit 1; }
mkdir -p "$OUT"
PORT=$((30000 + RANDOM % 10000)); STORE=$(mktemp -d)
(cd "$STORE" && exec dotnet "$ROOT/src/Silo/bin/Release/net10.0/Platform.Silo.dll" -a 127.0.0.1 -p "$PORT" -m 0 -js -sd "$STORE" \
  --silo_port -1 --orleans_gateway_port -1) > "$OUT/silo.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$STORE"' EXIT
until [ "$(timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && head -c 4 <&3" 2>/dev/null)" = "INFO" ]; do
  kill -0 $PID 2>/dev/null || { echo "silo exited" >&2; tail "$OUT/silo.log" >&2; exit 1; }
  sleep 0.05
done
"$COUNTERS" collect -p $PID --counters System.Runtime --refresh-interval 1 --format csv -o "$OUT/counters.csv" > "$OUT/counters.log" 2>&1 &
CPID=$!
dotnet "$ROOT/perf/Load/bin/Release/net10.0/Platform.Load.dll" js-pub-async --streams 1 --pubs 1 --size 128 --window 256 \
  --rate "$RATE" --duration "$SECS" --warmup 8 --url "nats://127.0.0.1:$PORT" --quiet --json "$OUT/load.json" \
  --timeline "$OUT/timeline.csv" --server-pid $PID > "$OUT/load.out" 2>&1
# dotnet-counters ignores SIGINT without a terminal; SIGTERM ends it with the file written.
kill $CPID; wait $CPID 2>/dev/null
jq -c '{msgs_per_sec, latency_us}' "$OUT/load.json"
python3 "$ROOT/perf/latency/correlate.py" "$OUT/timeline.csv" "$OUT/counters.csv" | tee "$OUT/correlation.md"
echo "raw files in $OUT" >&2
