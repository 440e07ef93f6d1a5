#!/usr/bin/env bash
# Where the silo's start-up goes: launches it under dotnet-trace (EventPipe, sampled thread time) for 5 s with -js
# and an empty store, then lists the main thread's frames by inclusive time (perf/startup/inclusive.py).
#   perf/startup/trace.sh [SILO_DIR]      SILO_DIR: a build or publish holding Platform.Silo.dll (default: Release build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${1:-$ROOT/src/Silo/bin/Release/net10.0}
TRACE=${DOTNET_TRACE:-$HOME/.dotnet/tools/dotnet-trace}
OUT=$(mktemp -d /tmp/startup-trace.XXXXXX); STORE=$(mktemp -d)
(cd "$STORE" && "$TRACE" collect --profile dotnet-sampled-thread-time --format Speedscope --duration 00:00:00:05 -o "$OUT/start.nettrace" \
  -- dotnet "$DIR/Platform.Silo.dll" -a 127.0.0.1 -p $((30000 + RANDOM % 10000)) -m 0 -js -sd "$STORE" --silo_port -1 --orleans_gateway_port -1) \
  > "$OUT/trace.log" 2>&1
rm -rf "$STORE"
python3 "$ROOT/perf/startup/inclusive.py" "$OUT/start.speedscope.json"
echo "trace in $OUT" >&2
