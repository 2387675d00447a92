"""Evaluation: one path from a generator and problems to verified, clustered samples, and ``rlvr eval`` on top of it.

The core (:func:`stream_samples`, :func:`evaluate`) takes a generator, a verifier pool, problems,
a template and one or more :class:`EvalPass` settings, generates in chunks with the generate/verify
overlap of :func:`rlvr.rollout.sample.score_chunks` and turns each verified chunk into
:class:`~rlvr.eval.samples.EvalSample` s. Every figure derives from those samples: greedy accuracy
and per-problem lists (:func:`problem_accuracy`, for the trainer's paired before/after bootstrap),
pass@k / maj@k / avg@n (:func:`rlvr.eval.summary.summarise`). ``rlvr eval``, the trainer's
before/after and periodic evaluations and SFT's held-out accuracy all go through it.

``rlvr eval``: for each model (one generator engine at a time, closed before the next model loads)
and each dataset, two passes run over the problems in fixed chunks of ``prompts_per_chunk`` prompts:

* greedy (``n=1``, temperature 0) into ``greedy.jsonl``, when ``greedy`` is on;
* sampled (``sampling.n`` completions at ``sampling.temperature`` / ``top_p``) into ``samples.jsonl``.

Each verified chunk is appended to its file, one flushed line per sample, as soon as its verdicts
are in. At the end every sample of the requested (model, dataset, problem) triples goes to
:func:`rlvr.eval.report.write_report`: ``results.json``, ``report.md`` and ``passk.png``, with
bootstrap intervals over problems. Every check that can refuse the run (config values, datasets,
templates, models and prompt lengths, the output directory and its earlier samples)
runs before the first engine starts.

Resume: the two JSONL files are the checkpoint. A rerun into the same ``output_dir`` reads them
(:func:`rlvr.eval.samples.open_samples`, which drops a torn last line), skips every chunk whose
problems all have their samples, and regenerates a chunk in which some problem is short; a run
that crashed after its last chunk was written (in the report, say) generates nothing on resume.
Samples already written are *kept*; only the missing sample indices are appended. Chunks are cut
at fixed positions and a chunk's seed is ``seed + its first problem's position`` (per-sample seeds
come from :func:`rlvr.generation.base.sample_seed`), so the regenerated chunk draws the same
completions as the interrupted run would have and a resumed eval reproduces an uninterrupted one
exactly (given the same ``seed`` and ``prompts_per_chunk``). Raising ``n`` later also reuses the
samples already drawn: vLLM seeds the ``j``-th child of a request with ``seed + j``, so the first
samples of a larger ``n`` are the samples of the smaller one. What would make samples of two runs
disagree (other temperature, top-p, max_tokens, seed, majority, dataset definition or template
under one label) is refused, via ``eval_meta.json``.

Majority vote (``majority``) groups extracted answers by verifier equivalence
(:class:`AnswerEquivalence`, :func:`rlvr.eval.passk.cluster_answers`), per problem, over all its
samples in sample order: cluster ids are prefix-stable, so the ids of samples written by an
interrupted run are recomputed identically when the rest arrive.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr.config import ConfigError, field, from_dict, save_config, section
from rlvr.data import DatasetConfig, Problem, get_dataset, load_problems
from rlvr.errors import RlvrError
from rlvr.eval.bootstrap import N_RESAMPLES
from rlvr.eval.passk import cluster_answers
from rlvr.eval.samples import GREEDY_FILE, SAMPLES_FILE, EvalSample, SampleKey, open_samples, write_samples
from rlvr.eval.summary import Results, flat_metrics, summarise
from rlvr.generation.base import Completion, Generator, GeneratorConfig, SamplingConfig
from rlvr.io import atomic_write_json
from rlvr.rollout.sample import Chunk, ScoredCompletion, encode_prompts, fit_prompts, score_chunks, split_chunks
from rlvr.verifiers import Verdict, VerifierPool, VerifyRequest
from rlvr.verifiers.config import VerifierConfig

META_FILE = "eval_meta.json"
CONFIG_FILE = "config.yaml"

DEFAULT_TEMPLATES: dict[str, str] = {
    "arith": "arith",
    "countdown": "r1-zero",
    "gsm8k": "gsm8k",
    "math": "qwen-math",
    "math500": "qwen-math",
    "aime2024": "qwen-math",
    "aime2025": "qwen-math",
    "amc2023": "qwen-math",
    "champ": "qwen-math",
    "abench-physics": "physics",
    "jeebench-physics": "physics",
    "scibench-physics": "physics",
    "theoremqa-physics": "physics",
}
"""Prompt template of each built-in dataset (``templates.<label>`` overrides it)."""

GREEDY = SamplingConfig(n=1, temperature=0.0)
"""The greedy pass's settings (its ``max_tokens`` and ``stop`` come from ``sampling``)."""


