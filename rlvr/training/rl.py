"""``rlvr train``: reinforcement learning from verifiable rewards.

One step::

    prompts  = next batch of problems (answer keys, no solutions)
    samples  = generator.generate(prompts, n per prompt)        # vLLM, token ids + logprobs
    verdicts = verifier pool, scoring each chunk while the next one generates
    rewards  = correct / incorrect (+ format reward, + overlong shaping)
    [dynamic sampling: drop groups whose rewards are all equal, draw more prompts to refill]
    advantages = estimator(rewards, groups[, critic values])    # registry: grpo, dr_grpo, rloo, ...
    for each micro-batch: loss = policy_loss(...) / global totals; backward   # registry: ppo_clip, gspo, sft
    optimizer step; sync the new weights into the generator; verify the sync by fingerprints

The loop knows no algorithm: the estimator, the loss, its aggregation, KL, entropy and truncated
importance sampling come from :mod:`rlvr.algorithms` by name. Rejection-sampling fine-tuning is the
same loop with ``algorithm.select: rft`` (keep one verified-correct completion per prompt) and
``algorithm.loss.name: sft``. PPO adds a critic (``algorithm.estimator: gae``).

Before the first step and after the last, the policy decodes a held-out split greedily (and with
sampling); ``summary.json`` reports pass@1 before and after with a paired-bootstrap 95% CI of the
difference.

Data parallelism (``torchrun --nproc_per_node N rlvr train``). Every rank holds a learner replica
(DeepSpeed) and its own generator. The step's ``prompts_per_step`` prompts are split evenly: rank
``r`` reads the positions ``r, r + N, r + 2N, ...`` of the seeded problem order with its own
cursor (so ranks never draw the same problem, a checkpoint records every rank's cursor, and no
collective is needed while drawing: drawing may run in the rollout thread) and samples with its
own seeds; dynamic-sampling refills are per rank. The scored groups are then all-gathered, so every
rank builds the same *global* batch: advantages (including batch-whitened ones: REINFORCE++,
GAE), KL rewards, the loss normalisers (:class:`LossScale`) and the batch metrics are exactly
those of one process holding the whole batch. Each rank then trains on every N-th group (balanced
after dynamic sampling) and DeepSpeed sums the gradients. All ranks run the same number of
micro-batches (a rank with fewer pads with a fully masked one) because ZeRO-3 gathers parameters
collectively in every forward. Metrics that are per-rank (micro-batch loss terms, timings) are
reduced across ranks before rank 0 logs them. Held-out evaluation runs on rank 0 alone (the
others wait for its result), so it gives the numbers of a single-process run.

Asynchronous rollouts (``rollout.max_staleness >= 1``): see :mod:`rlvr.rollout.pipeline`.
"""

from __future__ import annotations

import base64
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from rlvr.algorithms.advantages import ADVANTAGE_ESTIMATORS, AdvantageInput, compute_advantages
from rlvr.algorithms.aggregation import LossScale, reduce_metrics
from rlvr.algorithms.kl import KL_ESTIMATORS, kl_reward
from rlvr.algorithms.logprobs import entropy_from_logits, logprobs_from_logits
from rlvr.algorithms.losses import LossInput, PolicyLossConfig, compute_policy_loss
from rlvr.algorithms.sampling import RFT_CHOICES, dynamic_sampling_mask, rejection_sampling_mask
from rlvr.algorithms.value import ValueLossConfig, ValueLossInput, value_loss
from rlvr.rollout.pipeline import RolloutBatch, RolloutPipeline, stale_groups
from rlvr.training.checkpoint import CheckpointManager
from rlvr.config import field, section
from rlvr.data import DatasetConfig, Problem, load_problems
from rlvr.errors import ConfigError, RlvrError
from rlvr.rollout.experience import Experience, build_experience
from rlvr.io import staged_dir
from rlvr.generation.base import GeneratorConfig, SamplingConfig, build_generator
from rlvr.training.learner import Learner, LearnerConfig, OptimConfig, build_learner
from rlvr.models.load import count_parameters, load_model, load_tokenizer, resolve_model_path
from rlvr.prompts import get_template
from rlvr.rollout.rewards import RewardConfig, compute_rewards
from rlvr.rollout.sample import ScoredCompletion, accuracy, check_prompts_fit, encode_prompts, generate_and_score
from rlvr.training.run import MetricsLogger, RunConfig, RunDir, plot_curves
from rlvr.verifiers.config import VerifierConfig


def _train_data() -> DatasetConfig:
    return DatasetConfig(name="arith", split="train", options={"level": "hard"})


def _eval_data() -> DatasetConfig:
    return DatasetConfig(name="arith", split="test", options={"level": "hard"})


@dataclass
class RLModelConfig:
    """The policy to train."""

    path: str = field("tiny-arith", check=resolve_model_path, help="model dir, built-in name (tiny-arith) or hub id")
    dtype: Literal["float32", "bfloat16"] = field("float32", help="weights dtype for learner and reference")


@dataclass
class CriticConfig:
    """PPO's value model (used only when algorithm.estimator is gae)."""

    path: str | None = field(None, check=resolve_model_path, help="initial critic weights (null: the policy's, with a fresh value head)")
    lr: float = field(1e-4, gt=0, help="critic learning rate")
    loss: ValueLossConfig = section(ValueLossConfig, "clipped value loss")


