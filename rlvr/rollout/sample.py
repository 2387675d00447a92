"""Rollouts: render prompts, sample completions, verify them against the answer keys.

Generation and verification overlap: prompts go to the generator in chunks, and each chunk's
completions are handed to the verifier pool (worker processes) while the next chunk generates, so
scoring costs little wall time. The same code serves RL steps, in-training evaluation, SFT
checkpoint selection and ``rlvr eval`` (:func:`score_chunks`; ``rlvr.eval.runner`` builds every
evaluation on it).

The verifier sees ``template.response_prefix + completion``: a template that opens the assistant
turn with ``<think>`` expects the model's answer tags to close it, so the prefix is part of the
response being judged.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from rlvr.data import DatasetConfig, Problem
from rlvr.errors import ConfigError
from rlvr.generation.base import Completion, Generator, GeneratorConfig, SamplingConfig
from rlvr.models.load import max_positions
from rlvr.verifiers import Verdict, VerifierPool, VerifyRequest
from rlvr.verifiers.extraction import extract


@dataclass
class ScoredCompletion:
    """One sampled completion with its verdict."""

    problem: Problem
    completion: Completion
    verdict: Verdict
    reward: float | None = None  # set once by the RL rollout (rlvr.rollout.rewards.assign_rewards); evaluation needs none

    @property
    def correct(self) -> bool:
        return self.verdict.correct


def encode_prompts(problems: list[Problem], template, tokenizer, keep_last: int | None = None) -> list[list[int]]:
    """Token ids of each rendered prompt, encoded once and shared by generator and learner;
    ``keep_last`` cuts longer ones to their last tokens (``on_overlong: truncate_left``, see
    :func:`fit_prompts`)."""
    ids = [tokenizer(template.render(p, tokenizer)).input_ids for p in problems]
    return ids if keep_last is None else [x[-keep_last:] for x in ids]


def template_sampling(sampling: SamplingConfig, template) -> SamplingConfig:
    """``sampling`` with the template's stop strings when it names none itself (``stop`` null);
    an explicit list, empty included, wins. The one place a template's ``stop`` takes effect."""
    return sampling if sampling.stop is not None else dataclasses.replace(sampling, stop=list(template.stop))


def fit_prompts(
    problems: list[Problem], template, tokenizer, data: DatasetConfig, key: str, max_tokens: int, generator: GeneratorConfig, model_path: str
) -> tuple[list[Problem], int | None]:
    """Apply ``data.on_overlong`` to prompts longer than ``data.max_prompt_tokens`` (default: what
    fits the generator's context, ``generator.max_model_len`` capped by the model's position limit
    as vLLM caps it, minus ``max_tokens``). Checked when the data loads, before any engine starts:
    otherwise the engine fails on the first long prompt deep in the run, with its own traceback.

    Returns the problems to use (``skip`` drops the long ones and says how many) and the
    ``keep_last`` to encode them with (``truncate_left``; else None). ``key`` is the config
    section of ``data`` (``data``, ``eval.dataset``, ``data.gsm8k``) for the messages."""
    own = max_positions(model_path)
    limits = [n for n in (own, None if generator.name == "remote" else generator.max_model_len) if n]
    context = min(limits) if limits else None  # a remote server's max_model_len is its own
    cap = f", capped by the model's max_position_embeddings {own}" if own == context else ""
    why = f"generator.max_model_len{cap}"
    fits = None if context is None else context - max_tokens
    if fits is not None and fits < 1:
        raise ConfigError(f"max_tokens {max_tokens} leaves no room for a prompt in the {context}-token context ({why})")
    limit = fits
    if data.max_prompt_tokens is not None:
        if fits is not None and data.max_prompt_tokens > fits:
            raise ConfigError(
                f"{key}.max_prompt_tokens: {data.max_prompt_tokens} prompt tokens plus max_tokens {max_tokens} "
                f"exceed the {context}-token context ({why}); at most {fits} fit"
            )
        limit = data.max_prompt_tokens
    if limit is None or not problems:
        return problems, None
    lengths = [len(x) for x in encode_prompts(problems, template, tokenizer)]
    over = [i for i, n in enumerate(lengths) if n > limit]
    if not over:
        return problems, None
    source = f"dataset '{data.name}' split '{data.split}'" + (f" ({data.path})" if data.path else "")
    bound = f"{key}.max_prompt_tokens" if data.max_prompt_tokens is not None else f"context {context} ({why}) - max_tokens {max_tokens}"
    if data.on_overlong == "error":
        first = problems[over[0]]
        raise ConfigError(
            f"{key}: {source} problem {first.id}: the prompt with template '{template.name}' has {lengths[over[0]]} tokens, "
            f"more than the {limit} allowed ({bound}); {len(over)} of {len(problems)} prompts are this long. "
            f"Set {key}.on_overlong=skip or truncate_left, or give more room"
        )
    if data.on_overlong == "skip":
        dropped = set(over)
        kept = [p for i, p in enumerate(problems) if i not in dropped]
        if not kept:
            raise ConfigError(f"{key}: {source}: every prompt is longer than {limit} tokens ({bound}); nothing left to use")
        print(f"rlvr: {source}: skipped {len(over)} of {len(problems)} prompts longer than {limit} tokens", file=sys.stderr)
        return kept, None
    print(f"rlvr: {source}: cut {len(over)} of {len(problems)} prompts longer than {limit} tokens to their last {limit}", file=sys.stderr)
    return problems, limit


