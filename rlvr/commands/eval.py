"""``rlvr eval``: pass@k / maj@k evaluation with confidence intervals (see :mod:`rlvr.eval.runner`).

The flags are shorthands for config keys and are applied after ``--config`` and after the dotted
overrides::

    rlvr eval --model base=tiny-arith --model rl=runs/tiny-arith-rl/final --config tiny-arith
    rlvr eval --model Qwen/Qwen2.5-Math-1.5B --datasets math500,gsm8k,aime2024 --n 64 --k 1,2,4,8,16,32,64 --output runs/eval-qwen
"""

from __future__ import annotations

import argparse
import json

from rlvr.commands.common import add_config_arguments, resolve


def _ks(text: str) -> list[int]:
    try:
        ks = [int(k) for k in text.split(",") if k.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--k expects comma-separated integers, got '{text}'") from None
    if not ks:
        raise argparse.ArgumentTypeError("--k needs at least one value")
    return ks


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("--datasets needs at least one name")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, "eval", default=None, resume_help="continue from the samples already in the output directory (the default)")
    parser.add_argument(
        "--model", action="append", metavar="[LABEL=]PATH", help="model dir, built-in name or hub id; repeat to compare models (config key models)"
    )
    parser.add_argument("--datasets", type=_names, metavar="A,B", help="comma-separated dataset labels (config key datasets)")
    parser.add_argument("--n", type=int, help="sampled completions per problem (config key sampling.n)")
    parser.add_argument("--k", type=_ks, metavar="1,2,4", help="k values of pass@k and maj@k (config key k)")
    parser.add_argument("--limit", type=int, help="at most this many problems per dataset (config key limit)")
    parser.add_argument(
        "--maj",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="cluster answers and report maj@k (default: only for n <= 64; config key majority)",
    )
    parser.add_argument("--output", metavar="DIR", help="output directory (config key output_dir)")


def flag_overrides(args: argparse.Namespace) -> list[str]:
    """The shorthand flags as dotted overrides (values as JSON, which YAML reads unchanged)."""
    keys = {"model": "models", "datasets": "datasets", "n": "sampling.n", "k": "k", "limit": "limit", "output": "output_dir", "maj": "majority"}
    return [f"{key}={json.dumps(getattr(args, flag))}" for flag, key in keys.items() if getattr(args, flag) is not None]


def run(args: argparse.Namespace) -> int:
    from rlvr.eval.runner import EvalConfig, run_eval

    # An eval always continues from the samples in its output directory (config key resume);
    # the shared --resume flag only restates that.
    resume = ["resume=true"] if args.resume else []
    args.resume = False
    args.overrides = list(args.overrides) + flag_overrides(args) + resume
    cfg = resolve(EvalConfig, "eval", args)
    if cfg is not None:
        run_eval(cfg)
    return 0
