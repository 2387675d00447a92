"""`rlvr data list|show|validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvr.cli import main


def test_data_list_row_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["gsm8k"]["splits"] == {"train": 7473, "test": 1319}
    assert rows["math"]["splits"] == {"train": 11998} and rows["math500"]["splits"] == {"test": 500}
    assert rows["scibench-physics"]["splits"] == {"test": 144} and rows["abench-physics"]["splits"] == {"test": 800}
    assert rows["jeebench-physics"]["answer_types"] == {"choice": 58, "numeric": 49}
    assert rows["arith"]["splits"] == {"train": 20000, "test": 500}
    assert rows["gsm8k"]["license"] == "MIT" and rows["jsonl"]["splits"] == {}
    assert main(["data", "list"]) == 0
    table = capsys.readouterr().out
    assert "aime2025" in table and "test 30" in table and "LICENSES.md" in table


def test_data_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "show", "gsm8k", "--split", "test", "--n", "2", "--template", "r1-zero"]) == 0
    out = capsys.readouterr().out
    assert out.count("=== gsm8k-test-") == 2 and "--- key: '18'" in out and "Assistant: <think>" in out
    assert main(["data", "show", "math500", "--n", "1", "--template", "qwen-math"]) == 0
    assert "[system]" in capsys.readouterr().out
    assert main(["data", "show", "arith", "--n", "1", "--option", "level=hard"]) == 0
    assert "arith-hard-train-000000" in capsys.readouterr().out


def test_data_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"q": "1+1?", "a": 2}\n{"q": "2+2?", "a": "4"}\n')
    assert main(["data", "validate", str(good), "--question-field", "q", "--answer-field", "a", "--answer-type", "numeric"]) == 0
    assert "2 good row(s), 0 bad row(s)" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "1+1?", "a": 2}\n{"q": "", "a": 3}\nnot json\n')
    assert main(["data", "validate", str(bad), "--question-field", "q", "--answer-field", "a"]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:2: no question" in out and f"{bad}:3: not valid JSON" in out and "1 good row(s), 2 bad row(s)" in out
    assert main(["data", "validate", str(tmp_path / "x.txt")]) == 2
    assert "cannot tell the format" in capsys.readouterr().err


def test_data_validate_refuses_a_giant_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"question": "1+1?", "answer": "2"}\n{"question": "' + b"9" * 2_000_000 + b'", "answer": "1"}\n')
    assert main(["data", "validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2: row is longer than 1048576 bytes" in out and "1 good row(s), 1 bad row(s)" in out
    assert main(["data", "show", "math500", "--filter", "level>>3"]) == 2  # flags are checked like config keys
