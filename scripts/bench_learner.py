#!/usr/bin/env python
"""Learner throughput and memory: rlvr's RL micro-batch loop against a bare PyTorch loop, same model, same batch.

    python scripts/bench_learner.py [--shape cpu|0.5b|1.5b] [--device cpu|cuda] [--layers N] [--seqs 16]
                                    [--min-len 64] [--max-len 1024] [--steps 3] [--warmup 1] ...

Prints ONE JSON line on stdout: ``ratio`` (rlvr tokens/s over the bare loop's, rlvr run as
configured: ``--packing``), ``target`` (0.9), ``pass``, one entry per variant (``tokens_per_s``
median over the timed steps, ``peak_mem_gib``, ``padding_efficiency`` = real tokens / tokens
computed, ``micro_batches``), ``mem_ratio`` (rlvr's peak over the bare loop with checkpointing's),
and the setup.

Variants, each in its own process (a clean allocator, so peaks are each variant's own):

- ``bare``: plain ``torch.optim.AdamW`` on the model, ``--bare-micro-batch`` sequences per
  micro-batch in the batch's order, right-padded, full ``[B, T, V]`` logits upcast to float32,
  ``log_softmax`` gathered at the next token, the same PPO-clip loss with the step's token total as
  normaliser (what one writes without a framework). ``bare_ckpt``: the same with
  ``gradient_checkpointing_enable()`` (and ``model.train()``, without which it would not engage).
- ``rlvr_padded`` / ``rlvr_packed``: what ``Trainer.update`` runs: ``build_learner`` (DeepSpeed
  ``--zero-stage`` or torch), the trainer's micro-batch planner (``plan_micro_batches`` with
  ``--max-tokens`` per micro-batch, padded or packed), its per-micro-batch forward
  (``rl._logprobs``: logprobs from hidden states in chunks, at response positions, sampled entropy)
  and ``compute_policy_loss`` (``ppo_clip``, ``token_mean``), ``learner.backward`` / ``learner.step``.

The model is randomly initialised from a ``Qwen2Config`` (the same seed in every variant):
``--shape cpu`` a small one that runs in minutes on a few cores (float32), ``0.5b`` / ``1.5b`` the
Qwen2.5 shapes (bfloat16 on CUDA; ``--layers`` shortens them for a dry run on CPU). Sequence
lengths are drawn log-uniformly between ``--min-len`` and ``--max-len`` (seeded): a long tail, most
short, a few long, like RL responses. Each sequence's first quarter (at most 256 tokens) is its
prompt; the rest is the response the loss covers; advantages are seeded normals.

Throughput is real (unpadded) tokens per second of an optimizer step; the median over ``--steps``
steps after ``--warmup`` untimed ones. Peak memory: CUDA ``max_memory_allocated`` over the timed
steps; CPU the peak resident set size sampled every 2 ms during the timed steps (weights, optimizer
state and everything else the process holds included).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.9
VARIANTS = ("bare", "bare_ckpt", "rlvr_padded", "rlvr_packed")

# Qwen2.5 shapes (hidden, layers, heads, kv heads, MLP, vocab); "cpu" keeps a realistic vocabulary
# (the output projection is where the float32 logits go) on a narrow, shallow trunk.
SHAPES = {
    "cpu": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, intermediate_size=704, vocab_size=32000),
    "0.5b": dict(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2, intermediate_size=4864, vocab_size=151936),
    "1.5b": dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2, intermediate_size=8960, vocab_size=151936),
}


def lengths_of(args: argparse.Namespace) -> list[int]:
    import random

    rng = random.Random(args.seed)
    return [int(round(math.exp(rng.uniform(math.log(args.min_len), math.log(args.max_len))))) for _ in range(args.seqs)]


def build_batch(args: argparse.Namespace, vocab: int):
    """An ``Experience`` of ``--seqs`` right-padded sequences (the trainer's input layout)."""
    import torch

    from rlvr.rollout.experience import Experience

    lengths = lengths_of(args)
    g = torch.Generator().manual_seed(args.seed)
    b, t = len(lengths), max(lengths)
    ids = torch.zeros(b, t, dtype=torch.long)
    attn = torch.zeros(b, t, dtype=torch.long)
    resp = torch.zeros(b, t - 1)
    for r, n in enumerate(lengths):
        ids[r, :n] = torch.randint(3, vocab, (n,), generator=g)
        attn[r, :n] = 1
        resp[r, min(n // 4, 256) - 1 : n - 1] = 1
    advantages = torch.randn(b, generator=g)[:, None].expand(b, t - 1).contiguous()
    exp = Experience(
        input_ids=ids,
        attention_mask=attn,
        response_mask=resp,
        generator_logprobs=torch.zeros(b, t - 1),
        group_ids=torch.arange(b),
        rewards=torch.zeros(b),  # the bench trains on fixed advantages; rewards are not read
        correct=torch.zeros(b, dtype=torch.bool),
        has_answer=torch.ones(b, dtype=torch.bool),
        lengths=attn.sum(1),
        truncated=torch.zeros(b, dtype=torch.bool),
    )
    return exp, advantages


def build_model(args: argparse.Namespace):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    shape = dict(SHAPES[args.shape])
    if args.layers:
        shape["num_hidden_layers"] = args.layers
    if args.vocab:
        shape["vocab_size"] = args.vocab
    cfg = Qwen2Config(**shape, tie_word_embeddings=True, max_position_embeddings=max(4096, args.max_len), use_cache=False)
    torch.manual_seed(args.seed)
    return Qwen2ForCausalLM(cfg).to(torch.float32)


class PeakMemory:
    """Peak memory over a block: CUDA's allocator peak, or the sampled resident set size on CPU."""

    def __init__(self, device: str):
        self.device, self.peak = device, 0
        self._stop = threading.Event()

    def _rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.002)

    def __enter__(self) -> PeakMemory:
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        else:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated()
        else:
            self._stop.set()
            self._thread.join()


def bare_steps(args: argparse.Namespace, checkpointing: bool):
    """The loop one writes without a framework; yields once per optimizer step."""
    import torch

    from rlvr.algorithms.aggregation import LossScale
    from rlvr.algorithms.losses import LossInput, PolicyLossConfig, compute_policy_loss

    device = torch.device(args.device)
    model = build_model(args)
    if args.device == "cuda":
        model = model.to(torch.bfloat16)
    model = model.to(device).train()
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    exp, adv = build_batch(args, model.config.vocab_size)
    scale = LossScale.of(exp.response_mask)
    loss_cfg = PolicyLossConfig(name="ppo_clip")
    order = list(range(len(exp)))
    chunks = [order[i : i + args.bare_micro_batch] for i in range(0, len(order), args.bare_micro_batch)]
    computed = sum(len(c) * int(exp.attention_mask[c].sum(1).max()) for c in chunks)
    while True:
        for c in chunks:
            sub = exp.select(c)
            width = sub.response_mask.shape[1]
            ids = sub.input_ids.to(device)
            logits = model(input_ids=ids, attention_mask=sub.attention_mask.to(device)).logits[:, :-1].float()
            logprobs = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
            out = compute_policy_loss(
                LossInput(
                    logprobs=logprobs, mask=sub.response_mask.to(device), old_logprobs=logprobs.detach(), advantages=adv[c][:, :width].to(device)
                ),
                scale,
                loss_cfg,
            )
            out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        yield {"micro_batches": len(chunks), "computed_tokens": computed}


def rlvr_steps(args: argparse.Namespace, packing: bool):
    """``Trainer.update``'s learner path (one epoch, no reference model, no critic)."""
    from rlvr.algorithms.aggregation import LossScale
    from rlvr.algorithms.losses import LossInput, PolicyLossConfig, compute_policy_loss
    from rlvr.training.batching import layout, plan_micro_batches
    from rlvr.training.learner import LearnerConfig, OptimConfig, build_learner
    from rlvr.training.rl import _logprobs

    cfg = LearnerConfig(
        backend=args.backend,
        zero_stage=args.zero_stage,
        dtype="bfloat16" if args.device == "cuda" else "float32",
        gradient_checkpointing=args.checkpointing,
        max_tokens_per_micro_batch=args.max_tokens,
        packing=packing,
        micro_batch_size=args.bare_micro_batch,
    )
    learner = build_learner(build_model(args), cfg, OptimConfig(lr=1e-6), total_steps=10**6)
    exp, adv = build_batch(args, learner.model.config.vocab_size)
    scale = LossScale.of(exp.response_mask)
    loss_cfg = PolicyLossConfig(name="ppo_clip")
    chunks = plan_micro_batches(exp.attention_mask.sum(1).tolist(), cfg.micro_batch_size, cfg.max_tokens_per_micro_batch, packing)
    computed = sum(layout(s.input_ids, s.attention_mask, packed=packing).computed_tokens for s in map(exp.select, chunks))
    device = learner.device
    while True:
        for i, c in enumerate(chunks):
            sub = exp.select(c)
            width = sub.response_mask.shape[1]
            logprobs, entropy = _logprobs(learner, sub, 1.0, True, device, packing)
            out = compute_policy_loss(
                LossInput(
                    logprobs=logprobs,
                    mask=sub.response_mask.to(device),
                    old_logprobs=logprobs.detach(),
                    advantages=adv[c][:, :width].to(device),
                    entropy=entropy,
                ),
                scale,
                loss_cfg,
            )
            learner.backward(out.loss, last=i == len(chunks) - 1)
        learner.step()
        yield {"micro_batches": len(chunks), "computed_tokens": computed}


def run_variant(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads or torch.get_num_threads())
    name = args.variant
    steps = bare_steps(args, name == "bare_ckpt") if name.startswith("bare") else rlvr_steps(args, name == "rlvr_packed")
    real = sum(lengths_of(args))
    info: dict[str, Any] = {}
    for _ in range(args.warmup):
        info = next(steps)
    times = []
    with PeakMemory(args.device) as mem:
        for _ in range(args.steps):
            t0 = time.perf_counter()
            info = next(steps)
            if args.device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    seconds = statistics.median(times)
    return {
        "tokens_per_s": real / seconds,
        "step_seconds": seconds,
        "peak_mem_gib": mem.peak / 2**30,
        "padding_efficiency": real / info["computed_tokens"],
        "micro_batches": info["micro_batches"],
    }


def child_argv(args: argparse.Namespace, variant: str) -> list[str]:
    argv = [sys.executable, __file__, "--variant", variant]
    for k, v in vars(args).items():
        if k in ("variant", "variants"):
            continue
        flag = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            argv.append(flag if v else "--no-" + k.replace("_", "-"))
        else:
            argv += [flag, str(v)]
    return argv


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="cpu", help="model shape (random init from a Qwen2Config)")
    ap.add_argument("--layers", type=int, default=0, help="override the shape's layer count (0: keep it)")
    ap.add_argument("--vocab", type=int, default=0, help="override the shape's vocabulary size (0: keep it)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--seqs", type=int, default=16, help="sequences in the step's batch")
    ap.add_argument("--min-len", type=int, default=64, help="shortest sequence (tokens)")
    ap.add_argument("--max-len", type=int, default=1024, help="longest sequence (4096 on a GPU; CPU runs keep it short)")
    ap.add_argument("--max-tokens", type=int, default=4096, help="rlvr: learner.max_tokens_per_micro_batch")
    ap.add_argument("--bare-micro-batch", type=int, default=4, help="bare loop: sequences per micro-batch")
    ap.add_argument("--backend", choices=["deepspeed", "torch"], default="deepspeed", help="rlvr: learner.backend")
    ap.add_argument("--zero-stage", type=int, default=2, help="rlvr: learner.zero_stage")
    ap.add_argument("--checkpointing", action=argparse.BooleanOptionalAction, default=True, help="rlvr: learner.gradient_checkpointing")
    ap.add_argument("--packing", action=argparse.BooleanOptionalAction, default=True, help="which rlvr variant the ratio uses")
    ap.add_argument("--steps", type=int, default=3, help="timed optimizer steps per variant (median reported)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps first")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ", ".join(VARIANTS))
    ap.add_argument("--variant", default="", help=argparse.SUPPRESS)  # internal: run one variant, print its JSON
    args = ap.parse_args(argv)
    if args.variant:
        print(json.dumps(run_variant(args)), flush=True)
        return 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    results: dict[str, Any] = {}
    for variant in args.variants.split(","):
        proc = subprocess.run(child_argv(args, variant), capture_output=True, text=True, env=env, cwd=ROOT)
        if proc.returncode != 0:
            print(f"bench_learner: variant {variant} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
            return 1
        results[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
    lengths = lengths_of(args)
    out: dict[str, Any] = {
        "shape": args.shape,
        "layers": args.layers or SHAPES[args.shape]["num_hidden_layers"],
        "device": args.device,
        "seqs": args.seqs,
        "real_tokens": sum(lengths),
        "len_min": min(lengths),
        "len_max": max(lengths),
        "len_median": statistics.median(lengths),
        "max_tokens_per_micro_batch": args.max_tokens,
        "bare_micro_batch": args.bare_micro_batch,
        "backend": args.backend,
        "zero_stage": args.zero_stage,
        "checkpointing": args.checkpointing,
        "steps": args.steps,
        **results,
    }
    ours = results.get("rlvr_packed" if args.packing else "rlvr_padded")
    if ours and "bare" in results:
        out["ratio"] = ours["tokens_per_s"] / results["bare"]["tokens_per_s"]
        out["target"] = TARGET
        out["pass"] = out["ratio"] >= TARGET
    if ours and "bare_ckpt" in results:
        out["mem_ratio"] = ours["peak_mem_gib"] / results["bare_ckpt"]["peak_mem_gib"]
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
