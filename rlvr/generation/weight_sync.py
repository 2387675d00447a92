"""Verified weight sync: stream the learner's weights into the generator, then prove they arrived.

Peers' users lost runs to silent sync failures (a tensor skipped by a name mismatch, a stale
prefix cache, a packed kernel copy that was never refreshed), so after every sync the generator
fingerprints the weights it *computes with* and we compare them with fingerprints of what the
learner sent. A mismatch stops the run with :class:`WeightSyncError` naming the parameter.

Fingerprint of a flat array ``x`` (float64 arithmetic)::

    [numel, sum(x), sum(x*x), sum(x * w)]    w_i = hash(i) / 2**32 - 0.5

``w`` depends on the *flat index* only, so swapped or permuted elements change the last entry,
and every entry is additive over concatenation: the fingerprint of ``concat(a, b)`` is
``fp(a, offset=0) + fp(b, offset=a.numel())``. Concatenation along dim 0 of row-major tensors is
a concatenation of flat arrays, which is exactly how vLLM fuses ``q/k/v_proj`` into ``qkv_proj``
and ``gate/up_proj`` into ``gate_up_proj``; so the learner side fingerprints each HF tensor at
its offset inside the fused parameter, tensor by tensor, without ever concatenating or holding
more than the one tensor ``named_full_parameters()`` just gathered (ZeRO-3 gathers one at a time).

Two kinds of check (:class:`Check`), chosen by the generator for each of its parameters:

* ``tensor``: the parameter itself (vocabulary padding rows sliced off). Exact: the learner's
  tensor is cast to the generator's dtype first, as loading does, so only float64 summation
  order differs.
* ``matmul``: vLLM-CPU packs linear weights into oneDNN/SGL kernel layouts and *empties* the
  ``weight`` parameter, and the tied ``lm_head`` multiplies by a packed copy of the embedding.
  Fingerprinting those parameters would check nothing, so we run a fixed probe matrix ``X``
  (``PROBE_ROWS`` x in_features) through the layer's own kernel and fingerprint ``W @ X.T``
  (rows = output features, so fused layers still concatenate along dim 0). It checks what
  generation actually multiplies by, at the cost of the kernel's rounding: hence the per-dtype
  tolerance below.

Comparison: ``numel`` must match exactly; each other entry's difference is divided by its natural
scale (``sqrt(sum x^2)`` for the two linear sums, ``sum x^2`` for itself), which makes the test
size-independent: a stale tensor after one optimizer step differs by about |update|/rms(weight)
(~1e-3 for AdamW at lr 1e-5 on 0.02-rms weights), far above fp32 tolerance.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from rlvr.errors import RlvrError

PROBE_ROWS = 2
CHUNK = 1 << 22  # elements per fingerprint chunk: bounds the float64 scratch memory to ~100 MB
_PROBE_SALT = 0x5EED_0000  # probe inputs use another stretch of the hash than w

# Relative tolerance per generator dtype. Tensor checks agree to ~1e-12 in any dtype; the
# tolerance is set by matmul probes, whose kernels accumulate in fp32 but round the output to
# the working dtype (bf16 output rounding alone is ~1e-3 relative).
RTOL = {"float32": 1e-5, "bfloat16": 2e-2, "float16": 5e-3}


class WeightSyncError(RlvrError):
    """The generator's weights do not match the learner's after a sync."""


@dataclass(frozen=True)
class Source:
    """One learner (HF-named) tensor feeding a check, at a flat offset inside it."""

    hf_name: str
    offset: int  # flat elements before this tensor's block in the check's array


@dataclass(frozen=True)
class Check:
    """One generator-side fingerprint and the learner tensors that must reproduce it."""

    key: str  # the generator's parameter name (``...weight:matmul`` for probes)
    kind: Literal["tensor", "matmul"]
    sources: tuple[Source, ...]
    numel: int  # logical elements (padding excluded)
    in_features: int = 0  # matmul checks: width of the probe input


@dataclass
class SyncReport:
    seconds: float
    bytes: int
    checked_params: int
    max_abs_diff: float  # largest absolute fingerprint difference over all checks
    max_rel_diff: float = 0.0  # largest scale-normalised difference (what the tolerance applies to)


# ----------------------------------------------------------------------------- fingerprints


def _hash_unit(index):
    """A fixed pseudo-random value in [-0.5, 0.5) per int64 index (32-bit integer mix, bijective
    on 32 bits), computed on the index's device: identical on learner and generator, CPU or GPU."""
    h = index & 0xFFFFFFFF
    h = (((h >> 16) ^ h) * 0x45D9F3B) & 0xFFFFFFFF
    h = (((h >> 16) ^ h) * 0x45D9F3B) & 0xFFFFFFFF
    h = (h >> 16) ^ h
    return h.double() / 2.0**32 - 0.5


def fingerprint(x, offset: int = 0) -> list[float]:
    """[numel, sum, sum of squares, index-weighted sum] of ``x`` flattened, as if it started at
    flat position ``offset`` of a longer array (fingerprints of consecutive blocks add up)."""
    import torch

    flat = x.detach().reshape(-1)
    out = torch.zeros(3, dtype=torch.float64, device=flat.device)
    for start in range(0, flat.numel(), CHUNK):
        part = flat[start : start + CHUNK].double()
        idx = torch.arange(offset + start, offset + start + part.numel(), device=flat.device, dtype=torch.int64)
        out += torch.stack([part.sum(), (part * part).sum(), (part * _hash_unit(idx)).sum()])
    return [float(flat.numel()), *out.tolist()]


