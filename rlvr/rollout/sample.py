"""Rollouts: render prompts, sample completions, verify them against the answer keys.

Generation and verification overlap: prompts go to the generator in chunks, and each chunk's
completions are handed to the verifier pool (worker processes) while the next chunk generates, so
scoring costs little wall time. The same code serves RL steps, in-training evaluation, SFT
checkpoint selection and ``rlvr eval``.

The verifier sees ``template.response_prefix + completion``: a template that opens the assistant
turn with ``<think>`` expects the model's answer tags to close it, so the prefix is part of the
response being judged.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """``sampling.n`` scored completions per problem, in problem order.

    ``timing``, when given, accumulates ``gen_seconds`` (inside the generator) and
    ``verify_seconds`` (waiting for verdicts after the last chunk generated: the scoring time that
    overlap did not hide).
    """
    import time

    pending = []
    gen = wait = 0.0
    for start in range(0, len(problems), prompts_per_chunk):
        chunk = slice(start, start + prompts_per_chunk)
        t0 = time.perf_counter()
        completions = generator.generate(prompt_ids[chunk], sampling, seed=seed + start)
        gen += time.perf_counter() - t0
        future = pool.submit(verify_requests(problems[chunk], completions, template))
        pending.append((problems[chunk], completions, future))
    out: list[list[ScoredCompletion]] = []
    for probs, completions, future in pending:
        t0 = time.perf_counter()
        verdicts = iter(future.result())
        wait += time.perf_counter() - t0
        for p, group in zip(probs, completions):
            out.append([ScoredCompletion(p, c, next(verdicts)) for c in group])
    if timing is not None:
        timing["gen_seconds"] = timing.get("gen_seconds", 0.0) + gen
        timing["verify_seconds"] = timing.get("verify_seconds", 0.0) + wait
    return out


def accuracy(scored: list[list[ScoredCompletion]]) -> list[float]:
    """Per-problem share of correct completions (pass@1 estimate per problem)."""
    return [sum(s.correct for s in group) / len(group) for group in scored]
