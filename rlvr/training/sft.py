"""``rlvr sft``: supervised fine-tuning on worked solutions, loss on the response only.

Pairs come from any answer-key dataset whose problems carry a worked ``solution`` (rendered with a
prompt template: the prompt as the generator will see it, the solution as the target), or from a
JSONL file of ``{prompt, response}`` pairs. Prompt tokens are masked out of the loss
(:mod:`rlvr.data.lm`).

Checkpoint selection: every ``schedule.eval_every`` steps the current weights are synced into a
generator and decode a held-out problem set greedily; the verified accuracy is the ``score`` that
picks the final model (see :mod:`rlvr.training.supervised`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from rlvr.config import field, section
from rlvr.data import DatasetConfig, Problem, load_problems
from rlvr.data.lm import SFTExample, collate_sft, encode_sft, step_indices
from rlvr.errors import RlvrError
from rlvr.generation.base import GeneratorConfig, SamplingConfig
from rlvr.io import iter_jsonl_objects
from rlvr.models.load import build_tiny_model, load_model, load_tokenizer
from rlvr.models.tokenizer import train_tokenizer
from rlvr.prompts import get_template
from rlvr.training.batching import plan_micro_batches, plan_ranks
from rlvr.training.supervised import StageConfig, SupervisedTask, mean_nll, shard, train_supervised
from rlvr.verifiers.config import VerifierConfig


def _heldout_default() -> DatasetConfig:
    return DatasetConfig(name="arith", split="test")


@dataclass
class SFTDataConfig:
    """(prompt, response) pairs: a dataset's worked solutions, or a JSONL file of pairs."""

    dataset: DatasetConfig = section(DatasetConfig, "dataset whose worked solutions are the targets (used when pairs_path is null)")
    pairs_path: str | None = field(None, help="JSONL of pairs instead of a dataset")
    prompt_field: str = field("prompt", help="pairs_path field holding the prompt text (sent as is)")
    response_field: str = field("response", help="pairs_path field holding the target response")
    template: str = field("arith", check=get_template, help="prompt template that renders dataset problems (and their solutions)")
    max_len: int = field(256, help="longest prompt+response in tokens; longer pairs are skipped and counted")
    val_fraction: float = field(0.02, help="share of pairs held out for the validation loss")


@dataclass
class HeldOutConfig:
    """Held-out accuracy used to pick the best checkpoint."""

    enabled: bool = field(True, help="measure held-out accuracy at each evaluation and keep the best checkpoint")
    dataset: DatasetConfig = field(default_factory=_heldout_default, help="problems to decode (their keys are verified)")
    num_problems: int = field(200, help="how many of them to decode each time")
    max_tokens: int = field(96, help="generation budget per problem")
    generator: GeneratorConfig = section(GeneratorConfig, "engine used for decoding")


@dataclass
class SFTConfig(StageConfig):
    """``rlvr sft``: supervised fine-tuning on worked solutions."""

    data: SFTDataConfig = section(SFTDataConfig, "training pairs")
    heldout: HeldOutConfig = section(HeldOutConfig, "held-out accuracy for checkpoint selection")
    verifier: VerifierConfig = section(VerifierConfig, "the verifier pool that scores held-out answers")


def load_pairs(cfg: SFTDataConfig, tokenizer=None) -> list[tuple[str, str]]:
    """(prompt text, response text) pairs."""
    if cfg.pairs_path is None:
        template = get_template(cfg.template)
        problems = load_problems(cfg.dataset)
        pairs = [(template.render(p, tokenizer), template.response(p)) for p in problems if p.solution]
        if not pairs:
            raise RlvrError(f"dataset '{cfg.dataset.name}' split '{cfg.dataset.split}' has no worked solutions to fine-tune on")
        return pairs
    path = Path(cfg.pairs_path)
    if not path.is_file():
        raise RlvrError(f"pairs file not found: {path}")
    pairs = []
    for i, row in iter_jsonl_objects(path):
        for key in (cfg.prompt_field, cfg.response_field):
            if not isinstance(row, dict) or not isinstance(row.get(key), str) or not row[key].strip():
                raise RlvrError(f"{path}:{i}: missing or empty string field '{key}'")
        pairs.append((row[cfg.prompt_field], row[cfg.response_field]))
    if not pairs:
        raise RlvrError(f"pairs file {path} is empty")
    return pairs