@dataclass
class EvalSamplingConfig(SamplingConfig):
    """The sampled pass. Its defaults are the usual reasoning-eval setting (DeepSeek-R1 and
    Qwen2.5-Math reports: temperature 0.6, top-p 0.95); they live on the class, not in a
    default factory, so that ``sampling.n=64`` alone keeps them."""

    n: int = field(16, ge=1, help="completions per problem (--n)")
    temperature: float = field(0.6, ge=0, help="softmax temperature")
    top_p: float = field(0.95, gt=0, le=1, help="nucleus sampling mass (1 disables)")
    max_tokens: int = field(1024, ge=1, help="most tokens per completion (the greedy pass uses the same)")


@dataclass
class EvalGeneratorConfig(GeneratorConfig):
    """The engine for an eval: unlike in training it has the accelerator to itself and never sleeps."""

    max_model_len: int = field(4096, ge=2, help="longest prompt + completion in tokens")
    gpu_memory_utilization: float = field(0.85, gt=0, le=1, help="vLLM on GPU: fraction of GPU memory for weights + KV cache")
    sleep_between_steps: bool = field(False, help="vLLM on GPU: release memory after each generate call (no use in an eval)")


MAJORITY_AUTO_N = 64
"""Largest ``sampling.n`` for which maj@k is on unless configured: its exact estimator costs about
``n^3`` per distinct vote pattern (n=64: a tenth of a second, n=256: half a minute)."""


def default_ks(n: int) -> list[int]:
    """Powers of two up to ``n``, and ``n`` itself."""
    return sorted({2**i for i in range(n.bit_length()) if 2**i <= n} | {n})


