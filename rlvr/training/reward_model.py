"""``rlvr rm``: train a reward model on preference pairs (the InstructGPT recipe's second stage).

The model is ``AutoModelForSequenceClassification`` with one label on top of any causal LM
(transformers adds a fresh linear ``score`` head on the last hidden state). A sequence is the
prompt's ids followed by the completion's ids and EOS (tokenized separately, as the generator sees
them; see :mod:`rlvr.data.preferences`), cut on the left to ``data.max_length`` so that the answer,
which decides the preference, is never the part cut off. The reward is the head's output at the
last real token: transformers pools at the rightmost token that is not ``pad_token_id``, so the
batches are right-padded and the model's config carries the tokenizer's pad id; scoring the saved
model with plain ``AutoModelForSequenceClassification`` then gives exactly the rewards trained
here. (When EOS is the pad token it is left off: the pooling would skip it anyway.)

Each optimizer step takes ``schedule.batch_size`` pairs; the chosen and rejected sequence of a pair
share a micro-batch, and the Bradley-Terry loss (:mod:`rlvr.algorithms.bradley_terry`) is summed
over pairs and divided by the step's pair count, so the micro-batch split never changes it.

The loop, checkpoints, resume and the choice of ``final/`` are the supervised stages'
(:class:`~rlvr.training.supervised.SupervisedStage`): the held-out pairwise accuracy is the
``score``, so the most accurate weights are kept in ``best/`` and published as ``final/``.
Held-out pairs come from their own file or from a seeded split *by prompt*: pairs of one prompt
share its completions, so a pair-level split would grade the model on completions it trained on.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from rlvr.algorithms.bradley_terry import bradley_terry
from rlvr.config import field, section
from rlvr.data.lm import right_pad, step_indices
from rlvr.data.preferences import PreferencePair, load_pairs
from rlvr.errors import RlvrError
from rlvr.models.load import load_tokenizer, resolve_model_path
from rlvr.rewards.reward_model import rm_input_ids
from rlvr.training.batching import plan_micro_batches, plan_ranks
from rlvr.training.distributed import sum_over_ranks
from rlvr.training.learner import Learner, build_learner
from rlvr.training.loop import Run, run_stage
from rlvr.training.supervised import StageConfig, SupervisedStage, SupervisedTask, shard


@dataclass
class RMDataConfig:
    """Preference pairs to train on and the held-out pairs that pick the checkpoint."""

    train: str = field("runs/pairs/arith-hard.jsonl", help="pairs or rankings JSONL (rlvr data pairs writes one)")
    heldout: str | None = field(None, help="held-out pairs JSONL (its own prompts); null: hold out data.heldout_fraction of the train prompts")
    heldout_fraction: float = field(0.05, ge=0, lt=1, help="share of train *prompts* held out when data.heldout is null (seeded by run.seed)")
    max_length: int = field(256, ge=2, help="longest prompt + completion in tokens; longer sequences lose their start")


@dataclass
class RMLossConfig:
    """Bradley-Terry loss options (see rlvr/algorithms/bradley_terry.py)."""

    margin: Literal["none", "pair"] = field(
        "none", help="none: plain BT; pair: each pair must win by its row's 'margin' field x margin_scale (Llama 2)"
    )
    margin_scale: float = field(1.0, ge=0, help="multiplies the rows' margins (loss.margin=pair)")
    center_coef: float = field(0.0, ge=0, help="weight of (r_chosen + r_rejected)^2, which keeps rewards centred on 0 (Eisenstein et al. 2023)")


@dataclass
class RMConfig(StageConfig):
    """``rlvr rm``: a reward model trained on preference pairs with the Bradley-Terry loss."""

    data: RMDataConfig = section(RMDataConfig, "train and held-out pairs")
    loss: RMLossConfig = section(RMLossConfig, "Bradley-Terry loss options")

    def validate(self) -> None:
        if not self.model.path:
            raise ValueError("model.path: a reward model starts from an existing model (a dir or a built-in name such as tiny-arith)")
        if self.data.heldout is None and self.data.heldout_fraction <= 0:
            raise ValueError("data.heldout is null and data.heldout_fraction is 0: the reward model needs held-out pairs")
        if self.learner.packing:
            raise ValueError("learner.packing: rlvr rm pools one reward per sequence and does not pack them")


# ----------------------------------------------------------------------------- data


@dataclass
class EncodedPair:
    chosen: list[int]
    rejected: list[int]
    margin: float  # required separation, 0 when the loss has none
    group: str  # the prompt's id (or text): the held-out split and the bootstrap go by it


def encode_pairs(pairs: list[PreferencePair], tokenizer, cfg: RMConfig) -> list[EncodedPair]:
    cache: dict[tuple[str, str], list[int]] = {}  # a pairs file repeats each completion many times

    def ids(prompt: str, completion: str) -> list[int]:
        key = (prompt, completion)
        if key not in cache:
            cache[key] = rm_input_ids(tokenizer, prompt, completion, eos=True, max_length=cfg.data.max_length)
        return cache[key]

    use_margin = cfg.loss.margin == "pair"
    return [
        EncodedPair(
            ids(p.prompt, p.chosen), ids(p.prompt, p.rejected), (p.margin or 0.0) * cfg.loss.margin_scale if use_margin else 0.0, p.id or p.prompt
        )
        for p in pairs
    ]


def split_by_prompt(pairs: list[PreferencePair], fraction: float, seed: int) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """(train, held-out): a seeded ``fraction`` of the prompts (by id, else text) and all their pairs held out."""
    groups = sorted({p.id or p.prompt for p in pairs})
    random.Random(seed).shuffle(groups)
    held = set(groups[: round(len(groups) * fraction)])
    return [p for p in pairs if (p.id or p.prompt) not in held], [p for p in pairs if (p.id or p.prompt) in held]


@dataclass
class PairBatch:
    """One micro-batch of pairs: rows ``[:P]`` chosen, ``[P:]`` rejected, right-padded."""

    input_ids: torch.Tensor  # [2P, T]
    attention_mask: torch.Tensor  # [2P, T]
    margin: torch.Tensor  # [P]
    live: float  # 0.0 for a filler micro-batch (data-parallel ranks with fewer pairs): adds nothing


def collate_pairs(pairs: list[EncodedPair], pad_id: int, live: bool = True) -> PairBatch:
    ids, attn = right_pad([p.chosen for p in pairs] + [p.rejected for p in pairs], pad_id)
    return PairBatch(ids, attn, torch.tensor([p.margin for p in pairs]), 1.0 if live else 0.0)


def rewards(learner: Learner, mb: PairBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """(chosen, rejected) rewards ``[P]`` each: the head's output at each sequence's last real token."""
    out = learner.forward(input_ids=mb.input_ids.to(learner.device), attention_mask=mb.attention_mask.to(learner.device))
    r = out.logits[:, 0].float()
    half = r.shape[0] // 2
    return r[:half], r[half:]


# ----------------------------------------------------------------------------- the stage


class HeldOutPairs:
    """Pairwise accuracy, mean margin and loss of the learner's weights on fixed held-out pairs,
    with a 95% bootstrap interval of the accuracy over held-out *prompts*."""

    def __init__(self, pairs: list[EncodedPair], cfg: RMConfig, pad_id: int):
        self.pairs, self.cfg, self.pad_id = pairs, cfg, pad_id
        lc = cfg.learner
        self.batches = plan_micro_batches(
            [2 * max(len(p.chosen), len(p.rejected)) for p in pairs], _pairs_per_micro(lc), lc.max_tokens_per_micro_batch, items=pairs
        )

    @torch.no_grad()
    def __call__(self, learner: Learner) -> dict[str, float]:
        from rlvr.eval.bootstrap import bootstrap_ci

        learner.model.eval()
        by_group: dict[str, list[float]] = defaultdict(list)
        loss = margin = 0.0
        for chunk in self.batches:
            mb = collate_pairs(chunk, self.pad_id)
            out = bradley_terry(*rewards(learner, mb), mb.margin.to(learner.device), self.cfg.loss.center_coef)
            loss += float(out.loss.sum())
            margin += float(out.margin.sum())
            for p, ok in zip(chunk, out.correct.tolist()):
                by_group[p.group].append(ok)
        learner.model.train()
        n = len(self.pairs)
        accuracy = sum(sum(v) for v in by_group.values()) / n
        # Pairs of one prompt share completions, so they are not independent draws: resample prompts.
        # Each prompt contributes its correct pairs scaled so that the mean over prompts is the
        # pair-weighted accuracy; its interval is then that of the ratio with the pair count fixed.
        lo, hi = bootstrap_ci([sum(v) * len(by_group) / n for v in by_group.values()], seed=self.cfg.run.seed)
        return {
            "val_accuracy": accuracy,
            "val_accuracy_lo": float(lo),
            "val_accuracy_hi": float(hi),
            "val_margin": margin / n,
            "val_loss": loss / n,
            "score": accuracy,
        }


def _pairs_per_micro(lc) -> int:
    """learner.micro_batch_size counts sequences; a pair is two of them."""
    return max(1, lc.micro_batch_size // 2)


class RewardModelStage(SupervisedStage):
    """The supervised stage with a pairwise step: ``task.batch`` yields :class:`PairBatch` es."""

    def __init__(self, task: SupervisedTask, run: Run, cfg: RMConfig, learner: Learner, tokenizer, state: dict[str, Any], heldout_pairs: int):
        super().__init__(task, run, cfg.schedule, learner, tokenizer, state)
        self.cfg, self.heldout_pairs = cfg, heldout_pairs
        self.best: dict[str, Any] = state.get("best", {})  # the metrics of the weights in best/

    def step(self, step: int, checkpoint_after: bool) -> dict[str, Any]:
        learner, batch_size = self.learner, self.schedule.batch_size
        t0 = time.time()
        mbs: list[PairBatch] = self.task.batch(step, batch_size, learner.rank, learner.world_size)
        loss_sum = correct = margin = 0.0
        for i, mb in enumerate(mbs):
            out = bradley_terry(*rewards(learner, mb), mb.margin.to(learner.device), self.cfg.loss.center_coef)
            # Each rank's share of the mean over the step's pairs (the learner turns the ranks' average back into the sum).
            loss = out.loss.sum() * (mb.live / batch_size)
            learner.backward(loss, last=i == len(mbs) - 1)
            loss_sum += float(loss.detach()) * batch_size
            correct += float(out.correct.sum()) * mb.live
            margin += float(out.margin.sum()) * mb.live
        info = learner.step()
        dt = time.time() - t0
        ws = learner.world_size
        totals = [sum_over_ranks(v, ws) for v in (loss_sum, correct, margin)]
        return {
            "loss": totals[0] / batch_size,
            "accuracy": totals[1] / batch_size,
            "margin": totals[2] / batch_size,
            **info,
            "pairs_per_s": batch_size / max(dt, 1e-9),
        }

    def scheduled_eval(self, step: int, last: bool) -> dict[str, Any]:
        before = self.best_score
        metrics = super().scheduled_eval(step, last)
        if self.best_score != before:
            self.best = {"step": step, **{k: v for k, v in metrics.items() if k.startswith("val_")}}
        return metrics

    def postfix(self, metrics: dict[str, Any]) -> dict[str, str]:
        shown = {"loss": f"{metrics['loss']:.3f}", "acc": f"{metrics['accuracy']:.2f}"}
        if self.best:
            shown["best_val_acc"] = f"{self.best['val_accuracy']:.3f}"
        return shown

    def state_for_checkpoint(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        state, parts = super().state_for_checkpoint()
        return {**state, "best": self.best}, parts

    def finish(self, step: int, loop_seconds: float) -> dict[str, Any]:
        out = super().finish(step, loop_seconds)
        if self.best:
            b = self.best
            out.update(
                heldout_accuracy=b["val_accuracy"],
                heldout_accuracy_ci95=[b["val_accuracy_lo"], b["val_accuracy_hi"]],
                heldout_margin=b["val_margin"],
                heldout_loss=b["val_loss"],
                best_step=b["step"],
            )
        out.update(train_pairs=self.task.num_examples, heldout_pairs=self.heldout_pairs)
        return out


def load_reward_model(path: str, tokenizer):
    """A one-label sequence classifier on ``path`` (a causal LM gets a fresh score head), with the
    tokenizer's pad id in its config: transformers pools at the last non-pad token and refuses
    batches without one."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as transformers_logging

    # transformers reports the new head as a table of "MISSING" weights on every start: expected
    # here, so it is said in one line instead.
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
    except (OSError, ValueError) as e:
        raise RlvrError(f"cannot load {path} as a sequence-classification model: {str(e).splitlines()[0]}") from None
    finally:
        transformers_logging.set_verbosity(verbosity)
    if not any("ForSequenceClassification" in a for a in model.config.architectures or []):
        print(f"rlvr rm: a new reward head on {path} ({model.config.architectures[0] if model.config.architectures else model.config.model_type})")
    model.config.pad_token_id = tokenizer.pad_token_id
    return model


