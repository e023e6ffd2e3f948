#!/usr/bin/env bash
# The production topology on this machine, on loopback, without Docker: a throw-away PostgreSQL (initdb into a
# temporary folder, pg_ctl on a free port, run as the postgres user when root), `Api migrate`, then the Api and
# two standalone workers (src/Worker) sharing one artifact folder. Built once with `dotnet build -c Release`
# and run from the build output with `dotnet X.dll`. (The Kubernetes variant is deploy/kind-cluster.sh.)
#
#   deploy/local-cluster.sh start            # build, start PostgreSQL, migrate, Api, workers; prints URL and key
#   deploy/local-cluster.sh status           # processes, ports, readiness
#   deploy/local-cluster.sh env              # the cluster's settings as shell assignments (API_URL, API_KEY, ...)
#   deploy/local-cluster.sh kill-worker N    # SIGKILL worker N (1-based)     start-worker N  starts it again
#   deploy/local-cluster.sh stop-worker N    # SIGSTOP worker N                cont-worker N   SIGCONT
#   deploy/local-cluster.sh restart-db [S]   # stop PostgreSQL (fast), wait S seconds (default 0), start it again
#   deploy/local-cluster.sh stop             # stop everything, remove the database; logs stay in the run folder
#
# Settings (environment): TAS_RUN_DIR (run folder: logs, state; default /tmp/tas-local-cluster), TAS_WORKERS (2),
# TAS_BUILD (1; 0 uses the existing build output), TAS_ARTIFACT_ROOT (default $TAS_RUN_DIR/artifacts),
# TAS_START_MODE (`migrate-first`, default: migrate, then start the rest; `together`: the migration, the Api and
# the workers are started at the same moment, as a deployment that rolls everything out at once does),
# TAS_WAIT_SECONDS (180: how long start waits for readiness). Any application setting can be exported too and
# reaches every process, e.g. `export JobQueue__InvisibilityTimeout=00:00:05`.
#
# The file can also be sourced (`. deploy/local-cluster.sh`): it then only defines the functions (lc_start,
# lc_stop, lc_kill_worker, ...), which tests/faults/run.sh uses.

lc_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${TAS_RUN_DIR:=${TMPDIR:-/tmp}/tas-local-cluster}"
: "${TAS_WORKERS:=2}"
: "${TAS_BUILD:=1}"
: "${TAS_START_MODE:=migrate-first}"
: "${TAS_WAIT_SECONDS:=180}"

lc_log() { echo "[local-cluster $(date +%H:%M:%S)] $*" >&2; }

lc_as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

lc_free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 20000))
    # Also skip ports an earlier call handed out but nothing listens on yet.
    grep -qsx "$port" "$TAS_RUN_DIR/ports" && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port" >>"$TAS_RUN_DIR/ports"; echo "$port"; return 0
    fi
  done
  return 1
}

lc_pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    lc_log "PostgreSQL is not installed: apt-get install postgresql (Debian 12 ships 15)"; return 1
  fi
  echo "$bin"
}

# State: $TAS_RUN_DIR/cluster.env holds the ports, paths and key; $TAS_RUN_DIR/<name>.pid each process.
lc_load() {
  [ -f "$TAS_RUN_DIR/cluster.env" ] || { lc_log "no cluster in $TAS_RUN_DIR (run start first)"; return 1; }
  # shellcheck disable=SC1091
  . "$TAS_RUN_DIR/cluster.env"
}

lc_pid() { cat "$TAS_RUN_DIR/$1.pid" 2>/dev/null; }