@dataclass
class EvalConfig:
    """``rlvr eval``: pass@k / maj@k / greedy accuracy of one or more models, with 95% intervals."""

    models: list[str] = field(default_factory=list, help="models (dir, built-in name or hub id), each optionally LABEL=PATH (--model, repeatable)")
    datasets: list[str] = field(default_factory=list, help="dataset labels: registered dataset names or keys of `data` (--datasets a,b)")
    data: dict[str, Any] = field(
        default_factory=dict,
        help="DatasetConfig keys per label, e.g. {arith: {split: test, options: {level: hard}}}; `name` lets a label differ from its dataset",
    )
    templates: dict[str, str] = field(
        default_factory=dict,
        help="prompt template per label (defaults: gsm8k; qwen-math for math/aime/amc/champ; physics; arith; r1-zero for countdown)",
    )
    limit: int | None = field(None, ge=1, help="at most this many problems per dataset, the first ones (data.<label>.limit wins) (--limit)")
    sampling: EvalSamplingConfig = section(EvalSamplingConfig, "the sampled pass: n per problem (--n), temperature, top_p, max_tokens, stop")
    k: list[int] = field(default_factory=list, help="k of pass@k and maj@k (--k 1,2,4); empty: powers of two up to n, and n")
    majority: bool | None = field(
        None, help=f"cluster answers and report maj@k (--maj / --no-maj); null: on when sampling.n <= {MAJORITY_AUTO_N} (its cost grows ~n^3)"
    )
    greedy: bool = field(True, help="also decode every problem greedily (n=1, temperature 0) into greedy.jsonl")
    seed: int = field(0, help="sampling seed; with prompts_per_chunk it fixes every sample")
    output_dir: str = field("runs/eval", help="results.json, samples.jsonl, greedy.jsonl, report.md, passk.png (--output)")
    resume: bool = field(True, help="continue from the samples already in output_dir (false: refuse a directory that has some)")
    prompts_per_chunk: int = field(64, ge=1, help="prompts per generator call; the verifier scores one chunk while the next generates")
    verifier: VerifierConfig = field(
        default_factory=lambda: VerifierConfig(workers=2), help="the verifier pool that scores samples and compares maj@k answers"
    )
    n_resamples: int = field(N_RESAMPLES, ge=1, help="bootstrap resamples for the 95% intervals")
    generator: EvalGeneratorConfig = section(EvalGeneratorConfig, "generation engine")
    progress: bool = field(True, help="show a progress bar")

    def validate(self) -> None:
        for k in self.k:
            if k < 1:
                raise ValueError(f"k: every k must be at least 1, got {k} (--k)")
            if k > self.sampling.n:
                raise ValueError(f"k: pass@{k} needs at least {k} samples per problem but sampling.n is {self.sampling.n} (lower --k or raise --n)")
        for what, labels in (("models", [label for label, _ in self.model_specs()]), ("datasets", self.datasets)):
            repeated = sorted({x for x in labels if labels.count(x) > 1})
            if repeated:
                raise ValueError(f"{what}: '{repeated[0]}' appears twice (give each a distinct label)")

    @property
    def maj(self) -> bool:
        """Whether this eval clusters answers and reports maj@k."""
        return self.majority if self.majority is not None else self.sampling.n <= MAJORITY_AUTO_N

    @property
    def ks(self) -> list[int]:
        return sorted(set(self.k)) if self.k else default_ks(self.sampling.n)

    def model_specs(self) -> list[tuple[str, str]]:
        """(label, path) per model: ``LABEL=PATH`` entries, else the path is its own label."""
        return [tuple(m.split("=", 1)) if "=" in m else (m, m) for m in self.models]  # type: ignore[misc]


# ----------------------------------------------------------------------------- what to evaluate


@dataclass(frozen=True)
class EvalTask:
    """One dataset of an eval: its label in the outputs, how it loads, its template, its problems."""

    label: str
    data: DatasetConfig
    template_name: str
    template: Any  # rlvr.prompts.PromptTemplate
    problems: list[Problem]


def _default_split(name: str) -> str:
    splits = get_dataset(name).splits
    if "test" in splits or not splits:  # file loaders take any split; only hf reads it
        return "test"
    if len(splits) == 1:
        return splits[0]
    raise RlvrError(f"dataset '{name}' has no test split; choose one of {', '.join(splits)} with data.{name}.split=...")


def resolve_tasks(cfg: EvalConfig) -> list[EvalTask]:
    """Load every dataset of ``cfg`` with its template (errors name the config key to fix)."""
    from rlvr.prompts import get_template

    tasks = []
    for label in cfg.datasets:
        spec = cfg.data.get(label) or {}
        if not isinstance(spec, dict):
            raise ConfigError(f"data.{label}: expected a mapping of DatasetConfig keys, got {spec!r}")
        spec = {"name": label, **spec}
        spec.setdefault("split", _default_split(str(spec["name"])))
        if cfg.limit is not None:
            spec.setdefault("limit", cfg.limit)
        data = from_dict(DatasetConfig, spec, prefix=f"data.{label}")
        if not data.require_answer:
            raise ConfigError(f"data.{label}.require_answer: evaluation checks answers against their keys; it cannot be false")
        template_name = cfg.templates.get(label) or DEFAULT_TEMPLATES.get(data.name)
        if template_name is None:
            raise RlvrError(f"dataset '{label}' has no default prompt template: set templates.{label}=NAME (e.g. qwen-math)")
        problems = load_problems(data)
        if not problems:
            raise RlvrError(f"dataset '{label}' has no problems (data.{label}: check split, limit and options)")
        repeated = next((pid for pid, count in Counter(p.id for p in problems).items() if count > 1), None)
        if repeated is not None:
            raise RlvrError(f"dataset '{label}': problem id '{repeated}' appears twice; samples are keyed by problem id")
        tasks.append(EvalTask(label, data, template_name, get_template(template_name), problems))
    return tasks


