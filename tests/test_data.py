"""Datasets: built-ins, the user's files with field mapping, bad rows, filters, synthetic splits, plug-ins."""

from __future__ import annotations

import collections
import gzip
import hashlib
import json
import re
import sys
from importlib import resources
from pathlib import Path

import pytest

from rlvr.config import ConfigError, from_dict
from rlvr.data import DATASETS, DatasetConfig, Problem, get_dataset, load_problems
from rlvr.data.builtin import SHIPPED, sources
from rlvr.data.rows import last_boxed
from rlvr.data.units import fold_power, plain_unit, split_power_of_ten
from rlvr.errors import RlvrError
from rlvr.verifiers.numeric import is_number_key


def _write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- built-ins

EXPECTED_ROWS = {
    ("gsm8k", "train"): 7473,
    ("gsm8k", "test"): 1319,
    ("math", "train"): 11998,
    ("math500", "test"): 500,
    ("aime2024", "test"): 30,
    ("aime2025", "test"): 30,
    ("amc2023", "test"): 40,
    ("scibench-physics", "test"): 144,
    ("theoremqa-physics", "test"): 114,
    ("jeebench-physics", "test"): 107,
    ("abench-physics", "test"): 800,
    ("champ", "test"): 270,
}


@pytest.mark.parametrize(("name", "split"), sorted(EXPECTED_ROWS))
def test_builtin_row_counts(name: str, split: str) -> None:
    assert len(load_problems(DatasetConfig(name=name, split=split))) == EXPECTED_ROWS[(name, split)]


