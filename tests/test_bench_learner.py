"""scripts/bench_learner.py at its smallest: one JSON line with every variant side by side (not a timed assertion)."""

from __future__ import annotations

import json
import math

from conftest import script_module


def test_bench_learner_prints_one_json_line_with_finite_ratios(capsys):
    with script_module("bench_learner") as bench:
        rc = bench.main(
            [
                "--seqs",
                "3",
                "--min-len",
                "8",
                "--max-len",
                "40",
                "--layers",
                "1",
                "--vocab",
                "500",
                "--max-tokens",
                "64",
                "--steps",
                "1",
                "--warmup",
                "0",
                "--backend",
                "torch",
                "--variants",
                "bare,bare_ckpt,rlvr_packed",
            ]
        )
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    for variant in ("bare", "bare_ckpt", "rlvr_packed"):
        assert {"tokens_per_s", "peak_mem_gib", "padding_efficiency", "micro_batches", "step_seconds"} <= out[variant].keys()
        assert out[variant]["peak_mem_gib"] > 0
    assert out["rlvr_packed"]["padding_efficiency"] == 1.0  # packed rows hold no padding
    assert out["bare"]["padding_efficiency"] < 1.0  # three different lengths in one padded micro-batch
    assert math.isfinite(out["ratio"]) and out["ratio"] > 0 and math.isfinite(out["mem_ratio"]) and out["target"] == 0.9