# ----------------------------------------------------------------------------- samples


class AnswerEquivalence:
    """``same(a, b)``: do two answers extracted from responses to one problem say the same thing?

    The verifier decides, with ``b`` as the answer key and ``a`` written the way the template marks
    answers: votes are then grouped by exactly the rules that grade them (``1/2`` with ``0.5``,
    ``x(x+2)`` with ``x^2+2x``, ``100 cm`` with ``1 m``). The problem's typing applies (answer
    type, tolerances, choices) except where it describes the key rather than an answer: a Countdown
    key is the target number while answers are expressions (compared as expressions instead), and a
    separately stored unit belongs to the key. Stage 1 (extraction, exact and plain-number
    comparisons) runs here; only undecided pairs go to the pool's workers, under its timeout.
    """

    def __init__(self, pool: VerifierPool, template: Any, problem: Problem):
        from rlvr.verifiers.api import prepare

        self._prepare = prepare
        self.pool = pool
        self.template = template
        kwargs = {k: v for k, v in problem.verify_kwargs().items() if k not in ("numbers", "unit")}
        if kwargs.get("answer_type") == "countdown":
            del kwargs["answer_type"]
        self.kwargs = kwargs

    def __call__(self, a: str, b: str) -> bool:
        return self.match(a, [b]) == 0

    def match(self, answer: str, representatives: Sequence[str]) -> int | None:
        """Index of the first representative ``answer`` equals (see :data:`rlvr.eval.passk.Match`):
        the comparisons stage 1 cannot settle go to the pool's workers together, in one batch."""
        first = [
            self._prepare(
                VerifyRequest(response=self.template.final(answer), answer=rep, marker=self.template.answer_marker, fallback=False, **self.kwargs)
            )
            for rep in representatives
        ]
        for i, verdict in enumerate(first):  # a match settled in stage 1 before any undecided pair needs no worker
            if not isinstance(verdict, Verdict):
                break
            if verdict.correct:
                return i
        undecided = [i for i, v in enumerate(first) if not isinstance(v, Verdict)]
        decided = dict(zip(undecided, self.pool.run_pending([first[i] for i in undecided]))) if undecided else {}
        return next((i for i, v in enumerate(first) if decided.get(i, v).correct), None)


def _sample(problem: Problem, index: int, completion: Completion, verdict: Verdict, dataset: str, model: str) -> EvalSample:
    meta = problem.metadata

    def text(key: str) -> str | None:
        return None if meta.get(key) is None else str(meta[key])

    return EvalSample(
        dataset=dataset,
        problem_id=problem.id,
        sample=index,
        completion=completion.text,
        extracted=verdict.extracted,
        correct=verdict.correct,
        cluster=None,
        length=len(completion.token_ids),
        model=model,
        subject=text("subject"),
        level=text("level"),
    )


def score_group(
    group: Sequence[ScoredCompletion],
    same: AnswerEquivalence | None,
    *,
    dataset: str,
    model: str = "",
    written: dict[int, EvalSample] | None = None,
) -> list[EvalSample]:
    """The samples of one problem that are not in ``written`` (sample index -> sample), with answer
    clusters (none when ``same`` is None: no majority vote).

    All samples are clustered together in sample order (written ones with their stored answers):
    cluster ids are prefix-stable, so a written sample's recomputed id equals its stored one, and
    a mismatch means the file was edited or the verifier changed since: mixing the two clusterings
    would corrupt maj@k, so that is an error.
    """
    written = written or {}
    problem = group[0].problem
    new = [_sample(problem, j, s.completion, s.verdict, dataset, model) for j, s in enumerate(group) if j not in written]
    if same is None:
        return new
    ordered = sorted([*written.values(), *new], key=lambda s: s.sample)
    classes = cluster_answers([s.extracted for s in ordered], same.match, [s.correct for s in ordered])
    clusters = dict(zip((s.sample for s in ordered), classes))
    for s in written.values():
        if s.cluster != clusters[s.sample]:
            raise RlvrError(
                f"{SAMPLES_FILE}: sample {s.sample} of problem {s.problem_id} ({dataset}) has answer cluster {s.cluster}, "
                f"but clustering its problem's answers gives {clusters[s.sample]}; remove that problem's lines to redo it"
            )
    return [dataclasses.replace(s, cluster=clusters[s.sample]) for s in new]


