#!/usr/bin/env bash
# Time per training step of the tiny CoRPO run at world size 1 and 2, measured in one run on the
# one-machine rehearsal cluster: two Ray nodes on 127.0.0.1 (scripts/ray_multinode.sh, one fake GPU
# each) in a network namespace of its own (docs/multinode.md). The same job is submitted with
# NNODES=1 (one FSDP rank, one rollout server) and NNODES=2 (one of each per node), ROUNDS times in
# turn; each run's verl timings come from its tensorboard log, step 1 (warm-up) left out.
#   bash scripts/bench/bench_multinode.sh                 # STEPS=5 per run, ROUNDS=1
# Environment: STEPS, ROUNDS, OUT_DIR (default outputs/bench_multinode: runs/, logs), PYTHON.
# Needs unshare (util-linux), ip (iproute2) and user namespaces (or root). On a CPU every "node" shares
# the same cores: the table shows what splitting a step over two ranks and two nodes costs, not a speed-up.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ "${CORPO_IN_LOOPBACK_NAMESPACE:-0}" != "1" ]]; then
  exec unshare --net --map-root-user -- env CORPO_IN_LOOPBACK_NAMESPACE=1 bash "${BASH_SOURCE[0]}" "$@"
fi
ip link set lo up
if [[ -z "${PYTHON:-}" && -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; fi
export PYTHON="${PYTHON:-python}"
steps="${STEPS:-5}" rounds="${ROUNDS:-1}"
out="${OUT_DIR:-$repo/outputs/bench_multinode}"
mkdir -p "$out" && out="$(cd "$out" && pwd)"
cluster="$(mktemp -d /tmp/corpo-bench-XXXXXX)"  # short: Ray's socket paths must fit 107 characters
export NODE_IP=127.0.0.1 RAY_AUTH_TOKEN_PATH="$cluster/auth_token"
multinode() { bash "$repo/scripts/ray_multinode.sh" "$@"; }
stop_cluster() {
  RAY_TMPDIR="$cluster/worker" multinode stop || true
  RAY_TMPDIR="$cluster/head" multinode stop || true
  rm -rf "$cluster"
}
trap stop_cluster EXIT

node_options=(--num-cpus=8 --num-gpus=1)
echo "[bench] starting a two-node Ray cluster on 127.0.0.1 (logs: $out/head.log, $out/worker.log)"
RAY_TMPDIR="$cluster/head" multinode head "${node_options[@]}" >"$out/head.log" 2>&1
RAY_TMPDIR="$cluster/worker" multinode worker 127.0.0.1 "${node_options[@]}" >"$out/worker.log" 2>&1
runs=()
for round in $(seq "$rounds"); do
  for world_size in 1 2; do
    name="ws${world_size}_round${round}"
    echo "[bench] $name: NNODES=$world_size, $steps steps (log: $out/$name.log)"
    rm -rf "$out/runs/$name"
    NNODES="$world_size" STEPS="$steps" OUT_DIR="$out/runs/$name" \
      multinode submit 127.0.0.1 scripts/run_corpo_tiny_cpu.sh >"$out/$name.log" 2>&1 \
      || { echo "[bench] $name failed: see $out/$name.log" >&2; exit 1; }
    runs+=("$name=$out/runs/$name/tensorboard")
  done
done

cd "$repo" && "$PYTHON" - "${runs[@]}" <<'EOF'
import statistics
import sys

from recipe.corpo.reports.plot_diagnostics import read_scalars

PARTS = ("timing_s/step", "timing_s/gen", "timing_s/old_log_prob", "timing_s/update_actor", "timing_s/update_weights")
times = {1: {part: [] for part in PARTS}, 2: {part: [] for part in PARTS}}
for item in sys.argv[1:]:
    name, folder = item.split("=", 1)
    scalars = read_scalars(folder)
    for part in PARTS:
        times[int(name[2])][part] += [value for step, value in sorted(scalars[part].items()) if step > 1]
print(f"\nmedian seconds over steps 2.. ({len(times[1]['timing_s/step'])} steps per world size)\n")
print("| verl timing | world size 1 | world size 2 | ratio |")
print("|---|---|---|---|")
for part in PARTS:
    one, two = statistics.median(times[1][part]), statistics.median(times[2][part])
    print(f"| `{part}` | {one:.2f} | {two:.2f} | {two / one:.2f} |")
EOF
