#!/usr/bin/env bash
# Side-by-side load comparison of nats-server (Debian's 2.9.10) and the silo, using perf/Load for both.
#
# Every run gets a freshly started server with an empty store of its own on loopback, so no run inherits
# another's streams, caches or garbage. Servers alternate within each repetition (nats-server first on odd
# repetitions, the silo first on even ones) so slow drift on a shared machine does not favour one of them.
# Raw rows go to <work dir>/runs.tsv; perf/compare/summarize.sh turns them into perf/RESULTS.md.
#
# usage: perf/compare/run.sh [--reps N] [--secs S] [--latency-secs S] [--warmup S] [--calm LOAD] [--skip-build] [--out FILE] [--only ID[,ID...]]
#   --reps N       repetitions per scenario and server (default 3)
#   --secs S       publish time of each throughput run in seconds (default 5)
#   --latency-secs S  publish time of the fixed-rate latency runs (jslatency*; default: --secs). Each of them also
#                  writes its latency per second, and perf/compare/latency_plot.py draws repetition 1 of both servers
#                  as latency-<id>.svg beside the --out file: e.g. --only jsasync1,jslatency,jslatency80 --latency-secs 60
#   --warmup S     unmeasured seconds of the same load first, in the same client process (default 8): the silo's
#                  throughput climbs over its first 5-8 s of load (JIT tiering and the runtime settling), measured
#                  per second with perf/Load's progress lines; nats-server's is flat after one second. The
#                  *cold scenarios run without it, so the table shows both.
#   --cluster-warmup S  the same for the cluster-* scenarios (default 30): three silos on two shared cores tier their
#                  code up more slowly; on a fresh 3-silo cluster at load average ~20, core pub->sub climbed from 50k to
#                  245k msgs/s over its first 35 s of load, and started at 245k with DOTNET_TieredCompilation=0
#   --calm LOAD    before each run wait (up to 120 s) for the 1-minute load average to fall below LOAD: on a
#                  machine shared with other builds this trades wall time for less noise (default: no waiting)
#   --skip-build   use the existing Release builds
#   --out FILE     markdown result (default perf/RESULTS.md)
#   --only IDS     run only these scenario ids (see SCENARIOS below), e.g. --only jsasync1,corepubsub; the
#                  cluster-* scenarios (CLUSTER_SCENARIOS: 3 nodes of each, see cluster.sh) run only when named here,
#                  and "cluster" names them all
# The environment variable SILO_ENV ("NAME=value NAME=value") is passed to the silo alone, not to the load
# generator, for trying runtime settings such as DOTNET_GCgen0size on the server only.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REPS=3
SECS=5
LATENCY_SECS=""
WARMUP=8
CLUSTER_WARMUP=30
CALM=""
BUILD=1
OUT="$ROOT/perf/RESULTS.md"
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --secs) SECS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --cluster-warmup) CLUSTER_WARMUP=$2; shift 2 ;;
    --calm) CALM=$2; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --latency-secs) LATENCY_SECS=$2; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
SILO_DLL="$ROOT/src/Silo/bin/Release/net10.0/Platform.Silo.dll"
LOAD_DLL="$ROOT/perf/Load/bin/Release/net10.0/Platform.Load.dll"
GOFETCH="$ROOT/perf/gofetch/gofetch"
NATS_SERVER=/usr/sbin/nats-server
WORK=$(mktemp -d /tmp/perf-compare.XXXXXX)
RUNS="$WORK/runs.tsv"
SERVER_PID=""
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# shellcheck source=perf/compare/cluster.sh
. "$ROOT/perf/compare/cluster.sh"

