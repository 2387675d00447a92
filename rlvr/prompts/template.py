"""Prompt templates: how a :class:`~rlvr.data.problem.Problem` becomes the text a model continues.

A template is a YAML file (``prompts/*.yaml``; keys below) loaded into :class:`PromptTemplate`:

* ``render: chat`` sends ``system`` and the formatted ``template`` (the user message) through the
  model's own chat template (``tokenizer.apply_chat_template(..., add_generation_prompt=True)``);
  ``render: raw`` uses the formatted text as is (base models, the tiny arithmetic model).
* ``template`` is a format string with ``{question}`` and optionally ``{choices}`` (the problem's
  option texts as lines "(A) ...", each after a newline; empty when there are none or the choices are
  bare letters whose options are in the question) and ``{unit_hint}`` (``unit_hint`` formatted with
  ``{unit}`` when the problem states its unit separately, else empty).
* ``answer_marker`` names how the response marks its final answer, one of the verifier's
  :data:`~rlvr.verifiers.extraction.MARKERS` (``boxed``, ``answer_tag``, ...); it is passed to the
  verifier as ``marker``, and writes the answers of few-shot turns and SFT targets.
* ``response_prefix`` is text the assistant turn starts with (R1-Zero's ``<think>``); it ends the
  rendered prompt, so the model continues after it.
* ``shot_format`` (``{solution}``, ``{answer}``, ``{final}`` = the answer written with the marker)
  turns a solved problem into an assistant turn for few-shot examples and SFT targets; ``{final}`` is
  empty when the solution's last line already has the marked answer (GSM8K's ``#### 18``).
* ``fewshot: {dataset, split, k}`` names few-shot examples (the first ``k`` solved problems of
  that split, never the problem being asked) that :meth:`PromptTemplate.render` puts before every
  question unless the caller passes its own: one place, so training, evaluation, SFT and
  ``rlvr data show`` all see the same prompt.
* ``stop`` lists strings that end a completion, kept in it (R1-Zero's ``</answer>``: past the
  answer tag a sample can only ramble into the length limit). Training, ``rlvr eval`` and the
  trainer's evaluations sample with them unless their own ``stop`` is set.

Templates are looked up by name in ``TEMPLATES`` (entry-point group ``rlvr.prompts``: a plug-in
points at a :class:`PromptTemplate`, e.g. one built with :func:`load_template_file`) or given as a
path to a YAML file.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from rlvr.config import ConfigError, field, from_dict, parse_yaml
from rlvr.data.problem import Problem
from rlvr.errors import RlvrError
from rlvr.registry import Registry
from rlvr.verifiers.extraction import MARKERS

_TEMPLATE_FIELDS = {"question", "choices", "unit_hint"}


def check_placeholders(text: str, allowed: set[str], what: str) -> None:
    """``text`` is a ``str.format`` template using only ``allowed`` names: a typo in a template or
    rubric file is caught when it loads, not as a KeyError in the middle of a run."""
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as e:
        raise ValueError(f"{what}: {e} (write literal braces as {{{{ and }}}})") from None
    if names - allowed:
        raise ValueError(f"{what}: unknown placeholder(s) {sorted(names - allowed)} (allowed: {sorted(allowed)})")


@dataclass(frozen=True)
class FewShot:
    dataset: str = field(help="dataset the examples come from (must have worked solutions)")
    split: str = field("train", help="split of that dataset")
    k: int = field(4, ge=0, help="number of examples")


@dataclass(frozen=True)
class PromptTemplate:
    name: str = field(help="template name")
    template: str = field(help="format string with {question} (and optionally {choices}, {unit_hint}); the user message for chat")
    answer_marker: str = field(choices=MARKERS, help="how the response marks its final answer (the verifier's marker)")
    description: str = field("", help="one line shown by `rlvr data show --template`")
    render_mode: Literal["chat", "raw"] = field("chat", help="chat: through the tokenizer's chat template; raw: the text as is")
    system: str | None = field(None, help="system message (chat only)")
    response_prefix: str = field("", help="text the assistant turn starts with, e.g. <think>")
    unit_hint: str = field("", help="text for {unit_hint} when the problem has a unit, formatted with {unit}")
    shot_format: str = field("{solution}\n{final}", help="assistant turn of a solved example: {solution}, {answer}, {final}")
    fewshot: FewShot | None = field(None, help="default few-shot examples: {dataset, split, k}")
    stop: list[str] = field(default_factory=list, help="strings that end a completion (kept in it), e.g. ['</answer>']")

    def validate(self) -> None:
        if "" in self.stop:
            raise ValueError("stop: an empty string would end every completion at once")
        for text, allowed, what in (
            (self.template, _TEMPLATE_FIELDS, "template"),
            (self.shot_format, {"solution", "answer", "final"}, "shot_format"),
            (self.unit_hint, {"unit"}, "unit_hint"),
        ):
            check_placeholders(text, allowed, what)
        if "{question}" not in self.template:
            raise ValueError("template must contain {question}")
        if self.render_mode == "raw" and self.system:
            raise ValueError("system is only used with render: chat")

    # ------------------------------------------------------------------------- rendering

    def user_text(self, problem: Problem) -> str:
        """The formatted ``template`` for ``problem`` (the user message of a chat template)."""
        # Bare option letters mean the options are already in the question text (JEEBench): nothing to list.
        texts = [c for c in problem.choices or () if len(c) > 1]
        choices = "".join(f"\n({chr(65 + i)}) {c}" for i, c in enumerate(texts))
        hint = self.unit_hint.format(unit=problem.unit) if problem.unit else ""
        return self.template.format(question=problem.prompt, choices=choices, unit_hint=hint)

    def final(self, answer: str) -> str:
        """``answer`` written the way this template's marker expects (``\\boxed{18}``, ``#### 18``)."""
        return MARKERS.get(self.answer_marker).write(answer)

    def response(self, problem: Problem) -> str:
        """The assistant text of a worked answer (after ``response_prefix``): few-shot turns, SFT targets."""
        final = self.final(problem.answer)
        solution = (problem.solution or "").rstrip()
        if solution and final in solution.splitlines()[-1]:  # GSM8K's "#### 18", arith's "Answer: 39", MATH's box
            final = ""
        return self.shot_format.format(solution=solution, answer=problem.answer, final=final).strip()

    def messages(self, problem: Problem, fewshot: list[Problem] | tuple[Problem, ...] | None = None) -> list[dict[str, str]]:
        """Chat messages (system, few-shot user/assistant pairs, the question); ``fewshot`` None
        means the template's declared examples (:meth:`shots`)."""
        out = [{"role": "system", "content": self.system}] if self.system else []
        for shot in self.shots(problem) if fewshot is None else fewshot:
            out.append({"role": "user", "content": self.user_text(shot)})
            out.append({"role": "assistant", "content": self.response_prefix + self.response(shot)})
        out.append({"role": "user", "content": self.user_text(problem)})
        return out

    def shots(self, problem: Problem) -> list[Problem]:
        """The declared few-shot examples for ``problem``: ``fewshot.k`` solved problems, skipping
        ``problem`` itself (training on GSM8K train with shots from GSM8K train would otherwise
        show some questions with their own answer)."""
        if self.fewshot is None:
            return []
        return [s for s in _fewshot_pool(self.fewshot) if s.id != problem.id][: self.fewshot.k]

    def render(self, problem: Problem, tokenizer: Any = None, fewshot: list[Problem] | tuple[Problem, ...] | None = None) -> str:
        """The full prompt text, ending with ``response_prefix`` (the model continues from there);
        ``fewshot`` None means the template's declared examples (:meth:`shots`)."""
        if self.render_mode == "raw":
            shots = "".join(
                self.user_text(s) + self.response_prefix + self.response(s) + "\n\n" for s in (self.shots(problem) if fewshot is None else fewshot)
            )
            return shots + self.user_text(problem) + self.response_prefix
        if tokenizer is None:
            raise RlvrError(f"prompt template '{self.name}' renders through a chat template: pass the model's tokenizer")
        if not getattr(tokenizer, "chat_template", None):
            raise RlvrError(f"prompt template '{self.name}' needs a chat template but the tokenizer has none; use a raw template (e.g. r1-zero)")
        text = tokenizer.apply_chat_template(self.messages(problem, fewshot), add_generation_prompt=True, tokenize=False)
        return text + self.response_prefix