def test_assets_match_their_recorded_sha256() -> None:
    for file, entry in sources().items():
        data = gzip.decompress(resources.files("rlvr.data").joinpath("assets", f"{file}.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], file
        assert entry["license"] and entry["source"]
    assert {f for s in SHIPPED for f in s.files.values()} <= set(sources())


def test_builtin_typing() -> None:
    jee = load_problems(DatasetConfig(name="jeebench-physics", split="test"))
    by_kind = collections.defaultdict(set)
    for p in jee:
        by_kind[p.metadata["question_type"]].add(p.answer_type)
    assert by_kind == {"MCQ": {"choice"}, "MCQ(multiple)": {"choice"}, "Numeric": {"numeric"}, "Integer": {"numeric"}}
    assert all(p.choices == ("A", "B", "C", "D") for p in jee if p.answer_type == "choice")

    sci = {p.id: p for p in load_problems(DatasetConfig(name="scibench-physics", split="test"))}
    assert all(p.rel_tol == 0.05 and p.metadata["domain"] == "physics" for p in sci.values())
    folded = sci["scibench-fund-Question_21.75"]  # key 4.16 with unit "$10^{42}$"
    assert folded.answer == "4.16 \\times 10^{42}" and folded.unit is None and folded.answer_type == "numeric"
    with_unit = next(p for p in sci.values() if p.metadata["problem_id"] == "Question 21.19")  # 3.00 cm
    assert (with_unit.answer, with_unit.unit, with_unit.answer_type) == ("3.00", "cm", "quantity")

    gsm = load_problems(DatasetConfig(name="gsm8k", split="test", limit=3))
    assert all(p.solution.endswith(f"#### {p.answer}") and p.answer_type == "numeric" for p in gsm)
    math = load_problems(DatasetConfig(name="math500", split="test", limit=20))
    assert all(last_boxed(p.solution) == p.answer for p in math)
    tqa = load_problems(DatasetConfig(name="theoremqa-physics", split="test"))
    assert all(p.solution is None for p in tqa)  # its "solutions" are image file names
    ab = load_problems(DatasetConfig(name="abench-physics", split="test"))
    assert all(p.rel_tol == 0.01 for p in ab)
    assert all(p.unit is None or "\\" not in p.unit for p in ab)


def test_abench_language_option() -> None:
    en = load_problems(DatasetConfig(name="abench-physics", split="test", options={"language": "en"}))
    zh = load_problems(DatasetConfig(name="abench-physics", split="test", options={"language": "zh"}))
    assert (len(en), len(zh)) == (68, 732)
    with pytest.raises(RlvrError, match="language"):
        load_problems(DatasetConfig(name="abench-physics", split="test", options={"language": "fr"}))
    with pytest.raises(RlvrError, match="unknown option"):
        load_problems(DatasetConfig(name="abench-physics", split="test", options={"lang": "en"}))


def test_unknown_dataset_and_split() -> None:
    with pytest.raises(RlvrError, match="known: .*gsm8k"):
        load_problems(DatasetConfig(name="gsm9k"))
    with pytest.raises(RlvrError, match="no split 'dev'"):
        load_problems(DatasetConfig(name="gsm8k", split="dev"))


def test_units() -> None:
    assert split_power_of_ten("$10^{-6} \\mathrm{~kg}$") == (-6, " \\mathrm{~kg}")
    assert split_power_of_ten("$\\mathrm{~m}$") == (0, "$\\mathrm{~m}$")
    assert fold_power("2.2", -6) == "2.2 \\times 10^{-6}" and fold_power("2.2", 0) == "2.2"
    assert plain_unit("$\\mathrm{~m} / \\mathrm{s}^2$") == "m/s^2"
    assert plain_unit("{\\mathrm{\\;m}}^{3} \\cdot  {\\mathrm{s}}^{-1}") == "m^3*s^-1"
    assert plain_unit("$ \\mu \\mathrm{C}$") == "μC"
    assert plain_unit("{ \\circ  }\\mathrm{C}") == "°C"
    assert plain_unit("{\\mathrm{B}}") is None  # ABench variable name, not a unit
    assert plain_unit("{\\prime") is None  # ABench's stray prime
    assert plain_unit("\\left| {S}_{w}^{\\prime }\\right") is None


# ----------------------------------------------------------------------------- the user's files


def test_custom_field_names_through_a_config_mapping(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "mine.jsonl",
        [
            {"uid": "a", "problem": "What is 2+2?", "final": 4, "worked": "2+2=4", "topic": "add", "difficulty": 1},
            {"uid": "b", "problem": "Speed?", "final": "3.0", "u": "m/s", "topic": "phys", "difficulty": 3},
        ],
    )
    section = {
        "name": "jsonl",
        "path": str(path),
        "question_field": "problem",
        "answer_field": "final",
        "solution_field": "worked",
        "id_field": "uid",
        "unit_field": "u",
        "rel_tol": 0.02,
    }
    problems = load_problems(from_dict(DatasetConfig, section, prefix="data"))
    assert [p.id for p in problems] == ["a", "b"]
    a, b = problems
    assert (a.prompt, a.answer, a.solution, a.metadata) == ("What is 2+2?", "4", "2+2=4", {"topic": "add", "difficulty": 1})
    assert b.unit == "m/s" and b.verify_kwargs() == {"rel_tol": 0.02, "unit": "m/s"}
    with pytest.raises(ConfigError, match="question_feld"):
        from_dict(DatasetConfig, {**section, "question_feld": "x"})


def test_answer_from_boxed_and_gsm8k(tmp_path: Path) -> None:
    math = _write_jsonl(tmp_path / "m.jsonl", [{"problem": "p", "solution": "so $\\boxed{\\frac{1}{2}}$."}])
    (p,) = load_problems(DatasetConfig(name="jsonl", path=str(math), question_field="problem", answer_from="boxed"))
    assert p.answer == "\\frac{1}{2}" and p.solution.endswith("$.")
    gsm = _write_jsonl(tmp_path / "g.jsonl", [{"question": "q", "answer": "3+4=7\n#### 1,007"}])
    (p,) = load_problems(DatasetConfig(name="jsonl", path=str(gsm), answer_from="gsm8k", solution_field=None))
    assert p.answer == "1007" and p.solution == "3+4=7\n#### 1,007"


def test_csv_and_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    csv_path = tmp_path / "p.csv"
    csv_path.write_text('q,a,level\n1+1?,2,1\n"multi\nline",3,2\n', encoding="utf-8")
    problems = load_problems(DatasetConfig(name="csv", path=str(csv_path), question_field="q", answer_field="a"))
    assert [(p.prompt, p.answer, p.metadata["level"]) for p in problems] == [("1+1?", "2", "1"), ("multi\nline", "3", "2")]
    assert problems[1].id.endswith("p.csv:4")  # the line the record ends on
    pq_path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"question": ["a?", "b?"], "answer": ["1", None]}), pq_path)
    with pytest.raises(RlvrError, match=r"p\.parquet:row 2: no answer"):
        load_problems(DatasetConfig(name="parquet", path=str(pq_path)))


