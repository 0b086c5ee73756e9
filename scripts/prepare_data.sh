#!/usr/bin/env bash
# The whole data chain with the paper's sizes (spec section 4):
#   problems (+ optional generation) -> sandbox labels -> pairs -> four verl parquet files.
#
# Usage:
#   bash scripts/prepare_data.sh PROBLEMS GENERATIONS OUT_DIR [MATH_PROBLEMS MATH_GENERATIONS] [-- pairs flags...]
# Set MODEL=... (and N=8) to generate GENERATIONS (and MATH_GENERATIONS) first with `data_prep generate`.
# Flags after `--` go to `data_prep pairs` (e.g. --seed 1 --tokenizer DIR --max-prompt-tokens 8192);
# LABEL_FLAGS="..." go to `data_prep label` (e.g. "--workers 16 --time-scale 2").
set -euo pipefail

PYTHON="${PYTHON:-python}"
args=()
while [[ $# -gt 0 && "$1" != "--" ]]; do args+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
if [[ ${#args[@]} -ne 3 && ${#args[@]} -ne 5 ]]; then
  sed -n '2,11p' "$0"; exit 2
fi
problems="${args[0]}"; generations="${args[1]}"; out="${args[2]}"
mkdir -p "$out"

if [[ -n "${MODEL:-}" ]]; then
  "$PYTHON" -m data_prep generate --problems "$problems" --model "$MODEL" --n "${N:-8}" --out "$generations"
fi
# shellcheck disable=SC2086
"$PYTHON" -m data_prep label --problems "$problems" --generations "$generations" --out "$out/labelled.parquet" ${LABEL_FLAGS:-}
pairs_inputs=(--labelled "$out/labelled.parquet")
if [[ ${#args[@]} -eq 5 ]]; then
  if [[ -n "${MODEL:-}" ]]; then
    "$PYTHON" -m data_prep generate --problems "${args[3]}" --model "$MODEL" --n "${N:-8}" --out "${args[4]}"
  fi
  "$PYTHON" -m data_prep label --problems "${args[3]}" --generations "${args[4]}" --out "$out/labelled_math.parquet"
  pairs_inputs+=(--math "$out/labelled_math.parquet")
fi
"$PYTHON" -m data_prep pairs "${pairs_inputs[@]}" --out "$out" \
  --train-size 4890 --val-code-id-size 196 --val-code-ood-size 98 --val-math-ood-size 157 "$@"
