"""``rlvr dpo``: preference optimisation (DPO, IPO, SimPO, KTO), offline from files or online in rounds.

The update (:class:`PreferenceUpdate`) is one optimizer step of a loss of
:mod:`rlvr.algorithms.preference` on a batch of (chosen, rejected) pairs or labelled completions:
each completion is tokenized after its prompt (:func:`rlvr.data.lm.encode_sft`: separately, then
concatenated), micro-batches are planned as every stage plans them
(:mod:`rlvr.training.batching`), the learner's token logprobs (``Learner.logprobs`` on a
``layout``, as the RL step and SFT compute them) are summed per sequence, and so are a frozen
reference model's when the loss's traits say ``needs_reference`` (SimPO's do not: no reference
is loaded). A pair's two sequences share a micro-batch, since the loss is not additive over them.

Two ways to get the data:

- **offline** (``online: false``): ``data.pairs`` (:func:`rlvr.data.preferences.load_pairs`; for
  KTO ``data.labels``, :func:`~rlvr.data.preferences.load_labels`, which also reads a pairs file).
  A held-out share of the prompts measures preference accuracy every ``schedule.eval_every`` steps.
  One step is one optimizer step on ``schedule.batch_size`` pairs (or completions).
- **online** (``online: true``), "sample, verify, build pairs, update, repeat" as in iterative
  DPO (Xiong et al. 2024, "Iterative Preference Learning from Human Feedback"; Dong et al. 2024,
  "RLHF Workflow") and online AI feedback (Guo et al. 2024): :class:`OnlineTrainer` is the RL
  trainer (:class:`rlvr.training.rl.Trainer`) with another update. Each step is one round: the
  trainer's collection draws ``rollout.prompts_per_round`` problems, samples ``rollout.n``
  completions each and verifies them (dynamic sampling drops all-correct and all-wrong groups,
  which hold no pair); the round's pairs (:func:`rlvr.rollout.pairs.pairs_from_groups`, correct
  preferred to incorrect) or labels (:func:`~rlvr.rollout.pairs.labels_from_groups`) are split into
  ``rollout.updates_per_round`` optimizer steps; the trainer then syncs the weights into the
  generator. Checkpoints and resume, the time budget, and the held-out pass@1 before and after
  with its paired-bootstrap CI are the trainer's.

The reference (``reference``): ``initial``, the starting model throughout, as Xiong et al. keep
the KL anchor at the initial policy ``pi_0``; or ``round``, the policy as it was at the start of
each round, as Self-Rewarding LMs (Yuan et al. 2024) and Iterative RPO (Pang et al. 2024) do,
which lets the policy drift further over many rounds. Offline training always uses the initial model.
"""

from __future__ import annotations

import random
import time
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import torch

from rlvr.algorithms.aggregation import reduce_metrics
from rlvr.algorithms.config import AlgorithmConfig
from rlvr.algorithms.preference import (
    PREFERENCE_LOSSES,
    PreferenceInput,
    PreferenceLossConfig,
    PreferenceScale,
    Sequences,
    compute_preference_loss,
    kto_reference_point,
)
from rlvr.config import field, section
from rlvr.data import DatasetConfig
from rlvr.data.lm import SFTExample, collate_sft, encode_sft, step_indices
from rlvr.data.preferences import LabeledCompletion, PreferencePair, load_labels, load_pairs
from rlvr.errors import RlvrError
from rlvr.generation.base import GeneratorConfig
from rlvr.models.load import count_parameters, load_model, load_tokenizer, resolve_model_path
from rlvr.prompts import get_template
from rlvr.rewards.config import RewardConfig
from rlvr.rollout.pairs import labels_from_groups, pairs_from_groups
from rlvr.rollout.sample import ScoredCompletion
from rlvr.training.batching import layout, plan_ranks
from rlvr.training.distributed import all_gather, sum_over_ranks
from rlvr.training.learner import Learner, LearnerConfig, OptimConfig, build_learner, token_logprobs
from rlvr.training.loop import Run, note, run_stage
from rlvr.training.rl import RLModelConfig, RolloutConfig, TrainConfig, Trainer, TrainEvalConfig, TrainSchedule, _mean_over_steps
from rlvr.training.run import RunConfig
from rlvr.training.supervised import shard
from rlvr.verifiers.config import VerifierConfig


