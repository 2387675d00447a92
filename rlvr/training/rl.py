"""``rlvr train``: reinforcement learning from verifiable rewards.

One trainer step (:meth:`Trainer.train`)::

    batch  = collect(step)        # rollout thread: prompts -> vLLM samples -> verifier verdicts -> rewards,
                                  # dynamic sampling (drop groups whose rewards are all equal, refill)
    groups = global batch         # every rank's groups; too-stale ones dropped (async rollouts)
    exp    = build_experience(groups)                     # token tensors, rewards carried along
    update(exp):
        no-grad passes the algorithm needs                # sampling-time / reference logprobs, critic values
        make_experience(exp)                              # selection (rft), KL-in-reward, advantages
        for each epoch, for each mini-batch:              # whole prompt groups
            for each micro-batch: loss = policy_loss(...) / the mini-batch's totals; backward
            optimizer step
    sync the new weights into the generator; verify the sync by fingerprints

The loop knows no algorithm: the estimator, the selection, the loss, its aggregation, KL, entropy
and truncated importance sampling come from :mod:`rlvr.algorithms` registries by name, and what
each needs (a critic for an estimator that needs values, the sampling-time logprobs for a
clipped ratio, a reference model) from the traits they declared
(:func:`rlvr.rollout.experience.algorithm_needs`). Rejection-sampling fine-tuning is
``algorithm.select: rft`` with ``algorithm.loss.name: sft``; PPO is ``algorithm.estimator: gae``
(whose critic lives in :mod:`rlvr.training.critic`) with several epochs or mini-batches.

Mini-batches (``algorithm.mini_batches``, as Oat-Zero and verl's ``ppo_mini_batch_size``): each
epoch takes one optimizer step per mini-batch, so one trainer step is ``epochs * mini_batches``
optimizer steps (the learning-rate schedule counts those; the policy version counts trainer steps).
The ratio of every mini-batch is taken against the logprobs of the policy that sampled, computed
before the first optimizer step, so from the second mini-batch on the ratio moves and the clip acts.

Before the first step and after the last, the policy decodes a held-out split greedily (and with
sampling); ``summary.json`` reports pass@1 before and after with a paired-bootstrap 95% CI of the
difference.

Data parallelism (``torchrun --nproc_per_node N rlvr train``; the plumbing is
:mod:`rlvr.training.distributed`). Every rank holds a learner replica and its own generator, draws
its own share of the prompts (positions ``r, r + N, ...`` of the seeded order, its own seeds, no
collective while drawing) and refills it itself. The scored groups are then all-gathered, so every
rank builds the same *global* batch and the same advantages, loss normalisers and metrics as one
process holding the whole batch; each rank trains on every N-th group and DeepSpeed sums the
gradients. Held-out evaluation runs on rank 0 alone.

Asynchronous rollouts (``rollout.max_staleness >= 1``): see :mod:`rlvr.rollout.pipeline`.
"""

from __future__ import annotations

