"""``samples.jsonl``: one verified completion per line, the raw material every eval figure comes from.

The file doubles as the eval's checkpoint. Lines are appended and flushed one at a time
(:class:`rlvr.io.JsonlWriter`), so after a crash it holds every finished sample plus at most
one torn line; :func:`open_samples` drops that line and reports which samples are done, and a
rerun generates only the rest.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr.errors import RlvrError
from rlvr.io import JsonlWriter, read_jsonl

SAMPLES_FILE = "samples.jsonl"
GREEDY_FILE = "greedy.jsonl"

SampleKey = tuple[str, str, str, int]
"""(model, dataset, problem_id, sample): identifies one completion across runs."""


@dataclass(frozen=True)
class EvalSample:
    """One verified completion.

    ``cluster`` is the answer's equivalence class among the samples of its problem (from
    :func:`rlvr.eval.passk.cluster_answers`; None when nothing was extracted), ``length`` the
    completion length in tokens. ``subject``/``level`` are copied from the dataset row when it
    has them, for per-subject breakdowns. ``model`` is "" when only one model is evaluated.
    """

    dataset: str
    problem_id: str
    sample: int
    completion: str
    extracted: str | None
    correct: bool
    cluster: int | None
    length: int
    model: str = ""
    subject: str | None = None
    level: str | None = None

    @property
    def key(self) -> SampleKey:
        return (self.model, self.dataset, self.problem_id, self.sample)

    @classmethod
    def from_record(cls, record: Mapping[str, Any], where: str = "record") -> EvalSample:
        """Validate a JSON record; ``where`` (e.g. ``samples.jsonl:12``) prefixes error messages."""
        required = ("dataset", "problem_id", "sample", "completion", "extracted", "correct", "cluster", "length")
        missing = [name for name in required if name not in record]
        if missing:
            raise RlvrError(f"{where}: missing field(s) {', '.join(missing)}")
        for name, kind in (("sample", int), ("length", int), ("correct", bool)):
            if not isinstance(record[name], kind):
                raise RlvrError(f"{where}: field '{name}' must be {kind.__name__}, got {record[name]!r}")
        if record["cluster"] is not None and not isinstance(record["cluster"], int):
            raise RlvrError(f"{where}: field 'cluster' must be an integer or null, got {record['cluster']!r}")

        def optional_str(name: str) -> str | None:
            value = record.get(name)
            return None if value is None else str(value)

        return cls(
            dataset=str(record["dataset"]),
            problem_id=str(record["problem_id"]),
            sample=record["sample"],
            completion=str(record["completion"]),
            extracted=optional_str("extracted"),
            correct=record["correct"],
            cluster=record["cluster"],
            length=record["length"],
            model=str(record.get("model") or ""),
            subject=optional_str("subject"),
            level=optional_str("level"),
        )

    def to_record(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        for optional in ("subject", "level"):
            if record[optional] is None:
                del record[optional]
        return record


def read_samples(path: str | Path) -> list[EvalSample]:
    """All complete samples in ``path`` (missing file: none). A repeated key is an error: two
    runs wrote into the same output directory at once, and the figures would double-count."""
    samples: list[EvalSample] = []
    seen: set[SampleKey] = set()
    for i, record in enumerate(read_jsonl(path)):
        sample = EvalSample.from_record(record, where=f"{path}: record {i + 1}")
        if sample.key in seen:
            raise RlvrError(f"{path}: record {i + 1} repeats sample {sample.key}; was the eval run twice into one directory?")
        seen.add(sample.key)
        samples.append(sample)
    return samples


def _drop_torn_tail(path: Path) -> None:
    """Truncate a line left half-written by a crash, so the next append starts on a fresh line
    (appending after it would glue two records into one invalid line in the middle of the file)."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return
        f.seek(0)
        f.truncate(f.read().rfind(b"\n") + 1)


def open_samples(path: str | Path) -> tuple[list[EvalSample], JsonlWriter]:
    """Resume ``path``: return the samples already written and a writer that appends new ones.

    Use ``{s.key for s in done}`` to skip finished work. For a problem cut off part-way,
    cluster the written samples' ``extracted`` followed by the new ones (sample order) so the
    cluster ids agree (see :func:`rlvr.eval.passk.cluster_answers`). The caller closes the
    writer (it is a context manager).
    """
    path = Path(path)
    done = read_samples(path)
    _drop_torn_tail(path)
    return done, JsonlWriter(path)


def write_samples(writer: JsonlWriter, samples: Iterable[EvalSample]) -> None:
    """Append samples, one flushed line each (so a crash loses at most the line being written)."""
    for sample in samples:
        writer.write(sample.to_record())
