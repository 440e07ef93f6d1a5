#!/usr/bin/env bash
# What the silo allocates per published message, and why its collections run: one silo under a fixed-rate
# JetStream publish, traced with dotnet-trace's gc-verbose profile (EventPipe allocation ticks and GC events) for
# SECS seconds after the warm-up, summarised by Platform.Allocations.
#   perf/Allocations/run.sh RATE [SECS]      e.g. perf/Allocations/run.sh 80000 10
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RATE=${1:?rate}; SECS=${2:-10}
OUT=$(mktemp -d /tmp/perf-alloc.XXXXXX)
dotnet build "$ROOT/perf/Allocations" -c Release -nologo -v q > "$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 1; }
"$ROOT/perf/trace-under-load.sh" "$RATE" "$SECS" "$OUT" --profile gc-verbose || exit 1
dotnet "$ROOT/perf/Allocations/bin/Release/net10.0/Platform.Allocations.dll" "$OUT/trace.nettrace"
echo "raw files in $OUT" >&2