import base64
import functools
import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from rlvr.algorithms.aggregation import LossScale, reduce_metrics
from rlvr.algorithms.config import AlgorithmConfig
from rlvr.algorithms.losses import LossInput, compute_policy_loss
from rlvr.algorithms.sampling import dynamic_sampling_mask
from rlvr.algorithms.value import ValueLossInput, value_loss
from rlvr.config import field, section
from rlvr.data import DatasetConfig, Problem, load_problems
from rlvr.errors import ConfigError, RlvrError
from rlvr.generation.base import GeneratorConfig, SamplingConfig, build_generator
from rlvr.io import staged_dir
from rlvr.models.load import count_parameters, load_model, load_tokenizer, resolve_model_path
from rlvr.prompts import get_template
from rlvr.rewards import RewardContext, build_reward
from rlvr.rewards.config import REWARD_MODEL, RewardConfig
from rlvr.rewards.reward_model import check_reward_model_dir
from rlvr.rollout.experience import Experience, StepExperience, algorithm_needs, build_experience, make_experience
from rlvr.rollout.pipeline import RolloutBatch, RolloutPipeline, stale_groups
from rlvr.rollout.rewards import assign_rewards
from rlvr.rollout.sample import ScoredCompletion, encode_prompts, fit_prompts, generate_and_score
from rlvr.training.batching import layout, plan_ranks
from rlvr.training.critic import Critic
from rlvr.training.distributed import RANK_SEED_STRIDE, all_gather, assemble_rows, from_rank0, rank_rows
from rlvr.training.learner import Learner, LearnerConfig, OptimConfig, build_learner, token_logprobs
from rlvr.training.loop import Run, note, run_stage
from rlvr.training.overoptimisation import Guard
from rlvr.training.run import RunConfig, plot_gaming
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
class RolloutConfig:
    """Sampling during training."""

    prompts_per_step: int = field(16, ge=1, help="prompt groups per trainer step (after dynamic sampling)")
    n: int = field(8, ge=1, help="completions per prompt (the group)")
    temperature: float = field(1.0, gt=0, help="sampling temperature (the learner's logprobs use the same)")
    top_p: float = field(1.0, gt=0, le=1, help="nucleus sampling")
    max_tokens: int = field(96, ge=1, help="generation budget per completion")
    stop: list[str] | None = field(
        None, help="strings that end a completion, kept in it (null: the template's, e.g. r1-zero's </answer>; []: none); evaluations use them too"
    )
    prompts_per_chunk: int = field(64, ge=1, help="prompts per generator call; scoring of one chunk overlaps the next")
    max_staleness: int = field(
        0, ge=0, help="asynchronous rollouts: generate the next batch during the update, at most this many policy versions old (0: synchronous)"
    )
    stale_policy: Literal["drop", "is"] = field(
        "drop", help="groups older than max_staleness versions: drop them, or train them importance-weighted (needs algorithm.loss.tis_cap)"
    )


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
    steps: int = field(200, ge=0, help="trainer steps (each is algorithm.epochs x algorithm.mini_batches optimizer steps)")
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
    reward: RewardConfig = section(RewardConfig, "the reward (verifier, reward model, judge, composite) and shaping terms")
    algorithm: AlgorithmConfig = section(AlgorithmConfig, "estimator, loss and their options")
    generator: GeneratorConfig = section(GeneratorConfig, "generation engine")
    learner: LearnerConfig = section(LearnerConfig, "DeepSpeed/torch learner")
    optim: OptimConfig = section(OptimConfig, "optimizer and learning-rate schedule")
    schedule: TrainSchedule = section(TrainSchedule, "how long to train")
    eval: TrainEvalConfig = section(TrainEvalConfig, "held-out evaluation")

    @property
    def optimizer_steps(self) -> int:
        """Optimizer steps of the whole run (the learning-rate schedule's length): each trainer
        step takes ``algorithm.epochs * algorithm.mini_batches`` of them."""
        return self.schedule.steps * self.algorithm.optimizer_steps_per_update

    def validate(self) -> None:
        if self.generator.name != "remote" and self.generator.max_model_len <= self.rollout.max_tokens:
            raise ValueError(
                f"generator.max_model_len ({self.generator.max_model_len}) must exceed rollout.max_tokens "
                f"({self.rollout.max_tokens}): the prompt needs room too"
            )
        if self.rollout.max_staleness > 0 and self.rollout.stale_policy == "is" and self.algorithm.loss.tis_cap is None:
            raise ValueError("rollout.stale_policy=is weights stale samples by the truncated importance ratio; set algorithm.loss.tis_cap (e.g. 2)")
        if self.rollout.prompts_per_step % self.algorithm.mini_batches:
            # Mini-batches hold whole prompt groups (group baselines need every completion of a prompt).
            raise ValueError(
                f"algorithm.mini_batches ({self.algorithm.mini_batches}) must divide rollout.prompts_per_step "
                f"({self.rollout.prompts_per_step}): each mini-batch takes whole prompt groups"
            )
        if not self.eval.dataset.require_answer:
            raise ValueError("eval.dataset.require_answer: evaluation checks answers against their keys; it cannot be false")
        if not self.data.require_answer and not self.reward.learned():
            raise ValueError(
                f"data.require_answer=false keeps problems without an answer key, which reward '{self.reward.name}' cannot score: "
                "use reward_model, judge, or a composite with the verifier gated when: keyed"
            )
        if self.reward.guard.action != "log":
            if not self.eval.every:
                raise ValueError(f"reward.guard.action={self.reward.guard.action} acts at held-out evaluations: set eval.every > 0")
            if not self.reward.learned():
                raise ValueError(
                    f"reward.guard.action={self.reward.guard.action} guards a learned reward (reward_model, judge, or a composite with one); "
                    f"reward '{self.reward.name}' cannot be gamed"
                )
        if self.algorithm.critic.path is not None:
            try:
                resolve_model_path(self.algorithm.critic.path)
            except RlvrError as e:
                raise ValueError(f"algorithm.critic.path: {e}") from None


# ----------------------------------------------------------------------------- trainer


