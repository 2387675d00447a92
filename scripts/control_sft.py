#!/usr/bin/env python
"""The equal-time control for the embedded RL run: more SFT on the demonstrations that exist.

    python scripts/control_sft.py [--seconds 420] [--rl runs/tiny-arith-rl/final]

RL gives the bundled tiny model the hard arithmetic problems with answer keys only. The obvious
alternative use of the same compute is more supervised fine-tuning on the worked solutions we do
have (the easy curriculum). This script runs that for the same wall time as ``rlvr train``'s RL
phase (``schedule.max_seconds``), then evaluates the base model, the control and the RL model the
same way (``rlvr eval``: greedy and 16 samples per held-out hard problem, paired intervals) and
prints one JSON line with their greedy and sampled pass@1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rlvr(*args: str) -> None:
    print("+ rlvr", " ".join(args), file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "rlvr.cli", *args], check=True, cwd=ROOT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=420.0, help="SFT wall time (default: the RL budget of rlvr train)")
    ap.add_argument("--rl", default="runs/tiny-arith-rl/final", help="the RL-trained model to compare with")
    ap.add_argument("--workdir", default="runs/control", help="where the control run and the evaluation go")
    args = ap.parse_args()
    work = Path(args.workdir)
    rlvr(
        "sft",
        "--config",
        "tiny-arith",
        "model.path=tiny-arith",
        f"run.output_dir={work / 'sft'}",
        "run.overwrite=true",
        "schedule.steps=100000",
        f"schedule.max_seconds={args.seconds}",
        "schedule.eval_every=0",
        "heldout.enabled=false",
        "optim.lr=1e-4",
        "optim.warmup_steps=0",
        "optim.schedule=constant",
        "run.save_every=0",
    )
    models = ["--model", "base=tiny-arith", "--model", f"sft_control={work / 'sft' / 'final'}"]
    if (ROOT / args.rl).is_dir():
        models += ["--model", f"rl={args.rl}"]
    rlvr("eval", "--config", "tiny-arith", *models, "--output", str(work / "eval"))
    results = json.loads((ROOT / work / "eval" / "results.json").read_text())
    line = {
        m: {"greedy": r["arith"].get("greedy"), "pass@1": r["arith"]["pass@k"]["1"], "ci95": r["arith"]["ci95"].get("greedy")}
        for m, r in results.items()
    }
    print(json.dumps({"control_sft_seconds": args.seconds, "heldout": "arith hard test (300)", **line}))


if __name__ == "__main__":
    main()
