#!/usr/bin/env bash
# What the silo allocates per published message, and why its collections run: one silo under a fixed-rate
# JetStream publish, traced with dotnet-trace's gc-verbose profile (EventPipe allocation ticks and GC events) for
# SECS seconds after the warm-up, summarised by Platform.Allocations.
#   perf/Allocations/run.sh RATE [SECS]      e.g. perf/Allocations/run.sh 80000 10
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RATE=${1:?rate}; SECS=${2:-10}
TRACE=${DOTNET_TRACE:-$HOME/.dotnet/tools/dotnet-trace}
OUT=$(mktemp -d /tmp/perf-alloc.XXXXXX); STORE=$(mktemp -d)
dotnet build "$ROOT/perf/Allocations" -c Release -nologo -v q > "$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 1; }
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
"$TRACE" collect -p $PID --profile gc-verbose --duration "00:00:00:$(printf '%02d' "$SECS")" -o "$OUT/alloc.nettrace" > "$OUT/trace.log" 2>&1
wait $LOAD
jq -c '{msgs_per_sec, completed}' "$OUT/load.json"
dotnet "$ROOT/perf/Allocations/bin/Release/net10.0/Platform.Allocations.dll" "$OUT/alloc.nettrace"
echo "raw files in $OUT" >&2
