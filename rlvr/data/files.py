"""Generic loaders for the user's own files: JSONL, CSV, Parquet and HF ``datasets``.

Each is registered as a dataset (``name: jsonl`` etc.) that reads ``cfg.path`` and maps fields with
``cfg.question_field``/``answer_field``/``answer_from``/..., so bringing your own problems is a config
change only. Readers yield ``(where, row)`` with ``where`` = ``path:line`` (CSV: the line the record
ends on; Parquet/HF: ``path:row N``), which is what bad-row errors name.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rlvr.data.config import DatasetConfig
from rlvr.data.problem import Problem
from rlvr.data.registry import DATASETS, Dataset
from rlvr.data.rows import BadRow, BadRowError, RawRow, mapped_problem, rows_to_problems, warn_skipped
from rlvr.errors import RlvrError

Reader = Callable[[DatasetConfig], Iterator[RawRow]]


def _existing(path: str | None) -> Path:
    if not path:
        raise RlvrError("dataset path is not set")
    p = Path(path).expanduser()
    if not p.exists():
        raise RlvrError(f"dataset file not found: {p}")
    return p


def _too_long(limit: int) -> BadRowError:
    return BadRowError(f"row is longer than {limit} bytes (data.max_row_bytes)")


def read_jsonl(cfg: DatasetConfig) -> Iterator[RawRow]:
    # Bytes, line by line: a text-mode reader decodes ahead in blocks, so an encoding error would
    # name the line being read when its block was decoded, not the line holding the bad byte; and
    # readline's limit keeps a giant line from being read whole.
    path = _existing(cfg.path)
    limit = cfg.max_row_bytes
    with open(path, "rb") as f:
        lineno = 0
        while True:
            raw = f.readline(limit + 1)
            if not raw:
                return
            lineno += 1
            if len(raw.rstrip(b"\r\n")) > limit:
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                    raw = f.readline(1 << 20)
                yield f"{path}:{lineno}", _too_long(limit)
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield f"{path}:{lineno}", BadRowError(f"not UTF-8 text ({e.reason} at byte {e.start + 1} of the line)")
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                yield f"{path}:{lineno}", BadRowError(f"not valid JSON ({e.msg} at column {e.colno})")
                continue
            if not isinstance(row, dict):
                yield f"{path}:{lineno}", BadRowError(f"expected a JSON object, got {type(row).__name__}")
                continue
            yield f"{path}:{lineno}", row


def read_csv(cfg: DatasetConfig) -> Iterator[RawRow]:
    path = _existing(cfg.path)
    limit = cfg.max_row_bytes
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if None in row:  # more cells than header columns
                    yield where, BadRowError(f"more cells than the {len(reader.fieldnames or [])} header columns")
                    continue
                if sum(len(v.encode()) for v in row.values() if isinstance(v, str)) > limit:
                    yield where, _too_long(limit)
                    continue
                yield where, {k: v for k, v in row.items() if v not in (None, "")}
        except UnicodeDecodeError as e:
            # The text reader decodes ahead in blocks: find the line that holds the bad byte.
            raise RlvrError(f"{path}:{_first_undecodable_line(path)}: not UTF-8 text ({e.reason})") from None
        except csv.Error as e:  # e.g. a field over the csv module's own limit of 131072 characters
            raise RlvrError(f"{path}:{reader.line_num + 1}: {e}") from None  # the failing line is not counted yet


def _first_undecodable_line(path: Path) -> int:
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return lineno
    return 0


def read_parquet(cfg: DatasetConfig) -> Iterator[RawRow]:
    import pyarrow.parquet as pq

    path = _existing(cfg.path)
    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises many types for a corrupt file
        raise RlvrError(f"cannot read parquet file {path}: {e}") from None
    for i, row in enumerate(table.to_pylist()):
        yield f"{path}:row {i + 1}", row


def read_hf(cfg: DatasetConfig) -> Iterator[RawRow]:
    """A local ``save_to_disk`` directory (always offline), else ``datasets.load_dataset(path)``
    (a hub id when the user has network, or a local data directory). ``options.subset`` selects a
    hub config such as ``main`` for ``openai/gsm8k``."""
    try:
        import datasets
    except ImportError:
        raise RlvrError("name: hf needs the `datasets` package: pip install 'rlvr[hf]'") from None
    assert cfg.path is not None
    local = Path(cfg.path).expanduser()
    try:
        if (local / "dataset_dict.json").exists() or (local / "state.json").exists():
            ds: Any = datasets.load_from_disk(str(local))
            if isinstance(ds, datasets.DatasetDict):
                if cfg.split not in ds:
                    raise RlvrError(f"{local}: no split '{cfg.split}' (splits: {', '.join(ds)})")
                ds = ds[cfg.split]
        else:
            ds = datasets.load_dataset(cfg.path, cfg.options.get("subset"), split=cfg.split)
    except RlvrError:
        raise
    except Exception as e:  # noqa: BLE001 - hub/network/format errors all mean "cannot load"
        raise RlvrError(f"cannot load HF dataset '{cfg.path}' split '{cfg.split}': {e}") from None
    for i, row in enumerate(ds):
        yield f"{cfg.path}[{cfg.split}]:row {i + 1}", dict(row)


def read_problems(cfg: DatasetConfig, reader: Reader) -> tuple[list[Problem], list[BadRow]]:
    """Problems and bad rows of the user's file (bad rows raise when ``on_bad_row`` is error)."""
    return rows_to_problems(reader(cfg), lambda row, where: mapped_problem(row, cfg, where), cfg.on_bad_row)


READERS: dict[str, Reader] = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet, "hf": read_hf}


def reader_for(path: str) -> str:
    """The generic loader name for a file, from its extension (used by ``rlvr data validate``)."""
    suffix = Path(path).suffix.lower()
    by_suffix = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    if Path(path).is_dir():
        return "hf"
    raise RlvrError(f"cannot tell the format of {path} from its extension (.jsonl, .csv, .parquet or an HF dataset dir); pass --format")


def _file_dataset(fmt: str, reader: Reader) -> Dataset:
    def load(cfg: DatasetConfig) -> list[Problem]:
        problems, bad = read_problems(cfg, reader)
        warn_skipped(bad, str(cfg.path))
        return problems

    return Dataset(
        load=load,
        description=f"your own {fmt} file: set path and the field mapping (question_field, answer_field, answer_from, ...)",
        license="yours",
        options=("subset",) if fmt == "hf" else (),
    )


for _fmt, _reader in READERS.items():
    DATASETS.register(_fmt, _file_dataset(_fmt, _reader))
