"""The arithmetic curriculum: the one the bundled tiny model learns, and an RL dataset (``arith``).

A problem is a chain of 2-5 integers joined by ``+``, ``-`` and ``*`` (``12+34-7=?``), or a short
word problem with the same arithmetic ("Ann has 12 marbles. She gets 34 more and gives away 7. How
many marbles does she have now?"). The worked solution first writes the expression (for a word problem, its translation), then
rewrites it once per line, reducing one operation each time - the first product if there is one
(the usual precedence), else the leftmost operation - until one number is left, and ends with the
key::

    12+34-7
    =46-7
    =39
    Answer: 39

Why this form, rather than one ``a+b=c`` line per step: each line follows from the line above by a
local rule (reduce the first operation, copy the rest), and the solution ends when nothing is left
to copy. A model that learned it on short chains can carry it to longer ones, but not reliably -
the copy grows and errors compound - which is the gap RL with answer keys closes (measured:
:data:`PRESETS`). With ``a+b=c`` steps the tiny model learned "two steps, then answer" and never
continued a four-term chain, so RL had nothing to reinforce.

Prompts and solutions are kept this short on purpose: the tiny model (a ~2M-parameter Llama with a
digit-splitting BPE tokenizer) is trained on exactly ``prompt + "\\n" + solution`` (see :func:`corpus`
and the ``arith`` prompt template) and its speed is set by the sequence length. Results, including
every intermediate one, are never negative, so the model never needs a minus sign.

Difficulty is an :class:`ArithSpec`; :data:`PRESETS` names two (``easy`` for pretraining/SFT,
``hard`` held for RL). Select with ``options: {level: hard}`` and override any knob in ``options``
(``{level: easy, max_terms: 4}``). Splits: see :mod:`rlvr.data.synthetic`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from rlvr.config import field, from_dict
from rlvr.data.config import DatasetConfig
from rlvr.data.problem import Problem
from rlvr.data.registry import DATASETS, Dataset
from rlvr.data.synthetic import SPLITS, SplitSizes, generate_split


@dataclass(frozen=True)
class ArithSpec:
    """Difficulty knobs of the arithmetic curriculum."""

    min_terms: int = field(2, help="fewest numbers in a problem")
    max_terms: int = field(3, help="most numbers in a problem")
    min_digits: int = field(1, help="fewest digits of a number")
    max_digits: int = field(2, help="most digits of a number")
    ops: str = field("+-", help="operators to draw from, a subset of '+-*'")
    max_mul_digits: int = field(1, help="most digits of a number next to '*' (keeps products small)")
    word_fraction: float = field(0.2, help="share of word problems (only for problems without '*')")
    min_total_digits: int = field(0, help="fewest digits over all numbers of a problem (its length)")
    max_total_digits: int = field(0, help="most digits over all numbers of a problem (0: no cap)")

    def validate(self) -> None:
        if not 2 <= self.min_terms <= self.max_terms:
            raise ValueError("need 2 <= min_terms <= max_terms")
        if not 1 <= self.min_digits <= self.max_digits:
            raise ValueError("need 1 <= min_digits <= max_digits")
        if self.max_mul_digits < 1:
            raise ValueError("max_mul_digits must be >= 1")
        if not self.ops or set(self.ops) - set("+-*"):
            raise ValueError(f"ops must be a non-empty subset of '+-*', got {self.ops!r}")
        if not 0.0 <= self.word_fraction <= 1.0:
            raise ValueError("word_fraction must be in [0, 1]")
        if self.max_total_digits and not self.min_total_digits <= self.max_total_digits:
            raise ValueError("need min_total_digits <= max_total_digits")
        if self.max_total_digits and self.max_total_digits < self.min_terms * self.min_digits:
            raise ValueError("max_total_digits is below min_terms * min_digits: no problem fits")


# Difficulty is length. `easy` (the worked solutions the tiny model studies) has chains of 2-4
# numbers but at most 6 digits in all, so four-number chains are all short ones (3+5-2+71); `hard`
# (answer keys only, for RL) is four-number chains of 7-8 digits (23+51-9+64): every piece was
# studied, the longer rewrite lines were not. Measured with the bundled model: see the README.
PRESETS: dict[str, ArithSpec] = {
    "easy": ArithSpec(min_terms=2, max_terms=4, min_digits=1, max_digits=2, ops="+-", word_fraction=0.2, max_total_digits=6),
    "hard": ArithSpec(min_terms=4, max_terms=4, min_digits=1, max_digits=2, ops="+-", word_fraction=0.2, min_total_digits=7),
}


@dataclass
class ArithOptions(SplitSizes):
    level: Literal["easy", "hard"] = field("easy", help="difficulty preset (see rlvr.data.arith.PRESETS)")


# ----------------------------------------------------------------------------- one problem


def _number(rng: random.Random, spec: ArithSpec, multiplied: bool) -> int:
    low, high = spec.min_digits, spec.max_digits
    if multiplied:
        high = max(1, min(high, spec.max_mul_digits))
        low = min(low, high)
    digits = rng.randint(low, high)
    return rng.randint(1 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)


def _reduce_once(values: list[int], ops: list[str]) -> tuple[list[int], list[str]] | None:
    """One rewrite: the first product if any, else the leftmost operation; None below zero."""
    i = ops.index("*") if "*" in ops else 0
    a, b = values[i], values[i + 1]
    value = a * b if ops[i] == "*" else a + b if ops[i] == "+" else a - b
    if value < 0:
        return None
    return values[:i] + [value] + values[i + 2 :], ops[:i] + ops[i + 1 :]


def render(values: list[int], ops: list[str]) -> str:
    return "".join(f"{v}{op}" for v, op in zip(values, ops)) + str(values[-1])


def solve(terms: list[int], ops: list[str]) -> tuple[list[str], int] | None:
    """Lines of the worked solution of ``terms[0] ops[0] terms[1] ...`` (the expression, then
    one ``=``-prefixed rewrite per operation) and its result. None when a step would go below
    zero (the curriculum has no negative numbers)."""
    values, pending = list(terms), list(ops)
    lines = [render(values, pending)]
    while pending:
        reduced = _reduce_once(values, pending)
        if reduced is None:
            return None
        values, pending = reduced
        lines.append("=" + render(values, pending))
    return lines, values[0]


_NAMES = [("Ann", "She"), ("Ben", "He"), ("Cal", "He"), ("Dee", "She"), ("Eva", "She"), ("Max", "He"), ("Sam", "He"), ("Zoe", "She")]
_OBJECTS = ["marbles", "apples", "stamps", "coins", "cards", "books", "shells", "pens"]
_VERBS = {"+": ["gets {} more", "finds {} more"], "-": ["gives away {}", "loses {}"]}


def word_problem(rng: random.Random, terms: list[int], ops: list[str]) -> str:
    """ "Ann has 12 marbles. She gets 34 more and gives away 7. How many marbles does she have now?\""""
    name, pronoun = rng.choice(_NAMES)
    obj = rng.choice(_OBJECTS)
    clauses = [rng.choice(_VERBS[op]).format(t) for op, t in zip(ops, terms[1:])]
    actions = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    return f"{name} has {terms[0]} {obj}. {pronoun} {actions}. How many {obj} does {pronoun.lower()} have now?"


