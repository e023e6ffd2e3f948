#!/usr/bin/env bash
# Creates a local single-node Kubernetes cluster (kind or k3d), builds the CPU images, loads them
# into the cluster and applies deploy/k8s-local (= deploy/k8s with a CPU worker instead of GPU ones).
#
# Needs: a running Docker engine, kubectl, and kind or k3d. (Not runnable on machines without a
# Docker engine, e.g. the project's build/CI machines.)
#
#   deploy/kind-cluster.sh                 # create/update the cluster, build, load, apply
#   CLUSTER_TOOL=k3d deploy/kind-cluster.sh
#   BUILD_CUDA=1 deploy/kind-cluster.sh    # also build tas-worker-cuda:local (large; kind has no GPUs)
#   deploy/kind-cluster.sh delete          # delete the cluster
#
# Then: kubectl --context "$CONTEXT" -n tas port-forward svc/api 8080:80  ->  http://localhost:8080/swagger
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER_NAME=${CLUSTER_NAME:-tas}
NAMESPACE=tas
if [ -z "${CLUSTER_TOOL:-}" ]; then
  if command -v kind >/dev/null 2>&1; then CLUSTER_TOOL=kind
  elif command -v k3d >/dev/null 2>&1; then CLUSTER_TOOL=k3d
  else echo "Install kind (https://kind.sigs.k8s.io) or k3d (https://k3d.io)." >&2; exit 1
  fi
fi
case "$CLUSTER_TOOL" in
  kind) CONTEXT="kind-$CLUSTER_NAME" ;;
  k3d)  CONTEXT="k3d-$CLUSTER_NAME" ;;
  *) echo "CLUSTER_TOOL must be kind or k3d, not '$CLUSTER_TOOL'." >&2; exit 1 ;;
esac

for tool in docker kubectl "$CLUSTER_TOOL"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required." >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "No Docker engine is running; this script needs one." >&2; exit 1; }

cluster_exists() {
  case "$CLUSTER_TOOL" in
    kind) kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME" ;;
    k3d)  k3d cluster get "$CLUSTER_NAME" >/dev/null 2>&1 ;;
  esac
}

if [ "${1:-}" = "delete" ]; then
  case "$CLUSTER_TOOL" in
    kind) kind delete cluster --name "$CLUSTER_NAME" ;;
    k3d)  k3d cluster delete "$CLUSTER_NAME" ;;
  esac
  exit 0
fi

images=(tas-api:local tas-worker:local)
echo "==> Building images (context: repository root)"
docker build -f deploy/Dockerfile.api -t tas-api:local .
docker build -f deploy/Dockerfile.worker -t tas-worker:local .
if [ "${BUILD_CUDA:-0}" = "1" ]; then
  docker build -f deploy/Dockerfile.worker-cuda -t tas-worker-cuda:local .
  images+=(tas-worker-cuda:local)
fi

if cluster_exists; then
  echo "==> Using existing $CLUSTER_TOOL cluster '$CLUSTER_NAME'"
else
  echo "==> Creating $CLUSTER_TOOL cluster '$CLUSTER_NAME'"
  case "$CLUSTER_TOOL" in
    kind) kind create cluster --name "$CLUSTER_NAME" --wait 120s ;;
    k3d)  k3d cluster create "$CLUSTER_NAME" --wait ;;
  esac
fi

echo "==> Loading images into the cluster"
case "$CLUSTER_TOOL" in
  kind) kind load docker-image --name "$CLUSTER_NAME" "${images[@]}" ;;
  k3d)  k3d image import --cluster "$CLUSTER_NAME" "${images[@]}" ;;
esac

kc() { kubectl --context "$CONTEXT" "$@"; }

# A Job's pod template is immutable and a finished Job never re-runs: delete it so this release's
# migrations run (they are idempotent).
kc -n "$NAMESPACE" delete job migrate --ignore-not-found >/dev/null 2>&1 || true

echo "==> Applying deploy/k8s-local"
kc apply -k deploy/k8s-local

echo "==> Waiting for PostgreSQL, migrations, Api and worker"
kc -n "$NAMESPACE" rollout status statefulset/postgres --timeout=300s
kc -n "$NAMESPACE" wait --for=condition=complete job/migrate --timeout=600s
# Pods loaded from local images may have started before migrations finished; restart them cleanly.
kc -n "$NAMESPACE" rollout restart deploy/api deploy/worker-cpu
kc -n "$NAMESPACE" rollout status deploy/api --timeout=300s
kc -n "$NAMESPACE" rollout status deploy/worker-cpu --timeout=300s

echo
echo "Ready. Open the Api with:"
echo "  kubectl --context $CONTEXT -n $NAMESPACE port-forward svc/api 8080:80"
echo "  http://localhost:8080/swagger   (GET /healthz)"
echo "Scale CPU workers: kubectl --context $CONTEXT -n $NAMESPACE scale deploy/worker-cpu --replicas=2"
