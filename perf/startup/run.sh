#!/usr/bin/env bash
# Start-up cost of the silo: from process start until a client gets INFO on the NATS port, the wall time and the CPU
# time (user+system) the process had used by then, and its RSS at that moment. CPU time is the figure to compare on a
# shared machine: wall time there says more about the neighbours than about the silo.
#   perf/startup/run.sh [--reps N] [--no-js] SILO_DIR [SILO_DIR...]
# SILO_DIR holds Platform.Silo.dll: a build (src/Silo/bin/Release/net10.0) or a publish
# (dotnet publish src/Silo -c Release -r linux-x64 -o DIR, which is ReadyToRun-compiled).
set -euo pipefail
reps=3 js=-js
while [[ $# -gt 0 && $1 == --* ]]; do
  case "$1" in
    --reps) reps=$2; shift 2;;
    --no-js) js=""; shift;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
[[ $# -gt 0 ]] || { sed -n '2,7p' "$0"; exit 2; }
tck=$(getconf CLK_TCK)
for rep in $(seq 1 "$reps"); do
  for dir in "$@"; do
    dir=$(cd "$dir" && pwd)
    port=$((30000 + RANDOM % 10000)); store=$(mktemp -d); cwd=$(mktemp -d)
    t0=$(date +%s%N)
    (cd "$cwd" && exec dotnet "$dir/Platform.Silo.dll" -a 127.0.0.1 -p "$port" -m 0 $js -sd "$store" --silo_port -1 --orleans_gateway_port -1 >/dev/null 2>&1) & pid=$!
    until [ "$(timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 4 <&3" 2>/dev/null)" = "INFO" ]; do
      kill -0 "$pid" 2>/dev/null || { echo "silo in $dir exited" >&2; exit 1; }
      sleep 0.02
    done
    t1=$(date +%s%N)
    cpu=$(sed 's/.*) //' "/proc/$pid/stat" | awk -v t="$tck" '{ printf "%d", ($12 + $13) * 1000 / t }')
    rss=$(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$pid/status")
    kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$store" "$cwd"
    echo "rep $rep $dir: wall $(( (t1 - t0) / 1000000 )) ms, cpu $cpu ms, rss $rss MB (load $(cut -d' ' -f1 /proc/loadavg))"
  done
done