# Only the servers this script started are stopped, by their own pids.
cleanup() {
  if [ ${#CLUSTER_PIDS[@]} -gt 0 ]; then stop_cluster
  elif [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  stop_postgres
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- prerequisites -------------------------------------------------------------------------------------------
need_apt=()
[ -x "$NATS_SERVER" ] || need_apt+=(nats-server)
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq "${need_apt[@]}" >/dev/null 2>&1 || { echo "could not install ${need_apt[*]}" >&2; exit 1; }
fi

if [ "$BUILD" = 1 ]; then
  # One build at a time: the machine is small and shared.
  log "building the silo (Release)"
  (cd "$ROOT" && dotnet build src/Silo -c Release -nologo -v q) > "$WORK/build-silo.log" 2>&1 \
    || { tail -30 "$WORK/build-silo.log" >&2; exit 1; }
  log "building perf/Load (Release)"
  (cd "$ROOT" && dotnet build perf/Load -c Release -nologo -v q) > "$WORK/build-load.log" 2>&1 \
    || { tail -30 "$WORK/build-load.log" >&2; exit 1; }
  log "building perf/gofetch (nats.go)"
  "$ROOT/perf/gofetch/build.sh" "$GOFETCH" > "$WORK/build-gofetch.log" 2>&1 \
    || { tail -30 "$WORK/build-gofetch.log" >&2; exit 1; }
fi

# ---- servers ---------------------------------------------------------------------------------------------------
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20000))
    if [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ]; then echo "$p"; return 0; fi
  done
  return 1
}

# Ready means a client gets INFO, which is what the load generator needs, not merely a bound port. Polled every
# 10 ms, so START_MS (launch to INFO) is good to about that: nats-server is ready in ~15 ms.
wait_ready() {
  local port=$1 pid=$2 t0=$3
  for _ in $(seq 1 3000); do
    kill -0 "$pid" 2>/dev/null || return 1
    if [ "$(timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 4 <&3" 2>/dev/null)" = "INFO" ]; then
      START_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
      return 0
    fi
    sleep 0.01
  done
  return 1
}

# start_server NAME: starts it on a free port with an empty store; sets SERVER_PID, PORT, SERVER_LOG, STORE.
start_server() {
  local name=$1
  PORT=$(free_port) || { echo "no free port" >&2; return 1; }
  STORE="$WORK/store-$name-$PORT"
  SERVER_LOG="$WORK/server-$name-$RUN_ID.log"
  mkdir -p "$STORE"
  START_MS=""
  local t0; t0=$(date +%s%N)
  launch_server "$name"
  wait_ready "$PORT" "$SERVER_PID" "$t0"
}

# launch_server NAME: starts it on PORT and STORE as they are, its output appended to SERVER_LOG; sets SERVER_PID.
launch_server() {
  case "$1" in
    nats-server)
      "$NATS_SERVER" -a 127.0.0.1 -p "$PORT" -js -sd "$STORE" >> "$SERVER_LOG" 2>&1 &
      ;;
    silo)
      (cd "$STORE" && exec env ${SILO_ENV:-} dotnet "$SILO_DLL" -a 127.0.0.1 -p "$PORT" -m 0 -js -sd "$STORE" --silo_port -1 --orleans_gateway_port -1) \
        >> "$SERVER_LOG" 2>&1 &
      ;;
  esac
  SERVER_PID=$!
}

# restart_probe NAME SIGNAL: stops the server with SIGNAL (TERM: a clean stop, KILL: a crash), launches it again on its
# store and port, and times launch to accepting a connection and to the ack of one JetStream publish on LOAD0
# (perf/recovery/first_ack.py); sets RESTART_ACCEPT_MS and RESTART_ACK_MS, empty if it failed.
restart_probe() {
  RESTART_ACCEPT_MS=""; RESTART_ACK_MS=""
  kill "-$2" "$SERVER_PID" 2>/dev/null
  for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$SERVER_PID" 2>/dev/null
  local t0 result; t0=$(date +%s.%N)
  launch_server "$1"
  result=$(timeout 130 python3 "$ROOT/perf/recovery/first_ack.py" 127.0.0.1 "$PORT" load.0.probe "$t0" 2>&1) || return 0
  RESTART_ACCEPT_MS=$(awk '{ printf "%.0f", $2 * 1000 }' <<< "$result")
  RESTART_ACK_MS=$(awk '{ printf "%.0f", $4 * 1000 }' <<< "$result")
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "server $SERVER_PID did not stop in 10 s after SIGTERM; killing it" >> "$SERVER_LOG"
    kill -KILL "$SERVER_PID" 2>/dev/null
  fi
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
  rm -rf "$STORE"
}

