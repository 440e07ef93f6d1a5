#!/usr/bin/env bash
# Who holds the locks the silo's publishes wait on: one silo under a fixed-rate JetStream publish, traced for SECS
# seconds after the warm-up with the runtime's contention events (each names the lock's owner) and the sample
# profiler, summarised by Platform.Contention (each wait of THRESHOLD ms or more, with the owner's stacks meanwhile).
#   perf/Contention/run.sh RATE [SECS] [THRESHOLD_MS]      e.g. perf/Contention/run.sh 81400 8 1
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RATE=${1:?rate}; SECS=${2:-8}; THRESHOLD=${3:-1}
OUT=$(mktemp -d /tmp/perf-contention.XXXXXX)
dotnet build "$ROOT/perf/Contention" -c Release -nologo -v q > "$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 1; }
"$ROOT/perf/trace-under-load.sh" "$RATE" "$SECS" "$OUT" \
  --providers "Microsoft-Windows-DotNETRuntime:0x4001:4,Microsoft-DotNETCore-SampleProfiler" || exit 1
dotnet "$ROOT/perf/Contention/bin/Release/net10.0/Platform.Contention.dll" "$OUT/trace.nettrace" "$THRESHOLD"
echo "raw files in $OUT" >&2
