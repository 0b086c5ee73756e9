#!/usr/bin/env bash
# Multi-node runs of the paper's scripts: start Ray on each node, then submit the run as a Ray job.
#   bash scripts/ray_multinode.sh head                        # on the head node
#   bash scripts/ray_multinode.sh worker HEAD_IP              # on every other node
#   NNODES=2 bash scripts/ray_multinode.sh submit HEAD_IP scripts/run_corpo_qwen3_8b.sh [hydra overrides]
#   bash scripts/ray_multinode.sh stop                        # on every node, when done
# Every node needs this package installed (pip install -e '.[vllm]') in the environment that runs
# `ray start`: verl finds the CoRPO estimators through the installed entry point in every Ray
# process. MODEL_PATH, DATA_DIR and OUT_DIR must be the same paths on every node, OUT_DIR on a
# shared filesystem: every rank writes its checkpoint shard there, and the trainer (tensorboard
# logs) may run on any node. The job's driver runs SCRIPT on the head node; verl's ray.init joins
# the running cluster. Nothing is uploaded (no --working-dir): the installed package is used.
# Environment: RAY_PORT (6379), DASHBOARD_PORT (8265); for submit: NNODES (required),
# N_GPUS_PER_NODE, MODEL_PATH, DATA_DIR, OUT_DIR, ROLLOUT_TP, DRY_RUN (see scripts/paper_common.sh),
# PYTHON (default: the python on PATH) are passed to the job; NO_WAIT=1 returns once submitted
# (then `ray job logs -f JOB_ID`). PRINT_ONLY=1 prints the command instead of running it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${RAY_PORT:-6379}"
dashboard="${DASHBOARD_PORT:-8265}"
usage() { sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
run() { if [[ "${PRINT_ONLY:-0}" == "1" ]]; then printf '%q ' "$@"; echo; else "$@"; fi; }

case "${1:-}" in
  head)
    run ray start --head --port="$port" --dashboard-host=0.0.0.0 --dashboard-port="$dashboard" ;;
  worker)
    [[ -n "${2:-}" ]] || usage
    run ray start --address="$2:$port" ;;
  stop)
    run ray stop ;;
  submit)
    [[ -n "${2:-}" && -n "${3:-}" ]] || usage
    head_ip="$2" script="$3"; shift 3
    [[ "$script" == /* ]] || script="$repo/$script"
    [[ -f "$script" ]] || { echo "submit: no such script $script" >&2; exit 2; }
    [[ -n "${NNODES:-}" ]] || { echo "submit: set NNODES to the number of nodes in the cluster" >&2; exit 2; }
    python="${PYTHON:-$(command -v python || true)}"
    [[ -n "$python" ]] || { echo "submit: no python on PATH, set PYTHON" >&2; exit 2; }
    env_json="$(PYTHON="$python" "$python" -c 'import json, os, sys
print(json.dumps({"env_vars": {k: os.environ[k] for k in sys.argv[1:] if os.environ.get(k)}}))' \
      NNODES N_GPUS_PER_NODE MODEL_PATH DATA_DIR OUT_DIR ROLLOUT_TP DRY_RUN PYTHON)"
    no_wait=()
    if [[ "${NO_WAIT:-0}" == "1" ]]; then no_wait=(--no-wait); fi
    run ray job submit --address="http://$head_ip:$dashboard" --runtime-env-json="$env_json" "${no_wait[@]}" \
      -- bash "$script" "$@" ;;
  *) usage ;;
esac
