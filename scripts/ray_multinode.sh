#!/usr/bin/env bash
# Multi-node runs: start Ray on every node, then submit a run script as a Ray job (docs/multinode.md).
#   NODE_IP=10.0.0.1 bash scripts/ray_multinode.sh head [ray start options]             # on the head node
#   NODE_IP=10.0.0.2 bash scripts/ray_multinode.sh worker HEAD_IP [ray start options]   # on every other node
#   bash scripts/ray_multinode.sh status HEAD_IP                                        # the nodes and resources
#   NNODES=2 bash scripts/ray_multinode.sh submit HEAD_IP SCRIPT [hydra overrides]      # a run, as a Ray job
#   bash scripts/ray_multinode.sh stop                                                  # on every node, when done
#
# NODE_IP: the address this node binds and advertises to the others (required). Ray replaces a
#   loopback address (127.0.0.1, localhost, ::1) by the machine's network address when the machine
#   has one (by design, ray-project/ray#26293): the script refuses that case instead of advertising
#   another address than NODE_IP. The one-machine rehearsal keeps 127.0.0.1 inside a network
#   namespace of its own (docs/multinode.md).
# Authentication (Ray's token authentication, on unless RAY_AUTH_MODE=disabled): every node and
#   the submitting machine need the cluster's token, in RAY_AUTH_TOKEN, in the file
#   RAY_AUTH_TOKEN_PATH, or in ~/.ray/auth_token (Ray's default). `head` creates one there when
#   none exists (mode 600) and says where it is; copy that file to the same place on every other
#   node and on the submitting machine. RAY_AUTH_MODE=disabled on every node turns authentication
#   off: only on a network where everyone who can reach the nodes may run code on them.
# Ports: RAY_PORT (6379, the head's GCS), DASHBOARD_PORT (8265, the head's dashboard and job API),
#   RAY_CLIENT_PORT (10001, the head's Ray client server); every other port is chosen by the OS
#   (so several nodes can share a machine); pass fixed ones as ray start options behind a firewall.
# Ray folder (logs, sockets, the cluster address file): ${RAY_TMPDIR:-${TMPDIR:-/tmp}}/ray, Ray's
#   default; give each node on one machine its own RAY_TMPDIR. `stop` stops the processes of the
#   node whose folder that is (nothing else: no `ray stop`) and removes its ray_current_cluster.
# submit: the job's driver runs SCRIPT on the head node with the variables listed in
#   recipe/corpo/launch/ray_env.py (NNODES, N_GPUS_PER_NODE, MODEL_PATH, DATA_DIR, OUT_DIR, STEPS, PYTHON,
#   VERL_PLATFORM, ...) that are set here; recipe.corpo.main_corpo passes those Ray processes need on
#   to every node. Nothing is uploaded: every node needs this package installed (pip install -e .)
#   at the same path, and OUT_DIR, MODEL_PATH and DATA_DIR the same on every node (OUT_DIR on a
#   shared filesystem). NO_WAIT=1 returns once submitted (then `ray job logs -f ID`); PRINT_ONLY=1
#   prints the command instead of running it. PYTHON: the interpreter (default: the repo's .venv,
#   else python on PATH); `ray` is the one beside it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${PYTHON:-}" && -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; fi
python="${PYTHON:-$(command -v python || command -v python3 || true)}"
[[ -n "$python" ]] || { echo "ray_multinode: no python on PATH, set PYTHON" >&2; exit 2; }
ray_cli="$(dirname "$python")/ray"
[[ -x "$ray_cli" ]] || ray_cli="$(command -v ray || true)"
port="${RAY_PORT:-6379}"
dashboard="${DASHBOARD_PORT:-8265}"
client_port="${RAY_CLIENT_PORT:-10001}"
ray_dir="${RAY_TMPDIR:-${TMPDIR:-/tmp}}/ray"
export RAY_AUTH_MODE="${RAY_AUTH_MODE:-token}" RAY_USAGE_STATS_ENABLED="${RAY_USAGE_STATS_ENABLED:-0}"

