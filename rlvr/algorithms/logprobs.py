"""Per-token logprobs and entropy, in token chunks to bound memory.

``log_softmax(logits).gather(labels)`` materialises a float32 ``[B, T, V]`` tensor; with a 150k
vocabulary and 8k tokens that is gigabytes for one micro-batch. ``logit[label] - logsumexp(logits)``
gives the same value while only a chunk of rows is upcast at a time.

:func:`logprobs_from_hidden` goes one step further and never holds the logits of a whole
micro-batch at all, not even in the model's dtype: it applies the output projection to one chunk
of final hidden states at a time, under activation checkpointing, so the forward keeps only each
chunk's ``[tokens]`` result and the backward recomputes one chunk's logits at a time (the same
recompute-in-backward idea as a fused linear cross-entropy kernel, written with autograd).

``temperature`` must be the sampling temperature: the generator's logprobs (and the behaviour
policy that importance ratios correct for) are those of ``logits / temperature``; computing the
learner's at temperature 1 would make every ratio wrong.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

DEFAULT_CHUNK_ROWS = 1024


def _rows(logits: Tensor) -> Tensor:
    return logits.reshape(-1, logits.shape[-1])


def _picked_logprobs(logits: Tensor, labels: Tensor, temperature: float) -> Tensor:
    """``log softmax(logits / temperature)[labels]`` of ``[N, V]`` logits, float32 ``[N]``."""
    z = logits.float() / temperature
    return z.gather(-1, labels[:, None]).squeeze(-1) - torch.logsumexp(z, dim=-1)


def _entropy(logits: Tensor, temperature: float) -> Tensor:
    z = logits.float() / temperature
    return torch.logsumexp(z, dim=-1) - (torch.softmax(z, dim=-1) * z).sum(-1)


def logprobs_from_logits(logits: Tensor, labels: Tensor, temperature: float = 1.0, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Tensor:
    """``log softmax(logits / temperature)[labels]`` in float32, shape of ``labels``; differentiable.

    ``logits[..., t, :]`` must already be the prediction for ``labels[..., t]`` (shift before calling).
    """
    flat, flat_labels = _rows(logits), labels.reshape(-1)
    out = [
        _picked_logprobs(flat[s : s + chunk_rows], flat_labels[s : s + chunk_rows], temperature) for s in range(0, max(flat.shape[0], 1), chunk_rows)
    ]
    return torch.cat(out).reshape(labels.shape)


def entropy_from_logits(logits: Tensor, temperature: float = 1.0, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Tensor:
    """Entropy ``logsumexp(z) - sum softmax(z) z`` of ``z = logits / temperature``, float32, ``logits.shape[:-1]``.

    Differentiable (for an entropy bonus); wrap in ``torch.no_grad()`` when only reported.
    """
    flat = _rows(logits)
    out = [_entropy(flat[s : s + chunk_rows], temperature) for s in range(0, max(flat.shape[0], 1), chunk_rows)]
    return torch.cat(out).reshape(logits.shape[:-1])


def _head_logprobs(hidden: Tensor, weight: Tensor, bias: Tensor | None, labels: Tensor, temperature: float) -> Tensor:
    return _picked_logprobs(F.linear(hidden, weight, bias), labels, temperature)


def logprobs_from_hidden(
    hidden: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    labels: Tensor,
    temperature: float = 1.0,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Tensor:
    """``log softmax((hidden @ weight.T + bias) / temperature)[labels]``, float32 ``[N]``, from
    ``[N, H]`` final hidden states and the output projection ``weight`` ``[V, H]``; differentiable
    in ``hidden``, ``weight`` and ``bias``.

    At most one chunk's ``[chunk_rows, V]`` logits exist at a time, forward and backward: each
    chunk is checkpointed (non-reentrant), so backward recomputes its logits when it reaches it
    and frees them before the next chunk. That costs one extra ``[N, H] x [H, V]`` matmul.
    """
    track = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (hidden, weight, bias))
    out = []
    for s in range(0, max(hidden.shape[0], 1), chunk_rows):
        args = (hidden[s : s + chunk_rows], weight, bias, labels[s : s + chunk_rows], temperature)
        out.append(checkpoint(_head_logprobs, *args, use_reentrant=False) if track else _head_logprobs(*args))
    return torch.cat(out)


def entropy_from_hidden(
    hidden: Tensor, weight: Tensor, bias: Tensor | None, temperature: float = 1.0, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Tensor:
    """Entropy of ``softmax((hidden @ weight.T + bias) / temperature)``, float32 ``[N]``; plain
    autograd (callers pass a small sample of tokens, see :func:`entropy_sample`)."""
    return entropy_from_logits(F.linear(hidden, weight, bias), temperature, chunk_rows)


def entropy_sample(num_tokens: int, budget: int) -> tuple[Tensor, float]:
    """Which of ``num_tokens`` scored tokens get their entropy computed, and the weight that makes
    the sample's sum estimate the sum over all of them.

    Entropy needs the full softmax of each token (a ``[V]`` row, like the logprob, but with a
    backward through all of it when the entropy bonus is on), while it is only a regulariser and a
    health metric: a sample is enough. The sample is systematic (every ``k``-th token,
    ``k = ceil(num_tokens / budget)``, starting at the first), weighted by ``num_tokens / m`` for
    the ``m`` tokens drawn, so that the weighted sum over the sample is an estimate of the sum over
    all tokens (exact when ``num_tokens <= budget``, which is the case for short micro-batches).
    It draws no random numbers, so it never shifts a run's random stream (resume stays exact),
    and neighbouring tokens of one response, whose entropies are correlated, are spread out.
    """
    if num_tokens <= budget:
        return torch.arange(num_tokens), 1.0
    stride = -(-num_tokens // budget)
    picked = torch.arange(0, num_tokens, stride)
    return picked, num_tokens / len(picked)
