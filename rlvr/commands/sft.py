"""``rlvr sft``: supervised fine-tuning, loss on the response only (see :mod:`rlvr.training.sft`)."""

from __future__ import annotations

import argparse

from rlvr.commands.common import add_config_arguments, resolve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "sft", default="tiny-arith")


def run(args: argparse.Namespace) -> int:
    from rlvr.training.sft import SFTConfig, run_sft

    cfg = resolve(SFTConfig, "sft", args)
    if cfg is not None:
        run_sft(cfg)
    return 0
