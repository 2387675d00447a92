#!/usr/bin/env python
"""Four ways to learn from the same answer keys, for the same wall time: which gains most?

    python scripts/compare_rewards.py [--seconds 480] [--out runs/compare-rewards]
                                      [--jobs 1] [--rm runs/tiny-arith-rm/final] [--only grpo-verifier,grpo-rm,...]

From the bundled tiny model on the arith hard split, each run trains for ``--seconds`` of RL time
(its ``schedule.max_seconds``; the held-out evaluations before and after are not counted) with its
built-in config, as a user would run it:

- ``grpo-verifier``: ``rlvr train`` against the verifier (the answer key decides);
- ``grpo-rm``: ``rlvr train --config tiny-arith-rm``, GRPO against a reward model trained on
  verified pairs (``--rm``; by default the script makes one first: ``rlvr data pairs`` on the hard
  train and test splits, then ``rlvr rm --config tiny-arith``, not counted in the budget);
- ``dpo``: ``rlvr dpo``, iterative online DPO from verified pairs;
- ``kto``: ``rlvr dpo --config tiny-arith-kto``, online KTO from verified labels.

Every run scores the same 300 held-out problems before and after; the table gives greedy pass@1
before, after, the gain and its paired-bootstrap 95% CI, as each run's ``summary.json`` has them.
The RM run draws its own ``reward_gaming.png`` (``rlvr train`` does with any learned reward): the
RM's mean score on the training batch against the verified accuracy of the same completions, step
by step, and the held-out greedy accuracy at every ``eval.every``: if the policy learns to please
the RM rather than to be right, the curves part there.

``--jobs N`` runs N of them at a time (same budget, same contention within a batch: on a small
machine each gets a share of the cores, so fewer steps, but none is favoured by running alone; on
2 cores four at once thrash, two at once do not); by default they run one after another. Prints ONE JSON line (the table) after the human-readable one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RUNS = {
    "grpo-verifier": ["train", "--config", "tiny-arith"],
    "grpo-rm": ["train", "--config", "tiny-arith-rm"],
    "dpo": ["dpo", "--config", "tiny-arith"],
    "kto": ["dpo", "--config", "tiny-arith-kto"],
}


def rlvr(*args: str) -> list[str]:
    return [sys.executable, "-m", "rlvr.cli", *args]


def prepare_rm(out: Path, log) -> Path:
    """Verified pairs from the bundled model, then a reward model on them (the README's recipe)."""
    pairs = out / "pairs"
    for split, name in (("train", "arith-hard.jsonl"), ("test", "arith-hard-test.jsonl")):
        n = "800" if split == "train" else "300"
        cmd = rlvr(
            "data", "pairs", "arith", "--split", split, "--option", "level=hard", "--num-problems", n, "--n", "16", "--max-pairs-per-prompt", "16"
        )
        cmd += ["--out", str(pairs / name)]
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    run_dir = out / "rm"
    cmd = rlvr(
        "rm",
        "--config",
        "tiny-arith",
        f"run.output_dir={run_dir}",
        f"data.train={pairs / 'arith-hard.jsonl'}",
        f"data.heldout={pairs / 'arith-hard-test.jsonl'}",
    )
    subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    return run_dir / "final"


def command(name: str, out: Path, seconds: float, rm: Path | None) -> list[str]:
    cmd = rlvr(*RUNS[name], f"run.output_dir={out / name}", f"schedule.max_seconds={seconds}", "run.progress=false")
    if name == "grpo-rm":
        # No held-out evaluation inside the budget (the others have none): the gaming curve's verified
        # accuracy is the training batch's, on problems the policy has not seen before (the train
        # split is drawn without replacement), beside the RM's score of the same completions.
        cmd += [f"reward.model.path={rm}", "eval.every=0"]
    return cmd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=480.0, help="RL seconds per run (schedule.max_seconds)")
    ap.add_argument("--out", default="runs/compare-rewards")
    ap.add_argument("--rm", default=None, help="a trained reward model (default: make one with rlvr data pairs + rlvr rm)")
    ap.add_argument("--only", default=",".join(RUNS), help="comma-separated subset of " + ", ".join(RUNS))
    ap.add_argument("--jobs", type=int, default=1, help="runs at a time (in the order of --only)")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        ap.error(f"unknown run(s) {', '.join(unknown)}; known: {', '.join(RUNS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "prepare.log", "w") as log:
        rm = Path(args.rm) if args.rm else (prepare_rm(out, log) if "grpo-rm" in names else None)
    t0 = time.time()
    procs = {}
    for i, name in enumerate(names):
        if i >= args.jobs:
            procs[names[i - args.jobs]][0].wait()  # at most --jobs at a time, in order
        log = open(out / f"{name}.log", "w")  # noqa: SIM115 - closed when the run ends
        procs[name] = (subprocess.Popen(command(name, out, args.seconds, rm), stdout=log, stderr=subprocess.STDOUT, env=os.environ), log)
    table = {}
    for name, (proc, log) in procs.items():
        rc = proc.wait()
        log.close()
        summary = out / name / "summary.json"
        if rc != 0 or not summary.exists():
            table[name] = {"error": f"exit {rc}; see {out / (name + '.log')}"}
            continue
        s = json.loads(summary.read_text())
        table[name] = {k: s.get(k) for k in ("steps", "rl_seconds", "pass@1_before", "pass@1_after", "improvement", "ci95", "sampled_pass@1_after")}
    for name, row in table.items():
        if "error" in row:
            print(f"{name:14s} {row['error']}")
        else:
            lo, hi = row["ci95"]
            print(
                f"{name:14s} {row['steps']:4d} steps  greedy pass@1 {row['pass@1_before']:.3f} -> {row['pass@1_after']:.3f}  "
                f"{row['improvement'] * 100:+.1f} points (95% CI {lo * 100:+.1f} to {hi * 100:+.1f})"
            )
    print(json.dumps({"seconds": args.seconds, "jobs": args.jobs, "wall_s": round(time.time() - t0, 1), "runs": table}))
    return 0 if all("error" not in r for r in table.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
