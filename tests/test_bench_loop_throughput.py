"""scripts/bench_loop_throughput.py end to end on the bundled tiny model: one JSON line with both
throughputs and the loop's overhead breakdown (no timing threshold: this machine is shared)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "bench_loop_throughput.py"

pytest.importorskip("vllm")


def test_bench_prints_one_json_line_with_both_throughputs():
    prompts, n = 3, 4
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--prompts",
        str(prompts),
        "--n",
        str(n),
        "--max-tokens",
        "16",
        "--repeats",
        "1",
        "--warmup-prompts",
        "1",
        "--chunk-size",
        "8",
        "--prompts-per-chunk",
        "2",
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=180, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, proc.stdout
    result = json.loads(lines[0])
    assert result["raw_tokens_per_s"] > 0 and result["loop_tokens_per_s"] > 0
    assert result["ratio"] == pytest.approx(result["loop_tokens_per_s"] / result["raw_tokens_per_s"], rel=1e-3)
    assert result["target"] == 0.9 and result["pass"] == (result["ratio"] >= 0.9)
    assert result["prompts"] == prompts and result["n"] == n and result["completions"] == prompts * n
    assert result["model"].endswith("tiny-arith") and result["device"]
    assert result["engine_max_num_seqs"] > 0
    assert len(result["raw_s"]) == len(result["loop_s"]) == 1
    overhead = result["loop_overhead"]
    # 3 prompts in chunks of 2 prompts, each chunk's 8 completions in one engine call: 2 calls.
    assert overhead["engine_calls"] == 2
    assert 0 < overhead["engine_s"] <= max(result["loop_s"])
    for part in ("detokenize_s", "convert_s", "submit_s", "verify_unhidden_s", "chunking_s"):
        assert isinstance(overhead[part], float)