def probe_input(in_features: int, dtype, device=None):
    """The fixed probe matrix (PROBE_ROWS x in_features) that matmul checks multiply by."""
    import torch

    idx = torch.arange(PROBE_ROWS * in_features, dtype=torch.int64, device=device) + _PROBE_SALT
    return _hash_unit(idx).reshape(PROBE_ROWS, in_features).to(dtype)


def probe_reference(weight, dtype):
    """What a matmul check's kernel should output for ``weight`` ([out, in]): ``W @ X.T`` in
    float64 from the dtype-rounded weight and probe, laid out [out, PROBE_ROWS] (row-major, so
    fused layers' outputs concatenate along dim 0 like their weights)."""
    w = weight.detach().to(dtype).double()
    x = probe_input(w.shape[1], dtype, w.device).double()
    return w @ x.T


def add_fingerprints(a: list[float], b: list[float]) -> list[float]:
    return [x + y for x, y in zip(a, b, strict=True)]


def select_checks(checks: list[Check], max_elements: int) -> list[Check]:
    """All checks when the model has at most ``max_elements`` logical elements; otherwise every
    k-th check in name order (deterministic, so both sides agree), about ``max_elements`` worth."""
    checks = sorted(checks, key=lambda c: c.key)
    total = sum(c.numel for c in checks)
    if max_elements <= 0 or total <= max_elements:
        return checks
    stride = math.ceil(total / max_elements)
    return checks[::stride]


class ExpectedFingerprints:
    """Accumulates the fingerprints a generator must report, one learner tensor at a time.

    Each tensor is fingerprinted at its offset in every check it feeds and then dropped, so a
    whole model never needs to be held. ``dtype`` (a torch dtype) is the generator's working
    dtype, applied first as loading does. A tensor no check uses is ignored (sampled subsets)."""

    def __init__(self, checks: list[Check], dtype):
        self.dtype = dtype
        self.feeds: dict[str, list[tuple[Check, int]]] = {}
        for check in checks:
            for src in check.sources:
                self.feeds.setdefault(src.hf_name, []).append((check, src.offset))
        self.result: dict[str, list[float]] = {}

    def add(self, name: str, tensor) -> None:
        for check, offset in self.feeds.get(name, ()):
            data = tensor.detach().to(self.dtype) if check.kind == "tensor" else probe_reference(tensor, self.dtype)
            part = fingerprint(data, offset)
            self.result[check.key] = add_fingerprints(self.result[check.key], part) if check.key in self.result else part


def expected_fingerprints(checks: list[Check], named_tensors: Iterable[tuple[str, Any]], dtype) -> dict[str, list[float]]:
    """Fingerprints the generator must report after loading ``named_tensors`` (HF names)."""
    acc = ExpectedFingerprints(checks, dtype)
    for name, tensor in named_tensors:
        acc.add(name, tensor)
    return acc.result


def compare_fingerprints(got: dict[str, list[float]], expected: dict[str, list[float]], rtol: float) -> tuple[float, float]:
    """Raise :class:`WeightSyncError` naming the first (in name order) mismatching parameter;
    return (max absolute, max relative) difference otherwise."""
    max_abs = max_rel = 0.0
    for key in sorted(got):
        g = got[key]
        e = expected.get(key)
        if e is None:
            raise WeightSyncError(f"weight sync: generator parameter '{key}' received no tensor from the learner (name mismatch or skipped tensor)")
        if g[0] != e[0]:
            raise WeightSyncError(f"weight sync: parameter '{key}' has {int(g[0])} elements in the generator but the learner sent {int(e[0])}")
        sumsq = max(g[2], e[2], 1e-300)
        scales = (math.sqrt(sumsq), sumsq, math.sqrt(sumsq))
        diffs = [abs(a - b) for a, b in zip(g[1:], e[1:], strict=True)]
        rel = max(d / s for d, s in zip(diffs, scales, strict=True))
        if not rel <= rtol:  # also catches NaN
            raise WeightSyncError(
                f"weight sync: parameter '{key}' differs between learner and generator "
                f"(relative fingerprint difference {rel:.3g} > tolerance {rtol:g}; generator {g[1:]}, learner {e[1:]})"
            )
        max_abs, max_rel = max(max_abs, *diffs), max(max_rel, rel)
    return max_abs, max_rel


# ----------------------------------------------------------------------------- sync


class _Tap:
    """Pass (name, tensor) pairs through to the generator, counting bytes and accumulating the
    expected fingerprints as they stream, so nothing beyond the tensor in flight is kept
    (under ZeRO-3 each one is a freshly gathered full copy)."""

    def __init__(self, named: Iterable[tuple[str, Any]], expected: ExpectedFingerprints | None):
        self.named, self.expected = named, expected
        self.nbytes = 0

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for name, tensor in self.named:
            self.nbytes += tensor.numel() * tensor.element_size()
            if self.expected is not None:
                self.expected.add(name, tensor)
            yield name, tensor


def sync_weights(learner, generator, verify: bool = True, rtol: float | None = None) -> SyncReport:
    """Load the learner's current weights into ``generator`` and (by default) verify them.

    ``rtol`` defaults to :data:`RTOL` for the generator's dtype."""
    import torch

    start = time.perf_counter()
    expected = ExpectedFingerprints(generator.checks(), getattr(torch, generator.dtype)) if verify else None
    tap = _Tap(learner.named_full_parameters(), expected)
    generator.load_weights(tap)
    if not verify:
        return SyncReport(time.perf_counter() - start, tap.nbytes, 0, 0.0)
    got = generator.fingerprints()
    max_abs, max_rel = compare_fingerprints(got, expected.result, RTOL[generator.dtype] if rtol is None else rtol)
    return SyncReport(time.perf_counter() - start, tap.nbytes, len(got), max_abs, max_rel)
