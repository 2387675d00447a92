"""``rlvr train``: RL from verifiable rewards (see :mod:`rlvr.training.rl`)."""

from __future__ import annotations

import argparse

from rlvr.commands.common import add_config_arguments, resolve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "train", default="tiny-arith")


def run(args: argparse.Namespace) -> int:
    from rlvr.training.rl import TrainConfig, run_train

    cfg = resolve(TrainConfig, "train", args)
    if cfg is not None:
        run_train(cfg)
    return 0
