#!/usr/bin/env bash
# The paper's run (spec section 5), shared by run_{corpo,grpo,static}_qwen3_8b.sh: sourced, then
# `run_paper ESTIMATOR [hydra overrides]`. The three runs differ only in algorithm.adv_estimator
# (and the experiment name): GRPO runs without std normalisation, like CoRPO, so the baseline is
# the only variable (pass algorithm.norm_adv_by_std_in_grpo=true for verl's default GRPO).
#
# Environment (defaults in brackets):
#   MODEL_PATH [Qwen/Qwen3-8B]   DATA_DIR [$HOME/data/corpo: train.parquet + the 3 val_*.parquet]
#   N_GPUS_PER_NODE [8]   NNODES [1]   OUT_DIR [outputs/paper/<estimator>]
#   ROLLOUT_TP [2] (vLLM tensor parallel)   DRY_RUN=1: print the composed config (YAML) and exit.
#
# Paper settings: Qwen3-8B; 16,384 tokens = 4,096 prompt (two candidate programs, reasoning
# stripped) + 12,288 response (the verifier's reasoning); 8 rollouts per prompt; global batch 512
# prompts (x 8 = 4,096 responses) with ppo_mini_batch_size 512 and one PPO epoch, i.e. exactly one
# policy update per batch of rollouts (strictly on-policy); learning rate 1e-6; FSDP + vLLM;
# validation every 10 steps on the three validation files with 16 samples per prompt.
set -euo pipefail

run_paper() {
  local estimator="$1"; shift
  local repo; repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local model="${MODEL_PATH:-Qwen/Qwen3-8B}"
  local data="${DATA_DIR:-$HOME/data/corpo}"
  local out="${OUT_DIR:-$repo/outputs/paper/$estimator}"
  local python="${PYTHON:-python}"
  local dry=()
  if [[ "${DRY_RUN:-0}" == "1" ]]; then dry=(--cfg job); fi

  local args=(
    algorithm.adv_estimator="$estimator"
    algorithm.norm_adv_by_std_in_grpo=false
    data.train_files="$data/train.parquet"
    data.val_files="[$data/val_code_id.parquet,$data/val_code_ood.parquet,$data/val_math_ood.parquet]"
    data.max_prompt_length=4096 data.max_response_length=12288
    data.filter_overlong_prompts=true
    data.train_batch_size=512
    actor_rollout_ref.model.path="$model"
    actor_rollout_ref.model.use_remove_padding=true
    actor_rollout_ref.model.enable_gradient_checkpointing=true
    actor_rollout_ref.actor.optim.lr=1e-6
    actor_rollout_ref.actor.ppo_mini_batch_size=512
    actor_rollout_ref.actor.ppo_epochs=1
    actor_rollout_ref.actor.use_dynamic_bsz=true
    actor_rollout_ref.actor.ppo_max_token_len_per_gpu=32768
    actor_rollout_ref.actor.use_kl_loss=false
    actor_rollout_ref.actor.strategy=fsdp2
    actor_rollout_ref.actor.fsdp_config.param_offload=false
    actor_rollout_ref.actor.fsdp_config.optimizer_offload=false
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.n=8
    actor_rollout_ref.rollout.temperature=1.0
    actor_rollout_ref.rollout.tensor_model_parallel_size="${ROLLOUT_TP:-2}"
    actor_rollout_ref.rollout.gpu_memory_utilization=0.6
    actor_rollout_ref.rollout.log_prob_use_dynamic_bsz=true
    actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu=32768
    actor_rollout_ref.rollout.val_kwargs.n=16
    actor_rollout_ref.rollout.val_kwargs.do_sample=true
    actor_rollout_ref.rollout.val_kwargs.temperature=0.6
    actor_rollout_ref.rollout.val_kwargs.top_p=0.95
    trainer.n_gpus_per_node="${N_GPUS_PER_NODE:-8}"
    trainer.nnodes="${NNODES:-1}"
    trainer.logger='[console,tensorboard]'
    trainer.project_name=verl_corpo
    trainer.experiment_name="qwen3_8b_$estimator"
    trainer.val_before_train=true
    trainer.test_freq=10
    trainer.save_freq=50
    trainer.total_epochs=1
    trainer.default_local_dir="$out/checkpoints"
  )
  if [[ "${DRY_RUN:-0}" != "1" ]]; then
    mkdir -p "$out"
    export TENSORBOARD_DIR="${TENSORBOARD_DIR:-$out/tensorboard}"
  fi
  "$python" -m recipe.corpo.main_corpo "${args[@]}" "$@" "${dry[@]}"
}
