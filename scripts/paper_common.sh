#!/usr/bin/env bash
# The paper's run (spec section 5), shared by run_{corpo,grpo,static}_qwen3_8b.sh: sourced, then
# `run_paper ESTIMATOR [hydra overrides]`. The three runs differ only in algorithm.adv_estimator
# and in the names and folders derived from it (experiment name, checkpoints, tensorboard). GRPO
# runs without std normalisation, like CoRPO, so the baseline is the only variable (pass
# algorithm.norm_adv_by_std_in_grpo=true for verl's default GRPO).
#
# Environment (defaults in brackets):
#   MODEL_PATH [Qwen/Qwen3-8B]   DATA_DIR [$HOME/data/corpo: train.parquet + the 3 val_*.parquet]
#   N_GPUS_PER_NODE [8]   NNODES [1]   ROLLOUT_TP [2] (vLLM tensor parallel size)
#   OUT_DIR [<repo>/outputs/paper/<estimator>]: checkpoints/ and tensorboard/ (on a shared
#     filesystem for multi-node runs: every rank writes its checkpoint shard there)
#   ATTN_IMPL [flash_attention_2]: the actor's attention kernel (needs flash-attn installed;
#     `sdpa` is PyTorch's own: nothing to install, slower on long packed sequences)
#   PYTHON [python]   DRY_RUN=1: print the fully composed, resolved config (YAML) and exit 0,
#     without starting Ray (Hydra's `--cfg job --resolve`) and without the preflight.
#   PREFLIGHT [1]: before starting Ray, `python -m recipe.corpo.launch.preflight` checks the data files,
#     the model, NNODES x N_GPUS_PER_NODE GPUs, vLLM and the attention kernel, and stops in
#     seconds with what is missing and how to get it (PREFLIGHT=0 skips it).
#
# Paper settings and how they map to verl 0.9.1:
#   - 16,384 tokens = data.max_prompt_length 4,096 (problem + two candidates, reasoning stripped)
#     + data.max_response_length 12,288 (the verifier's reasoning and its \boxed{vA, vB});
#     over-long prompts are dropped (filter_overlong_prompts), never silently truncated.
#   - global batch 512 = data.train_batch_size 512 prompts, x rollout.n 8 = 4,096 responses per
#     step; actor.ppo_mini_batch_size is counted in prompts too (verl multiplies it by rollout.n),
#     so 512 with ppo_epochs 1 is exactly one policy update per batch of rollouts: strictly
#     on-policy. (If your reading of "512" is responses, pass data.train_batch_size=64
#     actor_rollout_ref.actor.ppo_mini_batch_size=64.)
#   - learning rate 1e-6; FSDP2 + vLLM; no KL (use_kl_loss=false, no reference model).
#   - validation before training and every 5 steps on the three validation files, 16 samples per
#     prompt (temperature 0.6, top-p 0.95): verl logs val-core/<data_source>/acc/mean@16.
#   - checkpoints every 5 steps and at the end, with the full Hugging Face model in
#     checkpoints/global_step_N/actor/huggingface (save_contents hf_model): what
#     `python -m recipe.corpo.evaluation.evaluate --model` takes. Qwen3-8B has 8,190,735,360 parameters: a
#     checkpoint is 32.8 GB of fp32 weights + 65.5 GB of Adam moments (sharded) + the Hugging Face
#     copy, written by verl in the fp32 of the trained weights (32.8 GB): 131 GB. Only the latest is
#     kept (trainer.max_actor_ckpt_to_keep=1; the recipe deletes the previous folder once the new
#     one is complete, docs/resume.md: 262 GB at the peak of a save).
#   - entropy from the logits in chunks of 2,048 tokens (verl computes it in every old-log-prob
#     pass): at 32k tokens x 151,936 vocabulary one unchunked fp32 temporary is 19.9 GB, a chunk 1.2 GB.
#   - resuming: rerun the same command (same OUT_DIR) and the run continues from its newest complete
#     checkpoint (trainer.resume_mode=auto); trainer.resume_mode=disable starts from scratch, and
#     trainer.resume_mode=resume_path trainer.resume_from_path=.../global_step_N from step N
#     (README, "Resuming a run"; docs/resume.md).
set -euo pipefail

run_paper() {
  local estimator="$1"; shift
  local repo; repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local model="${MODEL_PATH:-Qwen/Qwen3-8B}"
  local data="${DATA_DIR:-$HOME/data/corpo}"
  local out="${OUT_DIR:-$repo/outputs/paper/$estimator}"
  local python="${PYTHON:-python}"
  local attn="${ATTN_IMPL:-flash_attention_2}"
  local dry=()
  if [[ "${DRY_RUN:-0}" == "1" ]]; then dry=(--cfg job --resolve); fi

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
    ++actor_rollout_ref.model.override_config.attn_implementation="$attn"
    actor_rollout_ref.actor.optim.lr=1e-6
    actor_rollout_ref.actor.ppo_mini_batch_size=512
    actor_rollout_ref.actor.ppo_epochs=1
    actor_rollout_ref.actor.use_dynamic_bsz=true
    actor_rollout_ref.actor.ppo_max_token_len_per_gpu=32768
    actor_rollout_ref.actor.use_kl_loss=false
    actor_rollout_ref.actor.strategy=fsdp2
    actor_rollout_ref.actor.entropy_from_logits_with_chunking=true
    actor_rollout_ref.actor.fsdp_config.param_offload=false
    actor_rollout_ref.actor.fsdp_config.optimizer_offload=false
    actor_rollout_ref.actor.checkpoint.save_contents='[model,optimizer,extra,hf_model]'
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
    trainer.test_freq=5
    trainer.save_freq=5
    trainer.total_epochs=1
    trainer.default_local_dir="$out/checkpoints"
    trainer.max_actor_ckpt_to_keep=1
    trainer.resume_mode=auto  # a rerun of the same command resumes (docs/resume.md)
    # verl's tensorboard logger reads TENSORBOARD_DIR in the Ray actor that runs the trainer: set
    # it in Ray's runtime env so it reaches that actor on any node (recipe.corpo.reports.plot_diagnostics).
    +ray_kwargs.ray_init.runtime_env.env_vars.TENSORBOARD_DIR="$out/tensorboard"
  )
  if [[ "${DRY_RUN:-0}" != "1" ]]; then
    if [[ "${PREFLIGHT:-1}" != "0" ]]; then
      "$python" -m recipe.corpo.launch.preflight --run "run_$estimator (scripts/paper_common.sh)" --data-dir "$data" \
        --model "$model" --nnodes "${NNODES:-1}" --gpus-per-node "${N_GPUS_PER_NODE:-8}" \
        --attn-implementation "$attn" -- "$@" || return 1
    fi
    mkdir -p "$out"
  fi
  "$python" -m recipe.corpo.main_corpo "${args[@]}" "$@" "${dry[@]}"
}
