#!/usr/bin/env bash
# Can the experiment tell CoRPO from GRPO? (issue 18; docs/learn_cpu.md). On a CPU, from one shared
# warm start (recipe/corpo/cpu_tasks/learn/): GRPO, the static baseline and CoRPO, 5 seeds each, paired, with
# the ordinal reward and with the binary control, trained by the direct loop (one process per run,
# no Ray; verl's compute_advantage and policy loss, our reward and diagnostics), each final
# checkpoint evaluated as the paper does (T=0.6, top-p 0.95, both orders of every pair); then the
# same task through verl's trainer for one seed per estimator (its curves beside the direct ones);
# then the report (recipe.corpo.cpu_tasks.learn.report):
#   report.md     pre-registered predictions and their verdicts, tables with paired differences
#                 (95% bootstrap intervals over seeds and prompts, Holm), the mechanism, plots
#   results.json  the contract of issue 18
#   runs/<reward>-<estimator>-s<seed>/{run.json,checkpoint/}   verl/<estimator>/ (verl's runs)
#
#   bash scripts/learn_cpu.sh                  # everything (last run: 36 min on the idle 2-core machine, empty cache; docs/learn_cpu.md)
#   SMOKE=1 OUT_DIR=/tmp/x bash scripts/learn_cpu.sh   # the same code path in ~2 min (tiny warm start)
#
# Environment: OUT_DIR [outputs/learn_cpu], SEEDS ["0 1 2 3 4"], ESTIMATORS ["grpo corpo_static corpo"],
# REWARDS ["ordinal binary"], STEPS [100], WORKERS [runs at a time, 2], SAMPLES [per prompt in the final
# evaluation, 16], K [pass@k, 4], VAL_PAIRS [pairs per validation set, all], VERL_STEPS [steps of each
# verl run, 20; 0 skips them], CORPO_LEARN_HOME (the warm start's cache), PYTHON.
set -euo pipefail
started=$(date +%s)
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${PYTHON:-}" && -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; fi
export PYTHON="${PYTHON:-python}"
"$PYTHON" -c "import verl, recipe.corpo.cpu_tasks.learn.direct" 2>/dev/null \
  || { echo "$PYTHON cannot import verl and this package: install it first (scripts/setup_env.sh)" >&2; exit 1; }
out="${OUT_DIR:-$repo/outputs/learn_cpu}"
mkdir -p "$out" && out="$(cd "$out" && pwd)"
warm_args=()
if [[ -n "${SMOKE:-}" ]]; then  # the same code path, small: a barely trained warm start, 2 seeds, 4 steps
  : "${SEEDS:=0 1}" "${STEPS:=4}" "${SAMPLES:=4}" "${K:=2}" "${VAL_PAIRS:=6}" "${VERL_STEPS:=0}"
  warm_args=(--out "$out/warm_start" --steps 30 --calibrate-steps 5)
fi
read -r -a seeds <<<"${SEEDS:-0 1 2 3 4}"
read -r -a estimators <<<"${ESTIMATORS:-grpo corpo_static corpo}"
read -r -a rewards <<<"${REWARDS:-ordinal binary}"
verl_steps="${VERL_STEPS:-20}"

echo "=== the warm start (cached; built once, minutes)"
read -r ws prompt_length max_new_tokens < <("$PYTHON" -m recipe.corpo.cpu_tasks.learn.warm_start "${warm_args[@]}" \
  | "$PYTHON" -c 'import json, sys; s = json.loads(sys.stdin.read()); print(s["path"], s["prompt_length"], s["response_length"])')
echo "    $ws ($(( $(date +%s) - started )) s)"
export OMP_NUM_THREADS=1  # the warm start used every core; the runs take one thread each, WORKERS at a time

echo "=== ${rewards[*]} x ${estimators[*]} x seeds ${seeds[*]}, direct loop (logs: $out/experiment.log)"
val_pairs=()
[[ -n "${VAL_PAIRS:-}" ]] && val_pairs=(--val-pairs "$VAL_PAIRS")
"$PYTHON" -m recipe.corpo.cpu_tasks.learn.experiment --warm-start "$ws" --out "$out" --seeds "${seeds[@]}" \
  --estimators "${estimators[@]}" --rewards "${rewards[@]}" --steps "${STEPS:-100}" --workers "${WORKERS:-2}" \
  --samples "${SAMPLES:-16}" --ks "${K:-4}" --max-new-tokens "$max_new_tokens" "${val_pairs[@]}" \
  2> >(grep --line-buffered -v "Loading weights\|Writing model shards" >"$out/experiment.log")
echo "    done ($(( $(date +%s) - started )) s)"

# verl's trainer on the same task, seed 0 per estimator, ordinal reward: after the direct runs, one at a
# time (each Ray cluster has the machine to itself), each with its own Ray temp folder
verl_run() {
  local estimator="$1" run_dir="$out/verl/$1" ray_tmp rc=0
  ray_tmp="$(mktemp -d /tmp/corpo-learn-ray-XXXXXX)"
  rm -rf "$run_dir"
  OUT_DIR="$run_dir" STEPS="$verl_steps" TIMEOUT_S="${TIMEOUT_S:-2400}" RAY_TMPDIR="$ray_tmp" \
    bash "$repo/scripts/run_corpo_tiny_cpu.sh" \
    algorithm.adv_estimator="$estimator" algorithm.norm_adv_by_std_in_grpo=false \
    data.train_files="$ws/data/train.parquet" data.val_files="[$ws/data/val_code_id.parquet]" \
    data.seed=0 actor_rollout_ref.rollout.seed=0 \
    data.train_batch_size=16 data.max_prompt_length="$prompt_length" data.max_response_length="$max_new_tokens" \
    actor_rollout_ref.model.path="$ws/model" actor_rollout_ref.actor.optim.lr=3e-4 \
    actor_rollout_ref.actor.ppo_mini_batch_size=16 actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=32 \
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=32 \
    actor_rollout_ref.rollout.n=8 actor_rollout_ref.rollout.val_kwargs.n=1 \
    actor_rollout_ref.rollout.val_kwargs.do_sample=True actor_rollout_ref.rollout.val_kwargs.temperature=0.6 \
    actor_rollout_ref.rollout.val_kwargs.top_p=0.95 \
    trainer.val_before_train=True trainer.test_freq=5 trainer.save_freq=-1 \
    trainer.experiment_name="learn-$estimator" "${extra[@]}" >"$run_dir.train.log" 2>&1 || rc=$?
  rm -rf "$ray_tmp"
  (( rc == 0 )) || { echo "verl run $estimator failed: see $run_dir.train.log" >&2; return "$rc"; }
  echo "    verl $estimator done ($(( $(date +%s) - started )) s)"
}
extra=("$@")
if (( verl_steps > 0 )); then
  echo "=== verl's trainer, seed 0 per estimator, $verl_steps steps, ordinal reward (logs: $out/verl/<estimator>.train.log)"
  mkdir -p "$out/verl"
  for estimator in "${estimators[@]}"; do verl_run "$estimator"; done
fi

echo "=== the report"
verl_arg=()
(( verl_steps > 0 )) && verl_arg=(--verl-runs "$out/verl")
"$PYTHON" -m recipe.corpo.cpu_tasks.learn.report --out "$out" "${verl_arg[@]}" --wall-s "$(( $(date +%s) - started ))"
