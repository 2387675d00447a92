"""Models: load any HF causal LM from a local path (or the hub), or build a tiny one from config.

Tiny models use the Llama architecture because both transformers and vLLM load it natively, so a
checkpoint written by ``save_pretrained`` serves the learner and the generator unchanged.
vLLM's CPU attention kernels only support head dims that are multiples of 32 (32, 64, 80, ...),
which the config checks up front instead of failing inside the engine.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rlvr.config import field
from rlvr.errors import RlvrError
from rlvr.models.tokenizer import TokenizerConfig

VLLM_HEAD_DIMS = (32, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


@dataclass
class TinyModelConfig:
    """Architecture of a model built from scratch (used when ``model.path`` is empty)."""

    arch: Literal["llama", "qwen2"] = field("llama", help="architecture; both load in transformers and vLLM")
    hidden_size: int = field(192, help="width of the residual stream")
    num_layers: int = field(4, help="transformer blocks")
    num_heads: int = field(6, help="attention heads; hidden_size/num_heads must be a vLLM CPU head dim (32, 64, ...)")
    num_kv_heads: int = field(6, help="key/value heads (grouped-query attention when fewer than num_heads)")
    intermediate_size: int = field(512, help="MLP hidden width")
    max_position_embeddings: int = field(512, help="longest sequence (prompt + response) the model supports")
    rope_theta: float = field(10000.0, help="RoPE base frequency")
    tie_embeddings: bool = field(True, help="share input embedding and output projection (saves parameters)")

    def validate(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError("tiny.hidden_size must be divisible by tiny.num_heads")
        head_dim = self.hidden_size // self.num_heads
        if head_dim not in VLLM_HEAD_DIMS:
            raise ValueError(f"tiny: head dim {head_dim} (hidden_size/num_heads) is not supported by vLLM; use one of {VLLM_HEAD_DIMS}")
        if self.num_heads % self.num_kv_heads:
            raise ValueError("tiny.num_heads must be a multiple of tiny.num_kv_heads")


@dataclass
class ModelConfig:
    """The policy: an existing model, or a tiny one built from scratch."""

    path: str | None = field(None, help="model dir, built-in name (tiny-arith) or hub id; null builds `tiny` from scratch")
    tiny: TinyModelConfig = field(default_factory=TinyModelConfig, help="architecture when building from scratch")
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig, help="tokenizer training when building from scratch")


def build_tiny_model(cfg: TinyModelConfig, tokenizer, seed: int = 0):
    """A randomly initialised causal LM whose vocabulary and special ids match ``tokenizer``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    hf_cfg = AutoConfig.for_model(
        cfg.arch,
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        rope_theta=cfg.rope_theta,
        tie_word_embeddings=cfg.tie_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(hf_cfg, dtype=torch.float32)


ASSETS = Path(__file__).parent.parent / "assets"  # rlvr/assets: models shipped with the package


def builtin_models() -> list[str]:
    """Models shipped inside the package (``rlvr/assets/<name>/``), usable by name."""
    return sorted(p.name for p in ASSETS.iterdir() if (p / "config.json").is_file()) if ASSETS.is_dir() else []


def builtin_model_path(name: str) -> Path | None:
    return ASSETS / name if name in builtin_models() else None


def resolve_model_path(path: str) -> str:
    """A local directory, a built-in model name (``tiny-arith``), or a hub id (needs network)."""
    builtin = builtin_model_path(path)
    if builtin is not None:
        return str(builtin)
    p = Path(path).expanduser()
    if p.exists():
        if not (p / "config.json").is_file():
            raise RlvrError(f"model directory {p} has no config.json (is it a save_pretrained() output?)")
        _check_model_type(p / "config.json")
        return str(p)
    if path.startswith((".", "/", "~")) or os.sep in path.rstrip("/").split("/", 1)[-1]:
        raise RlvrError(f"model path not found: {path}")
    return path  # a hub id such as Qwen/Qwen2.5-0.5B-Instruct


def _check_model_type(config_file: Path) -> None:
    """transformers meets an unknown ``model_type`` deep in loading, with a paragraph-long
    ValueError (and after the tokenizer loaded with only a warning): refuse it up front, naming the file."""
    from transformers import CONFIG_MAPPING

    try:
        model_type = json.loads(config_file.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError) as e:
        raise RlvrError(f"{config_file}: not a readable model config ({e})") from None
    if model_type not in CONFIG_MAPPING:
        raise RlvrError(f"{config_file}: unknown model_type {model_type!r} (not an architecture this transformers version knows)")


def max_positions(path: str) -> int | None:
    """The model's own position limit (``max_position_embeddings``), if its config states one."""
    from transformers import AutoConfig

    limit = getattr(AutoConfig.from_pretrained(resolve_model_path(path)), "max_position_embeddings", None)
    return int(limit) if limit else None


def load_tokenizer(path: str):
    from transformers import AutoTokenizer

    resolved = resolve_model_path(path)
    try:
        tok = AutoTokenizer.from_pretrained(resolved)
    except OSError as e:
        raise RlvrError(f"cannot load tokenizer from {path}: {str(e).splitlines()[0]}") from None
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    return tok


def load_model(path: str, dtype: str = "float32"):
    import torch
    from transformers import AutoModelForCausalLM

    resolved = resolve_model_path(path)
    try:
        return AutoModelForCausalLM.from_pretrained(resolved, dtype=getattr(torch, dtype))
    except OSError as e:
        raise RlvrError(f"cannot load model from {path}: {str(e).splitlines()[0]}") from None


def count_parameters(model) -> int:
    """Distinct parameters; under ZeRO-3 a parameter's full size is ``ds_numel`` (its local shard is empty)."""
    return sum(getattr(p, "ds_numel", p.numel()) for p in {id(p): p for p in model.parameters()}.values())
