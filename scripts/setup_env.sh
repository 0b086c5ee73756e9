#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install verl-corpo into it.
#   bash scripts/setup_env.sh                 # CPU: torch 2.13.0 (CPU wheel) + verl[verl-core]==0.9.1 + test tools
#   EXTRAS=test,vllm bash scripts/setup_env.sh   # GPU nodes: also verl's vLLM stack (vllm 0.24.0, CUDA torch)
# VENV (default .venv in the repo) and PYTHON (default python3, 3.10-3.12) can be overridden.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
python="${PYTHON:-python3}"
extras="${EXTRAS:-test}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "[setup] creating $venv with $($python --version)"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
if [[ ",$extras," != *",vllm,"* ]]; then
  # Pinned on purpose: an unpinned torch pulls a multi-GB CUDA build.
  echo "[setup] torch 2.13.0 (CPU)"
  "${pip[@]}" torch==2.13.0
fi
echo "[setup] verl-corpo[$extras] (verl 0.9.1)"
"${pip[@]}" -e "$repo[$extras]"
"$venv/bin/python" -m corpo_advantage.plugin
echo "[setup] done: $venv"
