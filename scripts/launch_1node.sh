#!/usr/bin/env bash
# Colocated RL training on one node: each GPU runs one rank holding a DeepSpeed ZeRO learner
# shard and its own vLLM engine (generator.name=vllm); vLLM sleeps while the learner trains.
#
# Resources: 1 node, NPROC_PER_NODE GPUs (default 8; restrict with CUDA_VISIBLE_DEVICES), rlvr
#   installed with CUDA vLLM (RLVR_EXTRAS=gpu,lora,test bash scripts/install.sh) and its venv active
#   (or TORCHRUN / DEEPSPEED pointing into it). No network rendezvous: everything is local.
# Environment (all optional):
#   NPROC_PER_NODE  ranks = GPUs used on this node (default 8)
#   CONFIG          rlvr train --config (default qwen2.5-0.5b-gsm8k-grpo)
#   ZERO_STAGE      sets learner.zero_stage (default: the config's)
#   LAUNCHER        torchrun (default) or deepspeed
#   MASTER_PORT     deepspeed launcher's rendezvous port (default 29500; torchrun --standalone picks one)
#   TORCHRUN, DEEPSPEED  launcher executables (default: from PATH)
#   DRY_RUN=1       print the command instead of running it
# Arguments are passed to `rlvr train` after this script's own (later overrides win), e.g.
#   scripts/launch_1node.sh model.path=/models/Qwen2.5-0.5B-Instruct rollout.max_staleness=1
set -euo pipefail
# shellcheck source=scripts/launch_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/launch_common.sh"

nproc="${NPROC_PER_NODE:-8}"
train=(train --config "${CONFIG:-qwen2.5-0.5b-gsm8k-grpo}" learner.backend=deepspeed generator.name=vllm)
[[ -n "${ZERO_STAGE:-}" ]] && train+=("learner.zero_stage=${ZERO_STAGE}")

case "${LAUNCHER:-torchrun}" in
  torchrun)
    run_or_print "${TORCHRUN:-torchrun}" --standalone --nnodes 1 --nproc_per_node "$nproc" -m rlvr.cli "${train[@]}" "$@" ;;
  deepspeed)
    # --no_local_rank: rlvr reads LOCAL_RANK from the environment and has no --local_rank flag.
    run_or_print "${DEEPSPEED:-deepspeed}" --num_gpus "$nproc" --master_port "${MASTER_PORT:-29500}" --no_local_rank \
      --module rlvr.cli "${train[@]}" "$@" ;;
  *)
    echo "launch_1node.sh: LAUNCHER must be torchrun or deepspeed, not '${LAUNCHER}'" >&2
    exit 2 ;;
esac
