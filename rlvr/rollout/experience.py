"""A step's experience: scored completions laid out as training tensors.

Each row is one completion, ``prompt ids + completion ids``, right-padded. Rows start at position
0 with no padding in front, so the learner's default position ids equal the ones the generator used
(left-padded batches would need ``position_ids = cumsum(attention_mask) - 1``). Label position
``j`` predicts token ``j + 1``; the response occupies label positions
``[len(prompt) - 1, len(prompt) - 1 + len(completion))``. Everything after the first EOS is masked,
and truncated completions (cut by ``max_tokens``, not ended by EOS or a stop string) are masked
entirely when asked: their reward says little about their tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from rlvr.algorithms.sampling import completion_mask, mask_truncated
from rlvr.rollout.sample import ScoredCompletion


@dataclass
class Experience:
    input_ids: torch.Tensor  # [B, T] long
    attention_mask: torch.Tensor  # [B, T] long
    response_mask: torch.Tensor  # [B, T-1] float, label positions trained on
    generator_logprobs: torch.Tensor  # [B, T-1] float, the generator's logprobs of the sampled tokens
    group_ids: torch.Tensor  # [B] long, one id per prompt
    correct: torch.Tensor  # [B] bool
    has_answer: torch.Tensor  # [B] bool, the verifier extracted a final answer
    lengths: torch.Tensor  # [B] long, completion tokens
    truncated: torch.Tensor  # [B] bool

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    def select(self, rows: torch.Tensor | list[int]) -> Experience:
        """The given rows, trimmed to the longest remaining sequence (less compute per micro-batch)."""
        rows = torch.as_tensor(rows, dtype=torch.long)
        width = int(self.attention_mask[rows].sum(dim=1).max()) if len(rows) else 1
        out = {}
        for f in fields(self):
            t = getattr(self, f.name)[rows]
            if t.dim() == 2:
                t = t[:, : width if f.name in ("input_ids", "attention_mask") else width - 1]
            out[f.name] = t
        return Experience(**out)


def build_experience(groups: list[list[ScoredCompletion]], prompt_ids: list[list[int]], group_ids: list[int],
                     eos_token_id: int, pad_token_id: int, mask_truncated_completions: bool) -> Experience:
    rows = [(gid, prompt_ids[i], s) for i, (gid, group) in enumerate(zip(group_ids, groups)) for s in group]
    width = max(len(p) + max(1, len(s.completion.token_ids)) for _, p, s in rows)
    n = len(rows)
    ids = torch.full((n, width), pad_token_id, dtype=torch.long)
    attn = torch.zeros((n, width), dtype=torch.long)
    gen_lp = torch.zeros((n, width - 1))
    resp_valid = torch.zeros((n, width - 1), dtype=torch.bool)
    resp_tokens = torch.full((n, width - 1), pad_token_id, dtype=torch.long)
    for r, (_, p, s) in enumerate(rows):
        c = s.completion.token_ids
        seq = p + c
        ids[r, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        attn[r, : len(seq)] = 1
        start = len(p) - 1
        if c:
            resp_valid[r, start : start + len(c)] = True
            resp_tokens[r, start : start + len(c)] = torch.tensor(c, dtype=torch.long)
            gen_lp[r, start : start + len(c)] = torch.tensor(s.completion.logprobs, dtype=torch.float32)
    mask, _ = completion_mask(resp_tokens, eos_token_id, valid=resp_valid)
    # The generator says why a completion ended: one that ended on a stop string has no EOS but
    # was not cut short, and must be scored, not masked as truncated.
    truncated = torch.tensor([s.completion.finish_reason == "length" for _, _, s in rows])
    if mask_truncated_completions:
        mask = mask_truncated(mask, truncated)
    return Experience(
        input_ids=ids,
        attention_mask=attn,
        response_mask=mask,
        generator_logprobs=gen_lp,
        group_ids=torch.tensor([g for g, _, _ in rows], dtype=torch.long),
        correct=torch.tensor([s.correct for _, _, s in rows]),
        has_answer=torch.tensor([s.verdict.extracted is not None for _, _, s in rows]),
        lengths=torch.tensor([len(s.completion.token_ids) for _, _, s in rows], dtype=torch.long),
        truncated=truncated,
    )