# ----------------------------------------------------------------------------- one evaluation path


@dataclass(frozen=True)
class EvalPass:
    """One decoding setting of an evaluation: ``greedy`` or ``sampled`` (each its own file in
    ``rlvr eval``), with the seed its chunks are offset from."""

    name: str
    sampling: SamplingConfig
    seed: int = 0


def greedy_sampling(sampling: SamplingConfig) -> SamplingConfig:
    """The greedy pass of a sampled setting: one completion at temperature 0, same budget and stops."""
    return dataclasses.replace(GREEDY, max_tokens=sampling.max_tokens, stop=sampling.stop)


def eval_chunks(
    problems: list[Problem], prompt_ids: list[list[int]], template: Any, run: EvalPass, *, dataset: str, prompts_per_chunk: int
) -> list[Chunk]:
    """The chunks of one pass over one dataset, tagged ``(dataset, pass name)``."""
    return split_chunks(problems, prompt_ids, template, run.sampling, run.seed, prompts_per_chunk, tag=(dataset, run.name))


def stream_samples(
    generator: Generator,
    pool: VerifierPool,
    chunks: Iterable[Chunk],
    *,
    model: str = "",
    majority: bool = True,
    written: Callable[[str, str, str], dict[int, EvalSample]] | None = None,
) -> Iterator[tuple[Chunk, list[EvalSample]]]:
    """Every evaluation's core: generate ``chunks`` (tagged by :func:`eval_chunks`) with the
    generate/verify overlap of :func:`rlvr.rollout.sample.score_chunks`, and yield each chunk with
    its samples as soon as it is verified (and, with ``majority``, its answers clustered).

    ``written(pass name, dataset, problem id)`` gives the samples a resumed eval already has: only
    the others are yielded, clustered together with them."""
    for chunk, groups in score_chunks(generator, pool, chunks):
        dataset, run = chunk.tag
        samples = []
        for group in groups:
            problem = group[0].problem
            same = AnswerEquivalence(pool, chunk.template, problem) if majority else None
            done = written(run, dataset, problem.id) if written is not None else None
            samples += score_group(group, same, dataset=dataset, model=model, written=done)
        yield chunk, samples


def evaluate(
    generator: Generator,
    pool: VerifierPool,
    problems: list[Problem],
    prompt_ids: list[list[int]],
    template: Any,
    passes: Sequence[EvalPass],
    *,
    dataset: str = "heldout",
    majority: bool = True,
    prompts_per_chunk: int = 64,
) -> dict[str, list[EvalSample]]:
    """The samples of each pass (by name) of the generator's current weights on ``problems``, in
    problem and sample order, nothing written: the in-memory evaluation of a trainer. From them
    come :func:`problem_accuracy` (per-problem lists for a paired bootstrap) and
    :func:`rlvr.eval.summary.summarise` (pass@k, maj@k, avg@n, greedy)."""
    chunks = [c for run in passes for c in eval_chunks(problems, prompt_ids, template, run, dataset=dataset, prompts_per_chunk=prompts_per_chunk)]
    out: dict[str, list[EvalSample]] = {run.name: [] for run in passes}
    for chunk, samples in stream_samples(generator, pool, chunks, majority=majority):
        out[chunk.tag[1]] += samples
    return out


def problem_accuracy(samples: Sequence[EvalSample]) -> list[float]:
    """Share of correct samples per problem, problems in order of first appearance (pass@1 per problem)."""
    by_problem: dict[str, list[bool]] = {}
    for s in samples:
        by_problem.setdefault(s.problem_id, []).append(s.correct)
    return [sum(oks) / len(oks) for oks in by_problem.values()]