# CPU seconds (user+system) and peak RSS in kB of a live process, from /proc.
cpu_seconds() {
  local tck; tck=$(getconf CLK_TCK)
  # Fields after the ")" that closes the command name: utime and stime are the 12th and 13th.
  sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk -v t="$tck" '{ printf "%.2f", ($12 + $13) / t }'
}
# Warning and error lines in a server log: the silo logs "warn:"/"fail:"/"crit:", nats-server "[WRN]"/"[ERR]"/"[FTL]".
log_warnings() { grep -E ' (warn|fail|crit|error): |\[(WRN|ERR|FTL)\]' "$1" 2>/dev/null; }
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---- scenarios -------------------------------------------------------------------------------------------------
# id | description | perf/Load arguments ({SECS}, {LSECS} and {RATE<percent>[@<scenario>]}, that percent of nats-server's
# median in the named scenario, jsasync1 when none is named, are filled in; the named scenario must come earlier)
SCENARIOS=(
  "jsasync1|JetStream async publish, 1 stream, 1 publisher, 128 B, window 256|js-pub-async --streams 1 --pubs 1 --size 128 --window 256 --duration {SECS}"
  "jsasync4|JetStream async publish, 4 streams, 4 publishers, 128 B, window 256 each|js-pub-async --streams 4 --pubs 4 --size 128 --window 256 --duration {SECS}"
  "jsasync4cold|As jsasync4 on a server that has served nothing yet (no warm-up)|js-pub-async --streams 4 --pubs 4 --size 128 --window 256 --duration {SECS}"
  "corepubsub|Core publish to 1 subscriber, 16 B|pubsub --pubs 1 --subs 1 --size 16 --duration {SECS}"
  "jssync|JetStream sync publish, 1 stream, 1 publisher, 128 B (short)|js-pub-sync --streams 1 --pubs 1 --size 128 --duration 3"
  "jslatency|JetStream publish-ack latency at a fixed rate (50% of nats-server's jsasync1 median), 1 stream, 128 B|js-pub-async --streams 1 --pubs 1 --size 128 --window 256 --rate {RATE50} --duration {LSECS}"
  "jslatency80|JetStream publish-ack latency at a fixed rate (80% of nats-server's jsasync1 median), 1 stream, 128 B|js-pub-async --streams 1 --pubs 1 --size 128 --window 256 --rate {RATE80} --duration {LSECS}"
  "jspubsub|JetStream publish with a concurrent pull consumer, explicit acks, 1 stream, 128 B, window 256, batch 500|js-pubsub --streams 1 --pubs 1 --subs 1 --size 128 --window 256 --batch 500 --duration {SECS}"
  "jsconsume|Consume a 100,000-message backlog, 1 stream, 1 pull consumer, batch 500, explicit acks, 128 B|js-consume --streams 1 --subs 1 --size 128 --msgs 100000 --batch 500"
  "jsfetch1|Fetch(1) then ack, in a loop (a Go worker's pull loop), 20,000-message backlog, 1 stream, 1 consumer, 128 B|js-fetch --streams 1 --subs 1 --size 128 --msgs 20000 --batch 1"
  "jsfetch10|Fetch(10) then ack each, in a loop, 50,000-message backlog, 1 stream, 1 consumer, 128 B|js-fetch --streams 1 --subs 1 --size 128 --msgs 50000 --batch 10"
  "jsfetch500|Fetch(500) then ack each, in a loop, 100,000-message backlog, 1 stream, 1 consumer, 128 B|js-fetch --streams 1 --subs 1 --size 128 --msgs 100000 --batch 500"
  "gofetch1|nats.go 1.22.1: Fetch(1) then Ack, in a loop, 20,000-message backlog, 1 stream, 1 consumer, 128 B|go-fetch --batch 1 --msgs 20000 --size 128"
  "gofetch10|nats.go 1.22.1: Fetch(10) then Ack each, in a loop, 50,000-message backlog, 1 stream, 1 consumer, 128 B|go-fetch --batch 10 --msgs 50000 --size 128"
  "gofetch500|nats.go 1.22.1: Fetch(500) then Ack each, in a loop, 100,000-message backlog, 1 stream, 1 consumer, 128 B|go-fetch --batch 500 --msgs 100000 --size 128"
  "jspushack|Push consumer with explicit acks, each acked on arrival, max_ack_pending 1000, 100,000-message backlog, 1 stream, 128 B|js-push-ack --streams 1 --subs 1 --size 128 --msgs 100000"
  "store1m|Store 1,000,000 messages in 1 stream, 128 B, window 256, kept for the RSS reading after the run, then deleted|js-pub-async --streams 1 --pubs 1 --size 128 --window 256 --msgs 1000000 --keep"
  "restart1m|Store 1,000,000 messages in 1 stream as store1m, stop the server cleanly and start it again on that store: launch to the first publish ack|js-pub-async --streams 1 --pubs 1 --size 128 --window 256 --msgs 1000000 --keep"
  "crash1m|As restart1m, with kill -9 instead of a clean stop (22 s after the load, once the memory readings are taken)|js-pub-async --streams 1 --pubs 1 --size 128 --window 256 --msgs 1000000 --keep"
)
# Three nodes of each (cluster.sh), clients on different nodes: opt-in with --only (they start 3 servers per run).
CLUSTER_SCENARIOS=(
  "cluster-core|Cluster: core publish on node 1 to 1 subscriber on node 2, 16 B|pubsub --pubs 1 --subs 1 --size 16 --duration {SECS}"
  "cluster-reqrep|Cluster: request/reply, 1 requester on node 1, echo responder on node 2, 16 B (replies/s; p50 and p99 below)|reqrep --pubs 1 --size 16 --duration {SECS}"
  "cluster-jspub|Cluster: JetStream async publish via a node that is not the stream's leader (R1 stream, 1 publisher, 128 B, window 256)|js-pub-async --streams 1 --pubs 1 --size 128 --window 256 --duration {SECS}"
  "cluster-r3async|Cluster: JetStream async publish to an R3 stream via a node that is not its leader, 1 publisher, 128 B, window 256|js-pub-async --streams 1 --pubs 1 --size 128 --window 256 --replicas 3 --duration {SECS}"
  "cluster-r3latency|Cluster: JetStream publish-ack latency to an R3 stream at a fixed rate (50% of nats-server's cluster-r3async median) via a node that is not its leader, 128 B|js-pub-async --streams 1 --pubs 1 --size 128 --window 256 --replicas 3 --rate {RATE50@cluster-r3async} --duration {LSECS}"
  "cluster-r3sync|Cluster: JetStream sync publish (each ack awaited) to an R3 stream via a node that is not its leader, 1 publisher, 128 B|js-pub-sync --streams 1 --pubs 1 --size 128 --replicas 3 --duration {SECS}"
  "cluster-partitioned|Cluster: JetStream async publish to one stream of 3 partitions (silo: spread over the 3 silos; nats-server: one R1 stream), 3 publishers, one per node, 128 B, window 256 each|js-pub-partitioned --partitions 3 --pubs 3 --size 128 --window 256 --duration {SECS}"
)
[[ ",$ONLY," == *",cluster,"* ]] && ONLY="$ONLY,$(printf '%s\n' "${CLUSTER_SCENARIOS[@]}" | cut -d'|' -f1 | paste -sd,)"
[ -n "$ONLY" ] && SCENARIOS+=("${CLUSTER_SCENARIOS[@]}")
# Memory readings (VmRSS, not the peak): idle is taken SETTLE seconds after the server is ready, before any load;
# the end reading SETTLE seconds after the load generator exits, with the store1m streams still holding their messages;
# for scenarios that keep their messages (--keep) a quiet reading QUIET seconds after that, once a server that gives
# memory back when load stops has had time to; store1m then deletes its stream and reads again QUIET seconds later.
SETTLE=2
QUIET=20

