"""The ``rlvr`` command line.

Each subcommand lives in ``rlvr/commands/<name>.py`` and exposes ``add_arguments(parser)`` and
``run(args) -> int``; its one-line help is in :data:`COMMANDS`, so ``rlvr --help`` imports no
command module. Modules are imported only when their command runs, so ``rlvr verify`` does not pay
for importing torch and vLLM.

User errors (:class:`rlvr.errors.RlvrError`) print as one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any

from rlvr.errors import RlvrError

COMMANDS: dict[str, str] = {
    "pretrain": "next-token pretraining on a text corpus",
    "sft": "supervised fine-tuning on worked solutions (loss on the response only)",
    "rm": "train a reward model on preference pairs (Bradley-Terry loss)",
    "train": "RL from verifiable rewards (GRPO-family, PPO, RFT) with a vLLM generator",
    "dpo": "preference optimisation (DPO, IPO, SimPO, KTO) from pairs files or online from verified samples",
    "serve-generator": "serve a generator engine to trainers on other devices or nodes (generator.name=remote)",
    "eval": "pass@k / maj@k evaluation with confidence intervals",
    "verify": "check a response's final answer against an answer key",
    "data": "list, show and validate answer-key datasets",
}


# Commands that never touch torch, transformers or vLLM start without importing them.
LIGHT_COMMANDS = {"verify"}


def _command_module(name: str) -> Any:
    return importlib.import_module(f"rlvr.commands.{name.replace('-', '_')}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    if command is None:
        parser = argparse.ArgumentParser(prog="rlvr", description="rlvr: RL from verifiable rewards for reasoning models.")
        sub = parser.add_subparsers(dest="command", metavar="COMMAND")
        for name, help_text in COMMANDS.items():
            sub.add_parser(name, help=help_text, description=help_text)
        parser.parse_args(argv)  # prints help or the unknown-command error
        parser.print_help()
        return 0 if not argv else 2
    try:
        # Each command parses its own arguments, intermixed, so flags may sit among key=value
        # overrides (`rlvr train rollout.n=16 --resume optim.lr=1e-4`). Inside the try: help texts
        # list registry names, and listing them loads plug-ins, which can fail.
        parser = argparse.ArgumentParser(prog=f"rlvr {command}", description=COMMANDS[command])
        _command_module(command).add_arguments(parser)
        nested = any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)  # e.g. `rlvr data list`
        args = parser.parse_args(argv[1:]) if nested else parser.parse_intermixed_args(argv[1:])
        from rlvr import env

        env.setup(torch_stack=command not in LIGHT_COMMANDS)
        return int(_command_module(command).run(args) or 0)
    except RlvrError as e:
        print(f"rlvr {command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rlvr {command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
