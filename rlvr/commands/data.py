"""``rlvr data list|show|validate``: inspect the registered datasets and check a user's file."""

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
    sub = parser.add_subparsers(dest="data_command", metavar="{list,show,validate}", required=True)
    p = sub.add_parser("list", help="every registered dataset: rows per split, answer types, license (offline)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = sub.add_parser("show", help="rendered prompts of a dataset with their answer keys")
    p.add_argument("name", help="dataset name (see `rlvr data list`) or a path to your own file")
    p.add_argument("--split", default=None, help="split (default: the dataset's first, or train)")
    p.add_argument("--n", type=int, default=3, help="number of problems to show")
    p.add_argument("--template", default=None, help="prompt template name or YAML path (default: show the bare question)")
    p.add_argument("--tokenizer", default=None, help="local model/tokenizer dir whose chat template renders chat prompts")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="dataset option, e.g. level=hard (repeatable)")
    p.add_argument("--filter", action="append", default=[], help="row filter, e.g. level>=3 (repeatable)")
    _add_mapping_arguments(p)
    p = sub.add_parser("validate", help="check a JSONL/CSV/Parquet file of problems and report bad rows (exit 1 if any)")
    p.add_argument("file", help="the file (or an HF dataset dir with --format hf)")
    p.add_argument("--split", default="train", help="split (HF datasets only)")
    _add_mapping_arguments(p)


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
    from rlvr.data import get_dataset, load_problems
    from rlvr.prompts import get_template

    options = {}
    for item in args.option:
        key, _, value = item.partition("=")
        options[key] = C.safe_load(value)
    common = {"limit": args.n, "filters": args.filter, "options": options}
    if Path(args.name).exists():
        cfg = _file_config(args, args.name, split=args.split or "train", **common)
    else:
        splits = get_dataset(args.name).splits
        cfg = C.from_dict(DatasetConfig, {"name": args.name, "split": args.split or (splits[0] if splits else "train"), **common})
    problems = load_problems(cfg)
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


def run(args: argparse.Namespace) -> int:
    return {"list": _list, "show": _show, "validate": _validate}[args.data_command](args)
