"""Every bad config value is refused when the config loads (issue 12, failure 7): one line naming
the key, exit 2, no traceback, before any model, dataset or engine is loaded."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rlvr import config as C
from rlvr.errors import ConfigError
from rlvr.models.load import resolve_model_path
from rlvr.training.rl import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def unknown_model_type(tmp_path_factory) -> Path:
    """The bundled model with ``model_type: foo`` in its config.json."""
    d = tmp_path_factory.mktemp("badtype") / "model"
    shutil.copytree(resolve_model_path("tiny-arith"), d)
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**cfg, "model_type": "foo"}))
    return d


# (overrides of the built-in tiny-arith train config, the text the error must contain)
CASES = [
    (["optim.lr=-1"], "optim.lr: must be > 0, got -1.0"),
    (["optim.lr=nan"], "optim.lr: must be a finite number, got nan"),
    (["optim.lr=.inf"], "optim.lr: must be a finite number"),
    (["rollout.max_tokens=0"], "rollout.max_tokens: must be >= 1, got 0"),
    (["rollout.temperature=-1"], "rollout.temperature: must be > 0"),
    (["rollout.top_p=2"], "rollout.top_p: must be > 0 and <= 1, got 2.0"),
    (["verifier.workers=0"], "verifier.workers: must be >= 1, got 0"),
    (["verifier.timeout=-1"], "verifier.timeout: must be > 0"),
    (["rollout.verifier_workers=4"], "unknown config key 'rollout.verifier_workers' (moved: write verifier.workers)"),
    (["schedule.steps=-5"], "schedule.steps: must be >= 0, got -5"),
    (["run.save_every=-1"], "run.save_every: must be >= 0, got -1"),
    (["run.resume=sometimes"], "run.resume: expected bool | 'auto', got 'sometimes'"),
    (["learner.max_nonfinite_steps=0"], "learner.max_nonfinite_steps: must be >= 1, got 0"),
    (["algorithm.epochs=0"], "algorithm.epochs: must be >= 1"),
    (["algorithm.loss.clip_low=1.5"], "algorithm.loss.clip_low: must be >= 0 and < 1"),
    (["generator.max_model_len=8"], "generator.max_model_len (8) must exceed rollout.max_tokens (96)"),
    (["generator.gpu_memory_utilization=0"], "generator.gpu_memory_utilization: must be > 0 and <= 1"),
    (["generator.address=host:99999"], "generator.address must look like host:port"),
    # registry names, with the names that exist
    (["generator.name=foo"], "generator.name: unknown generator 'foo' (known: hf, remote, vllm)"),
    (["algorithm.estimator=foo"], "algorithm.estimator: unknown advantage estimator 'foo' (known: dr_grpo, gae, grpo"),
    (["algorithm.loss.name=foo"], "algorithm.loss.name: unknown policy loss 'foo' (known: gspo, ppo_clip, sft)"),
    (["algorithm.loss.aggregation=foo"], "algorithm.loss.aggregation: unknown loss aggregation 'foo'"),
    (["algorithm.kl_reward_estimator=k9"], "algorithm.kl_reward_estimator: unknown KL estimator 'k9' (known: k1, k2, k3)"),
    (["algorithm.rft_choice=longest"], "algorithm.rft_choice: unknown RFT choice rule 'longest' (known: first, shortest)"),
    (["data.name=foo"], "data.name: unknown dataset 'foo' (known: "),
    (["eval.dataset.name=foo"], "eval.dataset.name: unknown dataset 'foo'"),
    (["template=foo"], "template: unknown prompt template 'foo' (known: arith"),
    # paths
    (["model.path=/nonexistent/model"], "model.path: model path not found: /nonexistent/model"),
    (["data.name=jsonl", "data.path=/nonexistent.jsonl"], "data: path: no such file or directory: /nonexistent.jsonl"),
    # filters: syntax, and ordering comparisons need numbers
    (["data.filters=[level>>3]"], "filter 'level>>3': expected one operator"),
    (["data.filters=[level=>3]"], "filter 'level=>3' must look like FIELD OP VALUE"),
    (["data.filters=[level>=]"], "filter 'level>=': expected one operator"),
    (["data.filters=[level>=hard]"], "filter 'level>=hard': >= compares numbers, got 'hard'"),
]


@pytest.mark.parametrize(("overrides", "needle"), CASES, ids=[" ".join(o) for o, _ in CASES])
def test_bad_values_are_refused_at_load(overrides, needle):
    with pytest.raises(ConfigError) as e:
        C.load_config(TrainConfig, "train", "tiny-arith", overrides)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_model_type_names_the_file(unknown_model_type):
    with pytest.raises(ConfigError, match=rf"model.path: {unknown_model_type}/config.json: unknown model_type 'foo'"):
        C.load_config(TrainConfig, "train", "tiny-arith", [f"model.path={unknown_model_type}"])


def _config_classes() -> dict[str, type]:
    from rlvr.eval.runner import EvalConfig
    from rlvr.training.preference import DPOConfig
    from rlvr.training.pretrain import PretrainConfig
    from rlvr.training.reward_model import RMConfig
    from rlvr.training.sft import SFTConfig

    return {"train": TrainConfig, "sft": SFTConfig, "pretrain": PretrainConfig, "eval": EvalConfig, "dpo": DPOConfig, "rm": RMConfig}


def _shipped_configs() -> list[tuple[str, str]]:
    return [(command, name) for command in sorted(_config_classes()) for name in C.builtin_configs(command)]


def test_every_config_folder_is_checked():
    """A new command's folder of configs would otherwise escape the load test below."""
    folders = {p.name for p in (ROOT / "rlvr" / "configs").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(_config_classes())


@pytest.mark.parametrize("command,name", _shipped_configs())
def test_every_shipped_config_obeys_its_own_rules(command, name):
    C.load_config(_config_classes()[command], command, name, [])


def _header(command: str, name: str) -> list[str]:
    """The comment lines a config file starts with."""
    lines = (ROOT / "rlvr" / "configs" / command / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    return list(itertools.takewhile(lambda line: line.startswith("#"), lines))


def test_every_gpu_recipe_names_its_source():
    """A recipe for a real model claims to follow a published run; its header has to say which one
    (``# source: repository@commit file``, or a paper and table), so that it can be checked."""
    from rlvr.models.load import builtin_models

    recipes = []
    for command, name in _shipped_configs():
        if name.startswith(tuple(builtin_models())):
            continue  # configs for the bundled model are named after it; no published run to follow
        recipes.append(name)
        sources = [line for line in _header(command, name) if re.match(r"#\s*source:\s*\S", line)]
        assert sources, f"rlvr/configs/{command}/{name}.yaml: its header has no 'source:' line"
    assert {"qwen2.5-0.5b-gsm8k-grpo", "qwen2.5-math-1.5b-math-drgrpo", "qwen2.5-math-7b-math-drgrpo"} <= set(recipes)


def test_duplicate_yaml_key_names_key_and_line(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text("base: tiny-arith\noptim:\n  lr: 1.0e-4\n  warmup_steps: 2\n  lr: 3.0e-4\n")
    with pytest.raises(ConfigError, match=rf"invalid YAML in {f}:5:3: duplicate key 'lr'"):
        C.load_config(TrainConfig, "train", str(f), [])
    with pytest.raises(ConfigError, match="duplicate key 'run'"):
        C.parse_yaml("run: {}\nrun: {}\n", "x.yaml")


def test_help_config_shows_each_fields_range(capsys):
    from rlvr.cli import main

    assert main(["train", "--help-config"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "float (> 0)" in lines["optim.lr"]
    assert "float (> 0 and <= 1)" in lines["rollout.top_p"]
    assert "one of: hf, remote, vllm" in lines["generator.name"]
    assert "one of: choice, countdown, numeric, quantity, symbolic, text" in lines["data.answer_type"]


@pytest.mark.parametrize(
    ("cls", "command", "override", "new"),
    [
        ("rlvr.eval.runner:EvalConfig", "eval", "verifier_timeout=2", "verifier.timeout"),
        ("rlvr.training.sft:SFTConfig", "sft", "heldout.verifier_workers=2", "verifier.workers"),
    ],
)
def test_moved_verifier_keys_name_their_new_place(cls, command, override, new):
    """The verifier pool's settings are one section in every command; the old keys say where they went."""
    import importlib

    module, name = cls.split(":")
    config_class = getattr(importlib.import_module(module), name)
    with pytest.raises(ConfigError, match=rf"unknown config key '{override.split('=')[0]}' \(moved: write {new}\)"):
        C.load_config(config_class, command, None, [override])
    cfg = C.load_config(config_class, command, None, [f"{new}=3"])
    assert getattr(cfg.verifier, new.split(".")[1]) == 3


def test_bounds_on_a_plain_dataclass():
    """The rules work for any config class, not only the trainer's."""
    from dataclasses import dataclass

    @dataclass
    class Knobs:
        rate: float = C.field(0.5, ge=0, le=1, help="a fraction")
        wild: float = C.field(0.0, finite=False, help="may be inf")
        count: int | None = C.field(None, ge=1, help="optional count")

    assert C.from_dict(Knobs, {"wild": float("inf")}).wild == float("inf")
    assert C.from_dict(Knobs, {"count": None}).count is None
    with pytest.raises(ConfigError, match=r"knobs.rate: must be >= 0 and <= 1, got 1.5"):
        C.from_dict(Knobs, {"rate": 1.5}, prefix="knobs")
    with pytest.raises(ConfigError, match="count: must be >= 1, got 0"):
        C.from_dict(Knobs, {"count": 0})


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlvr.cli", *argv], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "optim.lr=nan"], "rlvr train: error: optim.lr: must be a finite number, got nan"),
        (["train", "rollout.top_p=2"], "rlvr train: error: rollout.top_p: must be > 0 and <= 1, got 2.0"),
        (["train", "generator.name=foo"], "rlvr train: error: generator.name: unknown generator 'foo'"),
        (["serve-generator", "--model", "tiny-arith", "--port", "99999"], "rlvr serve-generator: error: --port: port must be between 1 and 65535"),
    ],
)
def test_cli_refuses_with_one_line_and_exit_2(tmp_path, argv, needle):
    """The real command line: exit 2, one line on stderr, nothing created, no engine started."""
    out = _cli(*argv, f"run.output_dir={tmp_path / 'run'}" if argv[0] == "train" else "generator.name=hf")
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == needle or out.stderr.strip().startswith(needle), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists()


def _arith_fit(data: dict, max_tokens: int = 96, max_model_len: int = 512):
    from rlvr.data import DatasetConfig, load_problems
    from rlvr.generation.base import GeneratorConfig
    from rlvr.models.load import load_tokenizer
    from rlvr.prompts import get_template
    from rlvr.rollout.sample import encode_prompts, fit_prompts

    cfg = C.from_dict(DatasetConfig, {"name": "arith", "split": "test", "options": {"level": "hard"}, "limit": 50, **data}, "data")
    problems, template, tokenizer = load_problems(cfg), get_template("arith"), load_tokenizer("tiny-arith")
    kept, keep_last = fit_prompts(problems, template, tokenizer, cfg, "data", max_tokens, GeneratorConfig(max_model_len=max_model_len), "tiny-arith")
    lengths = [len(x) for x in encode_prompts(problems, template, tokenizer)]
    return problems, lengths, kept, [len(x) for x in encode_prompts(kept, template, tokenizer, keep_last)]


def test_prompt_plus_budget_must_fit_the_context():
    """Checked once the model and prompts are known, before an engine starts: vLLM caps
    max_model_len at the model's positions (256 for tiny-arith) and failed on the first long prompt."""
    problems, _, kept, _ = _arith_fit({})
    assert kept == problems
    with pytest.raises(
        ConfigError,
        match=r"^data: dataset 'arith' split 'test' problem \S+: the prompt with template 'arith' has \d+ tokens, "
        r"more than the 16 allowed \(context 256 \(generator.max_model_len, capped by the model's "
        r"max_position_embeddings 256\) - max_tokens 240\); \d+ of 50 prompts are this long",
    ):
        _arith_fit({}, max_tokens=240)
    with pytest.raises(ConfigError, match=r"more than the 4 allowed \(context 100 \(generator.max_model_len\) - max_tokens 96\)"):
        _arith_fit({}, max_model_len=100)
    with pytest.raises(ConfigError, match=r"max_tokens 300 leaves no room for a prompt in the 256-token context"):
        _arith_fit({}, max_tokens=300)
    with pytest.raises(
        ConfigError, match=r"^data.max_prompt_tokens: 200 prompt tokens plus max_tokens 96 exceed the 256-token context .*at most 160 fit"
    ):
        _arith_fit({"max_prompt_tokens": 200})


def test_on_overlong_skip_and_truncate_left(capsys):
    problems, lengths, _, _ = _arith_fit({}, max_tokens=8)
    limit = sorted(lengths)[len(lengths) // 2]  # about half the prompts are longer
    longer = sum(n > limit for n in lengths)
    assert 0 < longer < len(problems)
    with pytest.raises(
        ConfigError, match=rf"^data: dataset 'arith' split 'test' problem \S+: .* more than the {limit} allowed \(data.max_prompt_tokens\)"
    ):
        _arith_fit({"max_prompt_tokens": limit})
    _, _, kept, kept_lengths = _arith_fit({"max_prompt_tokens": limit, "on_overlong": "skip"})
    assert len(kept) == len(problems) - longer and max(kept_lengths) <= limit
    assert f"skipped {longer} of {len(problems)} prompts longer than {limit} tokens" in capsys.readouterr().err
    _, _, kept, cut = _arith_fit({"max_prompt_tokens": limit, "on_overlong": "truncate_left"})
    assert kept == problems and cut == [min(n, limit) for n in lengths]
    assert f"cut {longer} of {len(problems)} prompts longer than {limit} tokens to their last {limit}" in capsys.readouterr().err


def test_eval_refuses_an_overlong_prompt_with_one_line(tmp_path):
    """The bundled model has 256 positions: every GSM8K prompt with its template (4 shots) is
    longer. rlvr eval used to start vLLM and die in it with a traceback."""
    out = _cli("eval", "--model", "tiny-arith", "--datasets", "gsm8k", "--limit", "2", "--output", str(tmp_path / "ev"), "sampling.max_tokens=64")
    assert out.returncode != 0
    err = out.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("rlvr eval: error: data.gsm8k: dataset 'gsm8k' split 'test' problem gsm8k-test-") and "more than the 192 allowed" in err, (
        err
    )
