#!/usr/bin/env bash
# Colocated RL training on N nodes x G GPUs: one rank per GPU, each a DeepSpeed ZeRO learner shard
# with its own vLLM engine (generator.name=vllm), one data-parallel job over all N*G ranks.
#
# Resources: NNODES nodes with GPUS_PER_NODE GPUs each (default 8), the same repository path and
#   venv on every node, NCCL connectivity between nodes (InfiniBand/RoCE; set NCCL_SOCKET_IFNAME /
#   NCCL_IB_HCA if NCCL picks the wrong interface), and a TCP port (MASTER_PORT) open on node 0.
#
# Two variants (LAUNCHER):
#   deepspeed (default): run ONCE, on node 0. Needs
#     HOSTFILE     DeepSpeed hostfile, one line per node: `node-0 slots=8` (the first line is node 0)
#     passwordless ssh + pdsh from node 0 to every node (or DS_LAUNCHER=openmpi|mvapich|slurm|mpich|impi).
#     Optional: NNODES (use the first NNODES hosts), GPUS_PER_NODE, MASTER_ADDR (node 0's address as the
#     others see it; DeepSpeed infers it when unset), MASTER_PORT (default 29500), VENV_SCRIPT (a
#     venv activate script DeepSpeed sources on each node). Remote ranks get the NCCL_* and PYTHON*
#     variables and those listed in ./.deepspeed_env (one VAR=value per line).
#   torchrun: run on EVERY node (by hand, pdsh, or `srun` with one task per node). Needs
#     NNODES        number of nodes
#     MASTER_ADDR   rendezvous host (node 0), reachable from all nodes
#     Optional: MASTER_PORT (default 29500), RDZV_ID (job id shared by the nodes, default rlvr),
#     GPUS_PER_NODE. The c10d rendezvous assigns node ranks; no NODE_RANK needed.
# Common optional: CONFIG (default qwen2.5-0.5b-gsm8k-grpo), ZERO_STAGE (sets learner.zero_stage),
#   TORCHRUN / DEEPSPEED (launcher executables), DRY_RUN=1 (print the command instead of running it).
# Arguments are passed to `rlvr train` after this script's own (later overrides win), e.g.
#   HOSTFILE=hosts scripts/launch_multinode.sh model.path=/models/Qwen2.5-7B learner.zero_stage=3
set -euo pipefail
# shellcheck source=scripts/launch_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/launch_common.sh"

gpus="${GPUS_PER_NODE:-8}"
port="${MASTER_PORT:-29500}"
train=(train --config "${CONFIG:-qwen2.5-0.5b-gsm8k-grpo}" learner.backend=deepspeed generator.name=vllm)
[[ -n "${ZERO_STAGE:-}" ]] && train+=("learner.zero_stage=${ZERO_STAGE}")

case "${LAUNCHER:-deepspeed}" in
  deepspeed)
    : "${HOSTFILE:?set HOSTFILE to a DeepSpeed hostfile (one 'host slots=N' line per node)}"
    [[ -f "$HOSTFILE" ]] || { echo "launch_multinode.sh: HOSTFILE '$HOSTFILE' does not exist" >&2; exit 2; }
    ds=("${DEEPSPEED:-deepspeed}" --hostfile "$HOSTFILE" --launcher "${DS_LAUNCHER:-pdsh}" --num_gpus "$gpus" --master_port "$port")
    [[ -n "${NNODES:-}" ]] && ds+=(--num_nodes "$NNODES")
    [[ -n "${MASTER_ADDR:-}" ]] && ds+=(--master_addr "$MASTER_ADDR")
    [[ -n "${VENV_SCRIPT:-}" ]] && ds+=(--venv_script "$VENV_SCRIPT")
    # --no_local_rank: rlvr reads LOCAL_RANK from the environment and has no --local_rank flag.
    run_or_print "${ds[@]}" --no_local_rank --module rlvr.cli "${train[@]}" "$@" ;;
  torchrun)
    : "${NNODES:?set NNODES (number of nodes) for the torchrun variant}"
    : "${MASTER_ADDR:?set MASTER_ADDR to the rendezvous host (node 0) for the torchrun variant}"
    run_or_print "${TORCHRUN:-torchrun}" --nnodes "$NNODES" --nproc_per_node "$gpus" \
      --rdzv_backend c10d --rdzv_endpoint "${MASTER_ADDR}:${port}" --rdzv_id "${RDZV_ID:-rlvr}" \
      -m rlvr.cli "${train[@]}" "$@" ;;
  *)
    echo "launch_multinode.sh: LAUNCHER must be deepspeed or torchrun, not '${LAUNCHER}'" >&2
    exit 2 ;;
esac
