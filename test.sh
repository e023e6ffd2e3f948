#!/usr/bin/env bash
# Runs the whole test suite: every test project, storage tests against SQLite and a real PostgreSQL.
# PostgreSQL: $TEST_POSTGRES_CONNECTION if set; else Testcontainers where a Docker engine runs; else a
# throw-away cluster started here with initdb/pg_ctl on a free loopback port (installed from apt if
# missing) and removed afterwards. With CI=true a PostgreSQL that cannot be started fails the run.
# docker-compose.yml is validated with Debian's Compose 1.29 (`docker-compose config`, installed from apt if
# missing) and counts as one more check.
# Ends with one line: "N passed, N failed, N skipped" summed over all test projects and the compose check.
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

pg_tmp=""
cleanup() {
  if [ -n "$pg_tmp" ] && [ -d "$pg_tmp" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_tmp"
  fi
}
trap cleanup EXIT

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return 0; }
  done
  return 1
}

start_postgres() {
  if [ -n "${TEST_POSTGRES_CONNECTION:-}" ]; then
    echo "PostgreSQL: using TEST_POSTGRES_CONNECTION"; return 0
  fi
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo "PostgreSQL: Docker engine found, Testcontainers starts it"; return 0
  fi
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$pg_bin" ]; then
    echo "PostgreSQL: installing from apt"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null || return 1
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$pg_bin" ] || return 1
  fi
  local port; port=$(free_port) || return 1
  pg_tmp=$(mktemp -d /tmp/tas-pg.XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres "$pg_tmp"
  as_pg "$pg_bin/initdb" -D "$pg_tmp/data" -U postgres --auth=trust -E UTF8 >"$pg_tmp/initdb.log" 2>&1 || { cat "$pg_tmp/initdb.log"; return 1; }
  as_pg "$pg_bin/pg_ctl" -D "$pg_tmp/data" -l "$pg_tmp/server.log" -w -t 60 \
    -o "-p $port -k $pg_tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300" start >/dev/null \
    || { cat "$pg_tmp/server.log"; return 1; }
  export TEST_POSTGRES_CONNECTION="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=50"
  echo "PostgreSQL: throw-away cluster $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

if ! start_postgres; then
  if [ "${CI:-}" = "true" ]; then
    echo "PostgreSQL could not be started; with CI=true that is a failure." >&2
    echo "0 passed, 1 failed"; exit 1
  fi
  echo "WARNING: no PostgreSQL; the PostgreSQL tests will fail." >&2
fi

# Compose 1.29 rejects what the Compose specification dropped or never had (a top-level `name`, ...).
# The variables the file requires are set to throw-away values; both profiles are checked.
check_compose() {
  if ! command -v docker-compose >/dev/null 2>&1; then
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-compose >/dev/null 2>&1 || return 2
  fi
  TAS_API_KEY=tsk_compose-config-check POSTGRES_PASSWORD=compose-check docker-compose -f docker-compose.yml config -q &&
    TAS_API_KEY=tsk_compose-config-check POSTGRES_PASSWORD=compose-check docker-compose -f docker-compose.yml --profile cpu --profile monitoring config -q
}
compose_passed=0; compose_failed=0; compose_skipped=0
check_compose; compose_status=$?
case $compose_status in
  0) compose_passed=1; echo "docker-compose config: docker-compose.yml is valid" ;;
  2) if [ "${CI:-}" = "true" ]; then compose_failed=1; echo "docker-compose could not be installed; with CI=true that is a failure." >&2
     else compose_skipped=1; echo "WARNING: docker-compose not available; compose check skipped." >&2; fi ;;
  *) compose_failed=1; echo "docker-compose config rejected docker-compose.yml" >&2 ;;
esac

log=$(mktemp)
dotnet build Service.sln -c Release -nologo -clp:ErrorsOnly -m:1 || { echo "0 passed, 1 failed"; exit 1; }
# One project at a time: trainings saturate the cores, and timings in the tests stay meaningful.
dotnet test Service.sln -c Release --no-build -m:1 --logger "console;verbosity=normal" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Each project ends with "Total tests: N" then "Passed: N", "Failed: N", "Skipped: N" lines (zeros omitted).
read -r passed failed skipped <<<"$(awk '
  /^ +Passed: +[0-9]+$/  {p += $2}
  /^ +Failed: +[0-9]+$/  {f += $2}
  /^ +Skipped: +[0-9]+$/ {s += $2}
  END {printf "%d %d %d", p, f, s}' "$log")"
pg_ran=$(grep -cE '^\s+Passed .*\.Postgres[A-Za-z]*Tests\.' "$log" || true)
sqlite_ran=$(grep -cE '^\s+Passed .*\.Sqlite[A-Za-z]*Tests\.' "$log" || true)
echo "storage tests passed: $pg_ran against PostgreSQL, $sqlite_ran against SQLite"
rm -f "$log"
if [ "$passed" -eq 0 ] || [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=$((failed + 1))   # nothing ran, or a test host crashed without a summary line
fi
passed=$((passed + compose_passed)); failed=$((failed + compose_failed)); skipped=$((skipped + compose_skipped))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
