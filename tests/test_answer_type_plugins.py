"""An answer type from a plug-in (entry-point group ``rlvr.answer_types``) works everywhere a
built-in does: in a dataset's rows and config, in ``rlvr data`` and ``rlvr verify``, and in the
verifier pool's worker processes, which are fresh interpreters that must find the plug-in too.

The plug-in is installed for real: a module plus a ``dist-info`` folder with ``entry_points.txt``
on ``sys.path``, which is what ``pip install`` leaves behind.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rlvr import config as C
from rlvr.cli import main
from rlvr.data import DatasetConfig, Problem, load_problems
from rlvr.errors import RlvrError
from rlvr.generation.base import Completion
from rlvr.prompts import get_template
from rlvr.rollout.sample import verify_requests
from rlvr.verifiers import ANSWER_TYPES, VerifierPool

PLUGIN = '''
from rlvr.verifiers import AnswerType, Verdict

VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def value(text):
    digits = [VALUES[c] for c in text.strip().upper()]
    return sum(-d if i + 1 < len(digits) and d < digits[i + 1] else d for i, d in enumerate(digits))


class Roman(AnswerType):
    """Roman numerals, compared by value. No fast path: every verdict comes from check(), which
    the pool runs in a worker process."""

    def key_problem(self, answer):
        return None if set(answer.upper()) <= set(VALUES) else "is not a Roman numeral"

    def check(self, extracted, req):
        same = value(extracted) == value(req.answer)
        return Verdict(same, extracted, "roman-equal" if same else "roman-different")


roman = Roman()
'''


@pytest.fixture
def roman_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "rlvr_roman.py").write_text(PLUGIN)
    dist = site / "rlvr_roman-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rlvr-roman\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[rlvr.answer_types]\nroman = rlvr_roman:roman\n")
    monkeypatch.syspath_prepend(str(site))
    # Plug-ins are looked up once per process: forget the earlier lookup (and restore it after).
    monkeypatch.setattr(ANSWER_TYPES, "_items", dict(ANSWER_TYPES._items))
    monkeypatch.setattr(ANSWER_TYPES, "_plugins_loaded", False)
    yield tmp_path
    sys.modules.pop("rlvr_roman", None)


def _rows(tmp_path: Path) -> Path:
    path = tmp_path / "roman.jsonl"
    path.write_text(
        '{"id": "r1", "question": "Write 6 + 8 in Roman numerals.", "answer": "XIV"}\n'
        '{"id": "r2", "question": "Write 10 * 4 in Roman numerals.", "answer": "XL"}\n'
    )
    return path


def test_plugin_answer_type_from_a_dataset_is_scored_by_pool_workers(roman_plugin: Path) -> None:
    """The training path: dataset config -> load_problems -> verify_requests -> VerifierPool."""
    cfg = C.from_dict(DatasetConfig, {"name": "jsonl", "path": str(_rows(roman_plugin)), "answer_type": "roman"})
    problems = load_problems(cfg)
    assert [p.answer_type for p in problems] == ["roman", "roman"]
    template = get_template("qwen-math")  # boxed answers
    completions = [
        [Completion(0, [], [], text, "stop") for text in ("6 + 8 = 14, so \\boxed{XIV}", "\\boxed{XV}")],
        [Completion(1, [], [], "\\boxed{xl}", "stop")],
    ]
    with VerifierPool(workers=1) as pool:
        verdicts = pool.submit(verify_requests(problems, completions, template)).result(timeout=120)
    assert [(v.correct, v.reason) for v in verdicts] == [(True, "roman-equal"), (False, "roman-different"), (True, "roman-equal")]


def test_plugin_answer_type_in_the_cli(roman_plugin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = str(_rows(roman_plugin))
    assert main(["data", "show", rows, "--answer-type", "roman", "--n", "1"]) == 0
    assert '"answer_type": "roman"' in capsys.readouterr().out
    assert main(["data", "validate", rows, "--answer-type", "roman"]) == 0
    assert "2 good row(s), 0 bad row(s); answer types: roman 2" in capsys.readouterr().out
    with open(rows, "a") as f:  # the plug-in's own key check makes a bad row, as a built-in's does
        f.write('{"id": "r3", "question": "Write 7 * 2 in Roman numerals.", "answer": "14"}\n')
    assert main(["data", "validate", rows, "--answer-type", "roman"]) == 1
    assert "roman.jsonl:3: answer '14' is not a Roman numeral (answer_type roman)" in capsys.readouterr().out
    assert main(["verify", "\\boxed{XIV}", "XIV", "--answer-type", "roman", "--json"]) == 0
    assert '"reason": "roman-equal"' in capsys.readouterr().out


def test_problem_names_the_known_answer_types_when_the_type_is_unknown(roman_plugin: Path) -> None:
    assert Problem(id="x", prompt="q", answer="IV", answer_type="roman").answer_type == "roman"
    with pytest.raises(
        ValueError,
        match=r"problem x: answer_type: unknown answer type 'romans' \(known: choice, countdown, numeric, quantity, roman, symbolic, text\)",
    ):
        Problem(id="x", prompt="q", answer="IV", answer_type="romans")


def test_a_broken_plugin_does_not_break_built_in_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every typed row asks the registry, so asking about a built-in must not load plug-ins: a
    broken one fails only where its own name (or an unknown one) is asked for, naming itself."""
    dist = tmp_path / "rlvr_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rlvr-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[rlvr.answer_types]\nbroken = rlvr_no_such_module:broken\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(ANSWER_TYPES, "_items", dict(ANSWER_TYPES._items))
    monkeypatch.setattr(ANSWER_TYPES, "_plugins_loaded", False)
    assert "numeric" in ANSWER_TYPES
    assert Problem(id="x", prompt="q", answer="4", answer_type="numeric").answer_type == "numeric"
    with pytest.raises(RlvrError, match="answer type plug-in 'broken' .* failed to load"):
        Problem(id="x", prompt="q", answer="4", answer_type="broken")