# ----------------------------------------------------------------------------- rlvr eval


class _Written:
    """Samples already in one JSONL file, by (model, dataset, problem), and its appending writer."""

    def __init__(self, path: Path):
        done, self.writer = open_samples(path)
        self.by_problem: dict[tuple[str, str, str], dict[int, EvalSample]] = {}
        for s in done:
            self.by_problem.setdefault((s.model, s.dataset, s.problem_id), {})[s.sample] = s

    def get(self, model: str, dataset: str, problem_id: str) -> dict[int, EvalSample]:
        return self.by_problem.get((model, dataset, problem_id), {})

    def missing(self, model: str, dataset: str, problem_id: str, n: int) -> bool:
        """Whether any of the problem's sample indices ``0 .. n-1`` is not written yet."""
        have = self.get(model, dataset, problem_id)
        return any(j not in have for j in range(n))

    def add(self, samples: list[EvalSample]) -> None:
        write_samples(self.writer, samples)
        for s in samples:
            self.by_problem.setdefault((s.model, s.dataset, s.problem_id), {})[s.sample] = s

    def select(self, keys: Sequence[SampleKey]) -> list[EvalSample]:
        """The samples with these keys, in this order (all must exist)."""
        return [self.by_problem[(m, d, p)][j] for m, d, p, j in keys]

    def count(self) -> int:
        return sum(len(v) for v in self.by_problem.values())


PASS_FILES = {"greedy": GREEDY_FILE, "sampled": SAMPLES_FILE}
"""The file each pass of ``rlvr eval`` writes its samples to."""


def _meta(cfg: EvalConfig, tasks: list[EvalTask]) -> dict[str, Any]:
    """What two runs into one directory must agree on for their samples to belong together."""
    sampling = {k: v for k, v in dataclasses.asdict(cfg.sampling).items() if k != "n"}
    datasets = {t.label: {"data": {k: v for k, v in dataclasses.asdict(t.data).items() if k != "limit"}, "template": t.template_name} for t in tasks}
    return {"sampling": sampling, "seed": cfg.seed, "majority": cfg.maj, "datasets": datasets}


def _check_meta(out: Path, meta: dict[str, Any], has_samples: bool) -> dict[str, Any]:
    """Merge this run's ``meta`` into the directory's; refuse a disagreement (naming the key)."""
    path = out / META_FILE
    if not path.exists():
        return meta
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise RlvrError(f"{path}: unreadable ({e}); delete it only if {out} holds no samples") from None
    if has_samples:
        for key in ("sampling", "seed", "majority"):
            if old.get(key, True if key == "majority" else None) != meta[key]:  # older evals always clustered
                raise RlvrError(
                    f"{out} holds samples drawn with {key}={old.get(key)}, this run asks for {meta[key]}; "
                    f"use another --output (only n and k may change between runs into one directory"
                    f"{'; set majority explicitly' if key == 'majority' else ''})"
                )
        for label, spec in meta["datasets"].items():
            before = old.get("datasets", {}).get(label)
            if before is not None and before != spec:
                changed = sorted(k for k in spec if before.get(k) != spec[k])
                raise RlvrError(
                    f"{out} holds samples of dataset '{label}' with a different {' and '.join(changed)}; use another --output or another label for it"
                )
    return {**meta, "datasets": {**old.get("datasets", {}), **meta["datasets"]}}


@dataclass(frozen=True)
class _Model:
    """A model of the eval, resolved before any engine starts: its weights and every dataset's prompts."""

    label: str
    path: str
    tokenizer: Any
    prompt_ids: dict[str, list[list[int]]]  # dataset label -> prompt ids, in problem order


