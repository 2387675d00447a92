"""``rlvr rm``: train a reward model on preference pairs (see :mod:`rlvr.training.reward_model`)."""

from __future__ import annotations

import argparse

from rlvr.commands.common import add_config_arguments, resolve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "rm", default="tiny-arith")


def run(args: argparse.Namespace) -> int:
    from rlvr.training.reward_model import RMConfig, run_rm

    cfg = resolve(RMConfig, "rm", args)
    if cfg is not None:
        run_rm(cfg)
    return 0
