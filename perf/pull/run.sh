#!/usr/bin/env bash
# nats.go-shaped Fetch(n) + Ack loops (fetch_loop.py) against a fresh nats-server and a fresh silo, each run twice
# per batch size on the same servers (the first run of each size warms the silo's JIT and is not printed).
#   perf/pull/run.sh [--messages N] [--silo DIR_WITH_Platform.Silo.dll] [BATCH...]     (default batches: 1 10 100)
# Prints microseconds per fetch+ack for both and the ratio nats-server / silo (above 1: the silo is faster).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
silo_dir="$here/../../src/Silo/bin/Release/net10.0"
messages=20000
while [[ $# -gt 0 && $1 == --* ]]; do
  case "$1" in
    --messages) messages=$2; shift 2;;
    --silo) silo_dir=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
batches=("${@:-1 10 100}")
work=$(mktemp -d /tmp/perf-pull.XXXXXX)
ns_port=$((20000 + RANDOM % 10000)) silo_port=$((30000 + RANDOM % 10000))
nats-server -a 127.0.0.1 -p "$ns_port" -js -sd "$work/nats" >"$work/nats.log" 2>&1 & ns=$!
(cd "$work" && exec dotnet "$silo_dir/Platform.Silo.dll" -a 127.0.0.1 -p "$silo_port" -m 0 -js -sd "$work/silo" \
  --silo_port -1 --orleans_gateway_port -1) >"$work/silo.log" 2>&1 & silo=$!
trap 'kill $ns $silo 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for port in "$ns_port" "$silo_port"; do
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
done
us() { python3 "$here/fetch_loop.py" "$1" "$messages" "$2" | cut -d' ' -f1; }
for batch in ${batches[*]}; do
  us "$silo_port" "$batch" >/dev/null
  n=$(us "$ns_port" "$batch"); s=$(us "$silo_port" "$batch")
  echo "Fetch($batch)+Ack: nats-server $n us, silo $s us, ratio $(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.2f", n / s }') (load $(cut -d' ' -f1 /proc/loadavg))"
done