class EvalRunner:
    """Runs an :class:`EvalConfig`: see the module docstring.

    Everything that can refuse the run is checked before the first engine starts (datasets,
    templates, every model's tokenizer and prompt lengths, the output directory and
    its earlier samples), so a mistake never costs a generation."""

    def __init__(self, cfg: EvalConfig):
        if not cfg.models:
            raise RlvrError("no model to evaluate: pass --model PATH (config key models)")
        if not cfg.datasets:
            raise RlvrError("no dataset to evaluate on: pass --datasets NAME[,NAME...] (config key datasets)")
        self.cfg = cfg
        self.out = Path(cfg.output_dir)
        self.tasks = resolve_tasks(cfg)
        self.passes = ([EvalPass("greedy", greedy_sampling(cfg.sampling), cfg.seed)] if cfg.greedy else []) + [
            EvalPass("sampled", cfg.sampling, cfg.seed)
        ]
        self.models = self._resolve_models()

    def _resolve_models(self) -> list[_Model]:
        """Every model's tokenizer and prompt ids, after each dataset's ``data.on_overlong`` for
        that model, before any engine starts. A problem one model skips leaves the task for every
        model (the report compares models on the same problems), so prompts are encoded last."""
        from rlvr.models.load import load_tokenizer, resolve_model_path

        loaded, keep_last = [], {}
        for label, path in self.cfg.model_specs():
            resolved = resolve_model_path(path)
            tokenizer = load_tokenizer(resolved)
            for i, t in enumerate(self.tasks):
                problems, keep_last[label, t.label] = fit_prompts(
                    t.problems, t.template, tokenizer, t.data, f"data.{t.label}", self.cfg.sampling.max_tokens, self.cfg.generator, resolved
                )
                self.tasks[i] = dataclasses.replace(t, problems=problems)
            loaded.append((label, resolved, tokenizer))
        return [
            _Model(
                label,
                resolved,
                tokenizer,
                {t.label: encode_prompts(t.problems, t.template, tokenizer, keep_last[label, t.label]) for t in self.tasks},
            )
            for label, resolved, tokenizer in loaded
        ]

    def _open_output(self) -> dict[str, _Written]:
        cfg, out = self.cfg, self.out
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RlvrError(f"output_dir: cannot create {out} ({e.strerror or e})") from None
        files = [PASS_FILES[run.name] for run in self.passes]
        has_samples = any((out / f).exists() and (out / f).stat().st_size > 0 for f in PASS_FILES.values())
        if has_samples and not cfg.resume:
            raise RlvrError(f"{out} already holds samples and resume is false: use another --output or resume=true")
        meta = _check_meta(out, _meta(cfg, self.tasks), has_samples)
        atomic_write_json(out / META_FILE, meta)
        save_config(cfg, out / CONFIG_FILE)
        return {f: _Written(out / f) for f in files}

    def run(self) -> Results:
        from rlvr.eval.report import write_report  # imported first: a broken plotting stack must not cost a generation

        cfg = self.cfg
        written = self._open_output()
        try:
            already = sum(w.count() for w in written.values())
            if already:
                print(f"rlvr eval: resuming from {already} samples already in {self.out}", file=sys.stderr)
            with cfg.verifier.pool() as pool:
                for model in self.models:
                    self._evaluate_model(model, pool, written)
        finally:
            for w in written.values():
                w.writer.close()
        samples = written[SAMPLES_FILE].select(self._keys(cfg.sampling.n))
        greedy = written[GREEDY_FILE].select(self._keys(1)) if cfg.greedy else []
        return write_report(self.out, samples, greedy, cfg.ks, n_resamples=cfg.n_resamples, seed=cfg.seed, majority=cfg.maj)

    def _keys(self, n: int) -> list[SampleKey]:
        """Keys of this run's samples in canonical order (model, dataset, problem, index as configured),
        so the report never depends on the order in which runs wrote the file (or on older extras in it)."""
        return [(m.label, t.label, p.id, j) for m in self.models for t in self.tasks for p in t.problems for j in range(n)]

    def _pending(self, model: _Model, written: dict[str, _Written]) -> list[Chunk]:
        """The chunks in which some problem lacks a sample; each keeps its seed of a full run."""
        chunks = (
            chunk
            for t in self.tasks
            for run in self.passes
            for chunk in eval_chunks(
                t.problems, model.prompt_ids[t.label], t.template, run, dataset=t.label, prompts_per_chunk=self.cfg.prompts_per_chunk
            )
        )
        return [c for c in chunks if any(written[PASS_FILES[c.tag[1]]].missing(model.label, c.tag[0], p.id, c.sampling.n) for p in c.problems)]

    def _evaluate_model(self, model: _Model, pool: VerifierPool, written: dict[str, _Written]) -> None:
        from tqdm.auto import tqdm

        from rlvr.generation.base import build_generator

        pending = self._pending(model, written)
        if not pending:
            return
        generator = build_generator(self.cfg.generator, model.path, model.tokenizer)
        bar = tqdm(total=len(pending), desc=f"eval {model.label}", unit="chunk", disable=not self.cfg.progress, dynamic_ncols=True)
        try:
            stream = stream_samples(
                generator,
                pool,
                pending,
                model=model.label,
                majority=self.cfg.maj,
                written=lambda run, dataset, pid: written[PASS_FILES[run]].get(model.label, dataset, pid),
            )
            for chunk, samples in stream:
                written[PASS_FILES[chunk.tag[1]]].add(samples)
                bar.set_postfix_str(" ".join(chunk.tag))
                bar.update(1)
        finally:
            bar.close()
            generator.close()


