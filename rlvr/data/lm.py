"""Token batches for the supervised stages.

Pretraining packs documents (each followed by EOS) into one token stream cut into ``seq_len``
blocks, so no compute is spent on padding. SFT keeps each (prompt, response) pair whole and masks
the prompt: the loss covers response tokens (and the closing EOS) only, because the model should
learn to answer, not to predict the questions it is given.

The prompt and the response are tokenized separately and concatenated, exactly as the generator
sees them at RL time (it receives the prompt's ids and continues), so no merge across the boundary
can make training and sampling disagree.

Batches for optimizer step ``s`` are a pure function of (seed, s): resuming at step ``s`` replays
the same data order without saving any sampler state.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from rlvr.errors import RlvrError


@dataclass
class MicroBatch:
    """One forward/backward pass: right-padded ids, attention mask, and which label positions count."""

    input_ids: torch.Tensor  # [B, T]
    attention_mask: torch.Tensor  # [B, T]
    loss_mask: torch.Tensor  # [B, T-1]: 1 where token t+1 is a training target

    @property
    def num_target_tokens(self) -> int:
        return int(self.loss_mask.sum())


def pack_documents(texts: Iterable[str], tokenizer, seq_len: int) -> torch.Tensor:
    """[N, seq_len] blocks of the concatenated token stream (BOS? as the tokenizer adds; EOS after each)."""
    stream: list[int] = []
    eos = tokenizer.eos_token_id
    for text in texts:
        stream.extend(tokenizer(text).input_ids)
        stream.append(eos)
    n = len(stream) // seq_len
    if n == 0:
        raise RlvrError(f"the corpus has {len(stream)} tokens, fewer than one block of data.seq_len={seq_len}")
    return torch.tensor(stream[: n * seq_len], dtype=torch.long).view(n, seq_len)


@dataclass
class SFTExample:
    prompt_ids: list[int]
    response_ids: list[int]  # includes the closing EOS


def encode_sft(prompt: str, response: str, tokenizer, max_len: int) -> SFTExample | None:
    """Token ids of one pair; None when it does not fit ``max_len`` (counted and reported by the caller)."""
    prompt_ids = tokenizer(prompt).input_ids
    response_ids = tokenizer(response, add_special_tokens=False).input_ids + [tokenizer.eos_token_id]
    if len(prompt_ids) + len(response_ids) > max_len:
        return None
    return SFTExample(prompt_ids, response_ids)


def right_pad(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, T]`` token ids padded on the right with ``pad_id``, and the attention mask (1 on real tokens)."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, s in enumerate(sequences):
        ids[i, : len(s)] = torch.tensor(s)
        attn[i, : len(s)] = 1
    return ids, attn


def collate_sft(examples: list[SFTExample], pad_id: int) -> MicroBatch:
    ids, attn = right_pad([e.prompt_ids + e.response_ids for e in examples], pad_id)
    loss = torch.zeros((len(examples), ids.shape[1] - 1), dtype=torch.float32)
    for i, e in enumerate(examples):
        # label position t predicts token t+1: the response starts at index len(prompt)
        loss[i, len(e.prompt_ids) - 1 : len(e.prompt_ids) + len(e.response_ids) - 1] = 1.0
    return MicroBatch(ids, attn, loss)


def collate_blocks(blocks: torch.Tensor) -> MicroBatch:
    return MicroBatch(blocks, torch.ones_like(blocks), torch.ones(blocks.shape[0], blocks.shape[1] - 1))


def step_indices(num_items: int, batch_size: int, step: int, seed: int) -> list[int]:
    """Indices of the examples of optimizer step ``step``: epoch-wise shuffles, a pure function of (seed, step)."""
    per_epoch = max(1, num_items // batch_size)
    epoch, offset = divmod(step, per_epoch)
    order = list(range(num_items))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    start = offset * batch_size
    return [order[(start + i) % num_items] for i in range(batch_size)]
