"""The ``judge`` reward: an LLM grades each response against a rubric (RLAIF, Lee et al. 2023;
self-rewarding, Yuan et al. 2024; LLM-as-a-judge, Zheng et al. 2023).

A **rubric** (a YAML file: the built-ins in ``rlvr/rewards/rubrics/``, or the user's own by path)
is a grading prompt and the pattern of the score the judge must end with:

* ``template``: format string with ``{question}`` (the problem's bare question), ``{response}`` and
  optionally ``{reference}``: the ``reference`` text formatted with ``{answer}`` when the problem has
  an answer key, empty when it has none, so one rubric serves keyed and keyless problems;
* ``system``: an optional system message (``judge.api: chat``);
* ``pattern``: a regular expression with one group, searched case-insensitively; the *last* match
  counts (the judge reasons first, and may quote the format before using it);
* ``scale: [lo, hi]`` for a number, mapped linearly to [0, 1] (outside it: unparsed), or
  ``labels: {yes: 1, no: 0}`` for a verdict word;
* ``stop``: strings that end the judgement.

A judgement without a valid score gets ``judge.unparsed_reward`` and is counted
(``judge_unparsed``); a request that failed gets it too and is counted as ``judge_failures``. Both
show in the step's metrics: an unreadable judge is visible, never a silent zero.

**Backends** (:data:`JUDGE_BACKENDS`) take rendered rubric prompts and return the judge's texts:
``self`` (the policy's engine, so the judge improves with the policy), ``engine`` (a second
in-process engine, ``judge.generator``, serving ``judge.model``) and ``endpoint`` (an
OpenAI-compatible server, :mod:`rlvr.rewards.judge_client`). Each reports what it cost.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rlvr.config import ConfigError, field, from_dict, parse_yaml
from rlvr.errors import RlvrError
from rlvr.generation.base import SamplingConfig, build_generator
from rlvr.models.load import load_tokenizer, max_positions, resolve_model_path
from rlvr.prompts.template import check_placeholders
from rlvr.registry import Registry
from rlvr.rewards.base import REWARDS, RewardContext, RewardInput, RewardOutput
from rlvr.rewards.config import JudgeConfig, RewardConfig
from rlvr.rewards.judge_client import JudgeClient, Reply

COSTS = ("judge_requests", "judge_cache_hits", "judge_prompt_tokens", "judge_completion_tokens", "judge_failures", "judge_retries", "judge_unparsed")
"""What every judge call reports (zeros included, so each step's log has every column)."""

# ----------------------------------------------------------------------------- rubrics


@dataclass(frozen=True)
class Rubric:
    name: str = field(help="rubric name")
    template: str = field(help="grading prompt: {question}, {response}, optionally {reference}")
    pattern: str = field(help="regex with one group capturing the score or verdict; the last match counts")
    description: str = field("", help="one line for the docs")
    source: str = field("", help="the published prompt this one follows")
    system: str | None = field(None, help="system message (chat)")
    reference: str = field("", help="text for {reference} when the problem has an answer key, with {answer}")
    scale: list[float] = field(default_factory=list, help="[lowest, highest] score, mapped to [0, 1]")
    labels: dict[str, float] = field(default_factory=dict, help="verdict word -> reward in [0, 1] (instead of scale)")
    stop: list[str] = field(default_factory=list, help="strings that end a judgement")

    def validate(self) -> None:
        for text, allowed, what in ((self.template, {"question", "response", "reference"}, "template"), (self.reference, {"answer"}, "reference")):
            check_placeholders(text, allowed, what)
        if "{question}" not in self.template or "{response}" not in self.template:
            raise ValueError("template must contain {question} and {response}")
        try:
            groups = self.regex.groups
        except re.error as e:
            raise ValueError(f"pattern: not a regular expression ({e})") from None
        if groups != 1:
            raise ValueError(f"pattern must have exactly one group (the score), it has {groups}")
        if bool(self.scale) == bool(self.labels):
            raise ValueError("give exactly one of scale: [lowest, highest] or labels: {word: reward}")
        if self.scale and (len(self.scale) != 2 or not self.scale[0] < self.scale[1]):
            raise ValueError(f"scale must be [lowest, highest] with lowest < highest, got {self.scale}")
        for word, value in self.labels.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ValueError(f"labels.{word}: must be a number in [0, 1], got {value!r}")
        if "" in self.stop:
            raise ValueError("stop: an empty string would end every judgement at once")

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE)

    def render(self, question: str, response: str, answer: str | None) -> tuple[str | None, str]:
        """(system, user) grading prompt; ``answer`` None or empty: the problem has no key."""
        reference = self.reference.format(answer=answer) if answer else ""
        return self.system, self.template.format(question=question, response=response, reference=reference)

    def score(self, judgement: str) -> float | None:
        """The judgement's score in [0, 1], or None when it has no valid one."""
        matches = self.regex.findall(judgement)
        if not matches:
            return None
        found = matches[-1].strip().lower()
        if self.labels:
            return next((float(v) for k, v in self.labels.items() if k.lower() == found), None)
        lo, hi = self.scale
        value = float(found)
        return (value - lo) / (hi - lo) if lo <= value <= hi else None


