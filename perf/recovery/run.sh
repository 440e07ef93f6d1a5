#!/usr/bin/env bash
# Recovery after kill -9 of a large stream: fills one stream (LOAD0 on load.0.>) with MSGS messages of SIZE bytes,
# SIGKILLs the silo right after the last ack, restarts it REPS times on the same store (SIGKILL after each probe) and
# measures, from the moment the process was started, when the client port accepted and when the first publish ack
# on the big stream arrived.
#   perf/recovery/run.sh [--silo DIR_WITH_Platform.Silo.dll] [--msgs N] [--size B] [--reps N] [--store DIR]
# Needs Release builds of src/Silo and perf/Load (dotnet build -c Release).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
silo_dir="$root/src/Silo/bin/Release/net10.0"
load="$root/perf/Load/bin/Release/net10.0/Platform.Load.dll"
msgs=1700000 size=200 reps=3 store=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --silo) silo_dir=$2; shift 2;;
    --load) load=$2; shift 2;;
    --msgs) msgs=$2; shift 2;;
    --size) size=$2; shift 2;;
    --reps) reps=$2; shift 2;;
    --store) store=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
work=$(mktemp -d /tmp/perf-recovery.XXXXXX)
store=${store:-$work/store}
port=$((20000 + RANDOM % 20000))
silo() { exec dotnet "$silo_dir/Platform.Silo.dll" -a 127.0.0.1 -p "$port" -m 0 -js -sd "$store" --silo_port -1 --orleans_gateway_port -1; }
echo "work $work, store $store, port $port, silo $silo_dir" >&2

if [[ ! -d "$store" ]]; then
  silo >"$work/fill.log" 2>&1 & pid=$!
  until (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do sleep 0.1; done
  dotnet "$load" js-pub-async --url "nats://127.0.0.1:$port" --streams 1 --pubs 1 --size "$size" --window 256 \
    --msgs "$msgs" --keep --quiet --max-time 600 >"$work/fill.out" 2>&1 || { cat "$work/fill.out" >&2; exit 1; }
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  echo "filled $msgs x $size B: $(du -sh "$store" | cut -f1)" >&2
fi

for rep in $(seq 1 "$reps"); do
  load_avg=$(cut -d' ' -f1 /proc/loadavg)
  started=$(date +%s.%N)
  silo >"$work/restart$rep.log" 2>&1 & pid=$!
  result=$(python3 "$here/first_ack.py" 127.0.0.1 "$port" load.0.probe "$started")
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  recovered=$(grep -o 'Recovered log.*' "$work/restart$rep.log" | head -1 || true)
  echo "rep $rep (load $load_avg): $result${recovered:+; $recovered}"
done
