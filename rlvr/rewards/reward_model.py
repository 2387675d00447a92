"""The ``reward_model`` reward: a learned scalar reward model scores ``prompt + response``.

The model is a one-label HF sequence-classification model (what ``rlvr rm`` writes, InstructGPT's
reward model: a transformer whose head maps the last token's hidden state to a scalar). A
completion is scored as the ids of the prompt followed by the ids of the response, tokenized
separately so the boundary is where the policy saw it, plus EOS when the completion ended on its
own (the model then judges a finished answer, as ``rlvr rm`` trains on finished pairs); a sequence longer
than ``reward.model.max_length`` loses its first tokens, so the answer at the end is always read.

The score is read at the last real token from the head applied to the final hidden states, not
from HF's pooled output: that finds the last token by looking for the pad id, which is wrong when
the pad id is also EOS (Qwen2.5 base models) and the sequence ends on EOS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from rlvr.data.lm import right_pad
from rlvr.errors import RlvrError
from rlvr.rewards.base import REWARDS, RewardContext, RewardInput, RewardOutput
from rlvr.rewards.config import REWARD_MODEL, RewardConfig


def check_reward_model_dir(path: str | None) -> Path:
    """``path`` as a directory holding a one-label sequence-classification model; else one clear line."""
    if not path:
        raise RlvrError("reward.model.path: not set; point it at a reward model dir (rlvr rm's final/)")
    d = Path(path).expanduser()
    if not d.is_dir():
        raise RlvrError(f"reward.model.path: no such directory: {d} (train a reward model with rlvr rm)")
    config = d / "config.json"
    if not config.is_file():
        raise RlvrError(f"reward.model.path: {d} is not a model directory (no config.json)")
    try:
        meta = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RlvrError(f"reward.model.path: cannot read {config}: {e}") from None
    archs = meta.get("architectures") or []
    labels = len(meta.get("id2label") or {}) or meta.get("num_labels", 2)  # HF's default is two labels
    if not any(str(a).endswith("ForSequenceClassification") for a in archs) or labels != 1:
        raise RlvrError(
            f"reward.model.path: {d} is not a one-label sequence-classification model "
            f"(architectures {archs or 'unset'}, {labels} labels); train one with rlvr rm"
        )
    return d


def rm_input_ids(tokenizer: Any, prompt: str, response: str, eos: bool, max_length: int) -> list[int]:
    """The ids a reward model reads for ``response`` after ``prompt``: each tokenized on its own,
    concatenated, EOS appended when ``eos``, the first tokens cut beyond ``max_length``.

    EOS is left off when it is also the pad token, as ``rlvr rm`` trains: transformers' pooling,
    which training uses, skips pad ids, so such a model never learned to read its score there."""
    ids = tokenizer(prompt, add_special_tokens=True).input_ids + tokenizer(response, add_special_tokens=False).input_ids
    if eos and tokenizer.eos_token_id is not None and tokenizer.eos_token_id != tokenizer.pad_token_id:
        ids.append(tokenizer.eos_token_id)
    return ids[-max_length:]


def last_token_scores(model: Any, sequences: list[list[int]], device: str | torch.device, pad_id: int = 0) -> torch.Tensor:
    """[B] scalar scores of a one-label sequence-classification ``model`` at each sequence's last
    token (right-padded batch; gradients flow if the caller allows them)."""
    ids, mask = right_pad(sequences, pad_id)
    ids, mask = ids.to(device), mask.to(device)
    hidden = getattr(model, model.base_model_prefix)(input_ids=ids, attention_mask=mask).last_hidden_state
    last = mask.sum(1) - 1
    return model.score(hidden[torch.arange(len(sequences), device=hidden.device), last]).squeeze(-1).float()


class RewardModelReward:
    """Scores each completion with the reward model at ``reward.model.path`` (eval mode, no grad, on the learner's device)."""

    def __init__(self, cfg: RewardConfig, ctx: RewardContext):
        from transformers import AutoModelForSequenceClassification

        from rlvr.models.load import load_tokenizer

        self.cfg = cfg.model
        path = check_reward_model_dir(self.cfg.path)
        self.device = ctx.device
        dtype = getattr(torch, self.cfg.dtype)
        try:
            self.model = AutoModelForSequenceClassification.from_pretrained(str(path), dtype=dtype).to(self.device).eval()
        except OSError as e:
            raise RlvrError(f"reward.model.path: cannot load {path}: {str(e).splitlines()[0]}") from None
        if not hasattr(self.model, "score"):
            raise RlvrError(f"reward.model.path: {path}: a decoder reward model with a 'score' head is needed (Llama, Qwen, Mistral, ...)")
        # The reward model's own tokenizer: it may not be the policy's.
        self.tokenizer = load_tokenizer(str(path))
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0

    @torch.no_grad()
    def __call__(self, batch: list[RewardInput]) -> RewardOutput:
        if not batch:
            return RewardOutput([])
        seqs = [rm_input_ids(self.tokenizer, x.prompt, x.response, not x.truncated, self.cfg.max_length) for x in batch]
        size = self.cfg.batch_size
        scores = [s for i in range(0, len(seqs), size) for s in last_token_scores(self.model, seqs[i : i + size], self.device, self.pad_id).tolist()]
        metrics = {"rm_score_mean": sum(scores) / len(scores), "rm_sequences": float(len(seqs)), "rm_tokens": float(sum(map(len, seqs)))}
        return RewardOutput(scores, metrics)

    def close(self) -> None:
        self.model = None


REWARDS.register(REWARD_MODEL, RewardModelReward, learned=True)
