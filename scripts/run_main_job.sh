#!/usr/bin/env bash
# The main job: CoRPO training through verl's real trainer.
#   - on a machine with an NVIDIA GPU: the paper's run (scripts/run_corpo_qwen3_8b.sh), whose
#     preflight stops in seconds with what is missing (data, model, GPUs, vLLM, flash-attn) and how
#     to get it;
#   - otherwise: the embedded tiny default on CPU (scripts/run_corpo_tiny_cpu.sh).
# MAIN_JOB=paper or MAIN_JOB=tiny chooses explicitly. Extra Hydra overrides pass through. Uses the
# repo's .venv when it exists.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$repo/.venv/bin/python" ]]; then export PATH="$repo/.venv/bin:$PATH"; fi
job="${MAIN_JOB:-}"
if [[ -z "$job" ]]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    job=paper reason="nvidia-smi lists a GPU"
  else
    job=tiny reason="no NVIDIA GPU (nvidia-smi $(command -v nvidia-smi >/dev/null 2>&1 && echo 'lists none' || echo 'not found'))"
  fi
else
  reason="MAIN_JOB=$job"
fi
case "$job" in
  paper)
    echo "[main job] $reason: the paper's run (scripts/run_corpo_qwen3_8b.sh)"
    exec bash "$repo/scripts/run_corpo_qwen3_8b.sh" "$@" ;;
  tiny)
    echo "[main job] $reason: the tiny embedded default on CPU (scripts/run_corpo_tiny_cpu.sh; MAIN_JOB=paper for the paper's run)"
    exec bash "$repo/scripts/run_corpo_tiny_cpu.sh" "$@" ;;
  *)
    echo "[main job] MAIN_JOB=$job: expected paper or tiny" >&2
    exit 2 ;;
esac
