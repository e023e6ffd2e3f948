#!/usr/bin/env bash
# Runs the whole test suite: every test project, storage tests against SQLite and a real PostgreSQL.
# PostgreSQL: $TEST_POSTGRES_CONNECTION if set; else Testcontainers where a Docker engine runs; else a
# throw-away cluster started here with initdb/pg_ctl on a free loopback port (installed from apt if
# missing) and removed afterwards. With CI=true a PostgreSQL that cannot be started fails the run.
# docker-compose.yml is validated with Debian's Compose 1.29 (`docker-compose config`, installed from apt if
# missing) and counts as one more check.
# The OpenAPI document (`Api openapi`) is linted with Redocly CLI 2.77.0's `recommended` rules (installed with npm into
# ~/.cache/tas-redocly) and must have no error and no warning; that is one more check.
# The fault test (tests/faults/run.sh: Api + two workers on a throw-away PostgreSQL, faults injected) adds its cases;
# FAULT_TESTS=0 skips it.
# Ends with one line: "N passed, N failed, N skipped" summed over all test projects, the compose and the OpenAPI checks
# and the fault test's cases.
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
# Each extra check counts once in the final line. count_check STATUS TOOL OK_MESSAGE SKIP_MESSAGE BAD_MESSAGE, where
# STATUS 0 passes, 2 means the tool could not be installed (a skip, or a failure with CI=true), anything else fails.
checks_passed=0; checks_failed=0; checks_skipped=0
count_check() {
  case $1 in
    0) checks_passed=$((checks_passed + 1)); echo "$3" ;;
    2) if [ "${CI:-}" = "true" ]; then checks_failed=$((checks_failed + 1)); echo "$2 could not be installed; with CI=true that is a failure." >&2
       else checks_skipped=$((checks_skipped + 1)); echo "WARNING: $4" >&2; fi ;;
    *) checks_failed=$((checks_failed + 1)); echo "$5" >&2 ;;
  esac
}
check_compose
count_check $? "docker-compose" "docker-compose config: docker-compose.yml is valid" \
  "docker-compose not available; compose check skipped." "docker-compose config rejected docker-compose.yml"

log=$(mktemp)
dotnet build Service.sln -c Release -nologo -clp:ErrorsOnly -m:1 || { echo "0 passed, 1 failed"; exit 1; }

# Returns 2 when Redocly cannot be installed, 1 when the document has a problem.
redocly_version=2.77.0
check_openapi() {
  local cache="${REDOCLY_CACHE:-$HOME/.cache/tas-redocly}" doc report
  command -v npm >/dev/null 2>&1 || return 2
  if ! grep -qs "\"version\": \"$redocly_version\"" "$cache/node_modules/@redocly/cli/package.json"; then
    npm install --prefix "$cache" --no-audit --no-fund --silent "@redocly/cli@$redocly_version" >/dev/null 2>&1 || return 2
  fi
  doc=$(mktemp -d)
  Storage__DataDirectory="$doc/data" dotnet run --project src/Api -c Release --no-build --no-launch-profile -- openapi "$doc/swagger.json" \
    >"$doc/openapi.log" 2>&1 || { cat "$doc/openapi.log" >&2; rm -rf "$doc"; return 1; }
  "$cache/node_modules/.bin/redocly" lint --extends recommended --format json "$doc/swagger.json" >"$doc/lint.json" 2>/dev/null
  report=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const p of r.problems) console.log(`${p.severity} ${p.ruleId}: ${p.message} (${(p.location[0] || {}).pointer || ""})`);
    console.log(`${r.totals.errors} errors, ${r.totals.warnings} warnings`);
    process.exit(r.totals.errors + r.totals.warnings === 0 ? 0 : 1);' "$doc/lint.json")
  local status=$?
  echo "$report" | tail -n 20
  rm -rf "$doc"
  return $status
}
check_openapi
count_check $? "Redocly CLI" "Redocly lint (recommended): swagger.json is clean" \
  "npm or Redocly CLI not available; OpenAPI lint skipped." "Redocly lint (recommended) found problems in swagger.json"
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
# The fault test (tests/faults/run.sh, issue 11) starts PostgreSQL, the Api and two workers from the Release build
# above, breaks them (SIGKILL, SIGSTOP, database restart, full disk, simultaneous start) and prints its own
# "N passed, N failed, N skipped", added here case by case. FAULT_TESTS=0 leaves it out (one skip).
if [ "${FAULT_TESTS:-1}" = 0 ]; then
  checks_skipped=$((checks_skipped + 1)); echo "WARNING: FAULT_TESTS=0; the fault test was skipped." >&2
else
  faults_log=$(mktemp)
  TAS_BUILD=0 timeout 600 tests/faults/run.sh 2>&1 | tee "$faults_log"
  faults=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$faults_log" | tail -n 1)
  if [ -n "$faults" ]; then
    read -r fp ff fs <<<"$(awk '{print $1, $3, $5}' <<<"$faults")"
    checks_passed=$((checks_passed + fp)); checks_failed=$((checks_failed + ff)); checks_skipped=$((checks_skipped + fs))
  else
    checks_failed=$((checks_failed + 1)); echo "tests/faults/run.sh ended without its summary line (timeout or crash)" >&2
  fi
  rm -f "$faults_log"
fi
passed=$((passed + checks_passed)); failed=$((failed + checks_failed)); skipped=$((skipped + checks_skipped))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
