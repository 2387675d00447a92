"""``rlvr pretrain``: next-token training on a corpus (see :mod:`rlvr.training.pretrain`)."""

from __future__ import annotations

import argparse

from rlvr.commands.common import add_config_arguments, resolve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "pretrain", default="tiny-arith")


def run(args: argparse.Namespace) -> int:
    from rlvr.training.pretrain import PretrainConfig, run_pretrain

    cfg = resolve(PretrainConfig, "pretrain", args)
    if cfg is not None:
        run_pretrain(cfg)
    return 0
