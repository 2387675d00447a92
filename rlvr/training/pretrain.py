"""``rlvr pretrain``: next-token training on a text corpus.

The corpus is a plain-text file, a JSONL file (one document per line in ``data.field``), or a
registered dataset rendered as prompt + worked solution (the tiny model's arithmetic curriculum).
Documents are tokenized, each followed by EOS, and packed into ``data.seq_len`` blocks; a
``data.val_fraction`` of the blocks is held out for the validation loss. Without ``model.path`` a
tokenizer is trained on the corpus and a tiny model is built from ``model.tiny``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rlvr.config import field, section
from rlvr.data import DatasetConfig
from rlvr.data.lm import collate_blocks, pack_documents, step_indices
from rlvr.errors import RlvrError
from rlvr.io import iter_jsonl_objects
from rlvr.models.load import build_tiny_model, load_model, load_tokenizer
from rlvr.models.tokenizer import train_tokenizer
from rlvr.prompts import get_template
from rlvr.training.batching import plan_micro_batches
from rlvr.training.supervised import StageConfig, SupervisedTask, mean_nll, shard, train_supervised


@dataclass
class CorpusConfig:
    """Pretraining text: a file, or a dataset rendered as prompt + solution."""

    path: str | None = field(None, help="text or JSONL corpus file; null: use `dataset`")
    format: Literal["auto", "text", "jsonl"] = field("auto", help="auto: .jsonl files are JSONL, anything else plain text")
    text_field: str = field("text", help="JSONL field holding a document")
    dataset: DatasetConfig = section(DatasetConfig, "dataset whose problems (prompt + worked solution) form the corpus when path is null")
    template: str = field("arith", check=get_template, help="prompt template used to render dataset problems")
    seq_len: int = field(128, help="tokens per packed training block")
    val_fraction: float = field(0.02, help="share of blocks held out for the validation loss")


@dataclass
class PretrainConfig(StageConfig):
    """``rlvr pretrain``: next-token training."""

    data: CorpusConfig = section(CorpusConfig, "the corpus")


def iter_documents(cfg: CorpusConfig) -> Iterator[str]:
    if cfg.path is None:
        from rlvr.data import load_problems

        template = get_template(cfg.template)
        for p in load_problems(cfg.dataset):
            if p.solution:
                yield template.render(p) + template.response(p)
        return
    path = Path(cfg.path)
    if not path.is_file():
        raise RlvrError(f"corpus file not found: {path}")
    fmt = cfg.format if cfg.format != "auto" else ("jsonl" if path.suffix == ".jsonl" else "text")
    if fmt == "jsonl":
        for i, row in iter_jsonl_objects(path, errors="replace"):
            if not isinstance(row, dict) or not isinstance(row.get(cfg.text_field), str):
                raise RlvrError(f"{path}:{i}: no string field '{cfg.text_field}' (set data.text_field)")
            yield row[cfg.text_field]
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        doc: list[str] = []
        for line in f:  # blank lines separate documents
            if line.strip():
                doc.append(line)
            elif doc:
                yield "".join(doc).rstrip("\n")
                doc = []
        if doc:
            yield "".join(doc).rstrip("\n")


def run_pretrain(cfg: PretrainConfig) -> Path:
    docs = list(iter_documents(cfg.data))
    if not docs:
        raise RlvrError(f"the corpus is empty ({cfg.data.path or 'dataset ' + cfg.data.dataset.name})")
    if cfg.model.path:
        tokenizer = load_tokenizer(cfg.model.path)
        factory = lambda: load_model(cfg.model.path)  # noqa: E731
    else:
        tokenizer = train_tokenizer(iter(docs), cfg.model.tokenizer)
        factory = lambda: build_tiny_model(cfg.model.tiny, tokenizer, seed=cfg.run.seed)  # noqa: E731
    blocks = pack_documents(docs, tokenizer, cfg.data.seq_len)
    n_val = int(len(blocks) * cfg.data.val_fraction) if len(blocks) > 1 else 0
    val, train = blocks[:n_val], blocks[n_val:]

    def micro_batches(idx: list[int]) -> list[list[int]]:
        # Blocks are all seq_len long: a token budget is a number of blocks.
        lc = cfg.learner
        return plan_micro_batches([cfg.data.seq_len] * len(idx), lc.micro_batch_size, lc.max_tokens_per_micro_batch, items=idx)

    def batch(step: int, batch_size: int, rank: int, world_size: int):
        idx = shard(step_indices(len(train), batch_size, step, cfg.run.seed), rank, world_size)
        return [collate_blocks(train[chunk]) for chunk in micro_batches(idx)]

    def evaluate(learner, step: int) -> dict[str, float]:
        if not n_val:
            return {}
        chunks = micro_batches(list(range(n_val)))
        return {"val_loss": mean_nll(learner, [collate_blocks(val[c]) for c in chunks])}

    task = SupervisedTask("pretrain", len(train), batch, evaluate, plot_keys=["loss", "val_loss", "lr"])
    return train_supervised(task, cfg, factory, tokenizer)