def run_eval(cfg: EvalConfig) -> Results:
    """Run the eval of ``cfg``, write its output files and print a summary table."""
    results = EvalRunner(cfg).run()
    print(format_table(results, cfg.ks))
    print(
        f"rlvr eval: wrote results.json, report.md, passk.png, {SAMPLES_FILE}" + (f", {GREEDY_FILE}" if cfg.greedy else "") + f" to {cfg.output_dir}"
    )
    return results


def format_table(results: Results, ks: Sequence[int]) -> str:
    """Percentages per (model, dataset): greedy, avg@n, pass@1 and pass/maj at the largest k."""
    k = max(ks)
    header = ["model", "dataset", "problems", "n", "greedy", "avg@n", f"pass@{k}", f"maj@{k}", "no answer"]
    rows = [header]
    for model, datasets in results.items():
        for dataset, r in datasets.items():
            rows.append(
                [
                    model or "model",
                    dataset,
                    str(r.problems),
                    str(r.n),
                    "-" if r.greedy is None else f"{100 * r.greedy.value:.1f}",
                    f"{100 * r.avg_at_n.value:.1f}",
                    f"{100 * r.pass_at_k[k].value:.1f}",
                    f"{100 * r.maj_at_k[k].value:.1f}" if k in r.maj_at_k else "-",
                    f"{100 * r.no_answer_rate.value:.1f}",
                ]
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


# ----------------------------------------------------------------------------- inside training


def evaluate_in_training(
    generator: Generator,
    pool: VerifierPool,
    tokenizer: Any,
    problems: list[Problem],
    template: Any,
    sampling: SamplingConfig,
    *,
    dataset: str = "heldout",
    ks: Sequence[int] | None = None,
    greedy: bool = True,
    seed: int = 0,
    prompts_per_chunk: int = 64,
    keep_last: int | None = None,
    n_resamples: int = 200,
    prefix: str = "eval",
) -> dict[str, float]:
    """pass@k, maj@k, avg@n, greedy accuracy, no-answer rate and mean length of the generator's
    current weights on ``problems``, as ``{f"{prefix}/{dataset}/{metric}": value}`` for a logger.

    :func:`evaluate` with ``rlvr eval``'s estimators and answer clustering, in memory. ``ks``
    defaults to powers of two up to ``sampling.n``. Intervals are not returned (a training log
    wants scalars), so the bootstrap runs with few resamples.
    """
    passes = [EvalPass("sampled", sampling, seed)] + ([EvalPass("greedy", greedy_sampling(sampling), seed)] if greedy else [])
    prompt_ids = encode_prompts(problems, template, tokenizer, keep_last)
    out = evaluate(generator, pool, problems, prompt_ids, template, passes, dataset=dataset, prompts_per_chunk=prompts_per_chunk)
    results = summarise(out["sampled"], out.get("greedy", []), ks or default_ks(sampling.n), n_resamples=n_resamples, seed=seed)
    return flat_metrics(results, prefix)