def run_rm(cfg: RMConfig) -> Path:
    """Train the reward model; return the path of its final/ (the best held-out accuracy)."""
    model_path = resolve_model_path(cfg.model.path)
    tokenizer = load_tokenizer(model_path)
    if tokenizer.pad_token_id is None:
        raise RlvrError(f"model.path {cfg.model.path}: the tokenizer has neither a pad nor an EOS token; add a pad token to it")
    train_pairs = load_pairs(cfg.data.train)
    if cfg.data.heldout:
        held_pairs = load_pairs(cfg.data.heldout)
    else:
        train_pairs, held_pairs = split_by_prompt(train_pairs, cfg.data.heldout_fraction, cfg.run.seed)
        if not held_pairs or not train_pairs:
            raise RlvrError(
                f"data.heldout_fraction={cfg.data.heldout_fraction} of the {len({p.id or p.prompt for p in train_pairs + held_pairs})} "
                f"prompts of {cfg.data.train} leaves {'no held-out' if not held_pairs else 'no training'} prompt"
            )
    train = encode_pairs(train_pairs, tokenizer, cfg)
    heldout = HeldOutPairs(encode_pairs(held_pairs, tokenizer, cfg), cfg, tokenizer.pad_token_id)
    lc = cfg.learner
    lengths = [2 * max(len(p.chosen), len(p.rejected)) for p in train]

    def batch(step: int, batch_size: int, rank: int, world_size: int) -> list[PairBatch]:
        idx = step_indices(len(train), batch_size, step, cfg.run.seed)
        chunks, live = plan_ranks(
            [shard(idx, r, world_size) for r in range(world_size)], lengths, rank, _pairs_per_micro(lc), lc.max_tokens_per_micro_batch, filler=idx[:1]
        )
        return [collate_pairs([train[i] for i in chunk], tokenizer.pad_token_id, ok) for chunk, ok in zip(chunks, live)]

    task = SupervisedTask("rm", len(train), batch, lambda learner, step: heldout(learner), plot_keys=["loss", "accuracy", "val_accuracy", "val_loss"])
    run = Run("rm", cfg.run, cfg)
    try:
        # A checkpoint's model/ is a saved sequence classifier: its trained head comes back with it.
        model = load_reward_model(str(run.resume_from / "model") if run.resume_from else model_path, tokenizer)
        learner = build_learner(model, lc, cfg.optim, total_steps=cfg.schedule.steps)
        stage = RewardModelStage(task, run, cfg, learner, tokenizer, run.restore(learner), len(heldout.pairs))
        run_stage(run, stage, cfg.schedule.steps, cfg.schedule.max_seconds)
        return run.path / "final"
    finally:
        run.close()