@dataclass
class AlgorithmConfig:
    """What is optimised (all names are registry entries)."""

    estimator: str = field("grpo", choices=ADVANTAGE_ESTIMATORS, help="advantage estimator (gae trains a critic: PPO)")
    loss: PolicyLossConfig = section(PolicyLossConfig, "policy loss, aggregation, clipping, KL, entropy, truncated IS")
    select: Literal["all", "rft"] = field("all", help="rft: train only on one verified-correct completion per prompt (use loss.name=sft)")
    rft_choice: str = field("shortest", choices=RFT_CHOICES, help="which correct completion RFT keeps")
    dynamic_sampling: bool = field(True, help="drop groups whose rewards are all equal and refill the batch (DAPO)")
    max_refill_rounds: int = field(2, ge=0, help="extra generation rounds to refill the batch after dynamic sampling")
    mask_truncated: bool = field(True, help="train on no token of completions that hit max_tokens")
    kl_reward_coef: float = field(0.0, ge=0, help="KL-to-reference penalty folded into per-token rewards (0: off)")
    kl_reward_estimator: str = field("k1", choices=KL_ESTIMATORS, help="KL estimator for the reward penalty")
    epochs: int = field(1, ge=1, help="passes over each step's experience (PPO epochs; >1 makes later passes off-policy)")
    gamma: float = field(1.0, ge=0, le=1, help="discount for gae / reinforce_pp")
    lam: float = field(1.0, ge=0, le=1, help="GAE lambda")
    critic: CriticConfig = section(CriticConfig, "value model for PPO (estimator gae)")

    def validate(self) -> None:
        if self.select == "rft" and self.loss.name != "sft":
            raise ValueError("select: rft trains with the SFT loss; set algorithm.loss.name=sft")


@dataclass
class RolloutConfig:
    """Sampling during training."""

    prompts_per_step: int = field(16, ge=1, help="prompt groups per trainer step (after dynamic sampling)")
    n: int = field(8, ge=1, help="completions per prompt (the group)")
    temperature: float = field(1.0, gt=0, help="sampling temperature (the learner's logprobs use the same)")
    top_p: float = field(1.0, gt=0, le=1, help="nucleus sampling")
    max_tokens: int = field(96, ge=1, help="generation budget per completion")
    prompts_per_chunk: int = field(64, ge=1, help="prompts per generator call; scoring of one chunk overlaps the next")
    max_staleness: int = field(0, ge=0, help="asynchronous rollouts: generate the next batch during the update, at most this many policy versions old (0: synchronous)")
    stale_policy: Literal["drop", "is"] = field(
        "drop", help="groups older than max_staleness versions: drop them, or train them importance-weighted (needs algorithm.loss.tis_cap)")



@dataclass
class TrainEvalConfig:
    """Held-out evaluation before, during and after training."""

    dataset: DatasetConfig = field(default_factory=_eval_data, help="held-out problems (answer keys only)")
    num_problems: int = field(300, ge=1, help="problems decoded per evaluation")
    every: int = field(0, ge=0, help="also evaluate greedily every N steps (0: only before and after)")
    samples: int = field(4, ge=0, help="sampled completions per problem for the sampled pass@1 (0: greedy only)")
    before_after: bool = field(True, help="evaluate before the first step and after the last, write summary.json")


@dataclass
class TrainSchedule:
    steps: int = field(200, ge=0, help="trainer steps (each is algorithm.epochs optimizer steps)")
    max_seconds: float = field(0.0, ge=0, help="stop after this many seconds of RL (0: no limit); the final eval still runs")


@dataclass
class TrainConfig:
    """``rlvr train``: RL from verifiable rewards."""

    run: RunConfig = section(RunConfig, "run directory, logging, checkpoints")
    model: RLModelConfig = section(RLModelConfig, "the policy")
    data: DatasetConfig = field(default_factory=_train_data, help="training problems (only their answer keys are used)")
    template: str = field("arith", check=get_template, help="prompt template (also fixes the verifier's answer marker)")
    rollout: RolloutConfig = section(RolloutConfig, "sampling")
    verifier: VerifierConfig = section(VerifierConfig, "the verifier pool that scores completions (training and held-out evaluation)")
    reward: RewardConfig = section(RewardConfig, "rewards from verdicts")
    algorithm: AlgorithmConfig = section(AlgorithmConfig, "estimator, loss and their options")
    generator: GeneratorConfig = section(GeneratorConfig, "generation engine")
    learner: LearnerConfig = section(LearnerConfig, "DeepSpeed/torch learner")
    optim: OptimConfig = section(OptimConfig, "optimizer and learning-rate schedule")
    schedule: TrainSchedule = section(TrainSchedule, "how long to train")
    eval: TrainEvalConfig = section(TrainEvalConfig, "held-out evaluation")

    @property
    def optimizer_steps(self) -> int:
        """Optimizer steps of the whole run (the learning-rate schedule's length): each trainer
        step takes ``algorithm.epochs`` of them."""
        return self.schedule.steps * self.algorithm.epochs

    def validate(self) -> None:
        if self.generator.name != "remote" and self.generator.max_model_len <= self.rollout.max_tokens:
            raise ValueError(f"generator.max_model_len ({self.generator.max_model_len}) must exceed rollout.max_tokens "
                             f"({self.rollout.max_tokens}): the prompt needs room too")
        if self.rollout.max_staleness > 0 and self.rollout.stale_policy == "is" and self.algorithm.loss.tis_cap is None:
            raise ValueError("rollout.stale_policy=is weights stale samples by the truncated importance ratio; "
                             "set algorithm.loss.tis_cap (e.g. 2)")