class HeldOutAccuracy:
    """Greedy accuracy of the learner's current weights on fixed held-out problems."""

    def __init__(self, cfg: HeldOutConfig, verifier: VerifierConfig, template_name: str, tokenizer, model_path: str):
        from rlvr.rollout.sample import encode_prompts

        self.cfg, self.verifier, self.tokenizer, self.model_path = cfg, verifier, tokenizer, model_path
        self.template = get_template(template_name)
        self.problems: list[Problem] = load_problems(cfg.dataset)[: cfg.num_problems]
        self.prompt_ids = encode_prompts(self.problems, self.template, tokenizer)
        self.generator = self.pool = None

    def __call__(self, learner) -> float:
        from rlvr.eval.runner import EvalPass, evaluate
        from rlvr.generation.base import build_generator
        from rlvr.generation.weight_sync import sync_weights

        if self.generator is None:
            self.generator = build_generator(self.cfg.generator, self.model_path, self.tokenizer)
            self.pool = self.verifier.pool()
        sync_weights(learner, self.generator)
        greedy = EvalPass("greedy", SamplingConfig(n=1, temperature=0.0, max_tokens=self.cfg.max_tokens))
        samples = evaluate(
            self.generator, self.pool, self.problems, self.prompt_ids, self.template, [greedy], dataset=self.cfg.dataset.name, majority=False
        )["greedy"]
        return sum(s.correct for s in samples) / len(samples)

    def close(self) -> None:
        if self.generator is not None:
            self.generator.close()
            self.pool.close()


def run_sft(cfg: SFTConfig) -> Path:
    if cfg.model.path:
        tokenizer = load_tokenizer(cfg.model.path)
        pairs = load_pairs(cfg.data, tokenizer)
        factory = lambda: load_model(cfg.model.path)  # noqa: E731
        base_path = cfg.model.path
    else:
        pairs = load_pairs(cfg.data)
        tokenizer = train_tokenizer((p + r for p, r in pairs), cfg.model.tokenizer)
        factory = lambda: build_tiny_model(cfg.model.tiny, tokenizer, seed=cfg.run.seed)  # noqa: E731
        base_path = None
    examples: list[SFTExample] = []
    skipped = 0
    for prompt, response in pairs:
        ex = encode_sft(prompt, response, tokenizer, cfg.data.max_len)
        if ex is None:
            skipped += 1
        else:
            examples.append(ex)
    if skipped:
        print(f"rlvr sft: skipped {skipped} of {len(pairs)} pairs longer than data.max_len={cfg.data.max_len} tokens")
    if not examples:
        raise RlvrError(f"no pair fits data.max_len={cfg.data.max_len}")
    n_val = int(len(examples) * cfg.data.val_fraction)
    val, train = examples[:n_val], examples[n_val:]
    pad = tokenizer.pad_token_id

    lc = cfg.learner
    lengths = [len(e.prompt_ids) + len(e.response_ids) for e in train]

    def batch(step: int, batch_size: int, rank: int, world_size: int):
        idx = step_indices(len(train), batch_size, step, cfg.run.seed)
        chunks, live = plan_ranks(
            [shard(idx, r, world_size) for r in range(world_size)],
            lengths,
            rank,
            lc.micro_batch_size,
            lc.max_tokens_per_micro_batch,
            lc.packing,
            filler=idx[:1],
        )
        mbs = [collate_sft([train[i] for i in chunk], pad) for chunk in chunks]
        return [mb if ok else replace(mb, loss_mask=mb.loss_mask * 0) for mb, ok in zip(mbs, live)]

    heldout: HeldOutAccuracy | None = None

    def evaluate(learner, step: int) -> dict[str, float]:
        nonlocal heldout
        out: dict[str, float] = {}
        if val:
            chunks = plan_micro_batches(
                [len(e.prompt_ids) + len(e.response_ids) for e in val], lc.micro_batch_size, lc.max_tokens_per_micro_batch, lc.packing, items=val
            )
            out["val_loss"] = mean_nll(learner, [collate_sft(c, pad) for c in chunks])
        if cfg.heldout.enabled:
            if heldout is None:
                path = base_path or _save_initial(learner, tokenizer, Path(cfg.run.output_dir))
                heldout = HeldOutAccuracy(cfg.heldout, cfg.verifier, cfg.data.template, tokenizer, path)
            out["heldout_accuracy"] = out["score"] = heldout(learner)
        return out

    task = SupervisedTask("sft", len(train), batch, evaluate, plot_keys=["loss", "val_loss", "heldout_accuracy"])
    try:
        return train_supervised(task, cfg, factory, tokenizer)
    finally:
        if heldout is not None:
            heldout.close()


def _save_initial(learner, tokenizer, run_dir: Path) -> str:
    """A model directory for the generator to start from when the model was built in memory."""
    path = run_dir / "generator_init"
    learner.save_model(path, tokenizer)
    return str(path)
