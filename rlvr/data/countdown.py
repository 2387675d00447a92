"""Countdown: reach a target from given numbers with + - * / (dataset ``countdown``).

A puzzle is built backwards so that it is always solvable: draw the numbers, then combine a random
subset of them pairwise with random operators (only exact divisions, and every intermediate value
positive) until one value is left; that value is the target. The prompt asks for an expression
that uses each number at most once; the verifier (answer type ``countdown``) evaluates the answer
expression with its own arithmetic parser (never Python ``eval``) and checks the numbers used. The
stored solution is one worked construction, ``Answer: <expression>``, which is one of possibly many.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rlvr.config import field, from_dict
from rlvr.data.config import DatasetConfig
from rlvr.data.problem import Problem
from rlvr.data.registry import DATASETS, Dataset
from rlvr.data.synthetic import SPLITS, SplitSizes, generate_split


@dataclass
class CountdownOptions(SplitSizes):
    min_numbers: int = field(3, help="fewest numbers given")
    max_numbers: int = field(4, help="most numbers given")
    max_value: int = field(50, help="numbers are drawn from 1..max_value")
    max_target: int = field(1000, help="largest allowed target")
    ops: str = field("+-*/", help="operators the construction may use, a subset of '+-*/'")

    def validate(self) -> None:
        super().validate()
        if not 2 <= self.min_numbers <= self.max_numbers:
            raise ValueError("need 2 <= min_numbers <= max_numbers")
        if self.max_value < 2 or self.max_target < 1:
            raise ValueError("max_value must be >= 2 and max_target >= 1")
        if not self.ops or set(self.ops) - set("+-*/"):
            raise ValueError(f"ops must be a non-empty subset of '+-*/', got {self.ops!r}")


def _combine(a: tuple[int, str], b: tuple[int, str], op: str) -> tuple[int, str] | None:
    (x, ex), (y, ey) = a, b
    if op == "-" and x < y:
        (x, ex), (y, ey) = (y, ey), (x, ex)
    if op == "/" and (y in (0, 1) or x % y):
        return None
    value = {"+": x + y, "-": x - y, "*": x * y, "/": x // y}[op]
    if value <= 0:  # a zero step (7-7) makes the other numbers' role trivial
        return None
    return value, f"({ex}{op}{ey})"


def _sampler(o: CountdownOptions) -> Callable[[random.Random], tuple[str, Callable[[str], Problem]] | None]:
    def sample(rng: random.Random) -> tuple[str, Callable[[str], Problem]] | None:
        numbers = [rng.randint(1, o.max_value) for _ in range(rng.randint(o.min_numbers, o.max_numbers))]
        pool = [(n, str(n)) for n in rng.sample(numbers, rng.randint(2, len(numbers)))]
        steps = []
        while len(pool) > 1:
            a = pool.pop(rng.randrange(len(pool)))
            b = pool.pop(rng.randrange(len(pool)))
            op = rng.choice(o.ops)
            combined = _combine(a, b, op)
            if combined is None:
                return None
            x, y = (a[0], b[0]) if op != "-" or a[0] >= b[0] else (b[0], a[0])
            steps.append(f"{x}{op}{y}={combined[0]}")
            pool.append(combined)
        target, expression = pool[0][0], pool[0][1][1:-1]
        if not 1 <= target <= o.max_target or target in numbers:
            return None
        key = f"{sorted(numbers)}->{target}"
        shown = ", ".join(map(str, numbers))

        def make(pid: str) -> Problem:
            return Problem(
                id=pid,
                prompt=f"Using the numbers {shown}, make {target}. Use + - * / and each number at most once.",
                answer=str(target),
                answer_type="countdown",
                numbers=tuple(numbers),
                solution="\n".join([*steps, f"Answer: {expression}"]),
                metadata={"target": target},
            )

        return key, make

    return sample


def generate(split: str = "train", options: dict[str, Any] | None = None) -> list[Problem]:
    opts = from_dict(CountdownOptions, dict(options or {}), prefix="options")
    knobs = (opts.min_numbers, opts.max_numbers, opts.max_value, opts.max_target, opts.ops)
    stream = "std" if knobs == (3, 4, 50, 1000, "+-*/") else hashlib.blake2b(repr(knobs).encode(), digest_size=3).hexdigest()
    return generate_split("countdown", _sampler(opts), split, opts, stream)


def _load(cfg: DatasetConfig) -> list[Problem]:
    return generate(cfg.split, cfg.options)


DATASETS.register(
    "countdown",
    Dataset(
        load=_load,
        splits=SPLITS,
        description="synthetic Countdown puzzles (options: min_numbers, max_numbers, max_value, max_target, ops, sizes, gen_seed)",
        license="generated (Apache-2.0, this project)",
        source="rlvr.data.countdown",
    ),
)
