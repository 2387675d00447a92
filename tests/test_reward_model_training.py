"""``rlvr rm``: the Bradley-Terry loss, pairs from rankings, the held-out split, the reward read at
the last real token, the command end to end, and its one-line errors."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch

from rlvr.algorithms.bradley_terry import bradley_terry
from rlvr.cli import main
from rlvr.data.preferences import PreferencePair, load_pairs


def test_bradley_terry_is_minus_logsigmoid_of_the_reward_gap():
    chosen, rejected = torch.tensor([2.0, 0.0, -1.0]), torch.tensor([0.0, 1.0, -1.0])
    out = bradley_terry(chosen, rejected)
    expected = [-math.log(1 / (1 + math.exp(-d))) for d in (2.0, -1.0, 0.0)]
    torch.testing.assert_close(out.loss, torch.tensor(expected))
    assert out.correct.tolist() == [1.0, 0.0, 0.0]  # a tie is not a correct ordering
    assert out.margin.tolist() == [2.0, -1.0, 0.0]


def test_margin_raises_the_bar_and_centring_penalises_the_mean():
    chosen, rejected = torch.tensor([1.0]), torch.tensor([0.0])
    plain = bradley_terry(chosen, rejected).loss
    with_margin = bradley_terry(chosen, rejected, margin=torch.tensor([1.0])).loss
    torch.testing.assert_close(with_margin, torch.tensor([math.log(2.0)]))  # a gap equal to the margin: chance level
    assert with_margin.item() > plain.item()
    centred = bradley_terry(chosen + 3, rejected + 3, center_coef=0.01).loss
    torch.testing.assert_close(centred - plain, torch.tensor([0.01 * 7.0**2]))  # the gap is the same; only the penalty differs


def test_bradley_terry_stays_finite_and_has_gradients_at_extreme_gaps():
    chosen = torch.tensor([-200.0, 200.0], requires_grad=True)
    out = bradley_terry(chosen, torch.zeros(2))
    out.loss.sum().backward()
    assert torch.isfinite(out.loss).all() and out.loss[0].item() == pytest.approx(200.0)
    assert chosen.grad.tolist() == pytest.approx([-1.0, 0.0])


def test_ranking_rows_become_all_pairs_best_first(tmp_path):
    f = tmp_path / "ranked.jsonl"
    f.write_text(
        json.dumps({"prompt": "p", "ranked": ["a", "b", "c"], "id": "q1"})
        + "\n"
        + json.dumps({"prompt": "p2", "chosen": "x", "rejected": "y", "margin": 2})
        + "\n"
    )
    pairs = load_pairs(f)
    assert [(p.chosen, p.rejected) for p in pairs] == [("a", "b"), ("a", "c"), ("b", "c"), ("x", "y")]
    assert pairs[0].id == "q1" and pairs[3].margin == 2.0


def test_heldout_split_keeps_every_prompt_on_one_side():
    from rlvr.training.reward_model import split_by_prompt

    pairs = [PreferencePair(f"prompt {i}", f"c{j}", f"r{j}", f"id{i}") for i in range(20) for j in range(3)]
    train, held = split_by_prompt(pairs, 0.25, seed=1)
    assert len({p.id for p in held}) == 5 and len(train) + len(held) == len(pairs)
    assert not {p.id for p in train} & {p.id for p in held}
    assert split_by_prompt(pairs, 0.25, seed=1) == (train, held)  # seeded


def test_reward_is_read_at_the_last_real_token_whatever_the_padding(tiny_model_dir):
    """A sequence's reward alone equals its reward beside a longer one (right padding)."""
    from rlvr.models.load import load_tokenizer
    from rlvr.rewards.reward_model import rm_input_ids
    from rlvr.training.reward_model import EncodedPair, collate_pairs, load_reward_model

    tok = load_tokenizer(str(tiny_model_dir))
    model = load_reward_model(str(tiny_model_dir), tok).eval()
    short = rm_input_ids(tok, "12+3=?\n", "Answer: 15", True, 64)
    long = rm_input_ids(tok, "12+34=?\n", "12+34\n=46\nAnswer: 46", True, 64)
    assert short[-1] == tok.eos_token_id and len(long) > len(short)
    assert rm_input_ids(tok, "12+34=?\n", "12+34\n=46\nAnswer: 46", True, 5) == long[-5:]  # cut on the left
    mb = collate_pairs([EncodedPair(short, long, 0.0, "g")], tok.pad_token_id)
    with torch.no_grad():
        batched = model(input_ids=mb.input_ids, attention_mask=mb.attention_mask).logits[:, 0]
        alone = model(input_ids=torch.tensor([short])).logits[0, 0]
    torch.testing.assert_close(batched[0], alone)


