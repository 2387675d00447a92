"""The generator interface: sample completions (token ids + logprobs) from the current policy and
take the learner's new weights after every update.

Implementations live in registry :data:`GENERATORS` (``vllm``: vLLM in this process, the default;
``hf``: transformers ``generate``, the fallback; ``remote``: an engine in another process or node,
served by ``rlvr serve-generator``, see :mod:`rlvr.generation.remote`), each registered lazily by
module name: the implementations import this module, never the reverse. The trainer tokenizes
prompts once and passes token ids, so the learner and the generator see exactly the same prompt
tokens.

Logprobs are the model's *raw* log-softmax of the sampled tokens (before temperature, top-p or
top-k): that is the quantity the learner recomputes for the same tokens, so the generator/learner
ratio is 1 up to numerics (a test checks < 1e-3). With the RL default temperature 1 and no
truncation, raw and sampling-distribution logprobs coincide.

A completion's ``token_ids`` include the end-of-sequence token when generation stopped on it
(the learner must train on it to learn to stop); ``text`` is the detokenised completion without
special tokens. A matched stop string stays in both, up to its end: the verifier must see the
closing ``</answer>`` a template stops on, and the learner trains on the tokens that ended the
completion, as it does on EOS. Engines read ``stop=None`` as no stop strings; callers that render
a template resolve it to the template's first (:func:`rlvr.rollout.sample.template_sampling`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from rlvr.config import field
from rlvr.generation.weight_sync import Check
from rlvr.registry import Registry


@dataclass
class GeneratorConfig:
    """Which engine samples completions, and its resources."""

    name: str = field(
        "vllm",
        choices=lambda: GENERATORS,
        help="generator implementation: vllm (in this process), hf (transformers generate), remote (rlvr serve-generator) or a plug-in",
    )
    dtype: Literal["float32", "bfloat16", "float16"] = field("float32", help="weights and activations dtype of the generator")
    max_model_len: int = field(512, ge=2, help="longest prompt + completion in tokens")
    gpu_memory_utilization: float = field(
        0.3, gt=0, le=1, help="vLLM on GPU: fraction of GPU memory for weights + KV cache (colocated with the learner)"
    )
    cpu_kv_cache_gib: float = field(1.0, gt=0, help="vLLM on CPU: KV cache size in GiB (sets VLLM_CPU_KVCACHE_SPACE)")
    enforce_eager: bool = field(True, help="vLLM: no CUDA graphs / torch.compile (faster start, slower decode)")
    chunk_size: int = field(256, ge=1, help="most completions requested from the engine at once; n is split so memory stays bounded")
    seed: int = field(0, help="engine seed; per-request seeds derive from the seed passed to generate()")
    sleep_between_steps: bool = field(True, help="vLLM on GPU: release KV cache and offload weights while the learner trains")
    fingerprint_max_elements: int = field(
        50_000_000, ge=1, help="weight-sync check covers every parameter up to this many elements, else a deterministic subset"
    )
    address: str | None = field(None, help="remote: host:port of the `rlvr serve-generator` to use")
    transport: Literal["auto", "gloo", "nccl"] = field("auto", help="remote: weight channel; auto is nccl with CUDA, else gloo")
    token_file: str | None = field(None, help="remote: file holding the server's auth token (default: $RLVR_GENERATOR_TOKEN)")
    connect_timeout: float = field(60.0, ge=0, help="remote: seconds to keep retrying to reach the server at start-up")
    request_timeout: float = field(1800.0, gt=0, help="seconds either side of a remote generator waits for the other's next message")

    def validate(self) -> None:
        if self.address:
            parse_address(self.address)


def parse_address(address: str) -> tuple[str, int]:
    """``generator.address``: ``host:port`` (IPv6 as ``[::1]:port``) -> (host, port)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"generator.address must look like host:port, got '{address}'")
    return host.strip("[]"), int(port)


