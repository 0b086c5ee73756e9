#!/usr/bin/env bash
# Show that it learns, on a CPU: GRPO, the static baseline and CoRPO trained from one shared warm
# start (recipe/corpo/cpu_tasks/learn/), several seeds each, through verl 0.9.1's real trainer
# (scripts/run_corpo_tiny_cpu.sh -> python -m recipe.corpo.main_corpo), validating during
# training; then every final checkpoint (and the warm start) evaluated with recipe.corpo.evaluation.evaluate,
# and one report folder written by recipe.corpo.cpu_tasks.learn.report:
#   report.md                the table (mean ± std over seeds, the paper's columns beside it) and
#                            a summary generated from the numbers
#   results.json             every run's start and end figures, checkpoints, files, wall time
#   plots/*.png              learning curves and diagnostics, mean over seeds per estimator
#   runs/<estimator>-s<seed>/  checkpoints, tensorboard, train.log;  eval/<run>/  scored samples
#
#   bash scripts/learn_cpu.sh                         # everything (about an hour on 2 cores)
#   SEEDS="0" ESTIMATORS="corpo" bash scripts/learn_cpu.sh   # one run (a quick look)
#   bash scripts/learn_cpu.sh actor_rollout_ref.actor.optim.lr=5e-4   # overrides for every run
#
# Environment: OUT_DIR [outputs/learn_cpu], SEEDS ["0 1 2"], ESTIMATORS ["grpo corpo_static corpo"],
# STEPS [training steps per run, 30], PARALLEL [runs at a time, 2], K [pass@k, 16], SWAPPED [samples
# per pair with A and B swapped, for order consistency, 4],
# CORPO_LEARN_HOME (the warm start's cache), TIMEOUT_S [per run, 1800], PYTHON.
set -euo pipefail
started=$(date +%s)
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${PYTHON:-}" && -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; fi
export PYTHON="${PYTHON:-python}"
"$PYTHON" -c "import verl, recipe.corpo.evaluation.evaluate" 2>/dev/null \
  || { echo "$PYTHON cannot import verl and this package: install it first (scripts/setup_env.sh)" >&2; exit 1; }
"$PYTHON" -m recipe.corpo.cpu_backend.cuda_wheels --check >/dev/null \
  || { echo "CUDA builds of torchvision/torchaudio/torchcodec next to the CPU torch would break transformers: run $PYTHON -m recipe.corpo.cpu_backend.cuda_wheels" >&2; exit 2; }
out="${OUT_DIR:-$repo/outputs/learn_cpu}"
mkdir -p "$out" && out="$(cd "$out" && pwd)"
read -r -a seeds <<<"${SEEDS:-0 1 2}"
read -r -a estimators <<<"${ESTIMATORS:-grpo corpo_static corpo}"
steps="${STEPS:-30}"
parallel="${PARALLEL:-2}"
k="${K:-16}"
swapped="${SWAPPED:-4}"

echo "=== the warm start (cached; built once, a few minutes)"
# its folder, and the prompt and answer lengths its tokenizer was checked against
read -r ws prompt_length max_new_tokens < <("$PYTHON" -m recipe.corpo.cpu_tasks.learn.warm_start \
  | "$PYTHON" -c 'import json, sys; s = json.loads(sys.stdin.read()); print(s["path"], s["prompt_length"], s["response_length"])')
data="$ws/data"
val=("$data/val_code_id.parquet" "$data/val_code_ood.parquet" "$data/val_math_ood.parquet")

