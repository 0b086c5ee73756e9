#!/usr/bin/env bash
# The paper's whole chain in miniature on a CPU: the tiny default's data and model
# (recipe/corpo/cpu_tasks/tiny_default.py), GRPO / static / CoRPO training runs through verl's real trainer
# (scripts/run_corpo_tiny_cpu.sh), the evaluation of each final checkpoint (its verl FSDP shards
# merged by verl's model_merger, 16 samples per validation prompt), the pass@16 table and the
# diagnostics plots, all under ${OUT_DIR:-outputs/reproduce_tiny}:
#   pass_at_16.md, .csv, .json         the paper's table, one column group per run (pass@16, pass@1,
#                                       order consistency, Brier score)
#   plots/*.png                         the diagnostics per training step, one line per run
#   runs/<estimator>/                   checkpoints, tensorboard logs; <estimator>.train.log
#   eval/<Run>.samples.jsonl            every scored sample; eval/<Run>.log
# It proves the chain fits together: a ~100k-parameter model trained for a few steps is NOT
# expected to reproduce the paper's numbers.
# Environment: OUT_DIR, STEPS (training steps per run, default 3), K (default 16), PYTHON.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${PYTHON:-}" && -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; fi
export PYTHON="${PYTHON:-python}"
"$PYTHON" -c "import verl, recipe.corpo.evaluation.evaluate" 2>/dev/null \
  || { echo "$PYTHON cannot import verl and this package: install it first (scripts/setup_env.sh)" >&2; exit 1; }
out="${OUT_DIR:-$repo/outputs/reproduce_tiny}"
mkdir -p "$out" && out="$(cd "$out" && pwd)"
steps="${STEPS:-3}"
k="${K:-16}"
tiny="$("$PYTHON" -c 'from recipe.corpo.cpu_tasks.tiny_default import ensure; print(ensure())' | tail -n 1)"
val=("$tiny/data/val_code_id.parquet" "$tiny/data/val_code_ood.parquet" "$tiny/data/val_math_ood.parquet")

runs=()
samples=()
for run in grpo:GRPO corpo_static:Static corpo:CoRPO; do
  estimator="${run%%:*}" name="${run#*:}"
  run_dir="$out/runs/$estimator"
  echo "=== [$name] training $steps steps (algorithm.adv_estimator=$estimator; log: $out/$estimator.train.log)"
  rm -rf "$run_dir"
  OUT_DIR="$run_dir" STEPS="$steps" bash "$repo/scripts/run_corpo_tiny_cpu.sh" \
    algorithm.adv_estimator="$estimator" trainer.test_freq=1 \
    >"$out/$estimator.train.log" 2>&1 \
    || { echo "training $name failed: see $out/$estimator.train.log" >&2; exit 1; }
  echo "=== [$name] evaluating checkpoints/global_step_$steps: $k samples per validation prompt (log: $out/eval/$name.log)"
  mkdir -p "$out/eval"
  # --max-prompt-length: the tiny run's data.max_prompt_length; --restart: a fresh checkpoint, fresh samples
  "$PYTHON" -m recipe.corpo.evaluation.evaluate --model "$run_dir/checkpoints/global_step_$steps" --val-files "${val[@]}" \
    --run "$name" --k "$k" --max-new-tokens 24 --temperature 1.0 --max-prompt-length 256 --backend transformers \
    --restart --out "$out/eval" \
    >"$out/eval/$name.log" 2>&1 \
    || { echo "evaluating $name failed: see $out/eval/$name.log" >&2; exit 1; }
  runs+=(--run "$name=$run_dir/tensorboard")
  samples+=("$out/eval/$name.samples.jsonl")
done

echo "=== the table and the plots"
"$PYTHON" -m recipe.corpo.reports.results_table --samples "${samples[@]}" --k "$k" --out "$out" >/dev/null
"$PYTHON" -m recipe.corpo.reports.plot_diagnostics "${runs[@]}" --out "$out/plots" >/dev/null
cat "$out/pass_at_$k.md"
echo
echo "Table: $out/pass_at_$k.md, .csv, .json; plots: $out/plots/*.png; runs: $out/runs/"
echo "NOTE: a tiny random model trained for $steps steps on CPU is NOT expected to reproduce the paper's"
echo "      numbers (the paper columns); this run only shows that data, training, evaluation and"
echo "      plotting fit together. The paper's runs: scripts/run_{grpo,static,corpo}_qwen3_8b.sh."
