"""Typed configs: YAML + dotted overrides, strict keys and types, one-line CLI errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rlvr import config as C
from rlvr.cli import main
from rlvr.config import field, section
from rlvr.errors import ConfigError


@dataclass
class Inner:
    lr: float = field(1e-3, help="learning rate")
    names: list[str] = field(default_factory=lambda: ["a"], help="names")
    mode: str = field("x", help="mode")


@dataclass
class Outer:
    inner: Inner = section(Inner, "inner section")
    steps: int = field(10, help="steps")
    path: str | None = field(None, help="optional path")


def test_defaults_yaml_and_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("steps: 20\ninner:\n  lr: 3e-4\n")
    cfg = C.load_config(Outer, "x", str(f), ["inner.mode=y", "inner.names=[b, c]", "path=/tmp/p"])
    assert cfg.steps == 20 and cfg.inner.lr == pytest.approx(3e-4)
    assert cfg.inner.mode == "y" and cfg.inner.names == ["b", "c"] and cfg.path == "/tmp/p"


def test_override_beats_yaml(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("steps: 20\n")
    assert C.load_config(Outer, "x", str(f), ["steps=5"]).steps == 5


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (["inner.lrr=1"], "unknown config key 'inner.lrr' (did you mean inner.lr?)"),
        (["steps=ten"], "steps: expected an integer"),
        (["inner.lr=abc"], "inner.lr: expected a number"),
        (["inner=3"], "inner: expected a mapping"),
        (["nokey"], "must look like key=value"),
    ],
)
def test_errors_name_the_key(overrides, needle):
    with pytest.raises(ConfigError) as e:
        C.load_config(Outer, "x", None, overrides)
    assert needle in str(e.value)


def test_broken_yaml_names_file_and_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("steps: 1\ninner: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+"):
        C.load_config(Outer, "x", str(f), [])


def test_missing_config_file():
    with pytest.raises(ConfigError, match="config file not found: /nonexistent.yaml"):
        C.load_config(Outer, "x", "/nonexistent.yaml", [])


def test_every_field_documented():
    from rlvr.training.pretrain import PretrainConfig
    from rlvr.training.rl import TrainConfig
    from rlvr.training.sft import SFTConfig

    for cls in (PretrainConfig, SFTConfig, TrainConfig):
        undocumented = [key for key, _, help_text in C.describe(cls) if not help_text.strip()]
        assert not undocumented, f"{cls.__name__}: {undocumented}"


@pytest.mark.parametrize("command", ["pretrain", "sft", "train"])
def test_builtin_configs_resolve(command, capsys):
    assert main([command, "--print-config"]) == 0
    assert "output_dir" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["pretrain", "optim.lrr=1"], "unknown config key 'optim.lrr'"),
        (["pretrain", "--config", "/no/such.yaml"], "config file not found"),
        (["pretrain", "--config", "nonexistent-name"], "built-ins: tiny-arith"),
        (["sft", "schedule.steps=abc"], "schedule.steps: expected an integer"),
    ],
)
def test_cli_one_line_errors(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err