# One training run: the CPU run script with the learning settings (extra overrides win).
train() {
  local estimator="$1" seed="$2" run_dir="$out/runs/$1-s$2" rc
  local ray_tmp; ray_tmp="$(mktemp -d /tmp/corpo-learn-ray-XXXXXX)"  # this run's own Ray (short path)
  rm -rf "$run_dir"
  OUT_DIR="$run_dir" STEPS="$steps" TIMEOUT_S="${TIMEOUT_S:-1800}" RAY_TMPDIR="$ray_tmp" OMP_NUM_THREADS=1 \
    bash "$repo/scripts/run_corpo_tiny_cpu.sh" \
    algorithm.adv_estimator="$estimator" algorithm.norm_adv_by_std_in_grpo=false \
    data.train_files="$data/train.parquet" data.val_files="[$data/val_code_id.parquet]" \
    data.seed="$seed" actor_rollout_ref.rollout.seed="$seed" \
    data.train_batch_size=16 data.max_prompt_length="$prompt_length" data.max_response_length="$max_new_tokens" \
    actor_rollout_ref.model.path="$ws/model" \
    actor_rollout_ref.actor.optim.lr=2e-4 \
    actor_rollout_ref.actor.ppo_mini_batch_size=16 actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=32 \
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=32 \
    actor_rollout_ref.rollout.n=8 actor_rollout_ref.rollout.val_kwargs.n=1 \
    'actor_rollout_ref.actor.checkpoint.save_contents=[model,hf_model]' \
    trainer.val_before_train=True trainer.test_freq=5 \
    trainer.experiment_name="learn-$estimator-s$seed" \
    "${extra[@]}" >"$run_dir.train.log" 2>&1 || rc=$?
  rm -rf "$ray_tmp"
  return "${rc:-0}"
}

# evaluate NAME MODEL: k samples per validation prompt and SWAPPED per pair with A and B swapped
# (order consistency), sampled as training validates (temperature 1, top-p 1, its prompt filter),
# scored (recipe.corpo.evaluation.evaluate)
evaluate() {
  mkdir -p "$out/eval/$1"
  OMP_NUM_THREADS=1 "$PYTHON" -m recipe.corpo.evaluation.evaluate --model "$2" --val-files "${val[@]}" --run "$1" --k "$k" \
    --swapped-samples-per-prompt "$swapped" --max-prompt-length "$prompt_length" \
    --max-new-tokens "$max_new_tokens" --temperature 1.0 --top-p 1.0 --backend transformers --out "$out/eval/$1" \
    >"$out/eval/$1.log" 2>&1
}

# run up to $parallel of the queued commands at a time; fail when one fails (naming its log)
pids=() names=()
reap() {
  local i
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      wait "${pids[$i]}" || { echo "${names[$i]} failed: see its log (above)" >&2; exit 1; }
      echo "[$(date +%T), $(( $(date +%s) - started )) s] done: ${names[$i]}"
      unset 'pids[i]' 'names[i]'
    fi
  done
}
queue() {  # queue NAME COMMAND...
  while (( ${#pids[@]} >= parallel )); do sleep 2; reap; done
  echo "[$(date +%T), $(( $(date +%s) - started )) s] started: $1"
  "${@:2}" & pids+=($!) names+=("$1")
}
drain() { while (( ${#pids[@]} > 0 )); do sleep 2; reap; done; }

# one run: train, then evaluate its final checkpoint
run() {
  train "$1" "$2" && evaluate "$1-s$2" "$out/runs/$1-s$2/checkpoints/global_step_$steps/actor/huggingface"
}

extra=("$@")
mkdir -p "$out/runs" "$out/eval"
echo "=== ${estimators[*]} x seeds ${seeds[*]}: $steps training steps each, then evaluation ($k samples per validation prompt); $parallel at a time"
echo "    logs: $out/runs/<estimator>-s<seed>.train.log, $out/eval/<estimator>-s<seed>.log"
queue "evaluating the warm start ($out/eval/warm_start.log)" evaluate warm_start "$ws/model"
for seed in "${seeds[@]}"; do
  for estimator in "${estimators[@]}"; do
    queue "$estimator seed $seed (logs: $out/runs/$estimator-s$seed.train.log, $out/eval/$estimator-s$seed.log)" run "$estimator" "$seed"
  done
done
drain

echo "=== the report"
"$PYTHON" -m recipe.corpo.cpu_tasks.learn.report --out "$out" --warm-start "$ws" --k "$k" --steps "$steps" \
  --max-new-tokens "$max_new_tokens" --seeds "${seeds[@]}" --estimators "${estimators[@]}" \
  --wall-s "$(( $(date +%s) - started ))"