def load_rubric_file(path: str | Path) -> Rubric:
    """A rubric from the user's YAML file; its name defaults to the file stem."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise RlvrError(f"rubric file not found: {path}")
    return _rubric_from_yaml(path.read_text(encoding="utf-8"), str(path), path.stem)


def _rubric_from_yaml(text: str, source: str, name: str) -> Rubric:
    data = parse_yaml(text, source)
    data.setdefault("name", name)
    try:
        return from_dict(Rubric, data, prefix=source)
    except ConfigError as e:
        raise ConfigError(f"rubric {e}") from None


RUBRICS: Registry[Rubric] = Registry("rubric", "rlvr.rubrics")
"""Rubrics by name: the built-in YAML files, and plug-ins (entry-point group ``rlvr.rubrics``,
pointing at a :class:`Rubric`, e.g. one built with :func:`load_rubric_file`)."""


@functools.cache
def _register_builtins() -> None:
    # On first use, not at import: the config check imports this module for every run.
    for p in sorted((resources.files("rlvr.rewards") / "rubrics").iterdir(), key=lambda p: p.name):
        if p.name.endswith(".yaml"):
            RUBRICS.register(p.name[:-5], _rubric_from_yaml(p.read_text(encoding="utf-8"), f"built-in rubric {p.name}", p.name[:-5]))


def get_rubric(name: str) -> Rubric:
    """A registered rubric by name, or a YAML file by path (``my_rubric.yaml``)."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return load_rubric_file(name)
    _register_builtins()
    try:
        rubric = RUBRICS.get(name)
    except RlvrError as e:
        raise RlvrError(f"{e}; or give a path to a rubric .yaml") from None
    if not isinstance(rubric, Rubric):
        raise RlvrError(f"rubric plug-in '{name}' is a {type(rubric).__name__}, not a rlvr.rewards.judge.Rubric")
    return rubric


# ----------------------------------------------------------------------------- backends

Prompt = tuple[str | None, str]  # (system, user) from Rubric.render


def _as_text(prompt: Prompt) -> str:
    system, user = prompt
    return f"{system}\n\n{user}" if system else user


def _as_messages(prompt: Prompt) -> list[dict[str, str]]:
    system, user = prompt
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]


class EngineJudge:
    """Judgements from a :class:`~rlvr.generation.base.Generator` in this process: the policy's own
    (``self``) or a second one (``engine``). A prompt that cannot fit the engine's context with
    ``judge.max_tokens`` of judgement is not sent: it counts as a failure."""

    def __init__(self, cfg: JudgeConfig, rubric: Rubric, generator: Any, tokenizer: Any, seed: int, owned: bool, context: int | None):
        self.cfg, self.generator, self.tokenizer, self.seed, self.owned = cfg, generator, tokenizer, seed, owned
        self.sampling = SamplingConfig(n=1, temperature=cfg.temperature, max_tokens=cfg.max_tokens, stop=list(rubric.stop))
        self.context = context  # longest prompt + judgement the engine takes (None: unknown, send everything)
        self.calls = 0
        if cfg.api == "chat" and not getattr(tokenizer, "chat_template", None):
            raise RlvrError("reward.judge.api=chat but the judge's tokenizer has no chat template; use reward.judge.api=completions")

    def _text(self, prompt: Prompt) -> str:
        if self.cfg.api == "chat":
            return self.tokenizer.apply_chat_template(_as_messages(prompt), add_generation_prompt=True, tokenize=False)
        return _as_text(prompt)

    def __call__(self, prompts: list[Prompt]) -> tuple[list[Reply | None], dict[str, float]]:
        ids = [self.tokenizer(self._text(p)).input_ids for p in prompts]
        fits = [i for i, x in enumerate(ids) if self.context is None or len(x) + self.cfg.max_tokens <= self.context]
        replies: list[Reply | None] = [None] * len(prompts)
        if fits:
            self.calls += 1
            # A seed of its own per call: judging must not draw from (and so shift) the run's random stream.
            out = self.generator.generate([ids[i] for i in fits], self.sampling, seed=self.seed + 1_000_003 * self.calls)
            for i, group in zip(fits, out):
                replies[i] = Reply(group[0].text, len(ids[i]), len(group[0].token_ids))
        sent = [r for r in replies if r is not None]
        return replies, {
            "judge_requests": len(sent),
            "judge_prompt_tokens": sum(r.prompt_tokens for r in sent),
            "judge_completion_tokens": sum(r.completion_tokens for r in sent),
            "judge_failures": len(prompts) - len(sent),
        }

    def close(self) -> None:
        if self.owned:
            self.generator.close()