def _train_data() -> DatasetConfig:
    return DatasetConfig(name="arith", split="train", options={"level": "hard"})


@dataclass
class PreferenceDataConfig:
    """Where the preferences come from: files (offline) or a dataset to sample and verify (online)."""

    pairs: str | None = field(None, help="offline: JSONL of {prompt, chosen, rejected} pairs or {prompt, ranked} rows (rlvr data pairs writes one)")
    labels: str | None = field(
        None, help="offline kto: JSONL of {prompt, completion, label} rows (a pairs file works too: chosen good, rejected bad)"
    )
    dataset: DatasetConfig = field(default_factory=_train_data, help="online: the problems each round samples (only their answer keys are used)")
    eval_fraction: float = field(0.05, ge=0, lt=1, help="offline: share of the prompts held out for preference accuracy (split by prompt id)")
    max_len: int = field(256, ge=2, help="longest prompt + completion in tokens; longer pairs or completions are skipped and counted")


@dataclass
class RoundConfig:
    """Online rounds: what is sampled and how many optimizer steps are taken on it."""

    prompts_per_round: int = field(16, ge=1, help="prompt groups per round (after dynamic sampling)")
    n: int = field(8, ge=2, help="completions sampled per prompt")
    temperature: float = field(1.0, gt=0, help="sampling temperature")
    top_p: float = field(1.0, gt=0, le=1, help="nucleus sampling")
    max_tokens: int = field(96, ge=1, help="generation budget per completion")
    stop: list[str] | None = field(None, help="strings that end a completion (null: the template's)")
    prompts_per_chunk: int = field(64, ge=1, help="prompts per generator call; verifying one chunk overlaps the next")
    dynamic_sampling: bool = field(True, help="drop groups whose completions are all correct or all wrong (they hold no pair) and draw more prompts")
    max_refill_rounds: int = field(1, ge=0, help="extra generation rounds to refill a round after dynamic sampling")
    max_pairs_per_prompt: int | None = field(
        4, ge=1, help="pairs per prompt at most, drawn at random from its (correct, incorrect) combinations (null: all)"
    )
    updates_per_round: int = field(1, ge=1, help="optimizer steps per round; the round's pairs are split evenly between them (each used once)")


@dataclass
class DPOSchedule:
    steps: int = field(200, ge=1, help="offline: optimizer steps; online: rounds")
    max_seconds: float = field(0.0, ge=0, help="stop after this many seconds of training (0: no limit); the final evaluation still runs")
    batch_size: int = field(32, ge=1, help="offline: pairs (kto: completions) per optimizer step")
    eval_every: int = field(
        50,
        ge=0,
        help="offline: held-out preference accuracy every N steps and after the last (0: after the last only); online rounds use eval.every",
    )


