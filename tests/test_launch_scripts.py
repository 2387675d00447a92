"""scripts/launch_*.sh: syntax, documented resources, and the exact commands they run (DRY_RUN=1)."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
LAUNCHERS = ["launch_1node.sh", "launch_multinode.sh", "launch_remote_generator.sh"]
# Every variable the scripts read: the test's environment must not leak into the commands.
SCRIPT_VARS = {
    "NPROC_PER_NODE",
    "GPUS_PER_NODE",
    "NNODES",
    "CONFIG",
    "ZERO_STAGE",
    "LAUNCHER",
    "MASTER_ADDR",
    "MASTER_PORT",
    "HOSTFILE",
    "DS_LAUNCHER",
    "VENV_SCRIPT",
    "RDZV_ID",
    "TORCHRUN",
    "DEEPSPEED",
    "PYTHON",
    "ROLE",
    "MODEL",
    "GENERATOR_GPUS",
    "GENERATOR_HOST",
    "GENERATOR_PORT",
    "GENERATOR_ADDR",
    "GENERATOR_ARGS",
    "GENERATOR_WAIT_S",
    "LEARNER_GPUS",
    "TRANSPORT",
    "TOKEN_FILE",
    "RLVR_GENERATOR_TOKEN",
    "CUDA_VISIBLE_DEVICES",
    "DRY_RUN",
}
TRAIN = ["-m", "rlvr.cli", "train", "--config", "qwen2.5-0.5b-gsm8k-grpo", "learner.backend=deepspeed", "generator.name=vllm"]


def dry_run(script: str, *args: str, **env: str) -> list[list[str]]:
    """Each command line the script would run, split like the shell would."""
    clean = {k: v for k, v in os.environ.items() if k not in SCRIPT_VARS}
    proc = subprocess.run(
        ["bash", str(SCRIPTS / script), *args], env={**clean, **env, "DRY_RUN": "1"}, check=False, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    return [shlex.split(line) for line in proc.stdout.splitlines()]


def failure(script: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in SCRIPT_VARS}
    return subprocess.run(
        ["bash", str(SCRIPTS / script)], env={**clean, **env, "DRY_RUN": "1"}, check=False, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize("script", [*LAUNCHERS, "launch_common.sh"])
def test_syntax(script):
    proc = subprocess.run(["bash", "-n", str(SCRIPTS / script)], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("script", LAUNCHERS)
def test_header_documents_resources_and_strict_mode(script):
    text = (SCRIPTS / script).read_text()
    header = text.split("\nset -euo pipefail\n")[0]
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    assert "Resources:" in header and "DRY_RUN=1" in header
    assert all(line.startswith("#") for line in header.splitlines())


def test_one_node():
    [cmd] = dry_run("launch_1node.sh", "model.path=/models/q", "optim.lr=1e-6 x")
    assert cmd == ["torchrun", "--standalone", "--nnodes", "1", "--nproc_per_node", "8", *TRAIN, "model.path=/models/q", "optim.lr=1e-6 x"]
    [cmd] = dry_run("launch_1node.sh", LAUNCHER="deepspeed", NPROC_PER_NODE="4", ZERO_STAGE="3", CONFIG="my.yaml")
    assert cmd[:7] == ["deepspeed", "--num_gpus", "4", "--master_port", "29500", "--no_local_rank", "--module"]
    assert cmd[7:] == ["rlvr.cli", "train", "--config", "my.yaml", "learner.backend=deepspeed", "generator.name=vllm", "learner.zero_stage=3"]


def test_multinode_deepspeed_hostfile(tmp_path):
    hostfile = tmp_path / "hosts"
    hostfile.write_text("node-0 slots=8\nnode-1 slots=8\n")
    [cmd] = dry_run("launch_multinode.sh", "rollout.max_staleness=1", HOSTFILE=str(hostfile), NNODES="2", MASTER_ADDR="10.0.0.1")
    assert cmd[0] == "deepspeed"
    opts = cmd[: cmd.index("--module")]
    assert opts[opts.index("--hostfile") + 1] == str(hostfile) and opts[opts.index("--num_nodes") + 1] == "2"
    assert opts[opts.index("--master_addr") + 1] == "10.0.0.1" and "--no_local_rank" in opts
    assert cmd[cmd.index("--module") + 1 :] == [*TRAIN[1:], "rollout.max_staleness=1"]

    missing = failure("launch_multinode.sh", HOSTFILE=str(tmp_path / "nope"))
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    assert "HOSTFILE" in failure("launch_multinode.sh").stderr


def test_multinode_torchrun_rendezvous():
    [cmd] = dry_run("launch_multinode.sh", LAUNCHER="torchrun", NNODES="4", MASTER_ADDR="node-0", MASTER_PORT="6000", RDZV_ID="job7")
    assert cmd == [
        "torchrun",
        "--nnodes",
        "4",
        "--nproc_per_node",
        "8",
        "--rdzv_backend",
        "c10d",
        "--rdzv_endpoint",
        "node-0:6000",
        "--rdzv_id",
        "job7",
        *TRAIN,
    ]
    assert "MASTER_ADDR" in failure("launch_multinode.sh", LAUNCHER="torchrun", NNODES="2").stderr
    assert failure("launch_multinode.sh", LAUNCHER="ray").returncode == 2


def test_remote_generator_roles():
    [gen] = dry_run("launch_remote_generator.sh", "generator.gpu_memory_utilization=0.9", ROLE="generator", MODEL="/m", GENERATOR_GPUS="0,1")
    assert gen == [
        "env",
        "CUDA_VISIBLE_DEVICES=0,1",
        "python",
        "-m",
        "rlvr.cli",
        "serve-generator",
        "--model",
        "/m",
        "--host",
        "0.0.0.0",
        "--port",
        "51216",
        "generator.gpu_memory_utilization=0.9",
    ]

    remote = ["model.path=/m", "generator.name=remote", "generator.address=gen-node:7000", "generator.transport=gloo"]
    [trainer] = dry_run("launch_remote_generator.sh", "optim.lr=1e-6", ROLE="trainer", MODEL="/m", GENERATOR_ADDR="gen-node:7000", TRANSPORT="gloo")
    assert trainer == ["torchrun", "--standalone", "--nnodes", "1", "--nproc_per_node", "8", *TRAIN, *remote, "optim.lr=1e-6"]

    [multi] = dry_run(
        "launch_remote_generator.sh",
        ROLE="trainer",
        MODEL="/m",
        GENERATOR_ADDR="gen-node:7000",
        TRANSPORT="gloo",
        NNODES="2",
        LAUNCHER="torchrun",
        MASTER_ADDR="node-0",
    )
    assert multi[:3] == ["torchrun", "--nnodes", "2"] and multi[-4:] == remote

    gen, trainer = dry_run("launch_remote_generator.sh", "x=1", ROLE="split", MODEL="/m", GENERATOR_ARGS="generator.a=1 generator.b=2")
    assert gen[:2] == ["env", "CUDA_VISIBLE_DEVICES=4,5,6,7"] and gen[-2:] == ["generator.a=1", "generator.b=2"]
    assert gen[gen.index("--host") + 1] == "127.0.0.1"  # the trainer is local: not exposed to the network
    token_file = gen[gen.index("--token-file") + 1]  # a private one, since no token was given
    assert trainer[:6] == ["CUDA_VISIBLE_DEVICES=0,1,2,3", "torchrun", "--standalone", "--nnodes", "1", "--nproc_per_node"]
    assert trainer[6] == "4" and trainer[-3:] == [f"generator.token_file={token_file}", "generator.connect_timeout=900", "x=1"]
    assert "generator.address=127.0.0.1:51216" in trainer and not Path(token_file).parent.exists()  # dry runs clean up

    gen, trainer = dry_run("launch_remote_generator.sh", ROLE="split", MODEL="/m", RLVR_GENERATOR_TOKEN="0123456789abcdef0123")
    assert "--token-file" not in gen and not any(a.startswith("generator.token_file") for a in trainer)

    assert failure("launch_remote_generator.sh", MODEL="/m").returncode == 2  # no ROLE
    assert "GENERATOR_ADDR" in failure("launch_remote_generator.sh", ROLE="trainer", MODEL="/m").stderr


def test_trainer_command_lines_parse_as_rlvr_train_arguments():
    """What follows `-m rlvr.cli train` is accepted by rlvr's own (intermixed) argument parser."""
    import argparse

    from rlvr.commands import train

    [cmd] = dry_run("launch_1node.sh", "--resume", "model.path=/m")
    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    args = parser.parse_intermixed_args(cmd[cmd.index("train") + 1 :])
    assert args.config == "qwen2.5-0.5b-gsm8k-grpo" and args.resume
    assert args.overrides == ["learner.backend=deepspeed", "generator.name=vllm", "model.path=/m"]