def _pairs_file(path, prompts: int = 12) -> None:
    rows = []
    for i in range(prompts):
        a, b = 10 + i, 3 + i
        prompt = f"{a}+{b}=?\n"
        rows += [
            {
                "prompt": prompt,
                "chosen": f"{a}+{b}\n={a + b}\nAnswer: {a + b}",
                "rejected": f"{a}+{b}\n={a + b + d}\nAnswer: {a + b + d}",
                "id": f"q{i}",
            }
            for d in (1, 2)
        ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_rm_end_to_end_final_loads_as_a_sequence_classifier(tmp_path, tiny_model_dir, capsys):
    from transformers import AutoModelForSequenceClassification

    pairs, out = tmp_path / "pairs.jsonl", tmp_path / "rm"
    _pairs_file(pairs)
    rc = main(
        [
            "rm",
            f"model.path={tiny_model_dir}",
            f"data.train={pairs}",
            "data.heldout=null",
            "data.heldout_fraction=0.25",
            f"run.output_dir={out}",
            "schedule.steps=4",
            "schedule.eval_every=2",
            "schedule.batch_size=6",
            "learner.micro_batch_size=4",  # 2 pairs per pass: 3 micro-batches per step
            "learner.backend=torch",
            "optim.lr=1e-3",
            "run.progress=false",
        ]
    )
    assert rc == 0
    assert "LOAD REPORT" not in capsys.readouterr().err  # the expected new head is one line of ours, not transformers' table
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4] and all("val_accuracy" in rows[i] for i in (1, 3))
    summary = json.loads((out / "summary.json").read_text())
    lo, hi = summary["heldout_accuracy_ci95"]
    assert 0 <= lo <= summary["heldout_accuracy"] <= hi <= 1
    assert summary["heldout_pairs"] == 6 and summary["train_pairs"] == 18  # 3 of 12 prompts held out, with both their pairs
    model = AutoModelForSequenceClassification.from_pretrained(out / "final")
    assert model.config.num_labels == 1 and model.config.pad_token_id is not None
    assert (out / "final" / "model.safetensors").is_file() and (out / "final" / "tokenizer.json").is_file()


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (["data.train=/nonexistent/pairs.jsonl"], "/nonexistent/pairs.jsonl: no such file"),
        (["data.train=BAD"], "BAD:2: 'rejected' is missing"),
        (["data.train=ONE", "data.heldout=null", "data.heldout_fraction=0.1"], "leaves no held-out prompt"),
        (["data.heldout=EMPTY"], "EMPTY: no preference pairs"),
        (["data.heldout=null", "data.heldout_fraction=0"], "needs held-out pairs"),
    ],
)
def test_bad_input_is_one_line_error(tmp_path, capsys, tiny_model_dir, overrides, needle):
    files = {"BAD": tmp_path / "bad.jsonl", "ONE": tmp_path / "one.jsonl", "EMPTY": tmp_path / "empty.jsonl", "GOOD": tmp_path / "good.jsonl"}
    files["BAD"].write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n" + json.dumps({"prompt": "p", "chosen": "a"}) + "\n")
    files["ONE"].write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    files["EMPTY"].write_text("\n")
    _pairs_file(files["GOOD"])
    for name, f in files.items():
        overrides = [o.replace(name, str(f)) for o in overrides]
        needle = needle.replace(name, str(f))
    rc = main(
        [
            "rm",
            f"model.path={tiny_model_dir}",
            f"data.train={files['GOOD']}",
            f"data.heldout={files['GOOD']}",
            f"run.output_dir={tmp_path / 'out'}",
            *overrides,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert needle in err, err


def test_model_without_pad_or_eos_token_is_one_line_error(tmp_path, capsys, tiny_model_dir):
    model = tmp_path / "nopad"
    shutil.copytree(tiny_model_dir, model)
    cfg = json.loads((model / "tokenizer_config.json").read_text())
    cfg.pop("pad_token", None)
    cfg.pop("eos_token", None)
    (model / "tokenizer_config.json").write_text(json.dumps(cfg))
    pairs = tmp_path / "pairs.jsonl"
    _pairs_file(pairs)
    rc = main(["rm", f"model.path={model}", f"data.train={pairs}", f"data.heldout={pairs}", f"run.output_dir={tmp_path / 'out'}"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "neither a pad nor an EOS token" in err, err


def test_every_rm_config_key_is_documented_and_the_builtins_resolve(capsys):
    from rlvr import config as C
    from rlvr.training.reward_model import RMConfig

    assert not [key for key, _, help_text in C.describe(RMConfig) if not help_text.strip()]
    for name in C.builtin_configs("rm"):
        assert main(["rm", "--config", name, "--print-config"]) == 0
        assert C.load_config(RMConfig, "rm", name).run.overwrite is False
    assert "runs/pairs/arith-hard.jsonl" in capsys.readouterr().out
