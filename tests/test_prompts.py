"""Prompt templates: YAML loading, each built-in's rendering, few-shot, markers, plug-ins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rlvr.config import ConfigError, from_dict
from rlvr.data import DatasetConfig, Problem, load_problems
from rlvr.errors import RlvrError
from rlvr.prompts import TEMPLATES, PromptTemplate, get_template, load_template_file
from rlvr.verifiers import MARKERS, VerifyRequest, verify_inline
from rlvr.verifiers.extraction import extract


class ChatTokenizer:
    """Stands in for a HF tokenizer: renders messages ChatML-style and records the call."""

    chat_template = "chatml"

    def apply_chat_template(self, messages: list[dict[str, str]], *, add_generation_prompt: bool, tokenize: bool) -> str:
        assert add_generation_prompt and not tokenize
        self.messages = messages
        return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"


Q = Problem(id="q", prompt="What is 6*7?", answer="42", solution="6*7=42")
SHOT = Problem(id="s", prompt="What is 1+1?", answer="2", solution="1+1=2")


def test_builtin_templates_are_registered() -> None:
    assert {"r1-zero", "qwen-math", "gsm8k", "physics", "arith"} <= set(TEMPLATES.names())
    for name in TEMPLATES.names():
        t = get_template(name)
        assert t.answer_marker in MARKERS and t.description and "{question}" in t.template


def test_r1_zero_raw() -> None:
    t = get_template("r1-zero")
    text = t.render(Q)
    assert t.render_mode == "raw" and t.answer_marker == "answer_tag"
    assert "User: What is 6*7?\nAssistant: <think>" in text and text.endswith("<think>")
    assert "<answer> answer here </answer>" in text
    shot = t.render(Q, fewshot=[SHOT])
    assert shot.index("1+1=2\n</think>\n<answer>2</answer>") < shot.index("What is 6*7?")


def test_qwen_math_chat() -> None:
    t = get_template("qwen-math")
    tok = ChatTokenizer()
    text = t.render(Q, tok)
    assert tok.messages[0] == {"role": "system", "content": "Please reason step by step, and put your final answer within \\boxed{}."}
    assert tok.messages[-1] == {"role": "user", "content": "What is 6*7?"}
    assert text.endswith("<|im_start|>assistant\n") and t.answer_marker == "boxed"
    t.render(Q, tok, fewshot=[SHOT])
    assert [m["role"] for m in tok.messages] == ["system", "user", "assistant", "user"]
    assert tok.messages[2]["content"] == "1+1=2\n\\boxed{2}"
    with pytest.raises(RlvrError, match="pass the model's tokenizer"):
        t.render(Q)

    class NoTemplate:
        chat_template = None

    with pytest.raises(RlvrError, match="has none"):
        t.render(Q, NoTemplate())


def test_gsm8k_template_and_fewshot_from_dataset() -> None:
    t = get_template("gsm8k")
    assert t.answer_marker == "gsm8k" and t.fewshot is not None and t.fewshot.dataset == "gsm8k"
    shots = load_problems(DatasetConfig(name=t.fewshot.dataset, split=t.fewshot.split, limit=t.fewshot.k))
    tok = ChatTokenizer()
    t.render(Q, tok, fewshot=shots)
    assistant = [m["content"] for m in tok.messages if m["role"] == "assistant"]
    assert len(assistant) == 4
    assert all(a.endswith(f"#### {s.answer}") and a.count("####") == 1 for a, s in zip(assistant, shots))  # not doubled
    assert "'#### <number>'" in tok.messages[-1]["content"]


def test_declared_fewshot_applied_by_default() -> None:
    """gsm8k.yaml declares 4 shots: render (and messages) use them without being handed any,
    and never show a question as its own example."""
    t = get_template("gsm8k")
    first = load_problems(DatasetConfig(name="gsm8k", split="train", limit=5))
    tok = ChatTokenizer()
    t.render(Q, tok)
    users = [m["content"] for m in tok.messages if m["role"] == "user"]
    assert len(users) == 5 and all(s.prompt in u for s, u in zip(first[:4], users))
    t.render(first[0], tok)
    shown = [m["content"] for m in tok.messages if m["role"] == "user"][:-1]
    assert len(shown) == 4 and first[0].prompt not in "".join(shown) and first[4].prompt in shown[-1]
    assert len(t.messages(Q)) == 9
    assert t.render(Q, tok, fewshot=[]) and len(tok.messages) == 1  # an explicit empty list: zero-shot


def test_data_show_renders_declared_fewshot(capsys: pytest.CaptureFixture[str]) -> None:
    from rlvr.cli import main

    assert main(["data", "show", "gsm8k", "--split", "test", "--n", "1", "--template", "gsm8k"]) == 0
    out = capsys.readouterr().out
    assert out.count("[assistant]") == 4 and out.count("[user]") == 5


def test_physics_unit_and_choices() -> None:
    t = get_template("physics")
    with_unit = Problem(id="p", prompt="How fast?", answer="3.0", unit="m/s", answer_type="quantity")
    text = t.user_text(with_unit)
    assert text.startswith("How fast?\nExpress the answer in m/s.\n") and "number with its unit" in text
    assert "Express" not in t.user_text(Problem(id="p", prompt="How fast?", answer="3"))
    letters = Problem(id="c", prompt="Pick (A) x (B) y", answer="B", answer_type="choice", choices=("A", "B"))
    assert "\n(A)" not in t.user_text(letters)  # bare letters: the options are already in the question
    texts = Problem(id="c", prompt="Pick one", answer="B", answer_type="choice", choices=("red", "blue"))
    assert t.user_text(texts).startswith("Pick one\n(A) red\n(B) blue\n")


def test_arith_template_matches_the_corpus() -> None:
    t = get_template("arith")
    (p,) = load_problems(DatasetConfig(name="arith", split="test", limit=1))
    from rlvr.data.arith import corpus

    assert t.render_mode == "raw" and t.answer_marker == "answer_colon"
    assert t.render(p) == p.prompt + "\n"
    assert t.render(p) + t.response(p) == next(corpus("test", {"test_size": 1}))
    assert t.response(p).endswith(f"Answer: {p.answer}") and t.response(p).count("Answer:") == 1


@pytest.mark.parametrize("marker", MARKERS.names())
def test_every_marker_reads_back_what_a_template_writes(marker: str) -> None:
    """A template writes few-shot and SFT answers with the verifier's own marker, so a model that
    copies the format is verified under that marker: the answer comes back out, and any answer
    marker a template may declare is one the verifier knows."""
    t = PromptTemplate(name="m", template="{question}", answer_marker=marker, render_mode="raw")
    written = t.response(Problem(id="x", prompt="q", answer="\\frac{1}{2}", solution="Half of 1."))
    assert verify_inline(VerifyRequest(written, "0.5", marker=marker, fallback=False)).correct
    assert extract(written, marker, fallback=False) == "\\frac{1}{2}"
    with pytest.raises(ConfigError, match=r"answer_marker: unknown answer marker 'boxd' \(known: answer_colon, answer_tag, boxed"):
        from_dict(PromptTemplate, {"name": "m", "template": "{question}", "answer_marker": "boxd"})


def test_user_template_file_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "mine.yaml"
    good.write_text('render: raw\ntemplate: "Q: {question}\\nA:"\nanswer_marker: final_answer\nresponse_prefix: " "\n')
    t = get_template(str(good))
    assert t.name == "mine" and t.render(Q) == "Q: What is 6*7?\nA: "
    assert t.response(Q) == "6*7=42\nThe final answer is 42"
    bad = tmp_path / "bad.yaml"
    bad.write_text('template: "{question} {answr}"\nanswer_marker: boxed\n')
    with pytest.raises(ConfigError, match="answr"):
        load_template_file(bad)
    bad.write_text('template: "{question}"\nanswer_marker: boxd\n')
    with pytest.raises(ConfigError, match="answer_marker"):
        load_template_file(bad)
    with pytest.raises(RlvrError, match="not found"):
        get_template(str(tmp_path / "nope.yaml"))
    with pytest.raises(RlvrError, match="unknown prompt template 'r2-zero'"):
        get_template("r2-zero")


def test_prompt_plugin_via_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlvr.prompts import template as template_module

    plugin = PromptTemplate(name="terse", template="{question} =", answer_marker="answer_colon", render_mode="raw")

    class EntryPoint:
        name, value = "terse", "pkg:terse"

        def load(self) -> Any:
            return plugin

    monkeypatch.setattr(TEMPLATES, "_items", dict(TEMPLATES._items))
    monkeypatch.setattr(TEMPLATES, "_plugins_loaded", False)
    monkeypatch.setattr("rlvr.registry.entry_points", lambda group: [EntryPoint()] if group == "rlvr.prompts" else [])
    assert template_module.get_template("terse").render(Q) == "What is 6*7? ="
