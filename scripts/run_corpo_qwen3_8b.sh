#!/usr/bin/env bash
# The paper's corpo run: Qwen3-8B, FSDP + vLLM (settings and environment: scripts/paper_common.sh).
#   bash scripts/run_corpo_qwen3_8b.sh [hydra overrides]      DRY_RUN=1 prints the composed config.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/paper_common.sh"
run_paper corpo "$@"