def _sampler(spec: ArithSpec, level: str) -> Callable[[random.Random], tuple[str, Callable[[str], Problem]] | None]:
    def sample(rng: random.Random) -> tuple[str, Callable[[str], Problem]] | None:
        n = rng.randint(spec.min_terms, spec.max_terms)
        ops = [rng.choice(spec.ops) for _ in range(n - 1)]
        around = ["", *ops, ""]  # the operators left and right of each term
        terms = [_number(rng, spec, "*" in (around[i], around[i + 1])) for i in range(n)]
        digits = sum(len(str(t)) for t in terms)
        if digits < spec.min_total_digits or (spec.max_total_digits and digits > spec.max_total_digits):
            return None
        solved = solve(terms, ops)
        if solved is None:
            return None
        steps, result = solved
        expression = "".join(f"{t}{op}" for t, op in zip(terms, ops)) + str(terms[-1])
        wordy = "*" not in ops and rng.random() < spec.word_fraction
        prompt = word_problem(rng, terms, ops) if wordy else f"{expression}=?"

        def make(pid: str) -> Problem:
            return Problem(
                id=pid,
                prompt=prompt,
                answer=str(result),
                answer_type="numeric",
                solution="\n".join([*steps, f"Answer: {result}"]),
                metadata={"level": level, "terms": n, "expression": expression, "word_problem": wordy},
            )

        return expression, make

    return sample


# ----------------------------------------------------------------------------- dataset


def resolve_spec(options: dict[str, Any]) -> tuple[ArithOptions, ArithSpec, str]:
    """Split ``options`` into sizes/level and spec overrides; strict (unknown keys are errors)."""
    knob_names = {f.name for f in dataclasses.fields(ArithSpec)}
    opts = from_dict(ArithOptions, {k: v for k, v in options.items() if k not in knob_names}, prefix="options")
    overrides = {k: v for k, v in options.items() if k in knob_names}
    spec = from_dict(ArithSpec, {**dataclasses.asdict(PRESETS[opts.level]), **overrides}, prefix="options")
    stream = opts.level
    if spec != PRESETS[opts.level]:  # a custom spec draws its own stream, named by its knobs
        stream += "-" + hashlib.blake2b(repr(spec).encode(), digest_size=3).hexdigest()
    return opts, spec, stream


def generate(split: str = "train", options: dict[str, Any] | None = None) -> list[Problem]:
    """The ``split`` of the curriculum selected by ``options`` (level, knobs, sizes, gen_seed)."""
    opts, spec, stream = resolve_spec(options or {})
    return generate_split("arith", _sampler(spec, opts.level), split, opts, stream)


def corpus(split: str = "train", options: dict[str, Any] | None = None) -> Iterator[str]:
    """Plain-text pretraining documents, one per problem: ``prompt + "\\n" + solution``.

    This is exactly what the ``arith`` prompt template renders followed by the solution, so the
    model sees the same text at pretraining, SFT and RL time.
    """
    for p in generate(split, options):
        yield f"{p.prompt}\n{p.solution}"


def _load(cfg: DatasetConfig) -> list[Problem]:
    return generate(cfg.split, cfg.options)


DATASETS.register(
    "arith",
    Dataset(
        load=_load,
        splits=SPLITS,
        description="synthetic arithmetic curriculum (options: level easy|hard, spec knobs, train_size, test_size, gen_seed)",
        license="generated (Apache-2.0, this project)",
        source="rlvr.data.arith",
    ),
)