@dataclass
class DPOConfig:
    """``rlvr dpo``: DPO, IPO, SimPO or KTO, offline from preference files or online from verified samples."""

    run: RunConfig = section(RunConfig, "run directory, logging, checkpoints")
    model: RLModelConfig = section(RLModelConfig, "the policy (and the reference it starts as)")
    loss: PreferenceLossConfig = section(PreferenceLossConfig, "preference loss and its coefficients")
    online: bool = field(False, help="sample, verify, build pairs, update, repeat (true), or learn from data.pairs / data.labels (false)")
    reference: Literal["initial", "round"] = field(
        "initial", help="the reference model: the initial policy, or (online) the policy at the start of each round"
    )
    data: PreferenceDataConfig = section(PreferenceDataConfig, "preference files (offline) or the problems to sample (online)")
    template: str = field(
        "arith", check=get_template, help="online: prompt template that renders the problems (also fixes the verifier's answer marker)"
    )
    rollout: RoundConfig = section(RoundConfig, "online: sampling and updates per round")
    verifier: VerifierConfig = section(VerifierConfig, "online: the verifier pool (training and held-out evaluation)")
    reward: RewardConfig = section(RewardConfig, "online: the reward the rollouts are scored with (pairs prefer verified-correct completions)")
    generator: GeneratorConfig = section(GeneratorConfig, "online: generation engine")
    learner: LearnerConfig = section(LearnerConfig, "DeepSpeed/torch learner (micro_batch_size counts sequences: a pair is two)")
    optim: OptimConfig = section(OptimConfig, "optimizer and learning-rate schedule")
    schedule: DPOSchedule = section(DPOSchedule, "how long to train and how often to evaluate")
    eval: TrainEvalConfig = section(TrainEvalConfig, "online: held-out pass@1 before and after (and pass@k every eval.every rounds)")

    def validate(self) -> None:
        traits = PREFERENCE_LOSSES.traits(self.loss.name)
        if not traits.needs_reference and self.reference != "initial":
            raise ValueError(
                f"loss.name={self.loss.name} is reference-free: no reference model is loaded, so reference={self.reference} means nothing; remove it"
            )
        if self.online:
            if self.data.pairs or self.data.labels:
                raise ValueError("online: true samples its own pairs from data.dataset; remove data.pairs / data.labels (or set online: false)")
            if self.generator.name != "remote" and self.generator.max_model_len <= self.rollout.max_tokens:
                raise ValueError(
                    f"generator.max_model_len ({self.generator.max_model_len}) must exceed rollout.max_tokens ({self.rollout.max_tokens})"
                )
            return
        if self.reference == "round":
            raise ValueError("reference: round refreshes the reference each online round; offline training keeps the initial model")
        if traits.paired:
            if self.data.labels:
                raise ValueError(f"data.labels holds unpaired completions, which only kto learns from; loss.name={self.loss.name} needs data.pairs")
            if not self.data.pairs:
                raise ValueError(f"loss.name={self.loss.name} needs data.pairs (a pairs JSONL file, e.g. from rlvr data pairs) or online: true")
        elif not (self.data.labels or self.data.pairs):
            raise ValueError(f"loss.name={self.loss.name} learns from labelled completions: set data.labels (or data.pairs), or online: true")

    def train_view(self) -> TrainConfig:
        """The RL trainer's config for the online rounds: one round is one trainer step whose
        update takes ``updates_per_round`` optimizer steps (its ``epochs``, for the learning-rate
        schedule and the policy version)."""
        r = self.rollout
        return TrainConfig(
            run=self.run,
            model=self.model,
            data=self.data.dataset,
            template=self.template,
            rollout=RolloutConfig(
                prompts_per_step=r.prompts_per_round,
                n=r.n,
                temperature=r.temperature,
                top_p=r.top_p,
                max_tokens=r.max_tokens,
                stop=r.stop,
                prompts_per_chunk=r.prompts_per_chunk,
            ),
            verifier=self.verifier,
            reward=self.reward,
            algorithm=AlgorithmConfig(dynamic_sampling=r.dynamic_sampling, max_refill_rounds=r.max_refill_rounds, epochs=r.updates_per_round),
            generator=self.generator,
            learner=self.learner,
            optim=self.optim,
            schedule=TrainSchedule(steps=self.schedule.steps, max_seconds=self.schedule.max_seconds),
            eval=self.eval,
        )


# ----------------------------------------------------------------------------- the update


@dataclass
class _Pair:
    chosen: SFTExample
    rejected: SFTExample


@dataclass
class _Labelled:
    example: SFTExample
    label: bool


def _length(e: SFTExample) -> int:
    return len(e.prompt_ids) + len(e.response_ids)


