"""Arguments shared by the config-driven commands (pretrain, sft, train, eval)."""

from __future__ import annotations

import argparse
import sys
from typing import TypeVar

from rlvr import config as C

T = TypeVar("T")


def add_config_arguments(
    parser: argparse.ArgumentParser,
    command: str,
    default: str | None,
    resume_help: str = "continue from the newest checkpoint in run.output_dir",
) -> None:
    names = ", ".join(C.builtin_configs(command)) or "none"
    parser.add_argument(
        "--config",
        default=default,
        help=f"YAML file or built-in config name (built-ins: {names}; default: {default or 'none'})",
    )
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("--help-config", action="store_true", help="list every config key with its type and meaning")
    parser.add_argument("--resume", action="store_const", const=True, default=False, help=resume_help)
    # A flag of its own rather than an optional value of --resume: `--resume key=value` must keep
    # reading key=value as an override. (argparse matches a whole option string before splitting
    # at "=", so the user types it exactly as shown.)
    parser.add_argument(
        "--resume=auto",
        dest="resume",
        action="store_const",
        const="auto",
        help="continue from the newest good checkpoint if there is one, else start afresh",
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotted overrides, e.g. optim.lr=3e-4")


def resolve(cls: type[T], command: str, args: argparse.Namespace) -> T | None:
    """Load the config; handle ``--help-config``/``--print-config`` (then return None)."""
    if args.help_config:
        for key, tp, help_text in C.describe(cls):
            print(f"{key:40s} {tp:28s} {help_text}")
        return None
    resume = getattr(args, "resume", False)
    overrides = list(args.overrides) + ([f"run.resume={'auto' if resume == 'auto' else 'true'}"] if resume else [])
    cfg = C.load_config(cls, command, args.config, overrides)
    if args.print_config:
        sys.stdout.write(C.to_yaml(cfg))
        return None
    return cfg