RATE=""
printf 'scenario\tserver\trep\tstatus\tmsgs_per_s\tp99_us\trss_kb\tcpu_s\tcompleted\terrors\ttarget_rate\tmessage\tlog\tloadavg\twarnings\tfirst_warning\tidle_rss_kb\tend_rss_kb\tp50_us\tp999_us\tmax_us\tquiet_rss_kb\tstart_ms\tdeleted_rss_kb\trestart_accept_ms\trestart_ack_ms\n' > "$RUNS"

run_one() { # scenario-id server rep args
  local sid=$1 server=$2 rep=$3 args=$4
  RUN_ID="$sid-$rep"
  local json="$WORK/$sid-$server-$rep.json" out="$WORK/$sid-$server-$rep.out"
  local status msgs p99 p50 p999 maxlat rss cpu completed errors message cpu0 rc load warn first c idle_rss end_rss quiet_rss="" deleted_rss="" cold=0
  RESTART_ACCEPT_MS=""; RESTART_ACK_MS=""
  local start=start_server stop=stop_server nodes="" warmup=$WARMUP
  [[ "$sid" == *cold ]] && cold=1
  if [[ "$sid" == cluster-* ]]; then start=start_cluster; stop=stop_cluster; warmup=$CLUSTER_WARMUP; fi
  if [ -n "$CALM" ]; then
    for _ in $(seq 1 120); do
      awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v c="$CALM" 'BEGIN { exit !(l < c) }' && break
      sleep 1
    done
  fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  if ! $start "$server"; then
    log "  $server did not start; log tail:"; tail -20 "$SERVER_LOG" >&2
    printf '%s\t%s\t%s\tfailed\t\t\t\t\t\t\t\t%s\t%s\t%s\t\t\n' "$sid" "$server" "$rep" \
      "server did not start: $(tail -2 "$SERVER_LOG" | tr '\t\n' '  ')" "$SERVER_LOG" "$load" >> "$RUNS"
    $stop; return
  fi
  [[ "$sid" == cluster-* ]] && nodes="--cluster-urls $CLUSTER_URLS"
  [ -n "$RATE" ] && nodes="$nodes --timeline $WORK/$sid-$server-$rep.timeline.csv"
  sleep "$SETTLE"
  idle_rss=$(rss_kb "$SERVER_PID")
  cpu0=$(cpu_seconds "$SERVER_PID")
  # go-fetch scenarios run perf/gofetch (nats.go) instead of perf/Load; it takes the same common options.
  local client=(dotnet "$LOAD_DLL") quiet=--quiet
  if [[ "$args" == go-fetch\ * ]]; then client=("$GOFETCH"); args=${args#go-fetch }; quiet=""; fi
  # shellcheck disable=SC2086 # args is a word list on purpose
  timeout --kill-after=10 400 "${client[@]}" $args --url "nats://127.0.0.1:$PORT" $quiet --label "$server" --json "$json" $nodes \
    --server-pid "$SERVER_PID" $([ "$warmup" != 0 ] && [ "$cold" = 0 ] && echo "--warmup $warmup") > "$out" 2>&1
  rc=$?
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    sleep "$SETTLE"
    end_rss=$(rss_kb "$SERVER_PID")
    rss=$(peak_rss_kb "$SERVER_PID")
    if [[ " $args " == *" --keep "* ]]; then
      sleep "$QUIET"
      quiet_rss=$(rss_kb "$SERVER_PID")
    fi
    cpu=$(awk -v a="$cpu0" -v b="$(cpu_seconds "$SERVER_PID")" 'BEGIN { printf "%.2f", b - a }')
    if [ "$sid" = store1m ]; then
      "$ROOT/perf/footprint/delete-streams.sh" "$PORT"
      sleep "$QUIET"
      deleted_rss=$(rss_kb "$SERVER_PID")
    fi
    [ "$sid" = restart1m ] && restart_probe "$server" TERM
    [ "$sid" = crash1m ] && restart_probe "$server" KILL
  else
    rss=""; cpu=""; end_rss=""
    echo "server process $SERVER_PID was gone at the end of the run" >> "$out"
  fi
  $stop
  warn=$(log_warnings "$SERVER_LOG" | wc -l)
  first=$(log_warnings "$SERVER_LOG" | head -1 | cut -c1-300 | tr '\t' ' ')
  if [ -s "$json" ]; then
    status=$(jq -r .status "$json"); msgs=$(jq -r '.msgs_per_sec' "$json")
    p99=$(jq -r '.latency_us.p99 // ""' "$json"); p50=$(jq -r '.latency_us.p50 // ""' "$json"); p999=$(jq -r '.latency_us.p999 // ""' "$json"); maxlat=$(jq -r '.latency_us.max // ""' "$json"); completed=$(jq -r .completed "$json"); errors=$(jq -r .errors "$json")
    message=$(jq -r '.message // ""' "$json" | tr '\t\n' '  ')
    # The load generator samples the server's CPU around the measured run only, leaving the warm-up out.
    c=$(jq -r '.server_cpu_seconds // empty | . * 100 | round / 100' "$json" 2>/dev/null)
    [ -n "$c" ] && cpu=$c
  else
    status=failed; msgs=""; p99=""; p50=""; p999=""; maxlat=""; completed=""; errors=""
    message="load generator exited $rc without a result: $(tail -3 "$out" | tr '\t\n' '  ')"
  fi
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && message="load generator killed by the 400 s timeout; $message"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sid" "$server" "$rep" "$status" "$msgs" "$p99" "$rss" \
    "$cpu" "$completed" "$errors" "$RATE" "$message" "$SERVER_LOG" "$load" "$warn" "$first" "$idle_rss" "$end_rss" "$p50" "$p999" "$maxlat" "$quiet_rss" "$START_MS" \
    "$deleted_rss" "$RESTART_ACCEPT_MS" "$RESTART_ACK_MS" >> "$RUNS"
  log "  $server rep $rep: $status $(printf '%.0f' "${msgs:-0}") msgs/s p50 ${p50:-n/a} µs p99 ${p99:-n/a} µs, rss ${rss:-?} kB (idle ${idle_rss:-?}, end ${end_rss:-?}), cpu ${cpu:-?} s, load $load, $warn log warnings"
}

median_of() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) exit; print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# The commit the servers were built from: taken before the runs, since the tree may change while they go on.
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
STARTED=$(date +%s)
for entry in "${SCENARIOS[@]}"; do
  IFS='|' read -r sid desc args <<< "$entry"
  if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$sid,"* ]]; then continue; fi
  if [[ "$args" =~ \{RATE([0-9]+)(@([a-z0-9-]+))?\} ]]; then
    percent=${BASH_REMATCH[1]}; placeholder=${BASH_REMATCH[0]}; base=${BASH_REMATCH[3]:-jsasync1}
    RATE=$(awk -F'\t' -v b="$base" '$1 == b && $2 == "nats-server" && ($4 == "ok" || $4 == "errors") { print $5 }' "$RUNS" | median_of)
    if [ -z "$RATE" ]; then
      log "$sid: skipped, no nats-server $base result to take the rate from (run it in the same invocation)"
      printf '%s\tnats-server\t0\tskipped\t\t\t\t\t\t\t\t%s\t\n%s\tsilo\t0\tskipped\t\t\t\t\t\t\t\t%s\t\n' "$sid" \
        "no $base result on nats-server to derive the rate from" "$sid" "no $base result on nats-server to derive the rate from" >> "$RUNS"
      continue
    fi
    RATE=$(awk -v r="$RATE" -v p="$percent" 'BEGIN { printf "%d", r * p / 100 }')
  else
    RATE=""; placeholder=""
  fi
  args=${args//\{SECS\}/$SECS}
  args=${args//\{LSECS\}/${LATENCY_SECS:-$SECS}}
  [ -n "$placeholder" ] && args=${args//"$placeholder"/$RATE}
  log "$sid: $desc"
  log "  Platform.Load $args"
  for rep in $(seq 1 "$REPS"); do
    if [ $((rep % 2)) = 1 ]; then order="nats-server silo"; else order="silo nats-server"; fi
    for server in $order; do run_one "$sid" "$server" "$rep" "$args"; done
  done
done
ENDED=$(date +%s)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----------------------------------------------------------------------------------------------------
# Written with %q so that summarize.sh can source it whatever the values contain.
kv() { printf '%s=%q\n' "$1" "$2"; }
{
  kv date "$(date -u '+%Y-%m-%d %H:%M UTC')"
  kv nproc "$(nproc)"
  kv cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  kv memory "$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  kv kernel "$(uname -sr)"
  kv dotnet "$(dotnet --version 2>/dev/null)"
  kv nats_server "$("$NATS_SERVER" --version 2>&1 | head -1)"
  kv silo "$(dotnet "$SILO_DLL" -v 2>&1 | head -1)"
  kv commit "$COMMIT"
  kv client "NATS.Net $(grep -o 'Include="NATS.Net" Version="[^"]*"' "$ROOT/Directory.Packages.props" | sed 's/.*Version="//; s/"//')"
  kv loadavg_before "$LOAD_BEFORE"
  kv loadavg_after "$LOAD_AFTER"
  kv wall_seconds "$((ENDED - STARTED))"
  kv reps "$REPS"
  kv secs "$SECS"
  kv warmup "$WARMUP"
  kv cluster_warmup "$CLUSTER_WARMUP"
  kv calm "$CALM"
} > "$WORK/machine.env"
printf '%s\n' "${SCENARIOS[@]}" > "$WORK/scenarios.txt"
# The latency-over-time pictures: repetition 1 of each server, for each fixed-rate scenario that ran.
for entry in "${SCENARIOS[@]}"; do
  IFS='|' read -r sid desc args <<< "$entry"
  [ -s "$WORK/$sid-nats-server-1.timeline.csv" ] && [ -s "$WORK/$sid-silo-1.timeline.csv" ] || continue
  python3 "$ROOT/perf/compare/latency_plot.py" --title "$desc" --out "$(dirname "$OUT")/latency-$sid.svg" \
    "nats-server=$WORK/$sid-nats-server-1.timeline.csv" "silo=$WORK/$sid-silo-1.timeline.csv" \
    && log "wrote $(dirname "$OUT")/latency-$sid.svg"
done
OUT_FILE="$OUT" "$ROOT/perf/compare/summarize.sh" "$WORK" > "$OUT"
log "wrote $OUT (raw runs, loads' outputs and server logs in $WORK)"
cat "$OUT"