# ----------------------------------------------------------------------------- the critic


class Critic:
    """A value model: the policy's transformer with a scalar head per token (PPO)."""

    def __init__(self, cfg: CriticConfig, policy_path: str, learner_cfg: LearnerConfig, optim: OptimConfig, total_steps: int,
                 resume_from: Path | None = None):
        from dataclasses import replace

        from transformers import AutoModelForTokenClassification

        # A checkpoint holds the trained critic, value head included (a fresh head would make
        # the resumed run's advantages differ from the uninterrupted run's).
        saved = resume_from / "critic" / "model" if resume_from else None
        path = str(saved) if saved and saved.is_dir() else resolve_model_path(cfg.path or policy_path)
        model = AutoModelForTokenClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
        self.cfg = cfg
        self.learner = build_learner(model, learner_cfg, replace(optim, lr=cfg.lr), total_steps)
        if saved and saved.is_dir():
            self.learner.load_state(resume_from / "critic")

    def values(self, exp: Experience, grad: bool) -> torch.Tensor:
        """[B, T-1] value of the state before each label position."""
        with torch.set_grad_enabled(grad):
            out = self.learner.forward(input_ids=exp.input_ids.to(self.learner.device), attention_mask=exp.attention_mask.to(self.learner.device))
        return out.logits[:, :-1, 0].float()


# ----------------------------------------------------------------------------- trainer


def _logprobs(learner_or_model, exp: Experience, temperature: float, want_entropy: bool, device) -> tuple[torch.Tensor, torch.Tensor | None]:
    forward = learner_or_model.forward if isinstance(learner_or_model, Learner) else learner_or_model
    out = forward(input_ids=exp.input_ids.to(device), attention_mask=exp.attention_mask.to(device))
    logits = out.logits[:, :-1]
    logprobs = logprobs_from_logits(logits, exp.input_ids[:, 1:].to(device), temperature=temperature)
    entropy = entropy_from_logits(logits, temperature=temperature) if want_entropy else None
    return logprobs, entropy


# Distinct per-rank sampling seeds: far above any step * 997 + round the single-rank formula reaches.
_RANK_SEED_STRIDE = 1_000_000_007


def _all_gather(obj: Any, world_size: int) -> list[Any]:
    """Every rank's ``obj``, in rank order (``[obj]`` in a single process)."""
    if world_size == 1:
        return [obj]
    import torch.distributed as dist

    out: list[Any] = [None] * world_size
    dist.all_gather_object(out, obj)
    return out


def _from_rank0(obj: Any, world_size: int) -> Any:
    """Rank 0's ``obj`` on every rank (the other ranks block here until rank 0 gets here)."""
    if world_size == 1:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _rollout_metrics(per_rank: list[dict[str, Any]]) -> dict[str, float]:
    """Step metrics from every rank's rollout counts: counts add up, ratios are taken of the
    totals, and wall-clock seconds are the slowest rank's (ranks generate in parallel)."""
    total = {k: sum(s[k] for s in per_rank) for k in ("groups_sampled", "groups_zero_variance", "gen_tokens", "samples", "correct",
                                                      "no_answer", "first_groups", "first_groups_any_correct")}
    ids = [pid for s in per_rank for pid in s["problem_ids"]]
    gen_seconds = max(s["gen_seconds"] for s in per_rank)
    return {
        "groups_sampled": total["groups_sampled"],
        "groups_zero_variance": total["groups_zero_variance"],
        "gen_tokens": total["gen_tokens"],
        "gen_seconds": gen_seconds,
        "verify_seconds": max(s["verify_seconds"] for s in per_rank),
        # The headline figures describe the policy, so they come from the first round, before filtering.
        "accuracy": total["correct"] / max(1, total["samples"]),
        "no_answer_rate": total["no_answer"] / max(1, total["samples"]),
        "pass_rate_any": total["first_groups_any_correct"] / max(1, total["first_groups"]),
        "zero_variance_frac": total["groups_zero_variance"] / max(1, total["groups_sampled"]),
        "gen_tokens_per_s": total["gen_tokens"] / max(gen_seconds, 1e-9),
        # Distinct problems drawn this step over all ranks (= problems_drawn unless ranks overlap).
        "problems_drawn": len(ids),
        "problems_unique": len(set(ids)),
    }


