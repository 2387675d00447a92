"""``load_problems``: the one entry point from a :class:`DatasetConfig` to a list of problems."""

from __future__ import annotations

import dataclasses
import random

from rlvr.data.config import DatasetConfig
from rlvr.data.filters import apply_filters
from rlvr.data.problem import Problem
from rlvr.data.registry import get_dataset
from rlvr.errors import RlvrError


def load_problems(cfg: DatasetConfig) -> list[Problem]:
    """Load ``cfg.name`` / ``cfg.split``, then apply the forced typing (and the default
    ``sig_figs``), filters, shuffle and limit.

    Order matters: filters before shuffle+limit, so ``limit: 100`` with ``level>=4`` gives 100
    level-4+ problems (a random 100 when ``shuffle`` is on, else the first 100 in file order).
    """
    dataset = get_dataset(cfg.name)
    if dataset.splits and cfg.split not in dataset.splits:
        raise RlvrError(f"dataset '{cfg.name}' has no split '{cfg.split}' (splits: {', '.join(dataset.splits)})")
    if dataset.options is not None:
        unknown = sorted(set(cfg.options) - set(dataset.options))
        if unknown:
            allowed = ", ".join(dataset.options) or "none"
            raise RlvrError(f"dataset '{cfg.name}': unknown option(s) {', '.join(unknown)} (options: {allowed})")
    problems = list(dataset.load(cfg))
    forced = {k: getattr(cfg, k) for k in ("answer_type", "rel_tol", "abs_tol") if getattr(cfg, k) is not None}
    if forced:
        problems = [dataclasses.replace(p, **forced) for p in problems]
    if cfg.sig_figs is not None:  # a default: rows that state their own keep it
        problems = [p if p.sig_figs is not None else dataclasses.replace(p, sig_figs=cfg.sig_figs) for p in problems]
    problems = apply_filters(problems, cfg.filters, cfg.name)
    if cfg.shuffle:
        random.Random(cfg.seed).shuffle(problems)
    if cfg.limit is not None:
        problems = problems[: cfg.limit]
    if not problems:
        where = f" ({cfg.path})" if cfg.path else ""
        raise RlvrError(f"dataset '{cfg.name}' split '{cfg.split}'{where} has no problems" + (" after filters" if cfg.filters else ""))
    return problems
