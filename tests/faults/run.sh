#!/usr/bin/env bash
# Fault tests of the production topology (issue 11): deploy/local-cluster.sh starts a throw-away PostgreSQL 15,
# `Api migrate`, the Api and two workers on loopback, and each case below breaks something and checks the
# outcome through the REST API (and psql where simpler):
#   5 startup     migrate, Api and workers started at the same moment on an empty database: no schema errors
#   1 spread      several small jobs over both workers: all Succeeded
#   6 disk-full   (root only: a small tmpfs is the artifact root) an upload on a full disk answers 507, leaves no
#                 file or row behind, and uploads work again once space returns
#   2 sigkill     SIGKILL of the worker running a job mid-training: the other worker finishes it from its checkpoint
#   3 sigstop     SIGSTOP of that worker past JobQueue:InvisibilityTimeout (5 s) until the other worker has taken
#                 the job over, then SIGCONT: no status corruption, one run
#   4 db-restart  PostgreSQL stopped for 10 s mid-training: every job finishes; the Api answers 503, never 500
# Every case also checks: exactly one run per job, one metric row per epoch, no orphan files under the artifact
# root, final statuses right. Case 5 is the cluster's own start, so it runs first; the others share the cluster.
#
#   tests/faults/run.sh                 # builds (Release), runs every case; ends with "N passed, N failed, N skipped"
#   TAS_BUILD=0 tests/faults/run.sh     # use the existing build output (test.sh builds first)
#   tests/faults/run.sh sigkill sigstop # only these cases (after the start-up case)
#   FAULTS_KEEP=1 ...                   # keep the run folder (logs of every process) even when all pass
# Needs: the .NET SDK, PostgreSQL 15 binaries (apt: postgresql), curl, jq, python3. Every wait has a timeout and
# everything started here is stopped on exit (trap).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

export TAS_RUN_DIR=${TAS_RUN_DIR:-$(mktemp -d /tmp/tas-faults.XXXXXX)}
export TAS_BUILD=${TAS_BUILD:-1}
export TAS_START_MODE=together
export TAS_WORKERS=2
export TAS_WAIT_SECONDS=${TAS_WAIT_SECONDS:-240}
# A paused or killed worker's job goes to the other worker after this.
export JobQueue__InvisibilityTimeout=00:00:05
# A silent worker loses its job's lease after this; each worker's reconciler re-queues lapsed jobs every 2 s.
export Worker__LeaseDuration=00:00:06 Worker__ReconcileInterval=00:00:02 Worker__ReconcileGracePeriod=00:00:10
# Two workers share two cores; variant latency numbers are not checked here.
export Worker__Threads=1 Worker__LatencyMinRuns=3 Worker__LatencyMinimumTotal=00:00:00.005
export Logging__Console__FormatterName=simple
# shellcheck source=../../deploy/local-cluster.sh
. "$repo/deploy/local-cluster.sh"

