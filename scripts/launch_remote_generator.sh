#!/usr/bin/env bash
# RL training with the generator on its own GPUs or node: `rlvr serve-generator` runs the engine;
# the trainer's ranks (DeepSpeed learner) send prompts, get completions back, and rank 0 pushes
# the new weights after every step over a NCCL (GPU) or gloo (CPU) group (generator.name=remote).
#
# ROLE=generator  run on the generator node first. Needs MODEL (model directory; the trainer
#                 starts from the same weights). Optional: GENERATOR_GPUS (CUDA_VISIBLE_DEVICES of
#                 the engine, default: all visible), GENERATOR_HOST (listen address, default
#                 0.0.0.0 so other nodes can connect), GENERATOR_PORT (default 51216). Arguments go
#                 to `rlvr serve-generator` (generator.* settings, e.g. generator.dtype=bfloat16
#                 generator.gpu_memory_utilization=0.9).
# ROLE=trainer    run on the learner node(s). Needs MODEL and GENERATOR_ADDR (host:port of the
#                 generator as the learner nodes see it). Optional: TRANSPORT (generator.transport:
#                 nccl or gloo; default auto = nccl with CUDA), GENERATOR_WAIT_S (seconds to keep
#                 retrying the connection, generator.connect_timeout), NNODES (>1: launched by
#                 launch_multinode.sh with its variables, HOSTFILE or MASTER_ADDR; else by
#                 launch_1node.sh with NPROC_PER_NODE), CONFIG, ZERO_STAGE, LAUNCHER.
#                 Arguments go to `rlvr train`.
# ROLE=split      one node shared: the generator on GENERATOR_GPUS (default 4,5,6,7) in the
#                 background, listening on 127.0.0.1 only, and the trainer on LEARNER_GPUS
#                 (default 0,1,2,3) with one rank per GPU; the trainer retries the connection
#                 while the engine starts (GENERATOR_WAIT_S, default 900) and the generator is
#                 stopped when the trainer exits. Arguments go to `rlvr train`, GENERATOR_ARGS
#                 (space-separated) to `rlvr serve-generator`.
# Auth: both sides need the same token: RLVR_GENERATOR_TOKEN (>= 16 characters) in the environment
#   of both, or TOKEN_FILE on a path both can read (the generator creates it, mode 0600, if
#   missing). ROLE=split without either makes a private token file and removes it at the end.
# Resources: the generator's and the learner's GPUs must reach each other on GENERATOR_PORT (TCP)
#   and by NCCL (NVLink on one node, InfiniBand/RoCE across nodes). PYTHON selects the interpreter
#   of the venv rlvr is installed in (default: python). DRY_RUN=1 prints the command(s).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/launch_common.sh
source "$here/launch_common.sh"

: "${MODEL:?set MODEL to the model directory served by the generator and trained by the learner}"
port="${GENERATOR_PORT:-51216}"

generator_cmd() {  # GPUS HOST ARGS...: the serve-generator command line, NUL-separated
  local gpus="$1" host="$2"
  shift 2
  local cmd=("${PYTHON:-python}" -m rlvr.cli serve-generator --model "$MODEL" --host "$host" --port "$port")
  if [[ -n "${TOKEN_FILE:-}" ]]; then cmd+=(--token-file "$TOKEN_FILE"); fi
  cmd+=("$@")
  if [[ -n "$gpus" ]]; then cmd=(env "CUDA_VISIBLE_DEVICES=$gpus" "${cmd[@]}"); fi
  printf '%s\0' "${cmd[@]}"
}

trainer() {  # ADDRESS ARGS...: the trainer through the colocated launch scripts, pointed at the generator
  local address="$1"
  shift
  local remote=("model.path=$MODEL" generator.name=remote "generator.address=$address")
  if [[ -n "${TRANSPORT:-}" ]]; then remote+=("generator.transport=$TRANSPORT"); fi
  if [[ -n "${TOKEN_FILE:-}" ]]; then remote+=("generator.token_file=$TOKEN_FILE"); fi
  if [[ -n "${GENERATOR_WAIT_S:-}" ]]; then remote+=("generator.connect_timeout=$GENERATOR_WAIT_S"); fi
  if [[ "${NNODES:-1}" -gt 1 ]]; then
    "$here/launch_multinode.sh" "${remote[@]}" "$@"
  else
    "$here/launch_1node.sh" "${remote[@]}" "$@"
  fi
}

case "${ROLE:-}" in
  generator)
    mapfile -d '' cmd < <(generator_cmd "${GENERATOR_GPUS:-}" "${GENERATOR_HOST:-0.0.0.0}" "$@")
    run_or_print "${cmd[@]}" ;;
  trainer)
    : "${GENERATOR_ADDR:?set GENERATOR_ADDR to host:port of the running generator}"
    trainer "$GENERATOR_ADDR" "$@" ;;
  split)
    learner_gpus="${LEARNER_GPUS:-0,1,2,3}"
    IFS=',' read -r -a learner_list <<< "$learner_gpus"
    read -r -a generator_args <<< "${GENERATOR_ARGS:-}"
    cleanup=()
    if [[ -z "${TOKEN_FILE:-}" && -z "${RLVR_GENERATOR_TOKEN:-}" ]]; then
      token_dir="$(mktemp -d)"  # private (0700): nobody else can plant or read the token
      cleanup+=("$token_dir")
      TOKEN_FILE="$token_dir/token"
    fi
    mapfile -d '' cmd < <(generator_cmd "${GENERATOR_GPUS:-4,5,6,7}" 127.0.0.1 "${generator_args[@]}")
    export NNODES=1 NPROC_PER_NODE="${#learner_list[@]}" CUDA_VISIBLE_DEVICES="$learner_gpus"
    GENERATOR_WAIT_S="${GENERATOR_WAIT_S:-900}"
    if [[ "${DRY_RUN:-0}" == 1 ]]; then
      rm -rf "${cleanup[@]}"
      run_or_print "${cmd[@]}"
      printf 'CUDA_VISIBLE_DEVICES=%s ' "$learner_gpus"
      trainer "127.0.0.1:$port" "$@"
      exit 0
    fi
    "${cmd[@]}" &
    generator_pid=$!
    trap 'kill "$generator_pid" 2>/dev/null || true; wait "$generator_pid" 2>/dev/null || true; rm -rf "${cleanup[@]}"' EXIT
    trainer "127.0.0.1:$port" "$@" ;;
  *)
    echo "launch_remote_generator.sh: set ROLE=generator, trainer or split (see the comment at the top)" >&2
    exit 2 ;;
esac
