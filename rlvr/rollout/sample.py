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

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from rlvr.data import Problem
from rlvr.errors import ConfigError
from rlvr.generation.base import Completion, Generator, GeneratorConfig, SamplingConfig
from rlvr.models.load import max_positions
from rlvr.verifiers import Verdict, VerifierPool, VerifyRequest


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


def encode_prompts(problems: list[Problem], template, tokenizer) -> list[list[int]]:
    """Token ids of each rendered prompt, encoded once and shared by generator and learner."""
    return [tokenizer(template.render(p, tokenizer)).input_ids for p in problems]


def check_prompts_fit(problems: list[Problem], template, tokenizer, max_tokens: int, generator: GeneratorConfig, model_path: str) -> None:
    """Refuse, before any engine starts, problems whose prompt plus ``max_tokens`` exceeds the
    generator's context: ``generator.max_model_len`` (a remote server has its own), capped by the
    model's position limit as vLLM caps it. Otherwise the engine fails on the first long prompt
    deep in the run, or silently cuts completions short of the budget the rewards assume."""
    own = max_positions(model_path)
    limits = [n for n in (own, None if generator.name == "remote" else generator.max_model_len) if n]
    if not limits or not problems:
        return
    limit = min(limits)
    length, problem = max(zip(map(len, encode_prompts(problems, template, tokenizer)), problems), key=lambda x: x[0])
    if length + max_tokens > limit:
        cap = f", capped by the model's max_position_embeddings {own}" if own == limit else ""
        raise ConfigError(f"generator.max_model_len: problem {problem.id}'s prompt has {length} tokens, plus rollout.max_tokens {max_tokens} "
                          f"is {length + max_tokens} > {limit} (generator.max_model_len{cap}); raise it, lower max_tokens or filter long problems")


def verify_requests(problems: list[Problem], completions: list[list[Completion]], template) -> list[VerifyRequest]:
    return [
        VerifyRequest(response=template.response_prefix + c.text, answer=p.answer, marker=template.answer_marker, **p.verify_kwargs())
        for p, group in zip(problems, completions)
        for c in group
    ]


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


def split_chunks(problems: list[Problem], prompt_ids: list[list[int]], template, sampling: SamplingConfig, seed: int,
                 prompts_per_chunk: int = 64, tag: Any = None) -> list[Chunk]:
    """``problems`` cut into consecutive chunks of ``prompts_per_chunk``, each seeded ``seed + its first position``."""
    return [
        Chunk(problems[start : start + prompts_per_chunk], prompt_ids[start : start + prompts_per_chunk], template, sampling,
              seed + start, tag)
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
        return chunk, [[ScoredCompletion(p, c, next(verdicts)) for c in group] for p, group in zip(chunk.problems, completions)]

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
    """``sampling.n`` scored completions per problem, in problem order (see :func:`score_chunks`)."""
    chunks = split_chunks(problems, prompt_ids, template, sampling, seed, prompts_per_chunk)
    return [group for _, groups in score_chunks(generator, pool, chunks, timing) for group in groups]