class PreferenceUpdate:
    """Optimizer steps of a preference loss on the learner, with a frozen ``ref`` model (None for
    a reference-free loss). Every rank is given the same global batch and trains its share."""

    def __init__(self, learner: Learner, ref: Any, loss: PreferenceLossConfig, tokenizer, max_len: int):
        self.learner, self.ref, self.loss, self.tokenizer, self.max_len = learner, ref, loss, tokenizer, max_len
        self.traits = PREFERENCE_LOSSES.traits(loss.name)

    # ---------------------------------------------------------------- data

    def encode(self, items: list[PreferencePair] | list[LabeledCompletion]) -> tuple[list[_Pair] | list[_Labelled], int]:
        """Token ids of pairs (paired losses) or labelled completions; also how many did not fit ``max_len``."""
        out: list = []
        for item in items:
            if self.traits.paired:
                c = encode_sft(item.prompt, item.chosen, self.tokenizer, self.max_len)
                r = encode_sft(item.prompt, item.rejected, self.tokenizer, self.max_len)
                if c is not None and r is not None:
                    out.append(_Pair(c, r))
            else:
                e = encode_sft(item.prompt, item.completion, self.tokenizer, self.max_len)
                if e is not None:
                    out.append(_Labelled(e, item.label))
        return out, len(items) - len(out)

    # ---------------------------------------------------------------- logprobs

    def _sequence_logps(self, model: Any, examples: list[SFTExample]) -> tuple[torch.Tensor, torch.Tensor]:
        """Summed logprobs of each completion given its prompt, and its token count, under the
        learner (with gradient) or a plain model; the same logprob path as the RL step's."""
        mb = collate_sft(examples, self.tokenizer.pad_token_id)
        lay = layout(mb.input_ids, mb.attention_mask, mb.loss_mask, packed=self.learner.cfg.packing)
        if model is self.learner:
            lp, _ = self.learner.logprobs(lay, temperature=1.0)
        else:
            with torch.no_grad():
                lp, _ = token_logprobs(model, model, lay.to(self.learner.device), 1.0)
        mask = mb.loss_mask.to(lp.device)
        return (lp * mask).sum(-1), mask.sum(-1)

    def _sequences(self, examples: list[SFTExample]) -> Sequences:
        logps, tokens = self._sequence_logps(self.learner, examples)
        ref = self._sequence_logps(self.ref, examples)[0] if self.traits.needs_reference else None
        return Sequences(logps, tokens, ref)

    # ---------------------------------------------------------------- one step

    def _plan(self, batch: list) -> tuple[list[list[int]], list[bool]]:
        """This rank's micro-batches of ``batch`` (indices), the same count on every rank. A pair
        is two sequences of one micro-batch: its size counts both, padded to the longer one."""
        lc, ws = self.learner.cfg, self.learner.world_size
        if self.traits.paired:
            lengths = [_length(p.chosen) + _length(p.rejected) if lc.packing else 2 * max(_length(p.chosen), _length(p.rejected)) for p in batch]
            per_micro = max(1, lc.micro_batch_size // 2)
        else:
            lengths, per_micro = [_length(x.example) for x in batch], lc.micro_batch_size
        idx = list(range(len(batch)))
        return plan_ranks([shard(idx, r, ws) for r in range(ws)], lengths, self.learner.rank, per_micro, lc.max_tokens_per_micro_batch, lc.packing)

    def _input(self, batch: list, rows: list[int], z0: torch.Tensor | None) -> PreferenceInput:
        if self.traits.paired:
            seqs = self._sequences([batch[i].chosen for i in rows] + [batch[i].rejected for i in rows])
            k = len(rows)
            half = lambda a, b: None if seqs.ref_logps is None else seqs.ref_logps[a:b]  # noqa: E731
            return PreferenceInput(
                chosen=Sequences(seqs.logps[:k], seqs.tokens[:k], half(0, k)),
                rejected=Sequences(seqs.logps[k:], seqs.tokens[k:], half(k, 2 * k)),
            )
        labels = torch.tensor([batch[i].label for i in rows], device=self.learner.device)
        return PreferenceInput(completions=self._sequences([batch[i].example for i in rows]), labels=labels, z0=z0)

    def _reference_point(self, batch: list, plan: list[list[int]], live: list[bool]) -> torch.Tensor | None:
        """KTO's ``z0`` over the whole batch (every rank's share): prompt ``i`` with the completion
        of example ``i + 1`` (:func:`~rlvr.algorithms.preference.kto_reference_point`)."""
        if self.traits.paired:
            return None
        parts = []
        with torch.no_grad():
            for rows, ok in zip(plan, live):
                mismatched = [SFTExample(batch[i].example.prompt_ids, batch[(i + 1) % len(batch)].example.response_ids) for i in rows]
                seqs = self._sequences(mismatched)  # an idle rank's padding forward too: ZeRO-3 gathers are collective
                if ok:
                    parts.append(torch.stack([seqs.logps, seqs.tokens, seqs.ref_logps], 1).cpu())
        rows = [row for part in all_gather(torch.cat(parts).tolist() if parts else [], self.learner.world_size) for row in part]
        every = torch.tensor(rows, dtype=torch.float64)
        return kto_reference_point(Sequences(every[:, 0], every[:, 1], every[:, 2])).float().to(self.learner.device)

    def _scale(self, batch: list) -> PreferenceScale:
        if self.traits.paired:
            return PreferenceScale(examples=len(batch))
        good = sum(x.label for x in batch)
        return PreferenceScale(examples=len(batch), desirable=good, undesirable=len(batch) - good)

    def step(self, batch: list) -> dict[str, float]:
        """One optimizer step on ``batch`` (the global batch; this rank trains its share): the mean
        loss over it, micro-batch by micro-batch (each loss is its share of the step's mean)."""
        plan, live = self._plan(batch)
        z0 = self._reference_point(batch, plan, live)
        scale = self._scale(batch)
        shares = []
        for i, (rows, ok) in enumerate(zip(plan, live)):
            out = compute_preference_loss(self._input(batch, rows, z0), scale, self.loss)
            # A padding micro-batch (an idle rank's) still runs forward and backward (ZeRO collectives), adding nothing.
            self.learner.backward(out.loss if ok else out.loss * 0.0, last=i == len(plan) - 1)
            if ok:
                shares.append(out.metrics)
        info = self.learner.step()
        return {**self._gather(shares, z0), **info}

    @torch.no_grad()
    def evaluate(self, batch: list) -> dict[str, float]:
        """The loss and preference accuracy on held-out ``batch``, no gradient (keys ``val_...``)."""
        self.learner.model.eval()
        plan, live = self._plan(batch)
        z0 = self._reference_point(batch, plan, live)
        scale = self._scale(batch)
        shares = [compute_preference_loss(self._input(batch, rows, z0), scale, self.loss).metrics for rows, ok in zip(plan, live) if ok]
        self.learner.model.train()
        return {f"val_{k}": v for k, v in self._gather(shares, z0).items()}

    def _gather(self, shares: list[dict[str, torch.Tensor]], z0: torch.Tensor | None) -> dict[str, float]:
        """Step metrics: this rank's micro-batch shares summed, then summed over ranks."""
        mine = reduce_metrics(shares)
        out = {k: sum_over_ranks(v, self.learner.world_size) for k, v in mine.items()}
        if z0 is not None:
            out["kl_z0"] = float(z0)
        return out


def _reference_model(path: str, cfg: DPOConfig, learner: Learner) -> Any:
    """A frozen copy of the weights at ``path`` when the loss reads a reference (its trait), else None."""
    if not PREFERENCE_LOSSES.traits(cfg.loss.name).needs_reference:
        return None
    ref = load_model(path, cfg.model.dtype).to(learner.device).eval()
    ref.requires_grad_(False)
    return ref


# ----------------------------------------------------------------------------- offline


def _held_out(item: PreferencePair | LabeledCompletion, fraction: float) -> bool:
    """Whether an item's prompt is held out: a stable hash of its id (or prompt text), so every
    pair of one prompt falls on the same side and reruns split alike."""
    key = item.id or item.prompt
    return zlib.crc32(key.encode()) % 10_000 < fraction * 10_000


class OfflineStage:
    """Preference learning from a file, as a stage of :func:`rlvr.training.loop.run_stage`."""

    name = "dpo"

    def __init__(self, cfg: DPOConfig):
        self.cfg = cfg
        paired = PREFERENCE_LOSSES.traits(cfg.loss.name).paired
        source = cfg.data.pairs if paired else cfg.data.labels or cfg.data.pairs
        items = load_pairs(source) if paired else load_labels(source)  # a bad file stops the run before its directory exists
        self.run = Run(self.name, cfg.run, cfg)
        try:
            self._build(cfg, items, source, paired)
        except BaseException:
            self.run.close()
            raise

    def _build(self, cfg: DPOConfig, items: list, source: str, paired: bool) -> None:
        self.tokenizer = load_tokenizer(cfg.model.path)
        resume_from = self.run.resume_from
        policy = str(resume_from / "model") if resume_from else resolve_model_path(cfg.model.path)
        self.learner = build_learner(load_model(policy, cfg.model.dtype), cfg.learner, cfg.optim, cfg.schedule.steps)
        ref = _reference_model(resolve_model_path(cfg.model.path), cfg, self.learner)
        self.update = PreferenceUpdate(self.learner, ref, cfg.loss, self.tokenizer, cfg.data.max_len)
        self.train_items, skipped_train = self.update.encode([x for x in items if not _held_out(x, cfg.data.eval_fraction)])
        self.val_items, skipped_val = self.update.encode([x for x in items if _held_out(x, cfg.data.eval_fraction)])
        what = "pairs" if paired else "labelled completions"
        if skipped_train + skipped_val and self.learner.is_main:
            print(f"rlvr dpo: skipped {skipped_train + skipped_val} of {len(items)} {what} longer than data.max_len={cfg.data.max_len} tokens")
        if not self.train_items:
            raise RlvrError(f"{source}: no {what} to train on (after holding out data.eval_fraction={cfg.data.eval_fraction} and data.max_len)")
        self.plot_keys = ["loss", "preference_accuracy", "val_preference_accuracy", "reward_margin" if paired else "kl_z0"]
        self.state = self.run.restore(self.learner)
        self.before: dict[str, float] = self.state.get("before", {})
        self.last_eval: dict[str, float] = {}

    def start(self, step: int) -> None:
        cfg = self.cfg
        if step == 0 and self.learner.is_main:
            print(
                f"rlvr dpo: {cfg.loss.name} on {cfg.model.path} ({count_parameters(self.learner.model) / 1e6:.2f}M parameters), "
                f"{len(self.train_items)} training and {len(self.val_items)} held-out examples, {cfg.schedule.batch_size} per step -> {self.run.path}"
            )
        if self.val_items and not self.before:
            self.before = self.update.evaluate(self.val_items)

    def step(self, step: int, checkpoint_after: bool) -> dict[str, Any]:
        t0 = time.time()
        idx = step_indices(len(self.train_items), self.cfg.schedule.batch_size, step, self.cfg.run.seed)
        metrics = self.update.step([self.train_items[i] for i in idx])
        metrics["learn_seconds"] = time.time() - t0
        return metrics

    def scheduled_eval(self, step: int, last: bool) -> dict[str, Any]:
        every = self.cfg.schedule.eval_every
        if not self.val_items or not ((every and step % every == 0) or last):
            return {}
        self.last_eval = self.update.evaluate(self.val_items)
        if self.learner.is_main:
            note(f"step {step}: held-out preference accuracy {self.last_eval['val_preference_accuracy']:.3f}, loss {self.last_eval['val_loss']:.4f}")
        return self.last_eval

    def postfix(self, metrics: dict[str, Any]) -> dict[str, str]:
        return {"loss": f"{metrics['loss']:.3f}", "acc": f"{metrics['preference_accuracy']:.2f}"}

    def state_for_checkpoint(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        return {"before": self.before}, None

    def finish(self, step: int, loop_seconds: float) -> dict[str, Any]:
        out: dict[str, Any] = {"loss": self.cfg.loss.name, "train_examples": len(self.train_items), "heldout_examples": len(self.val_items)}
        if self.before and self.last_eval:
            out["heldout_accuracy_before"] = self.before["val_preference_accuracy"]
            out["heldout_accuracy_after"] = self.last_eval["val_preference_accuracy"]
            out["heldout_loss_before"] = self.before["val_loss"]
            out["heldout_loss_after"] = self.last_eval["val_loss"]
            if self.learner.is_main:
                print(f"rlvr dpo: held-out preference accuracy {out['heldout_accuracy_before']:.3f} -> {out['heldout_accuracy_after']:.3f}")
        return out

    def final_weights(self) -> None:
        return None

    def train(self) -> dict[str, Any]:
        return run_stage(self.run, self, self.cfg.schedule.steps, self.cfg.schedule.max_seconds)

    def close(self) -> None:
        self.run.close()


# ----------------------------------------------------------------------------- online


class OnlineTrainer(Trainer):
    """The RL trainer whose update is a preference loss on the round's verified pairs (see the module docstring)."""

    name = "dpo"

    def __init__(self, cfg: DPOConfig):
        self.dpo = cfg
        super().__init__(cfg.train_view(), full_config=cfg)
        try:
            # A resumed run with reference: round continues from the checkpoint's weights, which
            # are the policy at the start of the next round; otherwise the initial model.
            resume_from = self.run.resume_from
            at = str(resume_from / "model") if resume_from and cfg.reference == "round" else resolve_model_path(cfg.model.path)
            self.ref = _reference_model(at, cfg, self.learner)
            self.preference = PreferenceUpdate(self.learner, self.ref, cfg.loss, self.tokenizer, cfg.data.max_len)
        except BaseException:
            self.close()
            raise

    @property
    def plot_keys(self) -> list[str]:
        return ["accuracy", "loss", "reward_margin" if self.preference.traits.paired else "kl_z0", f"eval/{self.cfg.eval.dataset.name}/greedy"]

    def learn(self, groups: list[list[ScoredCompletion]], prompt_ids: list[list[int]]) -> dict[str, float]:
        """The round's pairs (or labelled completions), ``updates_per_round`` optimizer steps on them."""
        cfg, r = self.dpo, self.dpo.rollout
        prompts = [self.template.render(g[0].problem, self.tokenizer) for g in groups]
        seed = cfg.run.seed * 1_000_003 + self.learner.step_count
        items = (
            pairs_from_groups(groups, prompts, r.max_pairs_per_prompt, seed) if self.preference.traits.paired else labels_from_groups(groups, prompts)
        )
        examples, skipped = self.preference.encode(items)
        random.Random(seed).shuffle(examples)
        if cfg.reference == "round" and self.ref is not None:
            self._refresh_reference()
        t0 = time.time()
        shares = []
        for k in range(r.updates_per_round):
            part = examples[len(examples) * k // r.updates_per_round : len(examples) * (k + 1) // r.updates_per_round]
            if part:
                shares.append(self.preference.step(part))
            else:
                self.learner.step_count += 1  # too few examples for every step: the schedule still advances a whole round
        metrics = _mean_over_steps(shares) if shares else {"skipped_update": 1}
        metrics.update(examples=len(examples), skipped_too_long=skipped, learn_seconds=time.time() - t0)
        return metrics

    @torch.no_grad()
    def _refresh_reference(self) -> None:
        """The reference becomes the current policy (``reference: round``)."""
        params = dict(self.ref.named_parameters())
        for name, tensor in self.learner.named_full_parameters():
            params[name].copy_(tensor)

    def postfix(self, metrics: dict[str, Any]) -> dict[str, str]:
        return {"acc": f"{metrics['accuracy']:.2f}", "examples": str(metrics.get("examples", 0)), "s": f"{metrics['step_seconds']:.1f}"}


def run_dpo(cfg: DPOConfig) -> dict[str, Any]:
    stage = OnlineTrainer(cfg) if cfg.online else OfflineStage(cfg)
    try:
        return stage.train()
    finally:
        stage.close()