passed=0; failed=0; skipped=0
results=()
tmpfs_dir=""
cleanup() {
  lc_stop >/dev/null 2>&1
  if [ -n "$tmpfs_dir" ]; then umount "$tmpfs_dir" 2>/dev/null; rmdir "$tmpfs_dir" 2>/dev/null; fi
  if [ "$failed" -eq 0 ] && [ "${FAULTS_KEEP:-0}" != 1 ]; then rm -rf "$TAS_RUN_DIR"; else echo "logs: $TAS_RUN_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "[faults $(date +%H:%M:%S)] $*"; }
# Each check that fails adds a line to $problems; a case passes when it has none.
problems=""
problem() { problems+="    - $*"$'\n'; echo "    FAIL: $*"; }
finish_case() {
  local name=$1
  if [ -n "$problems" ]; then failed=$((failed + 1)); results+=("FAILED  $name"$'\n'"$problems")
  else passed=$((passed + 1)); results+=("passed  $name"); fi
  problems=""
}
skip_case() { skipped=$((skipped + 1)); results+=("skipped $1: $2"); say "skip $1: $2"; }

# Without a prerequisite the whole test is one skip (one failure with CI=true).
missing=""
for tool in curl jq python3 dotnet; do command -v "$tool" >/dev/null || missing+=" $tool"; done
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || missing+=" postgresql"
if [ -n "$missing" ]; then
  trap - EXIT; rmdir "$TAS_RUN_DIR" 2>/dev/null
  if [ "${CI:-}" = true ]; then echo "fault test: missing$missing (CI=true: a failure)" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 1; fi
  echo "WARNING: fault test skipped, missing$missing" >&2; echo "0 passed, 0 failed, 1 skipped"; exit 0
fi

# --- REST helpers -----------------------------------------------------------------------------------------
# api METHOD PATH [curl args...]: sets $body and $code (000 when no answer).
api() {
  local method=$1 path=$2 out; shift 2
  out=$(curl -s -m 30 -X "$method" -H "X-Api-Key: $API_KEY" -w '\n%{http_code}' "$@" "$API_URL$path")
  code=${out##*$'\n'}
  body=${out%$'\n'*}
}

job_json() { api GET "/api/v1/jobs/$1"; printf '%s' "$body"; }

# submit_job DATASET EPOCHS: prints the job id.
submit_job() {
  local spec
  spec=$(jq -nc --arg d "$1" --argjson e "$2" '{datasetId: $d,
    model: {kind: "mlp", hidden: [256, 128], maxRank: 64},
    training: {epochs: $e, batchSize: 32, learningRate: 0.001, seed: 1},
    sweep: {rankFractions: [0.5, 1]}}')
  api POST /api/v1/jobs -H 'Content-Type: application/json' -d "$spec"
  [ "$code" = 202 ] || { echo "submit answered $code: $body" >&2; return 1; }
  jq -r .id <<<"$body"
}

# wait_job ID SECONDS [STATUS...]: waits until the job is in one of STATUS (default: a final status).
wait_job() {
  local id=$1 deadline=$((SECONDS + $2)) status; shift 2
  local want=("$@"); [ ${#want[@]} -gt 0 ] || want=(Succeeded Failed Cancelled)
  while [ $SECONDS -lt $deadline ]; do
    status=$(job_json "$id" | jq -r '.status // empty' 2>/dev/null)
    for w in "${want[@]}"; do [ "$status" = "$w" ] && return 0; done
    sleep 1
  done
  return 1
}

# wait_epoch ID EPOCH SECONDS: waits until the job runs and has finished EPOCH epochs.
wait_epoch() {
  local id=$1 epoch=$2 deadline=$((SECONDS + $3)) json
  while [ $SECONDS -lt $deadline ]; do
    json=$(job_json "$id")
    [ "$(jq -r '.status' <<<"$json" 2>/dev/null)" = Running ] && [ "$(jq -r '.progress.epoch' <<<"$json")" -ge "$epoch" ] && return 0
    sleep 0.5
  done
  return 1
}

# worker_of JOB: the number of the worker whose Hangfire server processes JOB now (GET /api/v1/workers, whose
# ids begin with host:pid), or, failing that, the worker whose log has the job's latest epoch line.
worker_of() {
  local pids n pid
  api GET /api/v1/workers
  pids=$(jq -r --arg j "$1" '.[] | select(any(.currentJobs[]?; .jobId == $j)) | .id | split(":")[1]' <<<"$body" 2>/dev/null)
  for pid in $pids; do
    for n in $(seq 1 "$TAS_WORKERS"); do [ "$(lc_pid "worker$n")" = "$pid" ] && { echo "$n"; return 0; }; done
  done
  for n in $(seq 1 "$TAS_WORKERS"); do grep -q "Job $1 epoch" "$TAS_RUN_DIR/worker$n.log" 2>/dev/null && { echo "$n"; return 0; }; done
  return 1
}

# check_job ID EPOCHS: Succeeded, exactly one run (Succeeded), its metrics exactly epochs 1..EPOCHS.
check_job() {
  local id=$1 epochs=$2 json runs run
  json=$(job_json "$id")
  [ "$(jq -r .status <<<"$json")" = Succeeded ] || problem "job $id is $(jq -r '.status + " at epoch " + (.progress.epoch|tostring) + " (" + (.error // "no error") + ")"' <<<"$json"), not Succeeded"
  runs=$(jq -r '.runIds | length' <<<"$json")
  [ "$runs" = 1 ] || problem "job $id has $runs runs, not 1"
  [ "$(lc_psql -c "SELECT count(*) FROM runs WHERE \"JobId\" = '$id'")" = 1 ] || problem "job $id: the database holds $(lc_psql -c "SELECT count(*) FROM runs WHERE \"JobId\" = '$id'") runs"
  run=$(jq -r '.runIds[0] // empty' <<<"$json")
  [ -n "$run" ] || return 0
  api GET "/api/v1/runs/$run"; json=$body
  [ "$(jq -r .status <<<"$json")" = Succeeded ] || problem "run $run of job $id is $(jq -r .status <<<"$json")"
  local got want
  got=$(jq -c '[.metrics[].epoch]' <<<"$json")
  want=$(jq -nc --argjson n "$epochs" '[range(1; $n + 1)]')
  [ "$got" = "$want" ] || problem "run $run of job $id has metric epochs $got, expected $want"
  got=$(lc_psql -c "SELECT count(*) || '/' || count(DISTINCT \"Epoch\") FROM epoch_metrics WHERE \"RunId\" = '$run'")
  [ "$got" = "$epochs/$epochs" ] || problem "run $run: epoch_metrics rows/distinct epochs = $got, expected $epochs/$epochs"
}

# No file under the artifact root without a row, no staged file, no checkpoint left of a finished run.
check_files() {
  local files rows orphans staged ckpt
  files=$(cd "$ARTIFACT_ROOT" && find . -type f ! -path './.staging/*' ! -name '.faults-filler' -printf '%P\n' | sort)
  rows=$(lc_psql -c 'SELECT "Path" FROM artifacts' | sort)
  orphans=$(comm -23 <(echo "$files") <(echo "$rows") | sed '/^$/d')
  [ -z "$orphans" ] || problem "files without an artifacts row: $(echo "$orphans" | head -n 5 | tr '\n' ' ')"
  staged=$(find "$ARTIFACT_ROOT/.staging" -type f 2>/dev/null | head -n 5)
  [ -z "$staged" ] || problem "staged files left: $(echo "$staged" | tr '\n' ' ')"
  ckpt=$(lc_psql -c "SELECT a.\"Path\" FROM artifacts a JOIN runs r ON r.\"Id\" = a.\"RunId\" WHERE a.\"Kind\" = 'checkpoint' AND r.\"Status\" IN ('Succeeded', 'Failed', 'Cancelled')")
  [ -z "$ckpt" ] || problem "checkpoints of finished runs left: $(echo "$ckpt" | head -n 3 | tr '\n' ' ')"
}

# Cancels what a failed case left running so that later cases find both workers free.
cancel_unfinished() {
  local id
  for id in "$@"; do
    [ "$(job_json "$id" | jq -r .status)" = Running ] || [ "$(job_json "$id" | jq -r .status)" = Queued ] || continue
    api POST "/api/v1/jobs/$id/cancel"
    wait_job "$id" 10 || say "job $id did not stop within 10 s of its cancel"
  done
}

ensure_workers() {
  local n
  for n in $(seq 1 "$TAS_WORKERS"); do
    lc_cont_worker "$n" 2>/dev/null
    if ! lc_alive "worker$n"; then
      say "restarting worker $n"; lc_start_worker "$n"
      lc_wait_ready "worker$n" "http://127.0.0.1:$(echo "$WORKER_PORTS" | cut -d, -f"$n")/health/ready" 120 || problem "worker $n did not come back"
    fi
  done
}

# --- data: a small generated CSV (4 classes, 32 features); an epoch of 3000 samples takes 1-2 s ---
make_csv() { # make_csv FILE ROWS SEED
  python3 - "$1" "$2" "$3" <<'EOF'
import random, sys
path, rows, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
with open(path, "w") as f:
    f.write(",".join(f"x{i}" for i in range(32)) + ",label\n")
    for _ in range(rows):
        c = rng.randrange(4)
        f.write(",".join(f"{rng.gauss(c * (i % 4 == c), 1):.4f}" for i in range(32)) + f",c{c}\n")
EOF
}

# --- the cluster ------------------------------------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
  tmpfs_dir=$(mktemp -d /tmp/tas-faults-artifacts.XXXXXX)
  if mount -t tmpfs -o size=48m tmpfs "$tmpfs_dir" 2>/dev/null; then
    export TAS_ARTIFACT_ROOT=$tmpfs_dir
  else
    rmdir "$tmpfs_dir"; tmpfs_dir=""
  fi
fi

say "case startup: migrate, Api and workers started at the same moment on an empty database ($TAS_RUN_DIR)"
if ! lc_start; then
  problem "the cluster did not start (logs in $TAS_RUN_DIR)"; finish_case startup
  printf '%s\n' "${results[@]}"
  echo "$passed passed, $((failed + 1)) failed, $skipped skipped"   # the other cases could not run
  failed=$((failed + 1)); exit 1
fi
lc_load
schema_errors=$(grep -nE '40001|XX000|42703|42P01|42701|42704|could not serialize|could not find tuple|column "updatecount"|Unhandled exception' \
  "$TAS_RUN_DIR"/{migrate,api,worker1,worker2}.log | head -n 10)
[ -z "$schema_errors" ] || problem "schema errors in the logs: $schema_errors"
finish_case startup

data=$TAS_RUN_DIR/data-files; mkdir -p "$data"
make_csv "$data/train.csv" 3000 1; make_csv "$data/test.csv" 400 2
api POST /api/v1/datasets -F name=faults -F format=csv -F data=@"$data/train.csv" -F testData=@"$data/test.csv"
[[ "$code" = 20[01] ]] || { echo "dataset upload answered $code: $body" >&2; echo "$passed passed, $((failed + 1)) failed, $skipped skipped"; failed=1; exit 1; }
dataset=$(jq -r .id <<<"$body")

want() { [ $# -eq 0 ] || [[ " $* " == *" $case "* ]]; }
selected=("$@")

case=spread
if want "${selected[@]}"; then
  say "case spread: 4 jobs of 4 epochs over both workers"
  jobs=(); for i in 1 2 3 4; do jobs+=("$(submit_job "$dataset" 4)") || problem "submit failed"; done
  declare -A seen=()
  deadline=$((SECONDS + 180))
  while [ $SECONDS -lt $deadline ]; do
    for id in "${jobs[@]}"; do w=$(worker_of "$id") && seen[$w]=1; done
    done_count=0
    for id in "${jobs[@]}"; do [[ "$(job_json "$id" | jq -r .status)" =~ ^(Succeeded|Failed|Cancelled)$ ]] && done_count=$((done_count + 1)); done
    [ "$done_count" -eq ${#jobs[@]} ] && break
    sleep 1
  done
  for id in "${jobs[@]}"; do check_job "$id" 4; done
  [ "${#seen[@]}" -ge 2 ] || problem "the jobs ran on ${#seen[@]} worker(s) (${!seen[*]}), not both"
  check_files; cancel_unfinished "${jobs[@]}"
  finish_case spread
fi

case=disk-full
if want "${selected[@]}"; then
  if [ -z "$tmpfs_dir" ]; then
    skip_case disk-full "needs root to mount a tmpfs as the artifact root"
  else
    say "case disk-full: upload onto a full artifact tmpfs"
    make_csv "$data/big.csv" 40000 3    # ~6 MB, more than the space left
    before_rows=$(lc_psql -c 'SELECT count(*) FROM datasets')
    before_files=$(cd "$ARTIFACT_ROOT" && find . -type f ! -name .faults-filler | sort)
    free_kb=$(df -k --output=avail "$ARTIFACT_ROOT" | tail -n 1)
    dd if=/dev/zero of="$ARTIFACT_ROOT/.faults-filler" bs=1k count=$((free_kb > 1024 ? free_kb - 1024 : 0)) status=none 2>/dev/null
    api POST /api/v1/datasets -F name=full -F format=csv -F data=@"$data/big.csv"
    [ "$code" = 507 ] || problem "upload on a full disk answered $code, not 507: $(head -c 300 <<<"$body")"
    [ "$(lc_psql -c 'SELECT count(*) FROM datasets')" = "$before_rows" ] || problem "a dataset row was stored by the failed upload"
    after_files=$(cd "$ARTIFACT_ROOT" && find . -type f ! -name .faults-filler | sort)
    [ "$after_files" = "$before_files" ] || problem "files left by the failed upload: $(comm -13 <(echo "$before_files") <(echo "$after_files") | head -n 3 | tr '\n' ' ')"
    rm -f "$ARTIFACT_ROOT/.faults-filler"
    api POST /api/v1/datasets -F name=after-full -F format=csv -F data=@"$data/big.csv"
    [ "$code" = 201 ] || problem "upload after space returned answered $code, not 201: $(head -c 300 <<<"$body")"
    [ "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "$API_URL/health/ready")" = 200 ] || problem "the Api is not ready after space returned"
    check_files
    # What the failed upload left is this case's failure; remove it so that later cases are not blamed for it.
    rm -f "$ARTIFACT_ROOT"/.staging/*
    finish_case disk-full
  fi
fi

case=sigkill
if want "${selected[@]}"; then
  say "case sigkill: SIGKILL of the worker training a 12-epoch job at epoch 3"
  ensure_workers
  id=$(submit_job "$dataset" 12) || problem "submit failed"
  if ! wait_epoch "$id" 3 120; then problem "job $id did not reach epoch 3: $(job_json "$id" | jq -c '{status, progress}')"
  elif ! w=$(worker_of "$id"); then problem "could not tell which worker runs job $id"
  else
    killed_at=$(job_json "$id" | jq -r .progress.epoch)
    lc_kill_worker "$w"; say "killed worker $w at epoch $killed_at"
    other=$((3 - w))
    wait_job "$id" 120 || problem "job $id not finished 120 s after the kill: $(job_json "$id" | jq -c '{status, progress, attempts}')"
    check_job "$id" 12
    first=$(grep -oE "Job $id epoch [0-9]+/" "$TAS_RUN_DIR/worker$other.log" | head -n 1 | grep -oE '[0-9]+/' | tr -d /)
    if [ -z "$first" ]; then problem "worker $other never trained job $id"
    elif [ "$first" -le 1 ]; then problem "worker $other restarted job $id from epoch 1 instead of its checkpoint"
    else say "worker $other resumed job $id at epoch $first"; fi
  fi
  check_files; cancel_unfinished "$id"; ensure_workers
  finish_case sigkill
fi

case=sigstop
if want "${selected[@]}"; then
  say "case sigstop: SIGSTOP of the worker training a 30-epoch job until the other worker took it over (timeout 5 s), then SIGCONT"
  ensure_workers
  id=$(submit_job "$dataset" 30) || problem "submit failed"
  if ! wait_epoch "$id" 2 120; then problem "job $id did not reach epoch 2"
  elif ! w=$(worker_of "$id"); then problem "could not tell which worker runs job $id"
  else
    lc_stop_worker "$w"; stopped_at=$SECONDS; other=$((3 - w))
    # Continue the paused worker while the other one trains the job: that is when two workers hold it.
    until grep -qE "Job $id (attempt|epoch)" "$TAS_RUN_DIR/worker$other.log" || [ $((SECONDS - stopped_at)) -ge 90 ]; do sleep 0.5; done
    sleep 1
    lc_cont_worker "$w"; say "continued worker $w after $((SECONDS - stopped_at)) s"
    grep -qE "Job $id (attempt|epoch)" "$TAS_RUN_DIR/worker$other.log" || problem "worker $other did not take job $id over within 90 s"
    # Sample the job until it ends: it must never show Queued while its epochs advance.
    samples=""; deadline=$((SECONDS + 120))
    while [ $SECONDS -lt $deadline ]; do
      s=$(job_json "$id" | jq -r '.status + " " + (.progress.epoch|tostring)')
      samples+="$s"$'\n'
      [[ "$s" =~ ^(Succeeded|Failed|Cancelled) ]] && break
      sleep 0.5
    done
    bad=$(awk 'prev_status == "Queued" && $1 == "Queued" && $2 > prev_epoch {print "Queued while epoch went " prev_epoch " -> " $2} {prev_status = $1; prev_epoch = $2}' <<<"$samples" | head -n 1)
    [ -z "$bad" ] || problem "status corrupted after SIGCONT: $bad"
    check_job "$id" 30
  fi
  check_files; cancel_unfinished "$id"; ensure_workers
  finish_case sigstop
fi

case=db-restart
if want "${selected[@]}"; then
  say "case db-restart: PostgreSQL down for 10 s while two 14-epoch jobs train"
  ensure_workers
  a=$(submit_job "$dataset" 14); b=$(submit_job "$dataset" 14)
  wait_epoch "$a" 2 120 && wait_epoch "$b" 1 120 || problem "the jobs did not both start: $(job_json "$a" | jq -c .status) $(job_json "$b" | jq -c .status)"
  probe_log=$TAS_RUN_DIR/db-restart-probes.txt; : >"$probe_log"
  (while :; do
     for p in "/api/v1/jobs/$a" "/api/v1/jobs?limit=5" "/api/v1/datasets/$dataset"; do
       echo "$(date +%s) $(curl -s -o /dev/null -m 10 -w '%{http_code}' -H "X-Api-Key: $API_KEY" "$API_URL$p") $p" >>"$probe_log"
     done
     sleep 0.5
   done) &
  prober=$!
  lc_restart_db 10 || problem "PostgreSQL did not restart"
  sleep 5; kill "$prober" 2>/dev/null; wait "$prober" 2>/dev/null
  # One deadline for both jobs keeps the whole test within CI's time when they never finish.
  deadline=$((SECONDS + 120))
  for id in "$a" "$b"; do
    wait_job "$id" $((deadline - SECONDS > 1 ? deadline - SECONDS : 1)) \
      || problem "job $id not finished 120 s after the restart: $(job_json "$id" | jq -c '{status, progress, attempts, error}')"
  done
  for id in "$a" "$b"; do check_job "$id" 14; done
  codes=$(awk '{print $2}' "$probe_log" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
  say "Api answers during the restart (count code): $codes"
  bad=$(awk '$2 ~ /^5/ && $2 != 503' "$probe_log" | wc -l)
  [ "$bad" -eq 0 ] || problem "$bad requests answered 5xx other than 503 while the database was down ($codes)"
  grep -q ' 503 ' "$probe_log" || problem "no request answered 503 while the database was down ($codes)"
  check_files; cancel_unfinished "$a" "$b"
  finish_case db-restart
fi

echo
echo "Fault tests (issue 11), logs in $TAS_RUN_DIR:"
printf '  %s\n' "${results[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
