"""Upstream stages: tokenizer round trip, the SFT loss mask, pretrain resume, SFT end to end, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import clean_env, pretrain_args, torchrun

from rlvr.cli import main
from rlvr.data.lm import collate_sft, encode_sft


def test_tokenizer_ids_survive_save_and_reload(tiny_model_dir, tiny_tokenizer):
    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = "Ann has 12 marbles.\n12+34=46\n46-7=39\nAnswer: 39 ünïcode"
    assert reloaded(text).input_ids == tiny_tokenizer(text).input_ids
    assert reloaded(text).input_ids[0] == reloaded.bos_token_id
    assert reloaded.decode(reloaded(text).input_ids, skip_special_tokens=True) == text
    digits = reloaded("12345", add_special_tokens=False).input_ids
    assert len(digits) == 5  # one token per digit


def test_sft_prompt_tokens_get_no_gradient(tiny_model_dir, tiny_tokenizer):
    from rlvr.algorithms.aggregation import LossScale
    from rlvr.algorithms.logprobs import logprobs_from_logits
    from rlvr.algorithms.losses import LossInput, PolicyLossConfig, compute_policy_loss
    from rlvr.models.load import load_model

    model = load_model(str(tiny_model_dir))
    examples = [encode_sft("12+34=?\n", "12+34=46\nAnswer: 46", tiny_tokenizer, 64), encode_sft("9-8=?\n", "9-8=1\nAnswer: 1", tiny_tokenizer, 64)]
    mb = collate_sft(examples, tiny_tokenizer.pad_token_id)
    embeds = model.get_input_embeddings()(mb.input_ids).detach().requires_grad_(True)
    logits = model(inputs_embeds=embeds, attention_mask=mb.attention_mask).logits
    logits.retain_grad()
    logprobs = logprobs_from_logits(logits[:, :-1], mb.input_ids[:, 1:])
    loss = compute_policy_loss(LossInput(logprobs=logprobs, mask=mb.loss_mask), LossScale.of(mb.loss_mask), PolicyLossConfig(name="sft")).loss
    loss.backward()
    for row, ex in enumerate(examples):
        p = len(ex.prompt_ids)
        # positions whose next token is a prompt token contribute nothing
        assert torch.all(logits.grad[row, : p - 1] == 0)
        # every response position (incl. the closing EOS) does
        assert torch.all(logits.grad[row, p - 1 : p - 1 + len(ex.response_ids)].abs().sum(-1) > 0)
        assert torch.all(logits.grad[row, p - 1 + len(ex.response_ids) :] == 0)  # padding


def _pretrain(args: list[str], out: Path, *extra: str) -> list[str]:
    """``rlvr pretrain`` arguments of the 8-step run the kill test repeats (a checkpoint every 2 steps)."""
    return ["pretrain", *args, f"run.output_dir={out}", "schedule.steps=8", "run.save_every=2", "run.keep_checkpoints=10", *extra]


def _launch(argv: list[str], log: Path, **kw) -> subprocess.Popen:
    """``rlvr <argv>`` in a fresh process, its output in ``log``."""
    with open(log, "w") as f:
        return subprocess.Popen([sys.executable, "-m", "rlvr.cli", *argv], stdout=f, stderr=subprocess.STDOUT, env=clean_env(), **kw)


def test_pretrain_killed_then_resumed_matches_uninterrupted(tmp_path, capsys):
    from safetensors.torch import load_file

    args = pretrain_args(tmp_path)
    ref = tmp_path / "ref"
    # the uninterrupted reference trains alongside the run that gets killed (two cores, half the wait)
    reference = _launch(_pretrain(args, ref), tmp_path / "ref.log")
    run = tmp_path / "run"
    proc = _launch(_pretrain(args, run), tmp_path / "run.log", start_new_session=True)
    deadline = time.time() + 300  # a guard against a hang only: the reference shares the cores
    while not (run / "checkpoints" / "step_000004" / "trainer_state.json").exists():
        assert proc.poll() is None and time.time() < deadline, "pretrain ended before its step-4 checkpoint"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run / "final").exists()
    assert main(_pretrain(args, run, "--resume")) == 0  # the restart in this process: no interpreter start to wait for
    assert "resumed from" in capsys.readouterr().out
    assert reference.wait(timeout=300) == 0, (tmp_path / "ref.log").read_text()[-3000:]
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 9))  # each step logged exactly once across the crash
    # the same config, killed and resumed, reproduces the uninterrupted run's weights
    a, b = load_file(ref / "final" / "model.safetensors"), load_file(run / "final" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0]
    assert (run / "pretrain_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sft_end_to_end_loads_in_transformers_and_vllm(tmp_path, tiny_model_dir):
    """SFT with held-out accuracy (vLLM decoding after a verified weight sync) picks a final model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "sft"
    rc = main(
        [
            "sft",
            f"model.path={tiny_model_dir}",
            f"run.output_dir={out}",
            "schedule.steps=4",
            "schedule.eval_every=2",
            "schedule.batch_size=8",
            "learner.micro_batch_size=4",
            "learner.backend=deepspeed",
            "learner.zero_stage=2",
            "heldout.num_problems=4",
            "heldout.max_tokens=16",
            "data.dataset.options.train_size=64",
            "heldout.dataset.options.test_size=8",
            "run.progress=false",
            "heldout.generator.max_model_len=128",
        ]
    )
    assert rc == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all("heldout_accuracy" in rows[i] for i in (1, 3))
    summary = json.loads((out / "summary.json").read_text())
    assert "best_score" in summary
    model = AutoModelForCausalLM.from_pretrained(out / "final")
    tok = AutoTokenizer.from_pretrained(out / "final")
    ids = model.generate(**tok("12+3=?\n", return_tensors="pt"), max_new_tokens=5, do_sample=False)
    assert ids.shape[1] > 1


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (["data.path=/nonexistent/corpus.txt"], "corpus file not found: /nonexistent/corpus.txt"),
        (["data.path=EMPTY"], "the corpus is empty"),
        (["data.path=BADJSON", "data.format=jsonl"], "BADJSON:2: not valid JSON"),
        (["data.path=null", "data.dataset.name=jsonl", "data.dataset.path=/nonexistent.jsonl", "data.dataset.options={}"], "/nonexistent.jsonl"),
    ],
)
def test_bad_input_is_one_line_error(tmp_path, capsys, overrides, needle):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"text": \n')
    overrides = [o.replace("EMPTY", str(empty)).replace("BADJSON", str(bad)) for o in overrides]
    rc = main(["pretrain", *pretrain_args(tmp_path), f"run.output_dir={tmp_path / 'out'}", *overrides])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert needle.replace("BADJSON", str(bad)) in err


