#!/usr/bin/env python
"""Rebuild the bundled tiny model (``rlvr/assets/tiny-arith``) from nothing.

    python scripts/build_tiny_model.py [--workdir runs/build-tiny] [--skip-pretrain]

1. ``rlvr pretrain --config tiny-arith``: a tokenizer and a ~1.8M-parameter Llama trained from
   scratch on worked solutions of the *easy* arithmetic curriculum (2-4 numbers, at most 6 digits).
2. ``rlvr sft --config tiny-arith``: fine-tuning on the same kind of worked solutions, prompt
   masked; the checkpoint with the best greedy accuracy on held-out easy problems is kept.
3. The result is copied into the package, and its greedy pass@1 on the held-out *hard* split (the
   one ``rlvr train`` improves on with answer keys only) is measured and printed: RL needs a model
   that solves some but not all of those.

Every stage is an ordinary rlvr command, so the build is reproducible by hand too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSET = ROOT / "rlvr" / "assets" / "tiny-arith"
KEEP = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
    "special_tokens_map.json",
)


def rlvr(*args: str) -> None:
    cmd = [sys.executable, "-m", "rlvr.cli", *args]
    print("+", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="runs/build-tiny", help="where the pretrain and SFT runs go")
    ap.add_argument("--skip-pretrain", action="store_true", help="reuse <workdir>/pretrain/final")
    ap.add_argument("--eval-problems", type=int, default=500, help="held-out hard problems for the final check")
    args, extra = ap.parse_known_args()
    work = Path(args.workdir)
    t0 = time.time()
    if not args.skip_pretrain:
        rlvr("pretrain", "--config", "tiny-arith", f"run.output_dir={work / 'pretrain'}", "run.overwrite=true", *extra)
    rlvr("sft", "--config", "tiny-arith", f"model.path={work / 'pretrain' / 'final'}", f"run.output_dir={work / 'sft'}", "run.overwrite=true")
    final = ROOT / work / "sft" / "final"
    tmp = ASSET.with_name(".tiny-arith.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in KEEP:
        if (final / name).exists():
            shutil.copy2(final / name, tmp / name)
    shutil.rmtree(ASSET, ignore_errors=True)
    tmp.rename(ASSET)
    out = work / "check"
    rlvr("eval", "--config", "tiny-arith", "--model", "tiny-arith", "--output", str(out), "--limit", str(args.eval_problems))
    results = json.loads((ROOT / out / "results.json").read_text())
    print(json.dumps({"asset": str(ASSET.relative_to(ROOT)), "build_seconds": round(time.time() - t0), "heldout_hard": results}, indent=1))


if __name__ == "__main__":
    main()