def test_hf_local_dir(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    datasets.DatasetDict({"test": datasets.Dataset.from_dict({"question": ["q1"], "answer": ["7"]})}).save_to_disk(str(tmp_path / "hf"))
    (p,) = load_problems(DatasetConfig(name="hf", path=str(tmp_path / "hf"), split="test", answer_type="numeric"))
    assert (p.prompt, p.answer, p.answer_type) == ("q1", "7", "numeric")


BAD_ROWS = [
    {"id": "1", "question": "ok", "answer": "5"},
    {"id": "2", "question": "", "answer": "5"},  # line 2: no question
    '{"id": "3", "question": "x", ',  # line 3: invalid JSON
    {"id": "4", "question": "x"},  # line 4: no answer
    {"id": "5", "question": "x", "answer": ["5"]},  # line 5: wrong type
    {"id": "6", "question": "x", "answer": "five"},  # line 6: not a number (answer_type numeric)
    {"id": "1", "question": "again", "answer": "6"},  # line 7: duplicate id
    {"id": "8", "question": "fine", "answer": "1,000"},
]


def test_bad_row_errors_name_file_and_line(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "bad.jsonl", BAD_ROWS)
    with pytest.raises(RlvrError, match=r"bad\.jsonl:2: no question"):
        load_problems(DatasetConfig(name="jsonl", path=str(path), answer_type="numeric"))
    with pytest.raises(RlvrError, match="not found"):
        load_problems(DatasetConfig(name="jsonl", path=str(tmp_path / "missing.jsonl")))


def test_bad_rows_skip_counts_them(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from rlvr.data.files import read_jsonl, read_problems

    path = _write_jsonl(tmp_path / "bad.jsonl", BAD_ROWS)
    cfg = DatasetConfig(name="jsonl", path=str(path), answer_type="numeric", on_bad_row="skip")
    problems, bad = read_problems(cfg, read_jsonl)
    assert [p.id for p in problems] == ["1", "8"]
    assert [b.where.rsplit(":", 1)[1] for b in bad] == ["2", "3", "4", "5", "6", "7"]
    reasons = " | ".join(b.reason for b in bad)
    for fragment in ("no question", "not valid JSON", "no answer", "must be a string or number", "not a number", "duplicate id '1'"):
        assert fragment in reasons
    with caplog.at_level("WARNING", logger="rlvr.data"):
        assert len(load_problems(cfg)) == 2
    assert "skipped 6 bad row(s)" in caplog.text


def test_key_parsing() -> None:
    for good in ["18", "-3", "1,000", "0.5", "3e-5", "2.9 \\times 10^{-11}", "5.7 \\times  {10}^{9}", "3/4", "\\frac{1}{2}", "10\\%", "- 50"]:
        assert is_number_key(good), good
    for bad in ["five", "x+1", "", "1.2.3", "(1,2)"]:
        assert not is_number_key(bad), bad
    assert last_boxed("so $\\boxed 2$.") == "2" and last_boxed("\\boxed{\\frac{1}{2}} \\boxed{x^{2}}") == "x^{2}"


# ----------------------------------------------------------------------------- filters, shuffle, limit


def test_filters_shuffle_limit() -> None:
    base = {"name": "math500", "split": "test"}
    hard_algebra = load_problems(DatasetConfig(**base, filters=["level>=4", "subject==Algebra"]))
    assert hard_algebra and all(p.metadata["level"] >= 4 and p.metadata["subject"] == "Algebra" for p in hard_algebra)
    assert len(hard_algebra) < 124
    first = load_problems(DatasetConfig(**base, limit=5))
    assert [p.id for p in first] == [p.id for p in load_problems(DatasetConfig(**base))[:5]]
    a = load_problems(DatasetConfig(**base, shuffle=True, seed=1, limit=5))
    b = load_problems(DatasetConfig(**base, shuffle=True, seed=1, limit=5))
    c = load_problems(DatasetConfig(**base, shuffle=True, seed=2, limit=5))
    assert [p.id for p in a] == [p.id for p in b] != [p.id for p in c]
    with pytest.raises(RlvrError, match="no row has field 'levle'"):
        load_problems(DatasetConfig(**base, filters=["levle>=3"]))
    with pytest.raises(RlvrError, match="no problems after filters"):
        load_problems(DatasetConfig(**base, filters=["level>9"]))
    with pytest.raises(ConfigError, match="FIELD OP VALUE"):
        from_dict(DatasetConfig, {"filters": ["level=>3"]})


# ----------------------------------------------------------------------------- synthetic


@pytest.mark.parametrize(("name", "options"), [("arith", {"level": "easy"}), ("arith", {"level": "hard"}), ("countdown", {})])
def test_synthetic_deterministic_and_disjoint(name: str, options: dict) -> None:
    def load(split: str, **extra: object) -> list[Problem]:
        return load_problems(DatasetConfig(name=name, split=split, options={**options, "train_size": 3000, "test_size": 300, **extra}))

    train, test = load("train"), load("test")
    assert (len(train), len(test)) == (3000, 300)
    assert [p.to_dict() for p in load("test")] == [p.to_dict() for p in test]
    key = (lambda p: p.metadata["expression"]) if name == "arith" else (lambda p: (sorted(p.numbers), p.answer))
    assert not {str(key(p)) for p in train} & {str(key(p)) for p in test}
    assert {p.prompt for p in train}.isdisjoint({p.prompt for p in test})
    assert [p.prompt for p in load("test", gen_seed=1)] != [p.prompt for p in test]


def _reduce(expression: str) -> str:
    """An independent rewrite step: evaluate the first product, else the leftmost operation."""
    tokens = re.findall(r"\d+|[-+*]", expression)
    i = tokens.index("*") if "*" in tokens else 1
    a, op, b = int(tokens[i - 1]), tokens[i], int(tokens[i + 1])
    value = {"+": a + b, "-": a - b, "*": a * b}[op]
    return "".join(tokens[: i - 1] + [str(value)] + tokens[i + 2 :])


def test_arith_problems_are_correct_and_short() -> None:
    from rlvr.data.arith import PRESETS, corpus

    hard = load_problems(DatasetConfig(name="arith", options={"level": "hard", "train_size": 500}))
    easy = load_problems(DatasetConfig(name="arith", options={"train_size": 500}))
    # factors of a product have one digit, so four numbers with a product reach 6 digits at most
    mul = load_problems(DatasetConfig(name="arith", options={"level": "hard", "ops": "+-*", "min_total_digits": 6, "train_size": 300}))
    for p in easy + hard + mul:
        lines = p.solution.splitlines()
        assert lines[-1] == f"Answer: {p.answer}" and int(p.answer) >= 0
        assert lines[0] == p.metadata["expression"]
        for before, after in zip(lines[:-2], lines[1:-1]):  # each line reduces one operation of the line above, never below zero
            assert after.startswith("=") and int(after[1:].split("+")[0].split("-")[0].split("*")[0]) >= 0
            assert _reduce(before.lstrip("=")) == after[1:]
        assert lines[-2] == f"={p.answer}" and len(p.prompt) < 120
    assert any(p.metadata["word_problem"] for p in easy) and all("*" not in p.prompt for p in easy)
    assert any("*" in p.prompt for p in mul)
    for level, problems in (("easy", easy), ("hard", hard)):
        spec = PRESETS[level]
        assert all(spec.min_terms <= p.metadata["terms"] <= spec.max_terms for p in problems)

    # hard problems are longer than any easy one (digits over all numbers)
    def digits(p: Problem) -> int:
        return sum(c.isdigit() for c in p.metadata["expression"])

    assert min(map(digits, hard)) > max(map(digits, easy)) == PRESETS["easy"].max_total_digits
    mixed = next(p for p in mul if "*" in p.metadata["expression"] and "+" in p.metadata["expression"])
    first, second = mixed.solution.splitlines()[:2]
    assert second.count("*") == first.count("*") - 1  # products first
    docs = list(corpus("test", {"test_size": 3}))
    assert docs[0] == f"{load_problems(DatasetConfig(name='arith', split='test', limit=1))[0].prompt}\n" + docs[0].split("\n", 1)[1]


def test_arith_options_override_and_validate() -> None:
    problems = load_problems(DatasetConfig(name="arith", options={"min_terms": 4, "max_terms": 4, "word_fraction": 0, "train_size": 50}))
    assert all(p.metadata["terms"] == 4 and not p.metadata["word_problem"] for p in problems)
    with pytest.raises(ConfigError, match="options.max_term"):
        load_problems(DatasetConfig(name="arith", options={"max_term": 4}))
    with pytest.raises(ConfigError, match="subset"):
        load_problems(DatasetConfig(name="arith", options={"ops": "+/"}))


def test_countdown_targets_are_reachable() -> None:
    for p in load_problems(DatasetConfig(name="countdown", split="test", limit=200)):
        assert p.answer_type == "countdown" and p.verify_kwargs()["numbers"] == list(p.numbers)
        values = list(p.numbers)
        for line in p.solution.splitlines()[:-1]:  # replay the construction: each step uses available values
            lhs, rhs = line.split("=")
            a, op, b = next(lhs.partition(o) for o in "+-*/" if o in lhs)
            values.remove(int(a))
            values.remove(int(b))
            assert int(rhs) == {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b), "/": int(a) // int(b)}[op]
            assert op != "/" or int(a) % int(b) == 0
            values.append(int(rhs))
        assert int(rhs) == int(p.answer) and p.solution.splitlines()[-1].startswith("Answer: ")


# ----------------------------------------------------------------------------- plug-ins


def test_entry_point_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_rlvr_plugin.py").write_text(
        "from rlvr.data import Dataset, Problem\n"
        "def _load(cfg):\n"
        "    n = cfg.options.get('n', 2)\n"
        "    return [Problem(id=f'p{i}', prompt=f'{i}+{i}=?', answer=str(2 * i), answer_type='numeric') for i in range(n)]\n"
        "doubles = Dataset(load=_load, splits=('test',), description='doubling', license='CC0', options=('n',))\n"
        "def bare(cfg):\n"
        "    '''A bare function plug-in.'''\n"
        "    return [Problem(id='x', prompt='q', answer='1')]\n"
    )
    dist = tmp_path / "my_rlvr_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-rlvr-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[rlvr.datasets]\ndoubles = my_rlvr_plugin:doubles\nbare = my_rlvr_plugin:bare\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(DATASETS, "_items", dict(DATASETS._items))
    monkeypatch.setattr(DATASETS, "_plugins_loaded", False)
    problems = load_problems(DatasetConfig(name="doubles", split="test", options={"n": 3}))
    assert [p.answer for p in problems] == ["0", "2", "4"]
    assert get_dataset("doubles").license == "CC0" and "doubles" in DATASETS.names()
    assert get_dataset("bare").description == "A bare function plug-in."
    assert load_problems(DatasetConfig(name="bare"))[0].answer == "1"
    sys.modules.pop("my_rlvr_plugin", None)


def test_problem_verify_kwargs() -> None:
    p = Problem(id="x", prompt="q", answer="B", answer_type="choice", choices=("A", "B"), rel_tol=None)
    assert p.verify_kwargs() == {"answer_type": "choice", "choices": ["A", "B"]}
    with pytest.raises(ValueError, match="answer_type"):
        Problem(id="x", prompt="q", answer="1", answer_type="number")


# ----------------------------------------------------------------------------- guards (issue 12, failure 7)


def test_a_giant_row_is_refused_with_file_and_line(tmp_path: Path) -> None:
    """A 3 MB line is a bad row at its own line (not a 3 MB prompt deep in training); the rows
    after it still read. The CSV module's own field limit is a line-numbered error too."""
    path = tmp_path / "big.jsonl"
    path.write_bytes(
        b'{"question": "1+1?", "answer": "2"}\n'
        + b'{"question": "'
        + b"9" * 3_000_000
        + b'", "answer": "1"}\n'
        + b'{"question": "2+2?", "answer": "4"}\n'
    )
    with pytest.raises(RlvrError, match=r"big\.jsonl:2: row is longer than 1048576 bytes \(data.max_row_bytes\)"):
        load_problems(DatasetConfig(name="jsonl", path=str(path)))
    kept = load_problems(DatasetConfig(name="jsonl", path=str(path), on_bad_row="skip"))
    assert [p.prompt for p in kept] == ["1+1?", "2+2?"]
    with pytest.raises(RlvrError, match=r"big\.jsonl:1: row is longer than 20 bytes"):
        load_problems(DatasetConfig(name="jsonl", path=str(path), max_row_bytes=20))
    csv_path = tmp_path / "big.csv"
    csv_path.write_bytes(b"question,answer\n1+1?,2\n" + b"9" * 200_000 + b",1\n")
    with pytest.raises(RlvrError, match=r"big\.csv:3: field larger than field limit"):
        load_problems(DatasetConfig(name="csv", path=str(csv_path)))
    csv_path.write_bytes(b"question,answer\n1+1?,2\n" + b"9" * 100 + b",1\n")
    with pytest.raises(RlvrError, match=r"big\.csv:3: row is longer than 50 bytes"):
        load_problems(DatasetConfig(name="csv", path=str(csv_path), max_row_bytes=50))


def test_encoding_errors_name_the_exact_line(tmp_path: Path) -> None:
    """A text reader decodes ahead in blocks: the bad byte on line 2 used to be reported at line 1."""
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"question": "1+1?", "answer": "2"}\n{"question": "caf\xe9?", "answer": "3"}\n{"question": "2+2?", "answer": "4"}\n')
    with pytest.raises(RlvrError, match=r"latin1\.jsonl:2: not UTF-8 text"):
        load_problems(DatasetConfig(name="jsonl", path=str(path)))
    csv_path = tmp_path / "latin1.csv"
    csv_path.write_bytes(b"question,answer\n" + b"1+1?,2\n" * 5000 + b"caf\xe9?,3\n")
    with pytest.raises(RlvrError, match=r"latin1\.csv:5002: not UTF-8 text"):
        load_problems(DatasetConfig(name="csv", path=str(csv_path)))


def test_ordering_filters_compare_numbers(tmp_path: Path) -> None:
    """``level>=3`` compares 10 with 3 as numbers (as strings "10" < "3"); a non-number there is an error."""
    path = _write_jsonl(
        tmp_path / "levels.jsonl", [{"id": str(i), "question": "q", "answer": "1", "level": lv} for i, lv in enumerate(["2", "3", "10"])]
    )
    cfg = {"name": "jsonl", "path": str(path), "answer_type": "numeric"}
    assert [p.id for p in load_problems(DatasetConfig(**cfg, filters=["level>=3"]))] == ["1", "2"]
    assert [p.id for p in load_problems(DatasetConfig(**cfg, filters=["level==10"]))] == ["2"]
    words = _write_jsonl(tmp_path / "words.jsonl", [{"id": "a", "question": "q", "answer": "1", "level": "Level 3"}])
    with pytest.raises(RlvrError, match=r"filter 'level>=3': problem a has level='Level 3', not a number"):
        load_problems(DatasetConfig(**{**cfg, "path": str(words)}, filters=["level>=3"]))