usage() { sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
say() { echo "[ray_multinode] $*" >&2; }
die() { say "$*"; exit 2; }
run() { if [[ "${PRINT_ONLY:-0}" == "1" ]]; then printf '%q ' "$@"; echo; else "$@"; fi; }
need_ray() { [[ -n "$ray_cli" && -x "$ray_cli" ]] || die "no ray command beside $python or on PATH: install this package (pip install -e .)"; }

# The address Ray will advertise for $1 (it swaps loopback addresses for the machine's own).
check_address() {
  local what="$1" given="$2" resolved
  resolved="$("$python" -c 'import sys; from ray._private.services import resolve_ip_for_localhost as r; print(r(sys.argv[1]))' "$given")"
  [[ "$resolved" == "$given" ]] || die "$what=$given: Ray would use $resolved instead (it replaces loopback addresses by \
this machine's network address). Use that address, or run the one-machine rehearsal inside a network namespace \
of its own, where 127.0.0.1 is the only address (docs/multinode.md)."
}

token_file() { echo "${RAY_AUTH_TOKEN_PATH:-$HOME/.ray/auth_token}"; }
have_token() { [[ -n "${RAY_AUTH_TOKEN:-}" || -s "$(token_file)" ]]; }
need_token() {
  [[ "$RAY_AUTH_MODE" != "token" ]] && return 0
  have_token || die "no Ray authentication token: copy the head node's token file to $(token_file) \
(or set RAY_AUTH_TOKEN_PATH / RAY_AUTH_TOKEN); or RAY_AUTH_MODE=disabled on every node of a trusted network"
}

# A node already running with this Ray folder is refused; a dead one's address file is removed
# (a later ray.init() on this machine would otherwise try to join the dead cluster).
claim_ray_dir() {
  [[ -e "$ray_dir/ray_current_cluster" ]] || return 0
  local pids
  pids="$(cd "$repo" && "$python" -m recipe.corpo.launch.ray_processes list "$ray_dir")"
  [[ -z "$pids" ]] || die "a Ray node already runs with the folder $ray_dir (processes $pids): \
'stop' it, or give this node its own RAY_TMPDIR"
  say "removing $ray_dir/ray_current_cluster, left by a node that is gone"
  rm -f "$ray_dir/ray_current_cluster"
}

need_node_ip() {
  need_ray
  [[ -n "${NODE_IP:-}" ]] || die "set NODE_IP to the address of this node that the other nodes reach"
  check_address NODE_IP "$NODE_IP"
}

start_node() {
  claim_ray_dir
  mkdir -p "$ray_dir"
  # vLLM's engine IPC sockets (left behind when Ray kills an engine) go in this node's folder, not /tmp
  export VLLM_RPC_BASE_PATH="${VLLM_RPC_BASE_PATH:-$ray_dir/vllm_ipc}"
  mkdir -p "$VLLM_RPC_BASE_PATH"
  run "$ray_cli" start --node-ip-address="$NODE_IP" --temp-dir="$ray_dir" \
    --dashboard-agent-listen-port=0 --min-worker-port=0 --max-worker-port=0 "$@"
}

# Waits (up to NODES_WAIT_S, 60 s) until the cluster has $2 live nodes: a worker that just ran
# `ray start` registers with the head a few seconds later, and verl refuses a run it cannot place.
wait_for_nodes() {
  [[ "${PRINT_ONLY:-0}" == "1" || "${DRY_RUN:-0}" == "1" ]] && return 0
  local deadline=$((SECONDS + ${NODES_WAIT_S:-60})) alive=0
  while true; do
    alive="$("$ray_cli" list nodes --address="http://$1:$dashboard" --filter "state=ALIVE" --format json 2>/dev/null \
      | "$python" -c 'import json, sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0)"
    (( alive >= $2 )) && return 0
    (( SECONDS < deadline )) || die "the cluster at $1 has $alive live node(s), the run wants NNODES=$2: start the \
other nodes first (worker $1), check them with: bash scripts/ray_multinode.sh status $1"
    sleep 2
  done
}

case "${1:-}" in
  head)
    shift
    need_node_ip
    if [[ "$RAY_AUTH_MODE" == "token" ]] && ! have_token; then
      file="$(token_file)"
      mkdir -p "$(dirname "$file")"
      (umask 077 && "$python" -c 'import secrets; print(secrets.token_hex(32), end="")' > "$file")
      say "created the cluster's authentication token: $file"
    fi
    start_node --head --port="$port" --dashboard-host="$NODE_IP" --dashboard-port="$dashboard" \
      --ray-client-server-port="$client_port" "$@"
    if [[ "$RAY_AUTH_MODE" == "token" && -n "${RAY_AUTH_TOKEN:-}" ]]; then
      say "token authentication is on: set the same RAY_AUTH_TOKEN on every node and the submitting machine"
    elif [[ "$RAY_AUTH_MODE" == "token" ]]; then
      say "token authentication is on: every worker node and the submitting machine need the token"
      say "  $(token_file): copy it to the same path there (mode 600)"
    else
      say "RAY_AUTH_MODE=$RAY_AUTH_MODE: anyone who reaches $NODE_IP can run code on this cluster"
    fi
    say "next, on every other node: NODE_IP=<its address> bash scripts/ray_multinode.sh worker $NODE_IP" ;;
  worker)
    [[ -n "${2:-}" ]] || usage
    head_ip="$2"; shift 2
    need_node_ip; need_token
    check_address HEAD_IP "$head_ip"
    start_node --address="$head_ip:$port" "$@" ;;
  status)
    [[ -n "${2:-}" ]] || usage
    need_ray; need_token
    check_address HEAD_IP "$2"
    run "$ray_cli" status --address="$2:$port" ;;
  stop)
    run bash -c 'cd "$1" && exec "$2" -m recipe.corpo.launch.ray_processes stop "$3"' _ "$repo" "$python" "$ray_dir"
    run rm -rf "$ray_dir/vllm_ipc" ;;
  submit)
    [[ -n "${2:-}" && -n "${3:-}" ]] || usage
    head_ip="$2" script="$3"; shift 3
    [[ "$script" == /* ]] || script="$repo/$script"
    [[ -f "$script" ]] || die "submit: no such script $script"
    [[ -n "${NNODES:-}" ]] || die "submit: set NNODES to the number of nodes the run uses"
    need_ray; need_token
    wait_for_nodes "$head_ip" "$NNODES"
    export PYTHON="$python"
    mapfile -d '' -t job_env < <(cd "$repo" && "$python" -m recipe.corpo.launch.ray_env)
    no_wait=()
    if [[ "${NO_WAIT:-0}" == "1" ]]; then no_wait=(--no-wait); fi
    run "$ray_cli" job submit --address="http://$head_ip:$dashboard" "${no_wait[@]}" \
      -- env "${job_env[@]}" bash "$script" "$@" ;;
  *) usage ;;
esac