NO_KEY = "no_key"
"""The verdict reason of a completion to a problem without an answer key (never sent to the verifier)."""


def verify_requests(problems: list[Problem], completions: list[list[Completion]], template) -> list[VerifyRequest]:
    """What the verifier pool checks: every completion of a problem with an answer key."""
    return [
        VerifyRequest(response=template.response_prefix + c.text, answer=p.answer, marker=template.answer_marker, **p.verify_kwargs())
        for p, group in zip(problems, completions)
        if p.answer is not None
        for c in group
    ]


def unkeyed_verdict(completion: Completion, template) -> Verdict:
    """The verdict of a completion to a problem without an answer key: never correct (there is
    nothing to check it against), with the answer it states, which the format reward and a judge use."""
    return Verdict(False, extract(template.response_prefix + completion.text, template.answer_marker, fallback=False), NO_KEY)


@dataclass(frozen=True)
class Chunk:
    """Prompts decoded in one generator call, with the settings and seed they are decoded with.

    A chunk's seed is fixed by its position, not by what ran before it, so any subset of the
    chunks of a run (a resumed eval) draws the same completions as the full run."""

    problems: list[Problem]
    prompt_ids: list[list[int]]
    template: Any
    sampling: SamplingConfig
    seed: int
    tag: Any = None  # what the caller needs to file the results (an eval: dataset and pass)


def split_chunks(
    problems: list[Problem], prompt_ids: list[list[int]], template, sampling: SamplingConfig, seed: int, prompts_per_chunk: int = 64, tag: Any = None
) -> list[Chunk]:
    """``problems`` cut into consecutive chunks of ``prompts_per_chunk``, each seeded ``seed + its
    first position``, sampled with the template's stop strings unless ``sampling.stop`` is set."""
    sampling = template_sampling(sampling, template)
    return [
        Chunk(problems[start : start + prompts_per_chunk], prompt_ids[start : start + prompts_per_chunk], template, sampling, seed + start, tag)
        for start in range(0, len(problems), prompts_per_chunk)
    ]


def score_chunks(
    generator: Generator, pool: VerifierPool, chunks: Iterable[Chunk], timing: dict[str, float] | None = None
) -> Iterator[tuple[Chunk, list[list[ScoredCompletion]]]]:
    """Generate each chunk and yield it with its scored completion groups (one per problem), in chunk order.

    The generator never waits for the verifier: each chunk's completions go to the pool and the
    next chunk generates at once. Between two generator calls the chunks whose verdicts are in
    are yielded, so a caller that writes what it gets (``rlvr eval``) loses at most the chunks
    still being verified when it crashes; the rest are awaited after the last call.

    ``timing``, when given, accumulates ``gen_seconds`` (inside the generator) and
    ``verify_seconds`` (waiting for verdicts after the last chunk generated: the scoring time that
    overlap did not hide).
    """
    import time

    pending: deque[tuple[Chunk, list[list[Completion]], Future]] = deque()

    def scored(item: tuple[Chunk, list[list[Completion]], Future]) -> tuple[Chunk, list[list[ScoredCompletion]]]:
        chunk, completions, future = item
        verdicts = iter(future.result())
        return chunk, [
            [ScoredCompletion(p, c, next(verdicts) if p.answer is not None else unkeyed_verdict(c, chunk.template)) for c in group]
            for p, group in zip(chunk.problems, completions)
        ]

    gen = wait = 0.0
    try:
        for chunk in chunks:
            t0 = time.perf_counter()
            completions = generator.generate(chunk.prompt_ids, chunk.sampling, seed=chunk.seed)
            gen += time.perf_counter() - t0
            pending.append((chunk, completions, pool.submit(verify_requests(chunk.problems, completions, chunk.template))))
            while pending and pending[0][2].done():
                yield scored(pending.popleft())
        while pending:
            t0 = time.perf_counter()
            item = pending.popleft()
            item[2].result()
            wait += time.perf_counter() - t0
            yield scored(item)
    finally:
        if timing is not None:
            timing["gen_seconds"] = timing.get("gen_seconds", 0.0) + gen
            timing["verify_seconds"] = timing.get("verify_seconds", 0.0) + wait


def generate_and_score(
    generator: Generator,
    pool: VerifierPool,
    problems: list[Problem],
    prompt_ids: list[list[int]],
    template,
    sampling: SamplingConfig,
    seed: int,
    prompts_per_chunk: int = 64,
    timing: dict[str, float] | None = None,
) -> list[list[ScoredCompletion]]:
    """``sampling.n`` scored completions per problem, in problem order (see :func:`score_chunks`),
    stopping on the template's stop strings unless ``sampling.stop`` is set."""
    chunks = split_chunks(problems, prompt_ids, template, sampling, seed, prompts_per_chunk)
    return [group for _, groups in score_chunks(generator, pool, chunks, timing) for group in groups]