class EndpointJudge:
    """Judgements from an OpenAI-compatible server (:class:`~rlvr.rewards.judge_client.JudgeClient`)."""

    def __init__(self, cfg: JudgeConfig, rubric: Rubric, api_key: str | None):
        self.cfg = cfg
        self.client = JudgeClient(
            cfg.url,
            cfg.served_model,
            api=cfg.api,
            api_key=api_key,
            max_tokens=cfg.max_tokens,
            temperature=cfg.temperature,
            stop=rubric.stop,
            timeout=cfg.timeout,
            retries=cfg.retries,
            backoff=cfg.backoff,
            max_backoff=cfg.max_backoff,
            max_failures=cfg.max_failures,
            requests_per_second=cfg.requests_per_second,
            concurrency=cfg.concurrency,
            cache_size=cfg.cache_size,
            max_response_bytes=cfg.max_response_bytes,
        )

    def __call__(self, prompts: list[Prompt]) -> tuple[list[Reply | None], dict[str, float]]:
        requests = [_as_messages(p) if self.cfg.api == "chat" else _as_text(p) for p in prompts]
        try:
            return self.client.complete(requests), self.client.take_metrics()
        except RlvrError:
            self.client.take_metrics()  # a failed call's counts go with its error, not into the next step
            raise

    def close(self) -> None:
        self.client.close()


def _self_backend(cfg: JudgeConfig, rubric: Rubric, ctx: RewardContext) -> EngineJudge:
    if ctx.generator is None:
        raise RlvrError("reward.judge.model=self needs the policy's engine, and this run has none; give reward.judge.model or reward.judge.url")
    # The policy's generator.max_model_len is all that is known of its context here.
    context = getattr(getattr(ctx.generator, "cfg", None), "max_model_len", None)
    return EngineJudge(cfg, rubric, ctx.generator, ctx.tokenizer, ctx.seed, owned=False, context=context)


def _engine_backend(cfg: JudgeConfig, rubric: Rubric, ctx: RewardContext) -> EngineJudge:
    path = resolve_model_path(cfg.model)
    tokenizer = load_tokenizer(path)
    context = min(cfg.generator.max_model_len, max_positions(path) or cfg.generator.max_model_len)  # as vLLM caps it
    return EngineJudge(cfg, rubric, build_generator(cfg.generator, path, tokenizer), tokenizer, ctx.seed, owned=True, context=context)


def _endpoint_backend(cfg: JudgeConfig, rubric: Rubric, ctx: RewardContext) -> EndpointJudge:
    return EndpointJudge(cfg, rubric, os.environ.get(cfg.api_key_env) if cfg.api_key_env else None)


JUDGE_BACKENDS: Registry = Registry("judge backend")
JUDGE_BACKENDS.register("self", _self_backend)
JUDGE_BACKENDS.register("engine", _engine_backend)
JUDGE_BACKENDS.register("endpoint", _endpoint_backend)


def backend_name(cfg: JudgeConfig) -> str:
    """Where ``cfg`` says the judge runs: an endpoint when a URL is given, else the policy's engine
    for ``model: self``, else a second engine."""
    if cfg.url:
        return "endpoint"
    return "self" if cfg.model == "self" else "engine"


# ----------------------------------------------------------------------------- the reward


class JudgeReward:
    """One judgement per response, its parsed score in [0, 1] the reward."""

    def __init__(self, cfg: RewardConfig, ctx: RewardContext):
        self.cfg = cfg.judge
        self.rubric = get_rubric(self.cfg.rubric)
        self.backend = JUDGE_BACKENDS.get(backend_name(self.cfg))(self.cfg, self.rubric, ctx)

    def __call__(self, batch: list[RewardInput]) -> RewardOutput:
        prompts = [self.rubric.render(x.problem.prompt, x.response, x.problem.answer) for x in batch]
        replies, cost = self.backend(prompts)
        scores = [self.rubric.score(r.text) if r is not None else None for r in replies]
        metrics = dict.fromkeys(COSTS, 0.0) | {k: float(v) for k, v in cost.items()}
        metrics["judge_unparsed"] = float(sum(s is None and r is not None for s, r in zip(scores, replies)))
        return RewardOutput([self.cfg.unparsed_reward if s is None else s for s in scores], metrics)

    def close(self) -> None:
        self.backend.close()


REWARDS.register("judge", JudgeReward, learned=True)
