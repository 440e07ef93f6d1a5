# Sourced by perf/compare/run.sh: the three-node setups of the cluster-* scenarios, both on loopback.
#  - nats-server: 3 nodes routed into one cluster (--cluster, --routes to the two others), JetStream on each.
#  - silo: 3 silos of one Orleans cluster whose membership lives in a PostgreSQL that this script starts once per
#    invocation (Debian's package under /usr/lib/postgresql, run as the postgres user when root); each cluster start
#    gets a cluster name of its own, so the membership rows of earlier runs' stopped silos are never in its way.
# A cluster is ready when every node's /routez lists a route to each of the two others.
# Sets SERVER_PID (the first node, whose clients publish: the run's CPU and RSS readings are that node's),
# CLUSTER_PIDS, CLUSTER_URLS (comma-separated, node 1 first), PORT, STORE and SERVER_LOG (node 1's log).

PG_PORT=""
PG_DIR=""
CLUSTER_PIDS=()
CLUSTER_URLS=""
CLUSTER_NODES=3

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  [ -n "$PG_PORT" ] && return 0
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ ! -x "$bin/pg_ctl" ]; then
    log "installing postgresql"
    apt-get install -y -qq postgresql >/dev/null 2>&1 || { echo "could not install postgresql" >&2; return 1; }
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  fi
  PG_BIN=$bin
  # The postgres user must reach the directory, so it is under /tmp whatever TMPDIR says.
  PG_DIR=$(mktemp -d /tmp/perf-compare-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U platform --auth=trust -E UTF8 --no-sync > "$PG_DIR/initdb.log" 2>&1 || return 1
  PG_PORT=$(free_port) || return 1
  # fsync off: a membership table for a benchmark need not survive a power cut.
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start > /dev/null || return 1
}

stop_postgres() {
  [ -n "$PG_PORT" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop > /dev/null 2>&1
  rm -rf "$PG_DIR"
  PG_PORT=""
}

routes_up() { # http-port: whether the node's /routez counts the other nodes
  local n
  n=$(curl -s --max-time 1 "http://127.0.0.1:$1/routez" 2>/dev/null | jq -r '.num_routes // 0' 2>/dev/null)
  [ "${n:-0}" -ge $((CLUSTER_NODES - 1)) ]
}

# start_cluster NAME: nats-server or silo.
start_cluster() {
  local name=$1 i ports=() https=() cports=() urls=() all=() routes pid
  CLUSTER_PIDS=()
  STORE="$WORK/store-$name-cluster-$RUN_ID"
  SERVER_LOG="$WORK/server-$name-$RUN_ID-n1.log"
  mkdir -p "$STORE"
  # Nine ports picked before any is bound: each distinct from the others.
  local picked=" " p
  for _ in $(seq 1 $((3 * CLUSTER_NODES))); do
    while p=$(free_port) || return 1; [[ "$picked" == *" $p "* ]]; do :; done
    picked="$picked$p "
  done
  read -r -a all <<< "$picked"
  ports=("${all[@]:0:CLUSTER_NODES}"); https=("${all[@]:CLUSTER_NODES:CLUSTER_NODES}"); cports=("${all[@]:$((2 * CLUSTER_NODES)):CLUSTER_NODES}")
  [ "$name" = silo ] && { start_postgres || { echo "PostgreSQL did not start" > "$SERVER_LOG"; return 1; }; }
  local cluster="perf$RANDOM$RANDOM" t0
  t0=$(date +%s%N)
  for i in $(seq 1 "$CLUSTER_NODES"); do
    local log="$WORK/server-$name-$RUN_ID-n$i.log" dir="$STORE/n$i"
    mkdir -p "$dir"
    case "$name" in
      nats-server)
        routes=""
        for j in $(seq 1 "$CLUSTER_NODES"); do
          [ "$j" = "$i" ] || routes="$routes${routes:+,}nats://127.0.0.1:${cports[$((j - 1))]}"
        done
        "$NATS_SERVER" -a 127.0.0.1 -p "${ports[$((i - 1))]}" -m "${https[$((i - 1))]}" -js -sd "$dir" -n "n$i" \
          --cluster_name "$cluster" --cluster "nats://127.0.0.1:${cports[$((i - 1))]}" --routes "$routes" > "$log" 2>&1 &
        ;;
      silo)
        (cd "$dir" && exec env ${SILO_ENV:-} dotnet "$SILO_DLL" -a 127.0.0.1 -p "${ports[$((i - 1))]}" -m "${https[$((i - 1))]}" \
          -js -sd "$dir" -n "n$i" --cluster_name "$cluster" --cluster_store "postgres://platform@127.0.0.1:$PG_PORT/postgres" \
          --cluster "nats://127.0.0.1:${cports[$((i - 1))]}" --orleans_gateway_port -1) > "$log" 2>&1 &
        ;;
    esac
    CLUSTER_PIDS+=("$!")
    urls+=("nats://127.0.0.1:${ports[$((i - 1))]}")
  done
  SERVER_PID=${CLUSTER_PIDS[0]}
  PORT=${ports[0]}
  CLUSTER_URLS=$(IFS=,; echo "${urls[*]}")
  for i in $(seq 1 "$CLUSTER_NODES"); do
    wait_ready "${ports[$((i - 1))]}" "${CLUSTER_PIDS[$((i - 1))]}" "$t0" || return 1
  done
  for _ in $(seq 1 600); do
    local all=1
    for i in $(seq 1 "$CLUSTER_NODES"); do routes_up "${https[$((i - 1))]}" || { all=0; break; }; done
    [ "$all" = 1 ] && return 0
    sleep 0.1
  done
  echo "routes did not come up within 60 s" >> "$SERVER_LOG"
  return 1
}

stop_cluster() {
  local pid
  for pid in "${CLUSTER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${CLUSTER_PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "node $pid did not stop in 10 s after SIGTERM; killing it" >> "$SERVER_LOG"
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  CLUSTER_PIDS=()
  SERVER_PID=""
  rm -rf "$STORE"
}