lc_alive() { local pid; pid=$(lc_pid "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

lc_build() {
  lc_log "building src/Api and src/Worker (Release)"
  (cd "$lc_repo" && dotnet build src/Api/Api.csproj -c Release -m:1 -nologo -clp:ErrorsOnly >"$TAS_RUN_DIR/build.log" 2>&1) \
    || { tail -n 30 "$TAS_RUN_DIR/build.log" >&2; return 1; }
}

lc_dll() {
  local dll
  dll=$(ls "$lc_repo"/artifacts/bin/"$1"/release*/"$1".dll 2>/dev/null | head -n 1)
  [ -n "$dll" ] || { lc_log "no build output for $1 (artifacts/bin/$1/release*); run with TAS_BUILD=1"; return 1; }
  echo "$dll"
}

lc_pg_start() {
  lc_as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300" \
    start >/dev/null
}

lc_pg_stop() { lc_as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w -t 60 stop >/dev/null; }

lc_psql() { lc_as_pg "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d tas -v ON_ERROR_STOP=1 -qAt "$@"; }

# Environment shared by every process: the storage settings, then whatever the caller exported.
lc_env() {
  export Storage__Provider=Postgres
  export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PG_PORT;Database=tas;Username=postgres;Maximum Pool Size=40"
  export Storage__MigrateOnStartup=${Storage__MigrateOnStartup:-false}
  export Storage__DataDirectory="$TAS_RUN_DIR/data"
  export Storage__ArtifactRoot="$ARTIFACT_ROOT"
  export Worker__InProcess=false
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
}

# lc_spawn NAME DLL [ARGS...]: starts `dotnet DLL ARGS` in the background with its output in NAME.log.
lc_spawn() {
  local name=$1; shift
  (cd "$TAS_RUN_DIR" && exec dotnet "$@" >>"$TAS_RUN_DIR/$name.log" 2>&1 </dev/null) &
  echo $! >"$TAS_RUN_DIR/$name.pid"
}

lc_spawn_api() {
  (lc_env
   export ASPNETCORE_URLS="http://127.0.0.1:$API_PORT" Grpc__Port="$GRPC_PORT" Auth__BootstrapKey="$API_KEY"
   lc_spawn api "$(lc_dll Api)")
}

lc_spawn_worker() {
  local n=$1 port
  port=$(echo "$WORKER_PORTS" | cut -d, -f"$n")
  [ -n "$port" ] || { lc_log "no worker $n (TAS_WORKERS=$TAS_WORKERS)"; return 1; }
  (lc_env
   export Worker__MetricsPort="$port"
   : "${Worker__Device:=cpu}" "${Worker__Threads:=1}" "${Worker__Concurrency:=1}"
   export Worker__Device Worker__Threads Worker__Concurrency
   lc_spawn "worker$n" "$(lc_dll Worker)")
}

lc_migrate() {
  (lc_env; cd "$TAS_RUN_DIR" && dotnet "$(lc_dll Api)" migrate >>"$TAS_RUN_DIR/migrate.log" 2>&1 </dev/null)
}

# lc_wait_ready NAME URL SECONDS: waits for URL to answer 200 while the process NAME runs.
lc_wait_ready() {
  local name=$1 url=$2 deadline=$((SECONDS + $3))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$url")" = 200 ] && return 0
    if ! lc_alive "$name"; then
      lc_log "$name exited before it was ready; last lines of $TAS_RUN_DIR/$name.log:"; tail -n 30 "$TAS_RUN_DIR/$name.log" >&2; return 1
    fi
    sleep 1
  done
  lc_log "$name not ready at $url after $3 s; last lines of $TAS_RUN_DIR/$name.log:"; tail -n 30 "$TAS_RUN_DIR/$name.log" >&2
  return 1
}

lc_wait_all_ready() {
  local n ok=0
  lc_wait_ready api "http://127.0.0.1:$API_PORT/health/ready" "$TAS_WAIT_SECONDS" || ok=1
  for n in $(seq 1 "$TAS_WORKERS"); do
    lc_wait_ready "worker$n" "http://127.0.0.1:$(echo "$WORKER_PORTS" | cut -d, -f"$n")/health/ready" "$TAS_WAIT_SECONDS" || ok=1
  done
  return $ok
}

lc_start() {
  if [ -f "$TAS_RUN_DIR/cluster.env" ] && (lc_load && lc_alive api) 2>/dev/null; then
    lc_log "a cluster already runs in $TAS_RUN_DIR; stop it first"; return 1
  fi
  mkdir -p "$TAS_RUN_DIR"
  rm -f "$TAS_RUN_DIR"/*.pid "$TAS_RUN_DIR"/*.log "$TAS_RUN_DIR/ports" "$TAS_RUN_DIR/cluster.env"
  if [ "$TAS_BUILD" = 1 ]; then lc_build || return 1; fi
  lc_dll Api >/dev/null && lc_dll Worker >/dev/null || return 1

  PG_BIN=$(lc_pg_bin) || return 1
  PG_DIR=$(mktemp -d /tmp/tas-local-pg.XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR"
  PG_PORT=$(lc_free_port) && API_PORT=$(lc_free_port) && GRPC_PORT=$(lc_free_port) || { lc_log "no free port"; return 1; }
  WORKER_PORTS=""
  local n
  for n in $(seq 1 "$TAS_WORKERS"); do WORKER_PORTS="$WORKER_PORTS${WORKER_PORTS:+,}$(lc_free_port)"; done
  ARTIFACT_ROOT=${TAS_ARTIFACT_ROOT:-$TAS_RUN_DIR/artifacts}
  mkdir -p "$ARTIFACT_ROOT" "$TAS_RUN_DIR/data"
  API_KEY="tsk_local_$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
  cat >"$TAS_RUN_DIR/cluster.env" <<EOF
PG_BIN=$PG_BIN
PG_DIR=$PG_DIR
PG_PORT=$PG_PORT
API_PORT=$API_PORT
GRPC_PORT=$GRPC_PORT
WORKER_PORTS=$WORKER_PORTS
ARTIFACT_ROOT=$ARTIFACT_ROOT
API_KEY=$API_KEY
API_URL=http://127.0.0.1:$API_PORT
TAS_WORKERS=$TAS_WORKERS
EOF
  chmod 600 "$TAS_RUN_DIR/cluster.env"

  lc_log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PG_DIR)"
  lc_as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 >"$TAS_RUN_DIR/initdb.log" 2>&1 \
    || { cat "$TAS_RUN_DIR/initdb.log" >&2; return 1; }
  lc_pg_start || { tail -n 20 "$PG_DIR/server.log" >&2; return 1; }
  lc_as_pg "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE tas" || return 1

  if [ "$TAS_START_MODE" = together ]; then
    lc_log "starting the migration, the Api and $TAS_WORKERS workers at the same moment"
    (lc_migrate; echo $? >"$TAS_RUN_DIR/migrate.rc") &
    lc_spawn_api
    for n in $(seq 1 "$TAS_WORKERS"); do lc_spawn_worker "$n"; done
    local deadline=$((SECONDS + TAS_WAIT_SECONDS))
    while [ ! -f "$TAS_RUN_DIR/migrate.rc" ] && [ $SECONDS -lt $deadline ]; do sleep 1; done
  else
    lc_log "migrating"
    lc_migrate; echo $? >"$TAS_RUN_DIR/migrate.rc"
  fi
  if [ "$(cat "$TAS_RUN_DIR/migrate.rc" 2>/dev/null)" != 0 ]; then
    lc_log "Api migrate failed; $TAS_RUN_DIR/migrate.log:"; tail -n 30 "$TAS_RUN_DIR/migrate.log" >&2; return 1
  fi
  if [ "$TAS_START_MODE" != together ]; then
    lc_log "starting the Api and $TAS_WORKERS workers"
    lc_spawn_api
    for n in $(seq 1 "$TAS_WORKERS"); do lc_spawn_worker "$n"; done
  fi
  lc_wait_all_ready || return 1
  lc_log "ready: API_URL=http://127.0.0.1:$API_PORT (gRPC $GRPC_PORT), key in $TAS_RUN_DIR/cluster.env (API_KEY), logs in $TAS_RUN_DIR"
}

lc_stop() {
  lc_load 2>/dev/null || return 0
  local name pid deadline
  for name in api $(for n in $(seq 1 "$TAS_WORKERS"); do echo "worker$n"; done); do
    pid=$(lc_pid "$name"); [ -n "$pid" ] || continue
    kill -CONT "$pid" 2>/dev/null; kill -TERM "$pid" 2>/dev/null
  done
  deadline=$((SECONDS + 30))
  for name in api $(for n in $(seq 1 "$TAS_WORKERS"); do echo "worker$n"; done); do
    while lc_alive "$name" && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
    if lc_alive "$name"; then lc_log "$name ignored SIGTERM for 30 s; SIGKILL"; kill -KILL "$(lc_pid "$name")" 2>/dev/null; fi
    rm -f "$TAS_RUN_DIR/$name.pid"
  done
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ]; then
    lc_pg_stop immediate 2>/dev/null || true
    cp "$PG_DIR/server.log" "$TAS_RUN_DIR/postgres.log" 2>/dev/null
    rm -rf "$PG_DIR"
  fi
  rm -f "$TAS_RUN_DIR/cluster.env"
  lc_log "stopped; logs stay in $TAS_RUN_DIR"
}

lc_status() {
  lc_load || return 1
  local name state port code
  printf '%-9s %-8s %-8s %s\n' process pid state ready
  for name in api $(for n in $(seq 1 "$TAS_WORKERS"); do echo "worker$n"; done); do
    if [ "$name" = api ]; then port=$API_PORT; else port=$(echo "$WORKER_PORTS" | cut -d, -f"${name#worker}"); fi
    state=dead
    if lc_alive "$name"; then
      state=running
      [ "$(ps -o stat= -p "$(lc_pid "$name")" | cut -c1)" = T ] && state=stopped
    fi
    code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$port/health/ready")
    printf '%-9s %-8s %-8s %s\n' "$name" "$(lc_pid "$name")" "$state" "$code on port $port"
  done
  if lc_as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then state=running; else state=down; fi
  printf '%-9s %-8s %-8s %s\n' postgres - "$state" "port $PG_PORT"
}

lc_signal_worker() {
  lc_load || return 1
  local pid; pid=$(lc_pid "worker$2")
  [ -n "$pid" ] || { lc_log "no worker $2"; return 1; }
  kill "-$1" "$pid"
}
lc_kill_worker() { lc_signal_worker KILL "$1"; }
lc_stop_worker() { lc_signal_worker STOP "$1"; }
lc_cont_worker() { lc_signal_worker CONT "$1"; }
lc_start_worker() {
  lc_load || return 1
  lc_alive "worker$1" && { lc_log "worker $1 still runs"; return 1; }
  lc_spawn_worker "$1"
}

lc_restart_db() {
  lc_load || return 1
  lc_pg_stop fast || return 1
  sleep "${1:-0}"
  lc_pg_start
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  case "${1:-}" in
    start) lc_start || { lc_log "start failed; stopping what started"; lc_stop; exit 1; } ;;
    stop) lc_stop ;;
    status) lc_status ;;
    env) lc_load && cat "$TAS_RUN_DIR/cluster.env" ;;
    kill-worker) lc_kill_worker "${2:?worker number}" ;;
    stop-worker) lc_stop_worker "${2:?worker number}" ;;
    cont-worker) lc_cont_worker "${2:?worker number}" ;;
    start-worker) lc_start_worker "${2:?worker number}" ;;
    restart-db) lc_restart_db "${2:-0}" ;;
    *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
fi