def _rng_state() -> dict[str, Any]:
    """This process's global RNG states (JSON-safe), so a resumed run draws what it would have."""
    version, internal, gauss = random.getstate()
    return {"torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode(), "python": [version, list(internal), gauss]}


def _set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np

    torch.set_rng_state(torch.from_numpy(np.frombuffer(base64.b64decode(state["torch"]), dtype=np.uint8).copy()))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        # Whatever is initialised at random (PPO's value head) must be the same in every run of
        # this config, or neither reruns nor resumes could match.
        torch.manual_seed(cfg.run.seed)
        # The launcher's rank is known before the process group exists: only rank 0 writes (and locks) the run directory.
        self.run = RunDir(cfg.run, cfg, is_main=int(os.environ.get("RANK", "0")) == 0)
        try:
            self._build(cfg)
        except BaseException:
            self.run.close()  # a failed start must not keep the directory locked
            raise

    def _build(self, cfg: TrainConfig) -> None:
        self.ckpts = CheckpointManager(self.run.checkpoints, keep=cfg.run.keep_checkpoints, is_main=self.run.is_main)
        self.template = get_template(cfg.template)
        self.tokenizer = load_tokenizer(cfg.model.path)
        self.train_problems = load_problems(cfg.data)
        self.eval_problems = load_problems(cfg.eval.dataset)[: cfg.eval.num_problems] if (cfg.eval.before_after or cfg.eval.every) else []
        check_prompts_fit(self.train_problems + self.eval_problems, self.template, self.tokenizer, cfg.rollout.max_tokens, cfg.generator, cfg.model.path)
        resume_from = self.run.resume_point(self.ckpts)
        self.state: dict[str, Any] = {}
        policy_path = str(resume_from / "model") if resume_from else resolve_model_path(cfg.model.path)
        # LoRA trains adapters on the untouched base: a checkpoint's merged weights are for the
        # generator, and the adapters come back with the optimizer state.
        learner_path = resolve_model_path(cfg.model.path) if cfg.learner.lora.rank > 0 else policy_path
        self.learner = build_learner(load_model(learner_path, cfg.model.dtype), cfg.learner, cfg.optim, cfg.optimizer_steps)
        self.rank, self.world_size = self.learner.rank, self.learner.world_size
        if cfg.rollout.prompts_per_step % self.world_size:
            raise ConfigError(f"rollout.prompts_per_step: {cfg.rollout.prompts_per_step} prompts cannot be split evenly over "
                              f"{self.world_size} ranks; use a multiple of the world size")
        # Data position of this rank's stream: advanced by each draw, and (``self.state``) as of
        # the last batch trained on, which is what a checkpoint records.
        self.cursor = 0
        if resume_from:
            self.state = self.ckpts.load(resume_from, self.learner)
            self.cursor = self._restore(self.state)
            if self.learner.is_main:
                print(f"rlvr train: resumed from {resume_from} (step {self.state['step']})")
        loss = cfg.algorithm.loss
        self.needs_ref = loss.kl_coef > 0 or cfg.algorithm.kl_reward_coef > 0
        self.ref = load_model(resolve_model_path(cfg.model.path), cfg.model.dtype).to(self.learner.device).eval() if self.needs_ref else None
        self.critic = (Critic(cfg.algorithm.critic, cfg.model.path, cfg.learner, cfg.optim, cfg.optimizer_steps, resume_from)
                       if cfg.algorithm.estimator == "gae" else None)
        self.generator = build_generator(cfg.generator, policy_path, self.tokenizer)
        # Policy version of the weights the generator holds.
        self.generator_version = self.policy_version
        self.pool = cfg.verifier.pool()
        self.order = list(range(len(self.train_problems)))
        random.Random(cfg.run.seed).shuffle(self.order)
        self.pipeline = RolloutPipeline(self.collect, cfg.rollout.max_staleness)
        if "rng" in self.state:  # last: building the critic and the engines draws random numbers
            _set_rng_state(self.state["rng"][self.rank])

    @property
    def policy_version(self) -> int:
        """Updates applied to the policy: trainer steps, not optimizer steps (each update takes
        ``algorithm.epochs`` of those), so rollout staleness means the same at any epoch count."""
        return self.learner.step_count // self.cfg.algorithm.epochs

    # ---------------------------------------------------------------- data

    def _next_problems(self, count: int) -> list[Problem]:
        """The next ``count`` problems of this rank's stream: positions ``rank + world_size * i``
        of a seeded order (with one rank, simply the next ``count``)."""
        cursor, self.cursor = self.cursor, self.cursor + count
        n = len(self.order)
        return [self.train_problems[self.order[(self.rank + self.world_size * (cursor + i)) % n]] for i in range(count)]

    def _sampling(self) -> SamplingConfig:
        r = self.cfg.rollout
        return SamplingConfig(n=r.n, temperature=r.temperature, top_p=r.top_p, max_tokens=r.max_tokens)

    # ---------------------------------------------------------------- rollouts

    def collect(self, step: int, version: int) -> RolloutBatch:
        """This rank's scored groups for one step (its share of ``prompts_per_step``), refilled
        after dynamic sampling, generated by policy ``version`` (the generator's weights). Uses no
        collective: in async mode it runs in the rollout thread."""
        want = self.cfg.rollout.prompts_per_step // self.world_size
        kept: list[list[ScoredCompletion]] = []
        kept_prompts: list[list[int]] = []
        stats: dict[str, Any] = {"groups_sampled": 0, "groups_zero_variance": 0, "gen_tokens": 0, "gen_seconds": 0.0, "verify_seconds": 0.0,
                                 "problem_ids": []}
        first_round: list[list[ScoredCompletion]] = []
        for round_ in range(1 + (self.cfg.algorithm.max_refill_rounds if self.cfg.algorithm.dynamic_sampling else 0)):
            need = want - len(kept)
            if need <= 0:
                break
            # Refills draw at least half a batch: zero-variance groups are common and a small draw would need many rounds.
            problems = self._next_problems(need if round_ == 0 else max(need, want // 2))
            stats["problem_ids"].extend(p.id for p in problems)
            prompt_ids = encode_prompts(problems, self.template, self.tokenizer)
            groups = generate_and_score(self.generator, self.pool, problems, prompt_ids, self.template, self._sampling(),
                                        seed=self.cfg.run.seed * 1_000_003 + step * 997 + round_ + self.rank * _RANK_SEED_STRIDE,
                                        prompts_per_chunk=self.cfg.rollout.prompts_per_chunk, timing=stats)
            stats["groups_sampled"] += len(groups)
            stats["gen_tokens"] += sum(len(s.completion.token_ids) for g in groups for s in g)
            if round_ == 0:
                first_round = groups
            informative = self._informative_groups(groups)
            stats["groups_zero_variance"] += len(groups) - sum(informative)
            for g, p, ok in zip(groups, prompt_ids, informative):
                if (ok or not self.cfg.algorithm.dynamic_sampling) and len(kept) < want:
                    kept.append(g)
                    kept_prompts.append(p)
        flat = [s for g in first_round for s in g]
        stats.update(samples=len(flat), correct=sum(s.correct for s in flat), no_answer=sum(s.verdict.extracted is None for s in flat),
                     first_groups=len(first_round), first_groups_any_correct=sum(any(s.correct for s in g) for g in first_round))
        return RolloutBatch(step, kept, kept_prompts, [version] * len(kept), stats, self.cursor)

    def _informative_groups(self, groups: list[list[ScoredCompletion]]) -> list[bool]:
        """Which groups have unequal rewards (the others carry no group-relative signal)."""
        flat = [s for g in groups for s in g]
        rewards = compute_rewards(torch.tensor([s.correct for s in flat]), torch.tensor([s.verdict.extracted is not None for s in flat]),
                                  torch.tensor([len(s.completion.token_ids) for s in flat]), self.cfg.rollout.max_tokens, self.cfg.reward)
        group_ids = torch.tensor([i for i, g in enumerate(groups) for _ in g])
        keep = dynamic_sampling_mask(rewards, group_ids)
        return [bool(keep[group_ids == i].any()) for i in range(len(groups))]

    def _global_batch(self, batch: RolloutBatch) -> tuple[list[list[ScoredCompletion]], list[list[int]], dict[str, float]]:
        """Every rank's groups (rank order) with the step's rollout and staleness metrics; groups
        too stale for ``rollout.stale_policy`` are removed."""
        parts = _all_gather((batch.groups, batch.prompt_ids, batch.versions, batch.stats), self.world_size)
        groups = [g for p in parts for g in p[0]]
        prompt_ids = [x for p in parts for x in p[1]]
        versions = [v for p in parts for v in p[2]]
        metrics = _rollout_metrics([p[3] for p in parts])
        r = self.cfg.rollout
        if r.max_staleness > 0:
            keep, stale = stale_groups(versions, self.policy_version, r.max_staleness, r.stale_policy)
            groups = [g for g, k in zip(groups, keep) if k]
            prompt_ids = [p for p, k in zip(prompt_ids, keep) if k]
            metrics.update(stale)
        return groups, prompt_ids, metrics

    def _rows_of(self, exp: Experience, rank: int) -> list[int]:
        """Rows of the groups rank ``rank`` trains on: every ``world_size``-th group."""
        return [i for i, g in enumerate(exp.group_ids.tolist()) if g % self.world_size == rank]

    # ---------------------------------------------------------------- one update

    def update(self, exp: Experience) -> dict[str, float]:
        """One optimizer step on the step's global batch ``exp`` (identical on every rank); this
        rank computes forward/backward on its own groups only (see the module docstring)."""
        cfg, alg = self.cfg, self.cfg.algorithm
        device = self.learner.device
        lengths = exp.lengths
        rewards = compute_rewards(exp.correct, exp.has_answer, lengths, cfg.rollout.max_tokens, cfg.reward)
        metrics: dict[str, float] = {"reward_mean": float(rewards.mean())}
        mb_size = cfg.learner.micro_batch_size
        rows = self._rows_of(exp, self.rank)
        chunks = [rows[i : i + mb_size] for i in range(0, len(rows), mb_size)]
        # Equal micro-batch counts on every rank (ZeRO-3 forwards are collective): pad with
        # fully masked micro-batches, which add nothing to the loss or the metrics.
        most = max(math.ceil(len(self._rows_of(exp, r)) / mb_size) for r in range(self.world_size))
        live = [True] * len(chunks) + [False] * (most - len(chunks))
        chunks += [[0]] * (most - len(chunks))
        temperature = cfg.rollout.temperature

        # No-grad passes over this rank's rows, assembled into whole-batch tensors (rows are
        # disjoint across ranks, so a SUM all-reduce of zero-filled tensors is exact).
        old_lp = ref_lp = old_values = None
        # Later epochs compare against the sampling-time policy; the KL reward needs it too.
        # (A single epoch uses the live logprobs, detached: they are the sampling-time ones.)
        need_old = alg.epochs > 1 or alg.kl_reward_coef > 0
        if need_old or self.ref is not None or self.critic is not None:
            shape = exp.response_mask.shape
            old_lp = torch.zeros(shape) if need_old else None
            ref_lp = torch.zeros(shape) if self.ref is not None else None
            old_values = torch.zeros(shape) if self.critic is not None else None
            with torch.no_grad():
                for c, ok in zip(chunks, live):
                    if not ok:
                        continue
                    sub = exp.select(c)
                    width = sub.response_mask.shape[1]
                    if need_old:
                        old_lp[c, :width] = _logprobs(self.learner, sub, temperature, False, device)[0].cpu()
                    if self.ref is not None:
                        ref_lp[c, :width] = _logprobs(self.ref, sub, temperature, False, device)[0].cpu()
                    if self.critic is not None:
                        old_values[c, :width] = self.critic.values(sub, grad=False).cpu()
            if self.world_size > 1:
                import torch.distributed as dist

                for t in (old_lp, ref_lp, old_values):
                    if t is not None:
                        dist.all_reduce(t)

        mask = exp.response_mask
        if alg.select == "rft":
            keep = rejection_sampling_mask(exp.correct, exp.group_ids, lengths, alg.rft_choice)
            mask = mask * keep[:, None].float()
            metrics["rft_selected"] = int(keep.sum())
        token_rewards = None
        if alg.kl_reward_coef > 0:
            token_rewards = kl_reward(old_lp, ref_lp, mask, alg.kl_reward_coef, alg.kl_reward_estimator)
        adv = compute_advantages(alg.estimator, AdvantageInput(
            rewards=rewards, group_ids=exp.group_ids, response_mask=mask, values=old_values,
            token_rewards=token_rewards, gamma=alg.gamma, lam=alg.lam), correct=exp.correct)
        metrics.update({k: float(v) for k, v in adv.metrics.items()})

        # The normaliser of the whole step (every rank's micro-batches), the same on every rank.
        every_row = list(range(len(exp)))
        scale = LossScale.total(LossScale.of(mask[every_row[i : i + mb_size]], max_len=cfg.rollout.max_tokens)
                                for i in range(0, len(exp), mb_size))
        want_entropy = True
        t0 = time.time()
        step_info: dict[str, float] = {}
        for _epoch in range(alg.epochs):
            loss_metrics, value_metrics = [], []
            for i, (c, ok) in enumerate(zip(chunks, live)):
                sub = exp.select(c)
                width = sub.response_mask.shape[1]
                sub_mask = mask[c][:, :width].to(device) * (1.0 if ok else 0.0)
                logprobs, entropy = _logprobs(self.learner, sub, temperature, want_entropy, device)
                if alg.loss.entropy_coef == 0 and entropy is not None:
                    entropy = entropy.detach()
                out = compute_policy_loss(LossInput(
                    logprobs=logprobs,
                    mask=sub_mask,
                    old_logprobs=(old_lp[c][:, :width].to(device) if old_lp is not None else logprobs.detach()),
                    advantages=adv.advantages[c][:, :width].to(device),
                    ref_logprobs=ref_lp[c][:, :width].to(device) if ref_lp is not None else None,
                    generator_logprobs=sub.generator_logprobs.to(device),
                    entropy=entropy,
                ), scale, alg.loss)
                last = i == len(chunks) - 1
                self.learner.backward(out.loss, last=last)
                loss_metrics.append(out.metrics)
                if self.critic is not None:
                    values = self.critic.values(sub, grad=True)
                    vout = value_loss(ValueLossInput(values=values, old_values=old_values[c][:, :width].to(device),
                                                     returns=adv.returns[c][:, :width].to(device), mask=sub_mask), scale, alg.critic.loss)
                    self.critic.learner.backward(vout.loss, last=last)
                    value_metrics.append(vout.metrics)
            step_info = self.learner.step()
            if self.critic is not None:
                critic_info = self.critic.learner.step()
                metrics.update({f"critic_{k}": v for k, v in reduce_metrics(value_metrics).items()})
                metrics["critic_grad_norm"] = critic_info["grad_norm"]
        shares = reduce_metrics(loss_metrics)
        learn_seconds = time.time() - t0
        if self.world_size > 1:
            # Loss terms are this rank's share of a step-wide token mean; the step is as slow as its slowest rank.
            critic_keys = [k for k in metrics if k.startswith("critic_") and k != "critic_grad_norm"]
            gathered = _all_gather(({**shares, **{k: metrics[k] for k in critic_keys}}, learn_seconds), self.world_size)
            combined = reduce_metrics(g[0] for g in gathered)  # rank shares of global means add up; _max keys take the max
            metrics.update({k: combined[k] for k in critic_keys})
            shares = {k: v for k, v in combined.items() if k not in critic_keys}
            learn_seconds = max(g[1] for g in gathered)
        metrics.update(shares)
        metrics.update(step_info)
        learn_tokens = int(exp.attention_mask.sum()) * alg.epochs
        metrics["learn_seconds"] = learn_seconds
        metrics["learner_tokens_per_s"] = learn_tokens / max(metrics["learn_seconds"], 1e-9)
        metrics["response_length_mean"] = float(lengths.float().mean())
        metrics["response_length_max"] = int(lengths.max())
        metrics["truncation_rate"] = float(exp.truncated.float().mean())
        return metrics

    # ---------------------------------------------------------------- evaluation

    def evaluate(self, step: int, samples: int) -> dict[str, Any]:
        """Greedy and sampled accuracy on the held-out problems (per-problem lists for the paired
        CI), computed by rank 0 alone and returned on every rank."""
        out: dict[str, Any] | None = None
        if self.learner.is_main:
            prompt_ids = encode_prompts(self.eval_problems, self.template, self.tokenizer)
            greedy = generate_and_score(self.generator, self.pool, self.eval_problems, prompt_ids, self.template,
                                        SamplingConfig(n=1, temperature=0.0, max_tokens=self.cfg.rollout.max_tokens), seed=0,
                                        prompts_per_chunk=self.cfg.rollout.prompts_per_chunk)
            out = {"greedy": accuracy(greedy)}
            if samples:
                sampled = generate_and_score(self.generator, self.pool, self.eval_problems, prompt_ids, self.template,
                                             SamplingConfig(n=samples, temperature=self.cfg.rollout.temperature, top_p=self.cfg.rollout.top_p,
                                                            max_tokens=self.cfg.rollout.max_tokens),
                                             seed=12345, prompts_per_chunk=self.cfg.rollout.prompts_per_chunk)
                out["sampled"] = accuracy(sampled)
        return _from_rank0(out, self.world_size)

    def periodic_eval(self) -> dict[str, float]:
        """pass@k / maj@k / greedy on the held-out problems, with rlvr eval's estimators (logged as eval/...); rank 0 computes."""
        from rlvr.eval.runner import evaluate_in_training

        out: dict[str, float] | None = None
        if self.learner.is_main:
            r = self.cfg.rollout
            sampling = SamplingConfig(n=max(1, self.cfg.eval.samples), temperature=r.temperature, top_p=r.top_p, max_tokens=r.max_tokens)
            out = evaluate_in_training(self.generator, self.pool, self.tokenizer, self.eval_problems, self.template, sampling,
                                       dataset=self.cfg.eval.dataset.name, prompts_per_chunk=r.prompts_per_chunk)
        return _from_rank0(out, self.world_size)

    # ---------------------------------------------------------------- the loop

    def sync(self) -> dict[str, float]:
        """Load the learner's weights into the idle generator and verify them (raises on mismatch)."""
        from rlvr.generation.weight_sync import sync_weights

        report = sync_weights(self.learner, self.generator)
        self.generator_version = self.policy_version
        return {"sync_seconds": report.seconds}

    def _current_generator(self) -> dict[str, float]:
        """Make the generator hold the learner's weights (evaluation must see the trained policy)."""
        self.pipeline.drain()
        return self.sync() if self.generator_version < self.policy_version else {}

    def _saves_after(self, step: int) -> bool:
        """Whether trainer step ``step`` (1-based) ends with a checkpoint (the last one always does)."""
        every = self.cfg.run.save_every
        return bool(every and step % every == 0) or step >= self.cfg.schedule.steps

    def save(self, step: int) -> None:
        # Each rank's data position and RNG state; rank 0 writes the state file.
        cursors, rngs = zip(*_all_gather((self.state.get("cursor", 0), _rng_state()), self.world_size))
        state = {**self.state, "rng": list(rngs)}
        if self.world_size > 1:
            state.update(cursor=sum(cursors), rank_cursors=list(cursors))
        self.ckpts.save(step, self.learner, self.tokenizer, state, {"critic": self.critic.learner} if self.critic is not None else None)

    def _restore(self, state: dict[str, Any]) -> int:
        """This rank's data position from a checkpoint's trainer state."""
        if self.world_size == 1:
            return state.get("cursor", 0)
        cursors = state.get("rank_cursors", [])
        if len(cursors) != self.world_size:
            raise RlvrError(f"the checkpoint was written by {max(1, len(cursors))} rank(s); resume it with the same world size, not {self.world_size}")
        state["cursor"] = cursors[self.rank]
        return cursors[self.rank]

    def _check_replicas(self) -> None:
        """Data-parallel replicas must hold identical weights; a divergence would silently make
        each rank's generator sample from a different policy."""
        from rlvr.generation.weight_sync import fingerprint

        mine = [fingerprint(t) for _, t in self.learner.named_full_parameters()]
        if any(other != mine for other in _all_gather(mine, self.world_size)):
            raise RuntimeError("data-parallel replicas diverged: the learners' weights differ between ranks")

    def train(self) -> dict[str, Any]:
        from tqdm.auto import tqdm

        cfg = self.cfg
        main = self.learner.is_main
        start = self.state.get("step", 0)  # trainer steps; the learner counts optimizer steps
        logger = MetricsLogger(self.run, resume_step=start, config=cfg)
        t_start = time.time()
        if start == 0 and main:
            print(f"rlvr train: {cfg.model.path} ({count_parameters(self.learner.model) / 1e6:.2f}M parameters), "
                  f"{len(self.train_problems)} training problems, {cfg.rollout.prompts_per_step} prompts x {cfg.rollout.n} samples per step "
                  f"over {self.world_size} rank(s) -> {self.run.path}")
        if cfg.eval.before_after and "before" not in self.state:
            before = self.evaluate(0, cfg.eval.samples)
            self.state["before"] = before
            if main:
                print(f"rlvr train: held-out pass@1 before: greedy {_mean(before['greedy']):.3f}"
                      + (f", sampled {_mean(before['sampled']):.3f}" if "sampled" in before else ""))
        t_loop = time.time()
        bar = tqdm(total=cfg.schedule.steps, initial=start, desc="train", disable=not (cfg.run.progress and main), dynamic_ncols=True)
        step = start
        try:
            while step < cfg.schedule.steps:
                t0 = time.time()
                # A checkpoint is a synchronisation point of the rollout pipeline: no batch generated
                # before it is trained on after it (a resumed run could not regenerate it).
                batch = self.pipeline.take(step, self.generator_version, prefetch=not self._saves_after(step + 1))
                self.state["cursor"] = batch.cursor
                groups, prompt_ids, metrics = self._global_batch(batch)
                if groups:
                    exp = build_experience(groups, prompt_ids, list(range(len(groups))), self.tokenizer.eos_token_id,
                                           self.tokenizer.pad_token_id, cfg.algorithm.mask_truncated)
                    metrics.update(self.update(exp))
                else:
                    # Every group had equal rewards even after refills: no signal, so no update; the
                    # step still counts (schedule, logging, checkpoints) so the run cannot stall.
                    if main:
                        bar.write(f"step {step + 1}: every group had equal rewards after refills; no update")
                    if self.generator_version == self.policy_version:
                        self.generator_version += 1  # the weights did not change: the generator still holds them
                    self.learner.step_count += cfg.algorithm.epochs
                    metrics["skipped_update"] = 1
                if self.pipeline.must_sync(self.generator_version, self.policy_version):
                    self.pipeline.drain()  # never replace weights under a running generation
                    metrics.update(self.sync())
                step += 1
                metrics["step_seconds"] = time.time() - t0
                if cfg.eval.every and step % cfg.eval.every == 0 and step < cfg.schedule.steps:
                    metrics.update(self._current_generator())
                    metrics.update(self.periodic_eval())
                if step % cfg.run.log_every == 0 or step == cfg.schedule.steps:
                    logger.log(step, metrics)
                bar.update(1)
                bar.set_postfix(acc=f"{metrics['accuracy']:.2f}", zero_var=f"{metrics['zero_variance_frac']:.2f}", s=f"{metrics['step_seconds']:.2f}")
                out_of_time = cfg.schedule.max_seconds > 0 and time.time() - t_loop >= cfg.schedule.max_seconds
                # Every rank must agree to stop (the others would wait in a collective forever).
                out_of_time = bool(_from_rank0(out_of_time, self.world_size))
                if self._saves_after(step) or out_of_time:
                    self._current_generator()  # the next batch comes from the saved weights, as after a resume
                    self.save(step)
                if out_of_time:
                    if main:
                        bar.write(f"rlvr train: time budget of {cfg.schedule.max_seconds:.0f}s reached at step {step}")
                    break
        finally:
            bar.close()
            logger.close()
            self.pipeline.close()
        rl_seconds = time.time() - t_loop
        summary: dict[str, Any] = {"steps": step, "seconds": round(time.time() - t_start, 1), "rl_seconds": round(rl_seconds, 1),
                                   "world_size": self.world_size}
        if self.world_size > 1:
            self._check_replicas()
            summary["replicas_identical"] = True
        if cfg.eval.before_after:
            self._current_generator()
            summary.update(self._before_after(step))
        with staged_dir(self.run.path / "final", publish=main) as final:
            self.learner.save_model(final, self.tokenizer)  # every rank joins the gather
        if main:
            plot_curves(self.run.path / "metrics.jsonl", self.run.path / "train_curves.png",
                        ["reward_mean", "accuracy", f"eval/{cfg.eval.dataset.name}/greedy", "response_length_mean"], "rlvr train", smooth=10)
            self.run.write_json("summary.json", summary)
        return summary

    def _before_after(self, step: int) -> dict[str, Any]:
        from rlvr.eval.bootstrap import paired_bootstrap_diff

        before = self.state["before"]
        after = self.evaluate(step, self.cfg.eval.samples)
        out: dict[str, Any] = {
            "eval_dataset": f"{self.cfg.eval.dataset.name}:{self.cfg.eval.dataset.split}",
            "eval_problems": len(self.eval_problems),
            "pass@1_before": _mean(before["greedy"]),
            "pass@1_after": _mean(after["greedy"]),
        }
        diff = paired_bootstrap_diff(before["greedy"], after["greedy"])
        out["ci95"] = [float(diff.lo), float(diff.hi)]
        out["improvement"] = float(diff.mean_diff)
        if "sampled" in after and "sampled" in before:
            sd = paired_bootstrap_diff(before["sampled"], after["sampled"])
            out["sampled_pass@1_before"] = _mean(before["sampled"])
            out["sampled_pass@1_after"] = _mean(after["sampled"])
            out["sampled_ci95"] = [float(sd.lo), float(sd.hi)]
        if self.learner.is_main:
            print(f"rlvr train: held-out greedy pass@1 {out['pass@1_before']:.3f} -> {out['pass@1_after']:.3f} "
                  f"({out['improvement'] * 100:+.1f} points, 95% CI {out['ci95'][0] * 100:+.1f} to {out['ci95'][1] * 100:+.1f})")
            if "sampled_pass@1_after" in out:
                print(f"rlvr train: held-out sampled pass@1 {out['sampled_pass@1_before']:.3f} -> {out['sampled_pass@1_after']:.3f} "
                      f"(95% CI of the difference {out['sampled_ci95'][0] * 100:+.1f} to {out['sampled_ci95'][1] * 100:+.1f} points)")
        return out

    def close(self) -> None:
        try:
            self.pipeline.close()
            self.generator.close()
            self.pool.close()
        finally:
            self.run.close()


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def run_train(cfg: TrainConfig) -> dict[str, Any]:
    trainer = Trainer(cfg)
    try:
        return trainer.train()
    finally:
        trainer.close()