def test_missing_model_path_is_one_line_error(tmp_path, capsys):
    rc = main(["sft", "model.path=/nonexistent/model", f"run.output_dir={tmp_path}"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "model path not found: /nonexistent/model" in err and len(err.splitlines()) == 1


def test_two_rank_deepspeed_pretrain_equals_one_rank(tmp_path):
    """Data parallelism must not change the objective: 2 ranks x half the batch == 1 rank x the batch."""
    from safetensors.torch import load_file

    common = [
        *pretrain_args(tmp_path),
        "schedule.steps=3",
        "run.save_every=0",
        "learner.backend=deepspeed",
        "learner.zero_stage=2",
    ]
    one, two = tmp_path / "one", tmp_path / "two"
    # a fresh launch: no rank/port variables inherited from learners built earlier in this process
    with open(tmp_path / "two.log", "w") as log:
        ranks = subprocess.Popen(
            [*torchrun(), "-m", "rlvr.cli", "pretrain", f"run.output_dir={two}", *common], stdout=log, stderr=log, env=clean_env()
        )
    assert main(["pretrain", f"run.output_dir={one}", *common]) == 0  # in this process, while the two ranks start
    assert ranks.wait(timeout=600) == 0, (tmp_path / "two.log").read_text()[-3000:]
    a, b = load_file(one / "final" / "model.safetensors"), load_file(two / "final" / "model.safetensors")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)
    assert sorted(p.name for p in (two / "checkpoints" / "step_000003").iterdir()) == [
        "manifest.json",
        "model",
        "optimizer_rank0.pt",
        "optimizer_rank1.pt",
        "trainer_state.json",
    ]
