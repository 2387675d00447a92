"""``rlvr dpo``: DPO, IPO, SimPO and KTO, offline or iterative online (see :mod:`rlvr.training.preference`)."""

from __future__ import annotations

import argparse

from rlvr.commands.common import add_config_arguments, resolve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "dpo", default="tiny-arith")


def run(args: argparse.Namespace) -> int:
    from rlvr.training.preference import DPOConfig, run_dpo

    cfg = resolve(DPOConfig, "dpo", args)
    if cfg is not None:
        run_dpo(cfg)
    return 0
