#!/usr/bin/env bash
# Load benchmark of the variant-selection endpoint against a trivial endpoint (/healthz) of the same process,
# in the same run, with wrk on loopback. Starts the Api on the embedded default in a temporary folder, trains a
# small run on samples/fashion-mnist-small (its variants are exported and timed by the worker), then loads
#   GET /healthz                                                  (baseline)
#   GET /api/v1/runs/{run}/variants/select?device=…&latencyBudgetMs=…
# Usage: bench/select-load.sh [--duration SECONDS] [--connections N] [--threads N] [--json OUT.json]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=15; connections=16; threads=1; json=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2;;
    --connections) connections=$2; shift 2;;
    --threads) threads=$2; shift 2;;
    --json) json=$2; shift 2;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Api -c Release -nologo -clp:ErrorsOnly >/dev/null
api_dll=$(ls artifacts/bin/Api/release*/Api.dll | head -n 1)
data=$(mktemp -d /tmp/tas-select-bench.XXXXXX)
port=$((30000 + RANDOM % 20000))
base="http://127.0.0.1:$port"
# Every call carries an API key (the bootstrap admin key), the trivial endpoint's too, so both pay for its check.
key="tsk_bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
auth=(-H "X-Api-Key: $key")
Storage__DataDirectory="$data" ASPNETCORE_URLS="$base" Grpc__Port=$((port + 1)) Logging__LogLevel__Default=Warning Auth__BootstrapKey="$key" \
  dotnet "$api_dll" >"$data/api.log" 2>&1 &
api_pid=$!
trap 'kill $api_pid 2>/dev/null || true; wait $api_pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.5; done

s=samples/fashion-mnist-small
dataset=$(curl -sf "${auth[@]}" -X POST "$base/api/v1/datasets" -F name=bench -F format=idx \
  -F images=@$s/train-images-idx3-ubyte.gz -F labels=@$s/train-labels-idx1-ubyte.gz \
  -F testImages=@$s/t10k-images-idx3-ubyte.gz -F testLabels=@$s/t10k-labels-idx1-ubyte.gz | grep -oE '"id":"[^"]+"' | head -1 | cut -d'"' -f4)
job=$(curl -sf "${auth[@]}" -X POST "$base/api/v1/jobs" -H 'Content-Type: application/json' \
  -d "{\"datasetId\":\"$dataset\",\"model\":{\"kind\":\"mlp\",\"hidden\":[256,128],\"maxRank\":64},\"training\":{\"epochs\":2,\"batchSize\":128,\"learningRate\":0.001,\"seed\":1}}" \
  | grep -oE '"id":"[^"]+"' | head -1 | cut -d'"' -f4)
for _ in $(seq 1 600); do
  status=$(curl -sf "${auth[@]}" "$base/api/v1/jobs/$job" | grep -oE '"status":"[A-Za-z]+"' | cut -d'"' -f4)
  [ "$status" = Succeeded ] && break
  [ "$status" = Failed ] || [ "$status" = Cancelled ] && { echo "job $status" >&2; cat "$data/api.log" >&2; exit 1; }
  sleep 1
done
run=$(curl -sf "${auth[@]}" "$base/api/v1/jobs/$job" | grep -oE '"runIds":\["[^"]+"' | cut -d'"' -f4)
device=$(curl -sf "${auth[@]}" "$base/api/v1/devices" | grep -oE '"name":"[^"]+"' | head -1 | cut -d'"' -f4)
# A budget in the middle of the measured latencies, so the selection has to compare.
budget=$(curl -sf "${auth[@]}" "$base/api/v1/runs/$run/variants?device=$device" | grep -oE '"ms":[0-9.eE+-]+' | cut -d: -f2 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
select_url="$base/api/v1/runs/$run/variants/select?device=$device&latencyBudgetMs=$budget"
curl -sf "${auth[@]}" "$select_url" >/dev/null || { echo "selection failed: $select_url" >&2; exit 1; }

measure() { # url -> "rps p50_ms p99_ms"
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "${auth[@]}" "$1" 2>/dev/null | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ {p50=ms($2)} /^ +99%/ {p99=ms($2)} /^Requests\/sec/ {rps=$2}
    END {printf "%s %.3f %.3f", rps, p50, p99}'
}
curl -sf "$base/healthz" >/dev/null
wrk -t1 -c4 -d3s "${auth[@]}" "$select_url" >/dev/null 2>&1 || true   # warm-up (JIT, connection pools)
wrk -t1 -c4 -d3s "${auth[@]}" "$base/healthz" >/dev/null 2>&1 || true
read -r base_rps base_p50 base_p99 <<<"$(measure "$base/healthz")"
read -r sel_rps sel_p50 sel_p99 <<<"$(measure "$select_url")"
ratio=$(awk -v a="$sel_rps" -v b="$base_rps" 'BEGIN {printf "%.2f", a/b}')

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $cpu, $(nproc) cores; wrk -t$threads -c$connections -d${duration}s on loopback; Api on SQLite (embedded default)"
printf '%-12s %12s %10s %10s\n' endpoint "requests/s" "p50 ms" "p99 ms"
printf '%-12s %12s %10s %10s\n' healthz "$base_rps" "$base_p50" "$base_p99"
printf '%-12s %12s %10s %10s\n' select "$sel_rps" "$sel_p50" "$sel_p99"
echo "selection / trivial throughput: $ratio"
if [ -n "$json" ]; then
  printf '{"machine":"%s","cores":%d,"wrk":{"threads":%d,"connections":%d,"seconds":%d},"trivial":{"rps":%s,"p50Ms":%s,"p99Ms":%s},"select":{"rps":%s,"p50Ms":%s,"p99Ms":%s},"ratio":%s}\n' \
    "$cpu" "$(nproc)" "$threads" "$connections" "$duration" "$base_rps" "$base_p50" "$base_p99" "$sel_rps" "$sel_p50" "$sel_p99" "$ratio" > "$json"
fi
