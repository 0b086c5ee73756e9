#!/usr/bin/env bash
# The paper's whole chain in miniature on a CPU: the tiny default's data, GRPO / static / CoRPO
# training runs through verl's real trainer, the pass@16 table and the diagnostics plots, all under
# ${OUT_DIR:-outputs/reproduce_tiny}. It proves the chain fits together: a 106k-parameter random
# model trained for a few steps is NOT expected to reproduce the paper's numbers.
# Environment: OUT_DIR, STEPS (default 3), K (default 16), PYTHON.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${PYTHON:-}" && -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; fi
export PYTHON="${PYTHON:-python}"
out="${OUT_DIR:-$repo/outputs/reproduce_tiny}"
mkdir -p "$out" && out="$(cd "$out" && pwd)"
steps="${STEPS:-3}"
k="${K:-16}"
tiny="$("$PYTHON" -c 'from recipe.corpo.tiny_default import ensure; print(ensure())' | tail -n 1)"
val=("$tiny/data/val_code_id.parquet" "$tiny/data/val_code_ood.parquet" "$tiny/data/val_math_ood.parquet")

declare -A names=([grpo]=GRPO [corpo_static]=Static [corpo]=CoRPO)
runs=()
samples=()
for estimator in grpo corpo_static corpo; do
  name="${names[$estimator]}"
  run_dir="$out/runs/$estimator"
  echo "=== [$name] training $steps steps"
  OUT_DIR="$run_dir" STEPS="$steps" bash "$repo/scripts/run_corpo_tiny_cpu.sh" \
    algorithm.adv_estimator="$estimator" trainer.test_freq=1 >"$out/$estimator.train.log" 2>&1 \
    || { echo "training $name failed: see $out/$estimator.train.log"; exit 1; }
  echo "=== [$name] merging the checkpoint and sampling $k answers per validation prompt"
  "$PYTHON" -m verl.model_merger merge --backend fsdp \
    --local_dir "$run_dir/checkpoints/global_step_$steps/actor" --target_dir "$run_dir/merged" >/dev/null
  "$PYTHON" -m recipe.corpo.evaluate --model "$run_dir/merged" --val-files "${val[@]}" --run "$name" \
    --k "$k" --max-new-tokens 24 --temperature 1.0 --backend transformers --out "$out/eval" >/dev/null
  runs+=(--run "$name=$run_dir/tensorboard")
  samples+=("$out/eval/$name.samples.jsonl")
done

"$PYTHON" -m recipe.corpo.results_table --samples "${samples[@]}" --k "$k" --out "$out" >/dev/null
"$PYTHON" -m recipe.corpo.plot_diagnostics "${runs[@]}" --out "$out/plots" >/dev/null
cat "$out/pass_at_$k.md"
echo
echo "Table: $out/pass_at_$k.md, $out/pass_at_$k.csv; plots: $out/plots/*.png; runs: $out/runs/"
echo "NOTE: a tiny random model trained for $steps steps is not expected to reproduce the paper's numbers;"
echo "      this run only shows that data, training, evaluation and plotting fit together."
