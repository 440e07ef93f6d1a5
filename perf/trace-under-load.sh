#!/usr/bin/env bash
# One silo under a fixed-rate JetStream publish (perf/Load js-pub-async, 1 stream, 128 B), traced with dotnet-trace
# for SECS seconds after the warm-up; the trace goes to OUT/trace.nettrace. Used by perf/Allocations and
# perf/Contention, which read the trace.
#   perf/trace-under-load.sh RATE SECS OUT DOTNET_TRACE_ARGS...
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATE=${1:?rate}; SECS=${2:?seconds}; OUT=${3:?output directory}; shift 3
TRACE=${DOTNET_TRACE:-$HOME/.dotnet/tools/dotnet-trace}
STORE=$(mktemp -d)
PORT=$((30000 + RANDOM % 10000))
(cd "$STORE" && exec dotnet "$ROOT/src/Silo/bin/Release/net10.0/Platform.Silo.dll" -a 127.0.0.1 -p "$PORT" -m 0 -js -sd "$STORE" \
  --silo_port -1 --orleans_gateway_port -1) > "$OUT/silo.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$STORE"' EXIT
until [ "$(timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && head -c 4 <&3" 2>/dev/null)" = "INFO" ]; do sleep 0.05; done
dotnet "$ROOT/perf/Load/bin/Release/net10.0/Platform.Load.dll" js-pub-async --streams 1 --pubs 1 --size 128 --window 256 \
  --rate "$RATE" --duration $((SECS + 10)) --warmup 8 --url "nats://127.0.0.1:$PORT" --quiet --json "$OUT/load.json" > "$OUT/load.out" 2>&1 &
LOAD=$!
# The warm-up (8 s) and the stream's first seconds are left out.
sleep 13
"$TRACE" collect -p $PID "$@" --duration "00:00:00:$(printf '%02d' "$SECS")" -o "$OUT/trace.nettrace" > "$OUT/trace.log" 2>&1
wait $LOAD
jq -c '{msgs_per_sec, completed, p99_us: .latency_us.p99}' "$OUT/load.json"