@functools.cache
def _fewshot_pool(spec: FewShot) -> tuple[Problem, ...]:
    """The first ``k + 1`` solved problems of the examples' split (one spare for the problem being
    asked), loaded once per process: every prompt of a run renders with them."""
    from rlvr.data import DatasetConfig, load_problems  # lazily: rlvr.data's loaders are not needed to parse a template

    solved = [p for p in load_problems(DatasetConfig(name=spec.dataset, split=spec.split)) if p.solution]
    if len(solved) < spec.k:
        raise RlvrError(f"few-shot examples: dataset '{spec.dataset}' split '{spec.split}' has {len(solved)} solved problems, fewshot.k is {spec.k}")
    return tuple(solved[: spec.k + 1])


# ----------------------------------------------------------------------------- loading


def template_from_yaml(text: str, source: str, default_name: str) -> PromptTemplate:
    data = parse_yaml(text, source)
    data.setdefault("name", default_name)
    if "render" in data:  # the YAML key is `render`; the attribute is render_mode (render() is the method)
        data["render_mode"] = data.pop("render")
    try:
        return from_dict(PromptTemplate, data, prefix=source)
    except ConfigError as e:
        raise ConfigError(f"prompt template {e}") from None


def load_template_file(path: str | Path) -> PromptTemplate:
    """A template from a YAML file of the user's (or a plug-in's); its name defaults to the file stem."""
    path = Path(path)
    if not path.is_file():
        raise RlvrError(f"prompt template file not found: {path}")
    return template_from_yaml(path.read_text(encoding="utf-8"), str(path), path.stem)


TEMPLATES: Registry[PromptTemplate] = Registry("prompt template", "rlvr.prompts")


def _register_builtins() -> None:
    for entry in sorted(resources.files("rlvr.prompts").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            t = template_from_yaml(entry.read_text(encoding="utf-8"), f"built-in {entry.name}", entry.name[:-5])
            TEMPLATES.register(t.name, t)


def get_template(name: str) -> PromptTemplate:
    """A registered template by name, or a YAML file by path (``my_prompt.yaml``)."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return load_template_file(name)
    obj = TEMPLATES.get(name)
    if not isinstance(obj, PromptTemplate):
        raise RlvrError(f"prompt template plug-in '{name}' is a {type(obj).__name__}, not a rlvr.prompts.PromptTemplate")
    return obj


_register_builtins()
