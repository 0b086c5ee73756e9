#!/usr/bin/env bash
# Multi-node runs of the paper's scripts: start Ray on each node, then submit the run as a Ray job.
#   bash scripts/ray_multinode.sh head                        # on the head node
#   bash scripts/ray_multinode.sh worker HEAD_IP              # on every other node
#   NNODES=2 bash scripts/ray_multinode.sh submit HEAD_IP scripts/run_corpo_qwen3_8b.sh [hydra overrides]
# Every node needs this package installed (pip install -e '.[vllm]') in the same environment:
# verl finds the CoRPO estimators through the installed entry point in every Ray process.
# Environment: RAY_PORT (6379), DASHBOARD_PORT (8265), NNODES, N_GPUS_PER_NODE, MODEL_PATH, DATA_DIR.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${RAY_PORT:-6379}"
dashboard="${DASHBOARD_PORT:-8265}"
usage() { sed -n '2,8p' "${BASH_SOURCE[0]}"; exit 2; }

case "${1:-}" in
  head)
    ray start --head --port="$port" --dashboard-host=0.0.0.0 --dashboard-port="$dashboard" ;;
  worker)
    [[ -n "${2:-}" ]] || usage
    ray start --address="$2:$port" ;;
  submit)
    [[ -n "${2:-}" && -n "${3:-}" ]] || usage
    head_ip="$2" script="$3"; shift 3
    env_json=$(python -c 'import json, os, sys; print(json.dumps({"env_vars": {k: os.environ[k] for k in sys.argv[1:] if k in os.environ}}))' \
      NNODES N_GPUS_PER_NODE MODEL_PATH DATA_DIR OUT_DIR ROLLOUT_TP)
    ray job submit --address="http://$head_ip:$dashboard" --working-dir="$repo" --runtime-env-json="$env_json" \
      -- bash "$script" "$@" ;;
  *) usage ;;
esac
