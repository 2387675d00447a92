"""The case files of ``tests/verify_cases/`` are well formed, and ``scripts/compare_verifiers.py``
scores them as it says.

Well formed: every row has the fields of the README with the right types, categories come from
the script's lists, no case appears twice (within or across files), the dev and held-back splits
are disjoint halves of every category, and the adversarial table holds only wrong answers.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import script_module

from rlvr.verifiers import VerifyRequest

with script_module("compare_verifiers") as compare:
    TABLES = {name: compare.load_jsonl(name) for name in compare.JSONL_TABLES}

FIELDS = {"id", "category", "response", "answer", "options", "expected", "source"}
OPTIONAL = {"language"}
LANGUAGES = {"zh", "fr", "es", "de", "ru", "ja"}
SOURCES = {"handwritten", "issue11"}  # or "<dataset>:<row id>" of one of DATASETS
DATASETS = {"gsm8k", "math500", "champ", "aime2024", "aime2025", "amc2023", "scibench", "theoremqa", "jeebench_physics", "abench_physics"}
# sig_figs is part of issue 11 (VerifyRequest gains it); the rows already use it.
OPTIONS = {f.name for f in dataclasses.fields(VerifyRequest)} - {"response", "answer"} | {"sig_figs"}


def _case(row: dict) -> tuple[str, str, str]:
    return row["response"], row["answer"], json.dumps(row["options"], sort_keys=True)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_rows_are_well_formed(name: str) -> None:
    categories = compare.ADVERSARIAL_KINDS if name == "adversarial" else compare.CATEGORIES
    for row in TABLES[name]:
        where = f"{name}.jsonl {row.get('id')}"
        assert FIELDS <= set(row) <= FIELDS | OPTIONAL, where
        assert row["category"] in categories, where
        assert isinstance(row["expected"], bool), where
        assert isinstance(row["response"], str) and isinstance(row["answer"], str) and row["answer"].strip(), where
        assert isinstance(row["options"], dict) and set(row["options"]) <= OPTIONS, where
        assert row.get("language", "zh") in LANGUAGES, where
        assert row["source"] in SOURCES or row["source"].split(":")[0] in DATASETS, where


def test_no_case_twice_and_ids_unique() -> None:
    rows = [row for table in TABLES.values() for row in table]
    assert len({row["id"] for row in rows}) == len(rows)
    assert len({_case(row) for row in rows}) == len(rows)


def test_split_is_disjoint_stratified_halves() -> None:
    dev, held = TABLES["dev"], TABLES["heldback"]
    assert not {_case(r) for r in dev} & {_case(r) for r in held}
    assert 700 <= len(dev) + len(held) <= 1000
    for category in compare.CATEGORIES:
        for expected in (True, False):
            n_dev = sum(r["category"] == category and r["expected"] is expected for r in dev)
            n_held = sum(r["category"] == category and r["expected"] is expected for r in held)
            assert n_dev and n_held and abs(n_dev - n_held) <= 1, (category, expected, n_dev, n_held)
    right = sum(r["expected"] for r in dev + held) / len(dev + held)
    assert 0.55 <= right <= 0.65


def test_adversarial_rows_are_all_wrong_answers() -> None:
    rows = TABLES["adversarial"]
    assert len(rows) >= 150
    assert not any(r["expected"] for r in rows)
    assert {r["category"] for r in rows} == set(compare.ADVERSARIAL_KINDS)


def test_scores_count_false_positives_and_negatives() -> None:
    rows = [(True, True), (True, False), (False, True), (False, True), (False, False)]
    assert compare.scores(rows) == {"acc": 0.4, "bal": round((1 / 3 + 1 / 2) / 2, 3), "fp": 1, "fn": 2}


def test_unknown_option_is_reported_not_dropped() -> None:
    # Dropping sig_figs would score the row under another tolerance than the one it states.
    assert compare.build_request("2.968", "2.97", {"nonsense": 3}) == "unsupported-option:nonsense"
    assert isinstance(compare.build_request("2.968", "2.97", {"rel_tol": 0.01}), VerifyRequest)


def test_math_verify_reads_a_bare_key_as_latex() -> None:
    # Parsed bare, math-verify reads only the leading number of 3\sqrt{13} (3), and rejects \sqrt{117}.
    assert compare.math_verify_says("The answer is $\\sqrt{117}$.", "3\\sqrt{13}")
    assert not compare.math_verify_says("The answer is $\\sqrt{118}$.", "3\\sqrt{13}")


def test_pool_path_matches_inline_on_plain_rows() -> None:
    from rlvr.verifiers import verify_inline

    rows = TABLES["dev"][:20]
    requests = [VerifyRequest(r["response"], r["answer"], **r["options"]) for r in rows if "sig_figs" not in r["options"]]
    through_pool = compare.pool_verdicts(requests, workers=1, timeout=5.0)
    assert [v.correct for v in through_pool] == [verify_inline(r).correct for r in requests]


def test_heldback_failures_are_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["compare_verifiers.py", "--table", "heldback", "--show-failures"])
    with pytest.raises(SystemExit) as exc:
        compare.main()
    assert exc.value.code == 2
