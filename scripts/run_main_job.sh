#!/usr/bin/env bash
# The main job: CoRPO training through verl's real trainer.
#   - with an NVIDIA GPU and vLLM installed: the paper's run (scripts/run_corpo_qwen3_8b.sh);
#   - otherwise: the embedded tiny default on CPU (scripts/run_corpo_tiny_cpu.sh).
# Extra Hydra overrides pass through. Uses the repo's .venv when it exists.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$repo/.venv/bin/python" ]]; then export PATH="$repo/.venv/bin:$PATH"; fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && python -c "import vllm" >/dev/null 2>&1; then
  echo "[main job] GPU and vLLM found: the paper's run (scripts/run_corpo_qwen3_8b.sh)"
  exec bash "$repo/scripts/run_corpo_qwen3_8b.sh" "$@"
fi
echo "[main job] no GPU/vLLM: the tiny embedded default on CPU (scripts/run_corpo_tiny_cpu.sh)"
exec bash "$repo/scripts/run_corpo_tiny_cpu.sh" "$@"
