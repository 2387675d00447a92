"""Peak resident memory of generating n completions for one prompt, for n = 64, 256, 1024.

Each n runs in a fresh subprocess (peak RSS, ``ru_maxrss``, only ever grows within a process):
the child starts the generator, records its RSS peak so far (the baseline: engine, model, KV
cache), generates, and records the peak again. The generator splits n into engine calls of at
most ``--chunk-size`` completions, so the growth with n should be the returned completions only.
Prints one JSON line.

    .venv/bin/python scripts/bench_generation_memory.py [--model DIR] [--generator vllm|hf]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMPT = "12+34=46\n46-7=39\n"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def build_default_model(directory: Path) -> None:
    """The default tiny model shape (rlvr.models.load.TinyModelConfig) with a small digit tokenizer."""
    from rlvr import env

    env.setup()
    from rlvr.models.load import TinyModelConfig, build_tiny_model
    from rlvr.models.tokenizer import TokenizerConfig, train_tokenizer

    corpus = [f"{a}+{b}={a + b}\n{a + b}-{b}={a}" for a in range(100) for b in range(50)]
    tok = train_tokenizer(corpus, TokenizerConfig())
    build_tiny_model(TinyModelConfig(), tok).save_pretrained(directory)
    tok.save_pretrained(directory)


def child(args: argparse.Namespace) -> None:
    from rlvr import env

    env.setup()
    from transformers import AutoTokenizer

    from rlvr.generation.base import GeneratorConfig, SamplingConfig, build_generator

    tok = AutoTokenizer.from_pretrained(args.model)
    cfg = GeneratorConfig(name=args.generator, chunk_size=args.chunk_size, max_model_len=256, cpu_kv_cache_gib=args.kv_gib)
    gen = build_generator(cfg, args.model, tok)
    baseline = peak_rss_mib()
    start = time.perf_counter()
    out = gen.generate([tok(PROMPT)["input_ids"]], SamplingConfig(n=args.child, max_tokens=args.max_tokens), seed=0)
    seconds = time.perf_counter() - start
    tokens = sum(len(c.token_ids) for c in out[0])
    print(
        json.dumps(
            {
                "n": args.child,
                "completions": len(out[0]),
                "tokens": tokens,
                "seconds": round(seconds, 2),
                "baseline_rss_mib": round(baseline),
                "peak_rss_mib": round(peak_rss_mib()),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="save_pretrained directory (default: build the default tiny model)")
    parser.add_argument("--generator", default="vllm", choices=["vllm", "hf"])
    parser.add_argument("--ns", default="64,256,1024", help="comma-separated n values")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--kv-gib", type=float, default=1.0, help="vLLM-CPU KV cache GiB")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args)
        return 0
    from tqdm import tqdm

    with tempfile.TemporaryDirectory() as tmp:
        if args.model is None:
            args.model = tmp
            build_default_model(Path(tmp))
        results = []
        for n in tqdm([int(x) for x in args.ns.split(",")], desc="n", file=sys.stderr):
            cmd = [
                sys.executable,
                __file__,
                "--child",
                str(n),
                "--model",
                args.model,
                "--generator",
                args.generator,
                "--max-tokens",
                str(args.max_tokens),
                "--chunk-size",
                str(args.chunk_size),
                "--kv-gib",
                str(args.kv_gib),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr[-3000:])
                return proc.returncode
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(
        json.dumps(
            {
                "generator": args.generator,
                "max_tokens": args.max_tokens,
                "chunk_size": args.chunk_size,
                "kv_cache_gib": args.kv_gib,
                "results": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
