"""Micro-batch planning and sequence packing for the learner.

A step's sequences have very different lengths (a long-tail of responses), so a fixed number of
sequences per micro-batch either wastes compute on padding or runs out of memory on the longest
ones. With ``learner.max_tokens_per_micro_batch`` the planner groups sequences by length instead,
so each micro-batch holds at most that many tokens:

- padded (``packing: false``): rows sorted longest first and cut greedily so that
  ``rows x longest row <= budget``; sorting puts similar lengths together, so little is padding.
- packed (``packing: true``): first-fit decreasing bins of at most ``budget`` tokens; each bin is
  one row of concatenated sequences whose ``position_ids`` restart at 0 for every sequence. With no
  attention mask, transformers reads those resets as sequence boundaries: flash-attention's varlen
  kernel on GPU (``attn_implementation="flash_attention_2"``), a block-diagonal causal mask with
  SDPA/eager; attention never crosses sequences, so each token's logprob equals the unpacked one's.

A sequence longer than the budget gets a micro-batch of its own. The loss normalisers are the
step's totals (:class:`~rlvr.algorithms.aggregation.LossScale`), so how sequences are grouped never
changes the objective, only the float summation order.

:class:`Layout` is one micro-batch as the model sees it, plus where each scored label position
lands in the caller's ``[B, T-1]`` layout: the learner computes logprobs only at those positions
(the response tokens), not at prompts or padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor

T = TypeVar("T")


def plan_micro_batches(
    lengths: Sequence[int], micro_batch_size: int, max_tokens: int = 0, packing: bool = False, items: Sequence[T] | None = None
) -> list[list[T]]:
    """``items`` (default: the indices ``0..len(lengths)-1``), whose token counts are ``lengths``,
    grouped into micro-batches.

    ``max_tokens`` 0: consecutive groups of ``micro_batch_size`` (the order given). Otherwise
    at most ``max_tokens`` tokens per micro-batch, counting padding (or, packed, real tokens only);
    ``micro_batch_size`` is then not used.
    """
    items = list(range(len(lengths))) if items is None else list(items)
    order = list(range(len(lengths)))
    if not max_tokens:
        groups = [order[i : i + micro_batch_size] for i in range(0, len(order), micro_batch_size)]
    elif packing:
        order.sort(key=lambda i: -lengths[i])  # first-fit decreasing; stable: equal lengths keep their order
        groups, room = [], []
        for i in order:
            fit = next((b for b, free in enumerate(room) if lengths[i] <= free), None)
            if fit is None:
                groups.append([i])
                room.append(max_tokens - lengths[i])
            else:
                groups[fit].append(i)
                room[fit] -= lengths[i]
    else:
        order.sort(key=lambda i: -lengths[i])
        groups = []
        for i in order:
            if groups and lengths[groups[-1][0]] * (len(groups[-1]) + 1) <= max_tokens:  # groups[-1][0] is its longest
                groups[-1].append(i)
            else:
                groups.append([i])
    return [[items[i] for i in g] for g in groups]


def plan_ranks(
    rows_per_rank: Sequence[Sequence[int]],
    lengths: Sequence[int],
    rank: int,
    micro_batch_size: int,
    max_tokens: int = 0,
    packing: bool = False,
    filler: Sequence[int] = (0,),
) -> tuple[list[list[int]], list[bool]]:
    """Rank ``rank``'s micro-batches of its ``rows_per_rank[rank]`` (``lengths[row]`` tokens each),
    padded to the most any rank has with ``filler`` micro-batches, and which of them are live.

    Data-parallel ranks must run the same number of forwards (ZeRO-3 gathers parameters
    collectively in each, and the last backward reduces gradients), so every rank plans every
    rank's micro-batches (a pure function of the global batch: no collective) and a rank with
    fewer runs masked ones, which must add nothing to the loss or the metrics.
    """
    plans = [plan_micro_batches([lengths[r] for r in rows], micro_batch_size, max_tokens, packing, items=rows) for rows in rows_per_rank]
    mine, most = plans[rank], max(len(p) for p in plans)
    return mine + [list(filler)] * (most - len(mine)), [True] * len(mine) + [False] * (most - len(mine))


@dataclass
class Layout:
    """One micro-batch laid out for the model.

    ``src[k]`` is a flat position of the model's ``[R, L]`` input whose *next* token is scored;
    the score goes to ``(dst_rows[k], dst_cols[k])`` of the ``[B, T-1]`` label layout (label ``j``
    of a row predicts its token ``j + 1``). Padded layouts use the caller's rows as they are;
    packed ones are a single row, which is what flash-attention's varlen path expects.
    """

    input_ids: Tensor  # [R, L] long
    attention_mask: Tensor | None  # [R, L]; None when packed (the position resets separate the sequences)
    position_ids: Tensor | None  # [R, L]; packed only
    src: Tensor  # [K] long
    dst_rows: Tensor  # [K] long
    dst_cols: Tensor  # [K] long
    shape: tuple[int, int]  # (B, T-1) of the result
    real_tokens: int  # tokens of the sequences (not padding)

    @property
    def labels(self) -> Tensor:
        """[K] the scored tokens (a scored position is never a row's last, so ``src + 1`` stays in its row)."""
        return self.input_ids.reshape(-1)[self.src + 1]

    @property
    def computed_tokens(self) -> int:
        return self.input_ids.numel()

    def scatter(self, values: Tensor, which: Tensor | None = None) -> Tensor:
        """Per-position ``values`` (of all ``K`` scored positions, or of those ``which`` picks)
        into a zero ``[B, T-1]`` tensor (differentiable)."""
        rows, cols = (self.dst_rows, self.dst_cols) if which is None else (self.dst_rows[which], self.dst_cols[which])
        return values.new_zeros(self.shape).index_put((rows.to(values.device), cols.to(values.device)), values)

    def to(self, device) -> Layout:
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Layout(
            move(self.input_ids),
            move(self.attention_mask),
            move(self.position_ids),
            move(self.src),
            self.dst_rows,
            self.dst_cols,
            self.shape,
            self.real_tokens,
        )


def layout(input_ids: Tensor, attention_mask: Tensor, scored: Tensor | None = None, packed: bool = False) -> Layout:
    """Lay out right-padded rows ``input_ids``/``attention_mask`` ``[B, T]`` for one forward.

    ``scored`` ``[B, T-1]`` (bool-like) marks the label positions whose logprobs are wanted
    (default: every label position of every sequence). When none is marked, the first label
    position is scored anyway: the backward must still reach every weight, since data-parallel
    engines reduce gradients in it (a fully masked micro-batch then adds a zero gradient).
    """
    lengths = attention_mask.sum(1)
    b, t = input_ids.shape
    valid = torch.arange(t - 1)[None, :] < (lengths[:, None] - 1)
    want = valid if scored is None else valid & scored.bool()
    if not bool(want.any()):
        want = torch.zeros_like(valid)
        want[0, 0] = True
    dst_rows, dst_cols = want.nonzero(as_tuple=True)
    real = int(lengths.sum())
    if not packed:
        return Layout(input_ids, attention_mask, None, dst_rows * t + dst_cols, dst_rows, dst_cols, (b, t - 1), real)
    offsets = torch.cumsum(lengths, 0) - lengths
    keep = torch.arange(t)[None, :] < lengths[:, None]
    ids = input_ids[keep][None, :]
    pos = (torch.arange(t)[None, :].expand(b, t))[keep][None, :]
    return Layout(ids, None, pos, offsets[dst_rows] + dst_cols, dst_rows, dst_cols, (b, t - 1), real)