@dataclass
class SamplingConfig:
    """How completions are sampled."""

    n: int = field(8, ge=1, help="completions per prompt")
    temperature: float = field(1.0, ge=0, help="softmax temperature; 0 means greedy")
    top_p: float = field(1.0, gt=0, le=1, help="nucleus sampling mass (1 disables)")
    top_k: int = field(-1, ge=-1, help="sample among the k most likely tokens (-1 disables)")
    max_tokens: int = field(64, ge=1, help="most tokens per completion")
    stop: list[str] | None = field(
        None, help="strings that end a completion (besides end-of-sequence), kept in it; null: the prompt template's, [] none"
    )

    def validate(self) -> None:
        if self.top_k == 0:
            raise ValueError("top_k must be -1 (off) or positive")
        if self.stop and "" in self.stop:
            raise ValueError("stop: an empty string would end every completion at once")


@dataclass
class Completion:
    prompt_index: int
    token_ids: list[int]
    logprobs: list[float]  # raw model logprob of each token in token_ids
    text: str
    finish_reason: Literal["stop", "length"]


class Generator(Protocol):
    dtype: str  # the generator's working dtype name (sets the weight-sync tolerance)

    def generate(self, prompts: list[list[int]], sampling: SamplingConfig, seed: int | None = None) -> list[list[Completion]]:
        """``sampling.n`` completions for each prompt (token ids), in prompt order. The same
        ``seed`` (and ``chunk_size``) gives the same completions without touching the caller's
        RNG state; ``None`` draws from torch's global random stream."""
        ...

    def load_weights(self, named_tensors: Iterable[tuple[str, object]]) -> None:
        """Replace the weights in place from (HF name, full tensor) pairs, consumed as a stream."""
        ...

    def checks(self) -> list[Check]:
        """What :meth:`fingerprints` covers and which HF tensors reproduce each entry."""
        ...

    def fingerprints(self) -> dict[str, list[float]]:
        """Fingerprints of the weights generation uses, keyed by the generator's parameter names."""
        ...

    def expected_fingerprints(self, named_tensors: Iterable[tuple[str, object]]) -> dict[str, list[float]]:
        """What :meth:`fingerprints` must equal after ``load_weights(named_tensors)``."""
        ...

    def close(self) -> None: ...


# Built-ins by module, imported on first use: each registers itself on import, and the vLLM one
# must not import vllm before rlvr.env.setup() has run.
GENERATORS: Registry = Registry(
    "generator",
    "rlvr.generators",
    modules={"vllm": "rlvr.generation.vllm", "hf": "rlvr.generation.hf", "remote": "rlvr.generation.remote.client"},
)


def build_generator(cfg: GeneratorConfig, model_path: str, tokenizer) -> Generator:
    """The generator ``cfg.name`` serving the model at ``model_path`` (a save_pretrained directory)."""
    return GENERATORS.get(cfg.name)(cfg, model_path, tokenizer)


def sample_seed(seed: int, prompt_index: int, sample_index: int) -> int:
    """Seed of the engine call whose first completion is (prompt, sample) under ``seed``.

    A 31-bit hash: torch's CPU generator keeps only the low 32 bits of a seed (a plain
    ``seed * 2**40 + ...`` made every step draw the same samples), and hashing keeps the calls
    of one step, and the same call across steps, on unrelated streams."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{prompt_index}:{sample_index}".encode(), digest_size=4).digest(), "little") >> 1


def chunks(prompt_count: int, n: int, chunk_size: int) -> Iterator[list[tuple[int, int, int]]]:
    """Split ``prompt_count x n`` completions into engine calls of at most ``chunk_size``
    completions: each call is a list of (prompt index, first sample index, count)."""
    call: list[tuple[int, int, int]] = []
    room = chunk_size
    for p in range(prompt_count):
        start = 0
        while start < n:
            take = min(n - start, room)
            call.append((p, start, take))
            start += take
            room -= take
            if room == 0:
                yield call
                call, room = [], chunk_size
    if call:
        yield call
