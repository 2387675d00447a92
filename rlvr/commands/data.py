"""``rlvr data list|show|validate|pairs``: inspect the registered datasets, check a user's file, and
sample verified preference pairs from a model (the reward model's and DPO's training data)."""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path
from typing import Any, get_args, get_type_hints

from rlvr import config as C
from rlvr.data.config import FILE_FORMATS, DatasetConfig

_MAPPING_ARGS = ("question_field", "answer_field", "answer_from", "solution_field", "id_field", "unit_field", "answer_type")


def _add_mapping_arguments(p: argparse.ArgumentParser) -> None:
    from rlvr.verifiers import ANSWER_TYPES  # the registry, so plug-in types are choices too

    g = p.add_argument_group("field mapping (for your own files)")
    g.add_argument("--format", choices=FILE_FORMATS, help="file format (default: from the extension)")
    g.add_argument("--question-field", help="field with the question (default: question)")
    g.add_argument("--answer-field", help="field with the answer key (default: answer)")
    g.add_argument("--answer-from", choices=get_args(get_type_hints(DatasetConfig)["answer_from"]), help="how the key is read (default: field)")
    g.add_argument("--solution-field", help="field with a worked solution (default: solution)")
    g.add_argument("--id-field", help="field with the row id (default: id)")
    g.add_argument("--unit-field", help="field with the answer's unit (default: unit)")
    g.add_argument("--answer-type", choices=ANSWER_TYPES, help="answer type of every row (default: detected per row)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="{list,show,validate,pairs}", required=True)
    p = sub.add_parser("list", help="every registered dataset: rows per split, answer types, license (offline)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = sub.add_parser("show", help="rendered prompts of a dataset with their answer keys")
    _add_dataset_arguments(p)
    p.add_argument("--n", type=int, default=3, help="number of problems to show")
    p.add_argument("--template", default=None, help="prompt template name or YAML path (default: show the bare question)")
    p.add_argument("--tokenizer", default=None, help="local model/tokenizer dir whose chat template renders chat prompts")
    p = sub.add_parser("validate", help="check a JSONL/CSV/Parquet file of problems and report bad rows (exit 1 if any)")
    p.add_argument("file", help="the file (or an HF dataset dir with --format hf)")
    p.add_argument("--split", default="train", help="split (HF datasets only)")
    _add_mapping_arguments(p)
    p = sub.add_parser("pairs", help="sample a model on a dataset, verify, and write (correct, incorrect) preference pairs as JSONL")
    _add_dataset_arguments(p)
    p.add_argument("--out", required=True, help="pairs JSONL to write (prompt, chosen, rejected, id)")
    p.add_argument(
        "--labels", default=None, metavar="FILE", help="also write every completion with its verdict (prompt, completion, label, id), for KTO"
    )
    p.add_argument("--model", default="tiny-arith", help="model dir or built-in name that samples the completions (default: tiny-arith)")
    p.add_argument("--template", default=None, help="prompt template name or YAML path (default: the dataset's usual one, as rlvr eval picks it)")
    p.add_argument("--n", type=_positive, default=16, help="completions sampled per problem (default: 16)")
    p.add_argument("--num-problems", type=_positive, default=None, help="use the first N problems (default: all)")
    p.add_argument(
        "--max-pairs-per-prompt", type=_positive, default=None, help="most pairs per problem, drawn at random (default: every combination)"
    )
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default: 1)")
    p.add_argument("--max-tokens", type=_positive, default=96, help="most tokens per completion (default: 96)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed and the pair draw's seed (default: 0)")
    p.add_argument("--generator", default="vllm", help="generator engine: vllm (default) or hf")
    p.add_argument("--max-model-len", type=_positive, default=512, help="generator context in tokens (capped by the model's own; default: 512)")
    p.add_argument("--workers", type=_positive, default=1, help="verifier worker processes (default: 1)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_dataset_arguments(p: argparse.ArgumentParser) -> None:
    """Which problems: a registered dataset or a user's file, as ``show`` and ``pairs`` both take them."""
    p.add_argument("name", help="dataset name (see `rlvr data list`) or a path to your own file")
    p.add_argument("--split", default=None, help="split (default: the dataset's first, or train)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="dataset option, e.g. level=hard (repeatable)")
    p.add_argument("--filter", action="append", default=[], help="row filter, e.g. level>=3 (repeatable)")
    _add_mapping_arguments(p)


def _dataset_config(args: argparse.Namespace, limit: int | None) -> DatasetConfig:
    """The dataset config the arguments of :func:`_add_dataset_arguments` describe."""
    from rlvr.data import get_dataset

    options = {}
    for item in args.option:
        key, _, value = item.partition("=")
        options[key] = C.safe_load(value)
    common = {"limit": limit, "filters": args.filter, "options": options}
    if Path(args.name).exists():
        return _file_config(args, args.name, split=args.split or "train", **common)
    splits = get_dataset(args.name).splits
    return C.from_dict(DatasetConfig, {"name": args.name, "split": args.split or (splits[0] if splits else "train"), **common})


def _file_config(args: argparse.Namespace, path: str, **extra: Any) -> Any:
    from rlvr.data.files import reader_for

    mapping = {k: getattr(args, k) for k in _MAPPING_ARGS if getattr(args, k, None) is not None}
    # Through the config loader, so flags are checked like config keys (a bad --filter is one line).
    return C.from_dict(DatasetConfig, {"name": args.format or reader_for(path), "path": path, **mapping, **extra})


# ----------------------------------------------------------------------------- list


def dataset_rows() -> list[dict[str, Any]]:
    """One summary per registered dataset: splits with row counts, answer types, license."""
    from rlvr.data import DATASETS, get_dataset

    out = []
    for name in DATASETS.names():
        ds = get_dataset(name)
        splits: dict[str, int] = {}
        types: collections.Counter[str] = collections.Counter()
        for split in ds.splits:
            problems = list(ds.load(DatasetConfig(name=name, split=split)))
            splits[split] = len(problems)
            types.update(p.answer_type or "auto" for p in problems)
        out.append({"name": name, "splits": splits, "answer_types": dict(types.most_common()), "license": ds.license, "description": ds.description})
    return out


def _list(args: argparse.Namespace) -> int:
    rows = dataset_rows()
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return 0
    print(f"{'dataset':18} {'rows per split':26} {'answer types':34} license")
    for r in rows:
        splits = ", ".join(f"{s} {n}" for s, n in r["splits"].items()) or "(your file: set path)"
        types = ", ".join(f"{t} {n}" for t, n in r["answer_types"].items()) or "-"
        print(f"{r['name']:18} {splits:26} {types:34} {r['license']}")
    print("\nShipped data keep their license and source lines in rlvr/data/assets/SOURCES.json and LICENSES.md.")
    return 0


# ----------------------------------------------------------------------------- show


def _show(args: argparse.Namespace) -> int:
    from rlvr.data import load_problems
    from rlvr.prompts import get_template

    problems = load_problems(_dataset_config(args, args.n))
    template = get_template(args.template) if args.template else None
    tokenizer = None
    if args.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    if template is not None:
        print(f"template {template.name} ({template.render_mode}, answer marker {template.answer_marker}): {template.description}\n")
    for p in problems:
        print(f"=== {p.id}")
        if template is None:
            print(p.prompt)
        elif template.render_mode == "chat" and tokenizer is None:
            for m in template.messages(p):
                print(f"[{m['role']}]\n{m['content']}")
            if template.response_prefix:
                print(f"[assistant starts with]\n{template.response_prefix}")
        else:
            print(template.render(p, tokenizer))
        print(f"--- key: {p.answer!r}  {json.dumps(p.verify_kwargs(), ensure_ascii=False)}")
        if p.solution:
            print(f"--- solution:\n{p.solution if len(p.solution) < 600 else p.solution[:600] + ' ...'}")
        print()
    return 0


# ----------------------------------------------------------------------------- validate


def _validate(args: argparse.Namespace) -> int:
    from rlvr.data.files import READERS, read_problems

    cfg = _file_config(args, args.file, split=args.split, on_bad_row="skip")
    problems, bad = read_problems(cfg, READERS[cfg.name])
    for b in bad:
        print(f"{b.where}: {b.reason}")
    types = collections.Counter(p.answer_type or "auto" for p in problems)
    print(
        f"{args.file}: {len(problems)} good row(s), {len(bad)} bad row(s); answer types: "
        + (", ".join(f"{t} {n}" for t, n in types.most_common()) or "-")
    )
    return 1 if bad or not problems else 0


# ----------------------------------------------------------------------------- pairs


def _pairs(args: argparse.Namespace) -> int:
    """Sample, verify, pair: every (correct, incorrect) completion of a problem is a pair
    (:mod:`rlvr.rollout.pairs`), the reward model's training data without a human label."""
    from rlvr.data import load_problems
    from rlvr.errors import RlvrError
    from rlvr.eval.runner import DEFAULT_TEMPLATES
    from rlvr.generation.base import GeneratorConfig, SamplingConfig, build_generator
    from rlvr.io import atomic_write_text
    from rlvr.models.load import load_tokenizer, resolve_model_path
    from rlvr.prompts import get_template
    from rlvr.rollout.pairs import labels_from_groups, pairs_from_groups
    from rlvr.rollout.sample import encode_prompts, fit_prompts, generate_and_score
    from rlvr.verifiers.config import VerifierConfig

    data = _dataset_config(args, args.num_problems)
    template_name = args.template or DEFAULT_TEMPLATES.get(data.name)
    if template_name is None:
        raise RlvrError(f"dataset '{data.name}' has no default prompt template: pass --template NAME")
    template = get_template(template_name)
    model_path = resolve_model_path(args.model)
    tokenizer = load_tokenizer(model_path)
    # Through the config loader, so a bad --generator or --temperature is one line naming it.
    gen_cfg = C.from_dict(GeneratorConfig, {"name": args.generator, "max_model_len": args.max_model_len})
    sampling = C.from_dict(SamplingConfig, {"n": args.n, "temperature": args.temperature, "max_tokens": args.max_tokens})
    verifier = C.from_dict(VerifierConfig, {"workers": args.workers})
    problems = load_problems(data)
    if not problems:
        raise RlvrError(f"dataset '{data.name}' split '{data.split}' has no problems (check --option/--filter)")
    problems, keep_last = fit_prompts(problems, template, tokenizer, data, "data", args.max_tokens, gen_cfg, model_path)
    prompt_ids = encode_prompts(problems, template, tokenizer, keep_last)
    # The pairs carry the whole rendered prompt; a reward model cuts long sequences on the left itself.
    prompts = [template.render(p, tokenizer) for p in problems]
    generator = build_generator(gen_cfg, model_path, tokenizer)
    pool = verifier.pool()
    try:
        groups = generate_and_score(generator, pool, problems, prompt_ids, template, sampling, seed=args.seed)
    finally:
        generator.close()
        pool.close()
    pairs = pairs_from_groups(groups, prompts, args.max_pairs_per_prompt, seed=args.seed)
    atomic_write_text(args.out, "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in pairs))
    if args.labels:
        labels = labels_from_groups(groups, prompts)
        atomic_write_text(args.labels, "".join(json.dumps(x.to_dict(), ensure_ascii=False) + "\n" for x in labels))
    samples = sum(len(g) for g in groups)
    correct = sum(s.correct for g in groups for s in g)
    unpaired = sum(1 for g in groups if len({s.correct for s in g}) < 2)
    print(
        f"rlvr data pairs: {len(problems)} problems, {samples} samples, accuracy {correct / max(samples, 1):.3f}, "
        f"{len(pairs)} pairs -> {args.out}, {unpaired} prompts with no pair (all right or all wrong)"
        + (f", {samples} labelled completions -> {args.labels}" if args.labels else "")
    )
    return 0


def run(args: argparse.Namespace) -> int:
    return {"list": _list, "show": _show, "validate": _validate, "pairs": _pairs}[args.data_command](args)
