#!/usr/bin/env bash
# Benchmark entry point (issue 3). Examples:
#   ./bench.sh noisy   --data ../shared/data/fashion-mnist --noise sym:0.5 --epochs 10 --json noisy.json
#   ./bench.sh maestro --data ../shared/data/fashion-mnist --epochs 10 --json maestro.json
# Builds bench/Bench in Release into its own artifacts folder (BENCH_ARTIFACTS) and runs it.
set -euo pipefail
# On a shared machine, sleeping (not spinning) OpenMP workers keep libtorch from collapsing under contention.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
artifacts="${BENCH_ARTIFACTS:-/tmp/bench-artifacts}"
dotnet build "$root/bench/Bench/Bench.csproj" -c Release -p:ArtifactsPath="$artifacts" -nologo -v quiet >&2
exec dotnet "$artifacts/bin/Bench/release_linux-x64/Bench.dll" "$@"