def _logprobs(
    learner_or_model, exp: Experience, temperature: float, want_entropy: bool, device, packed: bool = False, entropy_grad: bool = False
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Logprobs (and sampled entropy) at ``exp``'s response positions, zero elsewhere: nothing reads the others."""
    lay = layout(exp.input_ids, exp.attention_mask, exp.response_mask, packed=packed)
    if isinstance(learner_or_model, Learner):
        return learner_or_model.logprobs(lay, temperature, entropy=want_entropy, entropy_grad=entropy_grad)
    return token_logprobs(learner_or_model, learner_or_model, lay.to(device), temperature)


@dataclass
class _MiniBatch:
    """The rows of one optimizer step."""

    rows: list[int]  # every rank's rows: the loss normaliser's totals
    micro: list[list[int]]  # this rank's micro-batches, padded to the count of the busiest rank
    live: list[bool]  # False for a padding micro-batch (trained fully masked)


def _mean_over_steps(shares: list[dict[str, float]]) -> dict[str, float]:
    """Metrics of one epoch's optimizer steps (each a dict of step-wide means): their mean, or for
    ``_max`` keys their maximum. One step (one mini-batch) gives its metrics unchanged."""
    keys = dict.fromkeys(k for s in shares for k in s)
    return {
        k: max(s[k] for s in shares if k in s) if k.endswith("_max") else sum(s[k] for s in shares if k in s) / sum(k in s for s in shares)
        for k in keys
    }


def _rollout_metrics(per_rank: list[dict[str, Any]]) -> dict[str, float]:
    """Step metrics from every rank's rollout counts: counts add up, ratios are taken of the
    totals, and wall-clock seconds are the slowest rank's (ranks generate in parallel)."""
    total = {
        k: sum(s[k] for s in per_rank)
        for k in (
            "groups_sampled",
            "groups_zero_variance",
            "gen_tokens",
            "samples",
            "correct",
            "no_answer",
            "first_groups",
            "first_groups_any_correct",
            "reward_sum",
            "reward_scored",
        )
    }
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
        # What the policy earns from the reward on the same completions (with a learned reward: the proxy beside the verified accuracy).
        "sampled_reward_mean": total["reward_sum"] / max(1, total["samples"]),
        "no_answer_rate": total["no_answer"] / max(1, total["samples"]),
        "pass_rate_any": total["first_groups_any_correct"] / max(1, total["first_groups"]),
        "zero_variance_frac": total["groups_zero_variance"] / max(1, total["groups_sampled"]),
        "gen_tokens_per_s": total["gen_tokens"] / max(gen_seconds, 1e-9),
        # Distinct problems drawn this step over all ranks (= problems_drawn unless ranks overlap).
        "problems_drawn": len(ids),
        "problems_unique": len(set(ids)),
        # What the reward cost: counts add up over ranks, seconds are the slowest rank's, means
        # (collected weighted by the completions scored) are over every completion scored.
        **{
            k: (max if k.endswith("seconds") else sum)(s.get(k, 0.0) for s in per_rank) / (total["reward_scored"] if k.endswith("_mean") else 1)
            for k in dict.fromkeys(k for s in per_rank for k in s if k.startswith("reward/"))
        },
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
    def __init__(self, cfg: TrainConfig, full_config: Any = None):
        """``full_config``: what the run directory records as config.yaml when it is not ``cfg``
        (``rlvr dpo`` runs this trainer on a view of its own config)."""
        self.cfg = cfg
        # Whatever is initialised at random (PPO's value head) must be the same in every run of
        # this config, or neither reruns nor resumes could match.
        torch.manual_seed(cfg.run.seed)
        # The launcher's rank is known before the process group exists: only rank 0 writes (and locks) the run directory.
        self.run = Run(self.name, cfg.run, full_config or cfg, is_main=int(os.environ.get("RANK", "0")) == 0)
        try:
            self._build(cfg)
        except BaseException:
            self.run.close()  # a failed start must not keep the directory locked
            raise

    def _build(self, cfg: TrainConfig) -> None:
        if cfg.reward.uses(REWARD_MODEL):
            check_reward_model_dir(cfg.reward.model.path)  # a bad path fails now, not after the engines have started
        self.template = get_template(cfg.template)
        self.tokenizer = load_tokenizer(cfg.model.path)
        fit = functools.partial(
            fit_prompts,
            template=self.template,
            tokenizer=self.tokenizer,
            max_tokens=cfg.rollout.max_tokens,
            generator=cfg.generator,
            model_path=cfg.model.path,
        )
        self.train_problems, self.keep_last = fit(load_problems(cfg.data), data=cfg.data, key="data")
        evaluating = cfg.eval.before_after or cfg.eval.every
        self.eval_problems, self.eval_keep_last = (
            fit(load_problems(cfg.eval.dataset)[: cfg.eval.num_problems], data=cfg.eval.dataset, key="eval.dataset") if evaluating else ([], None)
        )
        resume_from = self.run.resume_from
        self.state: dict[str, Any] = {}
        policy_path = str(resume_from / "model") if resume_from else resolve_model_path(cfg.model.path)
        # LoRA trains adapters on the untouched base: a checkpoint's merged weights are for the
        # generator, and the adapters come back with the optimizer state.
        learner_path = resolve_model_path(cfg.model.path) if cfg.learner.lora.rank > 0 else policy_path
        self.learner = build_learner(load_model(learner_path, cfg.model.dtype), cfg.learner, cfg.optim, cfg.optimizer_steps)
        self.rank, self.world_size = self.learner.rank, self.learner.world_size
        if cfg.rollout.prompts_per_step % self.world_size:
            raise ConfigError(
                f"rollout.prompts_per_step: {cfg.rollout.prompts_per_step} prompts cannot be split evenly over "
                f"{self.world_size} ranks; use a multiple of the world size"
            )
        if (cfg.rollout.prompts_per_step // self.world_size) % cfg.algorithm.mini_batches:
            raise ConfigError(
                f"algorithm.mini_batches: {cfg.rollout.prompts_per_step // self.world_size} prompt groups per rank cannot be "
                f"split into {cfg.algorithm.mini_batches} mini-batches of whole groups; use a divisor"
            )
        # Data position of this rank's stream: advanced by each draw, and (``self.state``) as of
        # the last batch trained on, which is what a checkpoint records.
        self.cursor = 0
        if resume_from:
            self.state = self.run.restore(self.learner)
            self.cursor = self._restore(self.state)
        self.needs = algorithm_needs(cfg.algorithm)
        self.ref = load_model(resolve_model_path(cfg.model.path), cfg.model.dtype).to(self.learner.device).eval() if self.needs.reference else None
        self.critic = (
            Critic(cfg.algorithm.critic, cfg.model.path, cfg.learner, cfg.optim, cfg.optimizer_steps, resume_from) if self.needs.critic else None
        )
        self.generator = build_generator(cfg.generator, policy_path, self.tokenizer)
        # Policy version of the weights the generator holds.
        self.generator_version = self.policy_version
        self.pool = cfg.verifier.pool()
        self.reward = build_reward(
            cfg.reward, RewardContext(self.tokenizer, self.template, cfg.rollout.max_tokens, self.generator, str(self.learner.device), cfg.run.seed)
        )
        # A learned reward is a proxy: its over-optimisation is measured at each periodic held-out evaluation.
        self.learned = cfg.reward.learned()
        self.guard = Guard(cfg.reward.guard, self.state.setdefault("guard", {})) if self.learned and cfg.eval.every else None
        self.order = list(range(len(self.train_problems)))
        random.Random(cfg.run.seed).shuffle(self.order)
        self.pipeline = RolloutPipeline(self.collect, cfg.rollout.max_staleness)
        if "rng" in self.state:  # last: building the critic and the engines draws random numbers
            _set_rng_state(self.state["rng"][self.rank])

    @property
    def policy_version(self) -> int:
        """Updates applied to the policy: trainer steps, not optimizer steps (each update takes
        ``epochs * mini_batches`` of those), so rollout staleness means the same at any count."""
        return self.learner.step_count // self.cfg.algorithm.optimizer_steps_per_update

    # ---------------------------------------------------------------- data

    def _next_problems(self, count: int) -> list[Problem]:
        """The next ``count`` problems of this rank's stream: positions ``rank + world_size * i``
        of a seeded order (with one rank, simply the next ``count``)."""
        cursor, self.cursor = self.cursor, self.cursor + count
        n = len(self.order)
        return [self.train_problems[self.order[(self.rank + self.world_size * (cursor + i)) % n]] for i in range(count)]

    def _sampling(self) -> SamplingConfig:
        r = self.cfg.rollout
        return SamplingConfig(n=r.n, temperature=r.temperature, top_p=r.top_p, max_tokens=r.max_tokens, stop=r.stop)

    # ---------------------------------------------------------------- rollouts

    def collect(self, step: int, version: int) -> RolloutBatch:
        """This rank's scored groups for one step (its share of ``prompts_per_step``), refilled
        after dynamic sampling, generated by policy ``version`` (the generator's weights). Uses no
        collective: in async mode it runs in the rollout thread."""
        want = self.cfg.rollout.prompts_per_step // self.world_size
        kept: list[list[ScoredCompletion]] = []
        kept_prompts: list[list[int]] = []
        stats: dict[str, Any] = {
            "groups_sampled": 0,
            "groups_zero_variance": 0,
            "gen_tokens": 0,
            "gen_seconds": 0.0,
            "verify_seconds": 0.0,
            "problem_ids": [],
            "reward_scored": 0,
        }
        first_round: list[list[ScoredCompletion]] = []
        for round_ in range(1 + (self.cfg.algorithm.max_refill_rounds if self.cfg.algorithm.dynamic_sampling else 0)):
            need = want - len(kept)
            if need <= 0:
                break
            # Refills draw at least half a batch: zero-variance groups are common and a small draw would need many rounds.
            problems = self._next_problems(need if round_ == 0 else max(need, want // 2))
            stats["problem_ids"].extend(p.id for p in problems)
            prompt_ids = encode_prompts(problems, self.template, self.tokenizer, self.keep_last)
            groups = generate_and_score(
                self.generator,
                self.pool,
                problems,
                prompt_ids,
                self.template,
                self._sampling(),
                seed=self.cfg.run.seed * 1_000_003 + step * 997 + round_ + self.rank * RANK_SEED_STRIDE,
                prompts_per_chunk=self.cfg.rollout.prompts_per_chunk,
                timing=stats,
            )
            prompts = [self.template.render(p, self.tokenizer) for p in problems]
            cost = assign_rewards(groups, prompts, self.reward, self.cfg.rollout.max_tokens, self.cfg.reward)
            scored = sum(map(len, groups))
            for k, v in cost.items():  # a mean is a mean over this call's completions: weighted by them
                stats[f"reward/{k}"] = stats.get(f"reward/{k}", 0.0) + (v * scored if k.endswith("_mean") else v)
            stats["reward_scored"] += scored
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
        stats.update(
            samples=len(flat),
            correct=sum(s.correct for s in flat),
            no_answer=sum(s.verdict.extracted is None for s in flat),
            first_groups=len(first_round),
            first_groups_any_correct=sum(any(s.correct for s in g) for g in first_round),
            reward_sum=sum(s.reward for s in flat),
        )
        return RolloutBatch(step, kept, kept_prompts, [version] * len(kept), stats, self.cursor)

    def _informative_groups(self, groups: list[list[ScoredCompletion]]) -> list[bool]:
        """Which groups have unequal rewards (the others carry no group-relative signal)."""
        rewards = torch.tensor([s.reward for g in groups for s in g])
        group_ids = torch.tensor([i for i, g in enumerate(groups) for _ in g])
        keep = dynamic_sampling_mask(rewards, group_ids)
        return [bool(keep[group_ids == i].any()) for i in range(len(groups))]

    def _global_batch(self, batch: RolloutBatch) -> tuple[list[list[ScoredCompletion]], list[list[int]], dict[str, float]]:
        """Every rank's groups (rank order) with the step's rollout and staleness metrics; groups
        too stale for ``rollout.stale_policy`` are removed."""
        parts = all_gather((batch.groups, batch.prompt_ids, batch.versions, batch.stats), self.world_size)
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

    # ---------------------------------------------------------------- one update

    def update(self, exp: Experience) -> dict[str, float]:
        """One trainer step on the step's global batch ``exp`` (identical on every rank): the
        no-grad passes the algorithm needs, its experience, then ``epochs * mini_batches``
        optimizer steps. This rank computes forward/backward on its own groups only."""
        alg = self.cfg.algorithm
        plan = self._plan(exp)
        old_lp, ref_lp, values = self._no_grad_passes(exp, plan)
        step = make_experience(exp, alg, old_lp, ref_lp, values)
        metrics = dict(step.metrics)
        t0 = time.time()
        for _epoch in range(alg.epochs):
            shares, critic_shares = [], []  # per optimizer step of the last epoch: what is logged
            for mini in plan:
                loss_metrics, value_metrics = self._accumulate(exp, step, mini, old_lp, ref_lp, values)
                step_info = self.learner.step()
                shares.append(reduce_metrics(loss_metrics))
                if self.critic is not None:
                    critic_info = self.critic.learner.step()
                    critic_shares.append({f"critic_{k}": v for k, v in reduce_metrics(value_metrics).items()})
        # A batch with fewer groups than mini-batches takes fewer optimizer steps; the schedule and
        # the policy version still advance by a whole update.
        self.learner.step_count += (alg.mini_batches - len(plan)) * alg.epochs
        shares_of_rank = _mean_over_steps(shares)
        critic_metrics = _mean_over_steps(critic_shares) if self.critic is not None else {}
        learn_seconds = time.time() - t0
        if self.world_size > 1:
            # Loss terms are this rank's share of a step-wide token mean; the step is as slow as its slowest rank.
            gathered = all_gather(({**shares_of_rank, **critic_metrics}, learn_seconds), self.world_size)
            combined = reduce_metrics(g[0] for g in gathered)  # rank shares of global means add up; _max keys take the max
            critic_metrics = {k: combined[k] for k in critic_metrics}
            shares_of_rank = {k: v for k, v in combined.items() if k not in critic_metrics}
            learn_seconds = max(g[1] for g in gathered)
        metrics.update(critic_metrics)
        if self.critic is not None:
            metrics["critic_grad_norm"] = critic_info["grad_norm"]
        metrics.update(shares_of_rank)
        metrics.update(step_info)
        learn_tokens = int(exp.attention_mask.sum()) * alg.epochs
        metrics["learn_seconds"] = learn_seconds
        metrics["learner_tokens_per_s"] = learn_tokens / max(metrics["learn_seconds"], 1e-9)
        metrics["response_length_mean"] = float(exp.lengths.float().mean())
        metrics["response_length_max"] = int(exp.lengths.max())
        metrics["truncation_rate"] = float(exp.truncated.float().mean())
        return metrics

    def _plan(self, exp: Experience) -> list[_MiniBatch]:
        """The step's mini-batches: ``algorithm.mini_batches`` runs of whole prompt groups, as even
        as the batch allows (empty ones dropped), each with this rank's micro-batches."""
        ids = exp.group_ids.unique().tolist()
        parts, lc = self.cfg.algorithm.mini_batches, self.cfg.learner
        lengths = exp.attention_mask.sum(1).tolist()
        plan = []
        for m in range(parts):
            groups = set(ids[len(ids) * m // parts : len(ids) * (m + 1) // parts])
            if not groups:
                continue
            micro, live = plan_ranks(
                [rank_rows(exp.group_ids, r, self.world_size, groups) for r in range(self.world_size)],
                lengths,
                self.rank,
                lc.micro_batch_size,
                lc.max_tokens_per_micro_batch,
                lc.packing,
            )
            plan.append(_MiniBatch(rows=[i for i, g in enumerate(exp.group_ids.tolist()) if g in groups], micro=micro, live=live))
        return plan

    def _no_grad_passes(self, exp: Experience, plan: list[_MiniBatch]) -> tuple[torch.Tensor | None, ...]:
        """``(old logprobs, reference logprobs, critic values)`` of the whole batch, each ``[B, T-1]``
        or None when the algorithm does not need it, computed before any optimizer step of this
        update (so the old logprobs are the sampling-time policy's). Each rank fills its own rows;
        :func:`assemble_rows` completes them on every rank."""
        shape = exp.response_mask.shape
        old = torch.zeros(shape) if self.needs.old_logprobs else None
        ref = torch.zeros(shape) if self.needs.reference else None
        values = torch.zeros(shape) if self.needs.critic else None
        if old is None and ref is None and values is None:
            return None, None, None
        temperature, device, packed = self.cfg.rollout.temperature, self.learner.device, self.cfg.learner.packing
        with torch.no_grad():
            for mini in plan:
                for rows, live in zip(mini.micro, mini.live):
                    sub = exp.select(rows)
                    width = sub.response_mask.shape[1]
                    # Padding micro-batches run through the learners too (ZeRO-3 forwards are collective); their results are dropped.
                    out = [
                        (old, _logprobs(self.learner, sub, temperature, False, device, packed)[0]) if old is not None else None,
                        (ref, _logprobs(self.ref, sub, temperature, False, device, packed)[0]) if ref is not None and live else None,
                        (values, self.critic.values(sub, grad=False)) if values is not None else None,
                    ]
                    for full, part in filter(None, out):
                        if live:
                            full[rows, :width] = part.cpu()
        assemble_rows([old, ref, values], self.world_size)
        return old, ref, values

    def _accumulate(
        self,
        exp: Experience,
        step: StepExperience,
        mini: _MiniBatch,
        old_lp: torch.Tensor | None,
        ref_lp: torch.Tensor | None,
        values: torch.Tensor | None,
    ) -> tuple[list[dict], list[dict]]:
        """Forward and backward over this rank's micro-batches of one mini-batch (one optimizer
        step), each loss normalised by the mini-batch's totals over every rank (the loss contract)."""
        cfg, alg = self.cfg, self.cfg.algorithm
        device = self.learner.device
        scale = LossScale.of(step.mask[mini.rows], max_len=cfg.rollout.max_tokens)
        loss_metrics, value_metrics = [], []
        for i, (rows, live) in enumerate(zip(mini.micro, mini.live)):
            sub = exp.select(rows)
            width = sub.response_mask.shape[1]
            mask = step.mask[rows][:, :width].to(device) * (1.0 if live else 0.0)
            # The entropy is logged always; it carries a gradient only when the loss has an entropy bonus.
            logprobs, entropy = _logprobs(
                self.learner, sub, cfg.rollout.temperature, True, device, cfg.learner.packing, entropy_grad=alg.loss.entropy_coef > 0
            )
            out = compute_policy_loss(
                LossInput(
                    logprobs=logprobs,
                    mask=mask,
                    # without a separate pass the policy has not moved since sampling: the live logprobs are the old ones
                    old_logprobs=old_lp[rows][:, :width].to(device) if old_lp is not None else logprobs.detach(),
                    advantages=step.advantages.advantages[rows][:, :width].to(device),
                    ref_logprobs=ref_lp[rows][:, :width].to(device) if ref_lp is not None else None,
                    generator_logprobs=sub.generator_logprobs.to(device),
                    entropy=entropy,
                ),
                scale,
                alg.loss,
            )
            last = i == len(mini.micro) - 1
            self.learner.backward(out.loss, last=last)
            loss_metrics.append(out.metrics)
            if self.critic is not None:
                vout = value_loss(
                    ValueLossInput(
                        values=self.critic.values(sub, grad=True),
                        old_values=values[rows][:, :width].to(device),
                        returns=step.advantages.returns[rows][:, :width].to(device),
                        mask=mask,
                    ),
                    scale,
                    alg.critic.loss,
                )
                self.critic.learner.backward(vout.loss, last=last)
                value_metrics.append(vout.metrics)
        return loss_metrics, value_metrics

    # ---------------------------------------------------------------- evaluation

    def evaluate(self, step: int, samples: int) -> dict[str, Any]:
        """Greedy and sampled accuracy on the held-out problems (per-problem lists for the paired
        CI), computed by rank 0 alone and returned on every rank."""
        from rlvr.eval.runner import EvalPass, evaluate, problem_accuracy

        out: dict[str, Any] | None = None
        if self.learner.is_main:
            r = self.cfg.rollout
            passes = [EvalPass("greedy", SamplingConfig(n=1, temperature=0.0, max_tokens=r.max_tokens, stop=r.stop), seed=0)]
            if samples:
                sampled = SamplingConfig(n=samples, temperature=r.temperature, top_p=r.top_p, max_tokens=r.max_tokens, stop=r.stop)
                passes.append(EvalPass("sampled", sampled, seed=12345))
            prompt_ids = encode_prompts(self.eval_problems, self.template, self.tokenizer, self.eval_keep_last)
            # No answer clustering: the summary reports accuracies only.
            result = evaluate(
                self.generator,
                self.pool,
                self.eval_problems,
                prompt_ids,
                self.template,
                passes,
                dataset=self.cfg.eval.dataset.name,
                majority=False,
                prompts_per_chunk=r.prompts_per_chunk,
            )
            out = {name: problem_accuracy(samples) for name, samples in result.items()}
        return from_rank0(out, self.world_size)

    def periodic_eval(self) -> dict[str, float]:
        """pass@k / maj@k / greedy on the held-out problems, with rlvr eval's estimators (logged as eval/...); rank 0 computes."""
        from rlvr.eval.runner import evaluate_in_training

        out: dict[str, float] | None = None
        if self.learner.is_main:
            r = self.cfg.rollout
            sampling = SamplingConfig(n=max(1, self.cfg.eval.samples), temperature=r.temperature, top_p=r.top_p, max_tokens=r.max_tokens, stop=r.stop)
            out = evaluate_in_training(
                self.generator,
                self.pool,
                self.tokenizer,
                self.eval_problems,
                self.template,
                sampling,
                dataset=self.cfg.eval.dataset.name,
                prompts_per_chunk=r.prompts_per_chunk,
                keep_last=self.eval_keep_last,
            )
        return from_rank0(out, self.world_size)

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

    def state_for_checkpoint(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Each rank's data position and RNG state, and the critic. The generator is brought up to
        the saved weights first: the next batch comes from them, as after a resume."""
        self._current_generator()
        cursors, rngs = zip(*all_gather((self.state.get("cursor", 0), _rng_state()), self.world_size))
        state = {**self.state, "rng": list(rngs)}
        if self.world_size > 1:
            state.update(cursor=sum(cursors), rank_cursors=list(cursors))
        return state, {"critic": self.critic.learner} if self.critic is not None else None

    def _restore(self, state: dict[str, Any]) -> int:
        """This rank's data position from a checkpoint's trainer state."""
        if self.world_size == 1:
            return state.get("cursor", 0)
        cursors = state.get("rank_cursors", [])
        if len(cursors) != self.world_size:
            raise RlvrError(
                f"the checkpoint was written by {max(1, len(cursors))} rank(s); resume it with the same world size, not {self.world_size}"
            )
        state["cursor"] = cursors[self.rank]
        return cursors[self.rank]

    def _check_replicas(self) -> None:
        """Data-parallel replicas must hold identical weights; a divergence would silently make
        each rank's generator sample from a different policy."""
        from rlvr.generation.weight_sync import fingerprint

        mine = [fingerprint(t) for _, t in self.learner.named_full_parameters()]
        if any(other != mine for other in all_gather(mine, self.world_size)):
            raise RuntimeError("data-parallel replicas diverged: the learners' weights differ between ranks")

    # ---------------------------------------------------------------- the stage (see rlvr.training.loop)

    name = "train"

    @property
    def plot_keys(self) -> list[str]:
        # With a learned reward, the proxy's raw score beside the verified accuracy: where they part, the policy games the proxy.
        proxy = ["sampled_reward_mean", "reward/rm_score_mean"] if self.learned else []
        return ["reward_mean", *proxy, "accuracy", self._heldout_key, "response_length_mean"]

    @property
    def _heldout_key(self) -> str:
        return f"eval/{self.cfg.eval.dataset.name}/greedy"

    def train(self) -> dict[str, Any]:
        return run_stage(self.run, self, self.cfg.schedule.steps, self.cfg.schedule.max_seconds)

    def start(self, step: int) -> None:
        cfg = self.cfg
        main = self.learner.is_main
        if step == 0 and main:
            print(
                f"rlvr {self.name}: {cfg.model.path} ({count_parameters(self.learner.model) / 1e6:.2f}M parameters), "
                f"{len(self.train_problems)} training problems, {cfg.rollout.prompts_per_step} prompts x {cfg.rollout.n} samples per step "
                f"over {self.world_size} rank(s) -> {self.run.path}"
            )
        if cfg.eval.before_after and "before" not in self.state:
            before = self.evaluate(0, cfg.eval.samples)
            self.state["before"] = before
            if main:
                print(
                    f"rlvr {self.name}: held-out pass@1 before: greedy {_mean(before['greedy']):.3f}"
                    + (f", sampled {_mean(before['sampled']):.3f}" if "sampled" in before else "")
                )

    def step(self, step: int, checkpoint_after: bool) -> dict[str, Any]:
        """One trainer step: a batch of scored groups, the update on it, and the weight sync it calls for."""
        cfg = self.cfg
        # A checkpoint is a synchronisation point of the rollout pipeline: no batch generated
        # before it is trained on after it (a resumed run could not regenerate it).
        batch = self.pipeline.take(step, self.generator_version, prefetch=not checkpoint_after)
        self.state["cursor"] = batch.cursor
        groups, prompt_ids, metrics = self._global_batch(batch)
        if groups:
            metrics.update(self.learn(groups, prompt_ids))
        else:
            # Every group had equal rewards even after refills: no signal, so no update; the
            # step still counts (schedule, logging, checkpoints) so the run cannot stall.
            if self.learner.is_main:
                note(f"step {step + 1}: every group had equal rewards after refills; no update")
            if self.generator_version == self.policy_version:
                self.generator_version += 1  # the weights did not change: the generator still holds them
            self.learner.step_count += cfg.algorithm.optimizer_steps_per_update
            metrics["skipped_update"] = 1
        if self.pipeline.must_sync(self.generator_version, self.policy_version):
            self.pipeline.drain()  # never replace weights under a running generation
            metrics.update(self.sync())
        if self.guard is not None:
            self.guard.record_proxy(step + 1, metrics["sampled_reward_mean"])
        return metrics

    def learn(self, groups: list[list[ScoredCompletion]], prompt_ids: list[list[int]]) -> dict[str, float]:
        """The update on the step's global batch of scored groups: experience, then :meth:`update`.
        The hook where ``rlvr dpo`` (:mod:`rlvr.training.preference`) trains on pairs instead."""
        exp = build_experience(
            groups, prompt_ids, list(range(len(groups))), self.tokenizer.eos_token_id, self.tokenizer.pad_token_id, self.cfg.algorithm.mask_truncated
        )
        return self.update(exp)

    def scheduled_eval(self, step: int, last: bool) -> dict[str, Any]:
        """Every eval.every steps, but not after the last one (the evaluation after training follows)."""
        every = self.cfg.eval.every
        if not (every and step % every == 0 and step < self.cfg.schedule.steps):
            return {}
        metrics = self._current_generator()
        metrics.update(self.periodic_eval())
        if self.guard is not None:
            metrics.update(self._guard(step, metrics[self._heldout_key]))
        return metrics

    def _guard(self, step: int, heldout: float) -> dict[str, Any]:
        """The over-optimisation guard after the held-out evaluation of ``step`` (same on every rank:
        the evaluation is rank 0's, broadcast). ``keep_best`` saves a new best to best/."""
        g = self.cfg.reward.guard
        view = self.guard.observe(step, heldout)
        if g.action == "keep_best" and view.best_step == step:
            with staged_dir(self.run.path / "best", publish=self.learner.is_main) as best:
                self.learner.save_model(best, self.tokenizer)  # every rank joins the ZeRO-3 gather
        out: dict[str, Any] = {"guard/best_heldout": view.best, "guard/evals_below_best": view.below, "guard/fired": int(view.fired)}
        if view.fired and self.learner.is_main:
            note(
                f"step {step}: held-out greedy accuracy {heldout:.3f} has been more than {g.min_drop} below its best "
                f"{view.best:.3f} (step {view.best_step}) for {view.below} evaluations while the proxy reward rose: "
                + {"log": "the policy is gaming the reward", "stop": "stopping", "keep_best": f"final/ will be step {view.best_step}'s weights"}[
                    g.action
                ]
            )
        if view.fired and g.action == "stop":
            out["stop"] = True
        return out

    def postfix(self, metrics: dict[str, Any]) -> dict[str, str]:
        return {"acc": f"{metrics['accuracy']:.2f}", "zero_var": f"{metrics['zero_variance_frac']:.2f}", "s": f"{metrics['step_seconds']:.2f}"}

    def finish(self, step: int, loop_seconds: float) -> dict[str, Any]:
        """The data-parallel replica check and the held-out evaluation after training."""
        self.pipeline.close()
        summary: dict[str, Any] = {"rl_seconds": round(loop_seconds, 1), "world_size": self.world_size}
        if self.world_size > 1:
            self._check_replicas()
            summary["replicas_identical"] = True
        if self.cfg.eval.before_after:
            self._current_generator()
            summary.update(self._before_after(step))
        if self.guard is not None:
            summary["guard"] = self.guard.summary()
        if self.learned and self.learner.is_main:
            self._plot_gaming(step, summary)
        return summary

    def _plot_gaming(self, step: int, summary: dict[str, Any]) -> None:
        """reward_gaming.png: the proxy and the verified accuracies (training batch, held-out greedy before, during and after) against step."""
        heldout = [(int(s), a) for s, a in self.state.get("guard", {}).get("evals", [])]
        if "pass@1_before" in summary:
            heldout = [(0, summary["pass@1_before"]), *heldout, (step, summary["pass@1_after"])]
        path = self.run.path
        plot_gaming(
            path / "metrics.jsonl",
            path / "reward_gaming.png",
            "sampled_reward_mean",
            ["accuracy"],
            heldout,
            f"rlvr train: reward {self.cfg.reward.name} vs the verifier",
        )

    def final_weights(self) -> Path | None:
        """The guard's best held-out checkpoint with ``reward.guard.action: keep_best``, else the last step's weights."""
        best = self.run.path / "best"
        return best if self.cfg.reward.guard.action == "keep_best" and best.is_dir() else None

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
            print(
                f"rlvr {self.name}: held-out greedy pass@1 {out['pass@1_before']:.3f} -> {out['pass@1_after']:.3f} "
                f"({out['improvement'] * 100:+.1f} points, 95% CI {out['ci95'][0] * 100:+.1f} to {out['ci95'][1] * 100:+.1f})"
            )
            if "sampled_pass@1_after" in out:
                print(
                    f"rlvr {self.name}: held-out sampled pass@1 {out['sampled_pass@1_before']:.3f} -> {out['sampled_pass@1_after']:.3f} "
                    f"(95% CI of the difference {out['sampled_ci95'][0] * 100:+.1f} to {out['sampled_ci95'][1] * 100:+.1f} points)"
                )
        return out

    def close(self) -> None:
        try:
            self.pipeline.close()
            self.reward.close()
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
