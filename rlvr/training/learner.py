"""The learner: one interface over DeepSpeed (ZeRO 0-3) and plain torch.

Training code (pretrain, SFT, RL) only calls ``learner.logprobs(layout)`` (or ``learner.forward``),
``learner.backward(loss)`` once per micro-batch and ``learner.step()`` once per optimizer step.
``logprobs`` computes per-token logprobs from the final hidden states, chunk by chunk and only at
the scored positions, so no micro-batch's ``[tokens x vocab]`` logits exist at once (see
:func:`token_logprobs`); micro-batches come from :mod:`rlvr.training.batching` (token budgets,
packing). The trained model is in train mode (dropout, and gradient checkpointing engages). The loss passed to ``backward`` is
already normalised by the global batch (see ``docs/loss_contract.md``), so micro-batch gradients
are summed, never averaged: DeepSpeed is configured with ``gradient_accumulation_steps=1`` and told
the accumulation boundary explicitly, which keeps both backends numerically identical and lets the
number of micro-batches vary from step to step (dynamic sampling does that).

The learning rate is a pure function of the step (warmup then decay), set on the optimizer before
each step, so resuming needs only the step number.

Checkpoints never unpickle arbitrary objects: weights go through safetensors (``save_pretrained``)
and optimizer state through ``torch.save`` of tensors and plain containers only, read back with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rlvr.config import field
from rlvr.errors import RlvrError
from rlvr.training.distributed import any_rank, init_distributed

if TYPE_CHECKING:  # torch loads lazily: the configs here are read by commands that never train
    from rlvr.training.batching import Layout


@dataclass
class OptimConfig:
    """AdamW with linear warmup and cosine/linear decay."""

    lr: float = field(3e-4, gt=0, help="peak learning rate")
    weight_decay: float = field(0.0, ge=0, help="AdamW decoupled weight decay")
    beta1: float = field(0.9, ge=0, lt=1, help="AdamW beta1")
    beta2: float = field(0.95, ge=0, lt=1, help="AdamW beta2")
    eps: float = field(1e-8, gt=0, help="AdamW epsilon")
    warmup_steps: int = field(0, ge=0, help="optimizer steps of linear warmup from 0 to lr")
    schedule: Literal["cosine", "linear", "constant"] = field("constant", help="decay after warmup")
    min_lr_ratio: float = field(0.1, ge=0, le=1, help="final lr as a fraction of lr for cosine/linear decay")
    max_grad_norm: float = field(1.0, ge=0, help="clip the global gradient norm to this (0 disables)")

    def lr_at(self, step: int, total_steps: int) -> float:
        """Learning rate for optimizer step ``step`` (0-based) of ``total_steps``."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.schedule == "constant" or total_steps <= self.warmup_steps:
            return self.lr
        progress = min(1.0, (step - self.warmup_steps) / max(1, total_steps - self.warmup_steps))
        if self.schedule == "linear":
            scale = 1.0 - progress
        else:
            scale = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.lr * (self.min_lr_ratio + (1.0 - self.min_lr_ratio) * scale)


@dataclass
class LoraConfig:
    """Optional LoRA adapters through peft (rank 0 trains all weights). The generator gets the
    merged weights (base + scale * B @ A) after every update, so it needs no adapter support."""

    rank: int = field(0, ge=0, help="LoRA rank; 0 disables LoRA")
    alpha: float = field(16.0, gt=0, help="LoRA scaling numerator (scale = alpha / rank)")
    dropout: float = field(0.0, ge=0, lt=1, help="dropout on the LoRA input")
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        help="module names that get adapters",
    )


@dataclass
class LearnerConfig:
    """Where and how gradients are computed."""

    backend: Literal["deepspeed", "torch"] = field("deepspeed", help="DeepSpeed engine, or plain torch as the fallback")
    zero_stage: int = field(1, ge=0, le=3, help="DeepSpeed ZeRO stage 0-3 (ignored by the torch backend)")
    micro_batch_size: int = field(16, ge=1, help="sequences per forward/backward pass (when max_tokens_per_micro_batch is 0)")
    max_tokens_per_micro_batch: int = field(
        0,
        ge=0,
        help="token budget per forward/backward pass: sequences are grouped by length so each micro-batch holds at most "
        "this many tokens, padding included (0: micro_batch_size sequences each, in order)",
    )
    packing: bool = field(
        False,
        help="concatenate sequences into rows of max_tokens_per_micro_batch tokens (position ids restart "
        "per sequence, attention stays within each): no compute on padding",
    )
    logprob_chunk_tokens: int = field(1024, ge=1, help="tokens whose [tokens x vocab] logits exist at once when computing logprobs")
    entropy_tokens: int = field(
        256,
        ge=1,
        help="tokens per micro-batch whose entropy is computed (a systematic sample, "
        "reweighted; all of them when fewer): the entropy metric and bonus",
    )
    dtype: Literal["float32", "bfloat16"] = field("float32", help="training dtype (CPUs without bf16 units: float32)")
    gradient_checkpointing: bool = field(False, help="recompute activations in backward to save memory")
    lora: LoraConfig = field(default_factory=LoraConfig, help="LoRA adapters (optional)")
    max_nonfinite_steps: int = field(
        3,
        ge=1,
        help="optimizer steps in a row that may be skipped for a non-finite loss or gradient norm before the run stops "
        "(a skipped step leaves the weights as they were; 1 stops at the first)",
    )

    def validate(self) -> None:
        if self.lora.rank > 0 and self.backend == "deepspeed" and self.zero_stage == 3:
            # Merging the adapters for the generator needs each base weight whole; with frozen base
            # weights ZeRO-2 already holds the (small) optimizer state sharded.
            raise ValueError("learner.lora.rank > 0 needs learner.zero_stage <= 2 (adapters are merged into full base weights)")
        if self.packing and not self.max_tokens_per_micro_batch:
            raise ValueError("learner.packing needs learner.max_tokens_per_micro_batch > 0 (the length of a packed row)")


def _comm_op_needs_build() -> bool:
    """Whether DeepSpeed's CPU communication op (``deepspeed_shm_comm``) will be compiled when its
    first engine of this process starts: only on CPU, and only when neither the install nor
    torch's extension cache (``~/.cache/torch_extensions`` or ``TORCH_EXTENSIONS_DIR``) has it."""
    import deepspeed.ops
    from deepspeed.accelerator import get_accelerator
    from deepspeed.git_version_info import installed_ops
    from deepspeed.ops.op_builder.builder import OpBuilder
    from torch.utils.cpp_extension import _get_build_directory

    # The same test as deepspeed.comm.torch.build_shm_op, which builds it (CUDA has no such op).
    builder = get_accelerator().create_op_builder("ShareMemCommBuilder")
    if builder is None or not deepspeed.ops.__compatible_ops__.get(builder.NAME, False):
        return False
    if installed_ops.get(builder.NAME, False) or builder.NAME in OpBuilder._loaded_ops:
        return False
    # torch's JIT loader rebuilds a library older than its sources (ninja decides by time stamps).
    built = os.path.join(_get_build_directory(builder.NAME, verbose=False), f"{builder.NAME}.so")
    sources = [builder.deepspeed_src_path(src) for src in builder.sources()]
    return not os.path.exists(built) or any(os.path.getmtime(src) > os.path.getmtime(built) for src in sources)


# DeepSpeed prints this at every start, also when it merely loaded the op built on an earlier run.
_COMM_OP_BUILT = re.compile(r"DeepSpeed \S+ built successfully\n")


@contextlib.contextmanager
def _comm_op_notice() -> Iterator[None]:
    """Around a DeepSpeed engine's start: one line before DeepSpeed compiles its CPU communication
    op (a silent pause of about a minute on a first run), and none of DeepSpeed's own about it."""
    if _comm_op_needs_build() and int(os.environ.get("LOCAL_RANK", "0")) == 0:
        print("rlvr: building DeepSpeed's CPU communication op (first run only, about a minute)...", flush=True)
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            yield
    finally:
        sys.stdout.write(_COMM_OP_BUILT.sub("", captured.getvalue()))


def _plain(obj: Any) -> Any:
    """Reduce an optimizer state to tensors and plain containers (safe for ``weights_only`` loads)."""
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items() if _is_plain_value(v)}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    return obj


def _is_plain_value(v: Any) -> bool:
    import torch

    if isinstance(v, (dict, list, tuple)):
        return True
    return v is None or isinstance(v, (bool, int, float, str, torch.Tensor, Enum))


class Learner:
    """A model plus its optimizer on one backend. Build with :func:`build_learner`."""

    def __init__(self, model, cfg: LearnerConfig, optim: OptimConfig, total_steps: int):
        import torch

        self.cfg, self.optim_cfg, self.total_steps = cfg, optim, total_steps
        self.step_count = 0
        self.nonfinite_steps = 0  # optimizer steps skipped for a non-finite loss or gradient norm, over the run
        self._nonfinite_in_a_row = 0
        self._loss_finite: list[Any] = []  # per micro-batch of the step being accumulated: was its loss finite
        self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available() else torch.device("cpu")
        # from_pretrained returns a model in eval mode, and transformers checkpoints layers only in
        # train mode: without this, gradient_checkpointing never engaged and dropout was off. The
        # KV cache is for generation; in a training forward it only holds memory.
        model.train()
        model.config.use_cache = False
        if cfg.gradient_checkpointing:
            # Non-reentrant: gradients reach the layers even when the embeddings are frozen (LoRA).
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if cfg.packing and cfg.dtype == "bfloat16":
            _use_varlen_attention(model)
        if cfg.lora.rank > 0:
            model = _apply_lora(model, cfg.lora)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            params, lr=optim.lr_at(0, total_steps), betas=(optim.beta1, optim.beta2), eps=optim.eps, weight_decay=optim.weight_decay
        )
        self.rank, self.world_size = 0, 1
        if cfg.backend == "deepspeed":
            import deepspeed

            self.rank, self.world_size = init_distributed()
            ds_config = {
                "train_micro_batch_size_per_gpu": cfg.micro_batch_size,
                "gradient_accumulation_steps": 1,
                "gradient_clipping": optim.max_grad_norm,
                "zero_optimization": {"stage": cfg.zero_stage},
                "bf16": {"enabled": cfg.dtype == "bfloat16"},
                "zero_allow_untested_optimizer": True,
                "steps_per_print": 10**9,
                "wall_clock_breakdown": False,
            }
            self.engine, self.optimizer, _, _ = deepspeed.initialize(model=model, optimizer=optimizer, config=ds_config)
            self.model = self.engine.module
        else:
            if cfg.dtype == "bfloat16":
                model = model.to(torch.bfloat16)
            self.engine = None
            self.model = model.to(self.device)
            self.optimizer = optimizer
        if optim.lr > _LR_WARN and self.rank == 0:
            # Nothing non-finite happens, so the guard in step() stays silent, but AdamW moves every
            # weight by about lr per step: a trained model is destroyed in one step.
            print(
                f"rlvr: warning: optim.lr={optim.lr:g} is far above the learning rates AdamW trains with (1e-6 to 1e-2): "
                "every weight moves by about lr each step, which wipes out a trained model in one step",
                file=sys.stderr,
            )

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def forward(self, **batch: Any) -> Any:
        if self.engine is not None:
            return self.engine(**batch)
        return self.model(**batch)

    def logprobs(self, lay: Layout, temperature: float, entropy: bool = False, entropy_grad: bool = False) -> tuple[Any, Any]:
        """Per-token logprobs (and a sampled entropy, differentiable with ``entropy_grad``) of the
        scored positions of ``lay`` (see :func:`token_logprobs`)."""
        # ZeRO-3 gathers the output projection only inside its module's forward: use the logits path.
        from_hidden = not (self.engine is not None and self.cfg.zero_stage == 3)
        return token_logprobs(
            self.forward,
            self.model,
            lay.to(self.device),
            temperature,
            chunk_rows=self.cfg.logprob_chunk_tokens,
            entropy_tokens=self.cfg.entropy_tokens if entropy else 0,
            entropy_grad=entropy_grad,
            from_hidden=from_hidden,
        )

    def backward(self, loss, last: bool) -> None:
        """Accumulate the gradient of ``loss`` (already globally normalised; summed over micro-batches).

        ``last`` marks the final micro-batch of the optimizer step: DeepSpeed reduces (and under
        ZeRO partitions) the accumulated gradients during that backward, as with its own
        gradient accumulation, but without dividing by the number of micro-batches. Data-parallel
        engines average gradients over ranks; the loss is a share of a global sum, so it is
        multiplied by the world size to turn that average back into the sum.
        """
        import torch

        self._loss_finite.append(torch.isfinite(loss.detach()).all())  # read once per step: no device sync here
        if self.engine is not None:
            self.engine.set_gradient_accumulation_boundary(last)
            self.engine.backward(loss * self.world_size, scale_wrt_gas=False)
        else:
            loss.backward()

    def step(self) -> dict[str, float]:
        """One optimizer step over everything accumulated since the last one, unless the loss or
        the gradient norm is not finite: then the weights stay as they were and the step is
        counted in ``nonfinite_steps``; ``learner.max_nonfinite_steps`` of those in a row, or
        non-finite weights after an update, stop the run (:class:`NonFiniteError`)."""
        import torch

        lr = self.optim_cfg.lr_at(self.step_count, self.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        # Every rank must take the same decision (DeepSpeed's gradients are reduced, the losses are not).
        loss_nonfinite = any_rank(bool(self._loss_finite) and not bool(torch.stack(self._loss_finite).all()), self.world_size)
        self._loss_finite = []
        if self.engine is not None:
            self.engine.set_gradient_accumulation_boundary(True)
            # ZeRO-0 keeps full local gradients and DeepSpeed reports no norm for it: measure it here.
            local_norm = _grad_norm(self.model.parameters()) if self.cfg.zero_stage == 0 else None
            if local_norm is not None and not (math.isfinite(local_norm) and not loss_nonfinite):
                self.engine.zero_grad()  # ZeRO-0 would apply NaN gradients: DeepSpeed checks only its ZeRO optimizers
                skipped = True
            else:
                before = self.engine.skipped_steps
                self.engine.step()  # ZeRO 1-3 skip a non-finite step themselves, and count it
                skipped = self.engine.skipped_steps > before
            norm = self.engine.get_global_grad_norm() if local_norm is None else local_norm
            grad_norm = float(norm) if norm is not None else float("nan")
            skipped = skipped or not math.isfinite(grad_norm)
        else:
            params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
            if self.optim_cfg.max_grad_norm > 0:
                grad_norm = float(torch.nn.utils.clip_grad_norm_(params, self.optim_cfg.max_grad_norm))
            else:
                grad_norm = _grad_norm(params)
            skipped = loss_nonfinite or not math.isfinite(grad_norm)
            if not skipped:
                self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        self.step_count += 1
        if skipped:
            self._skip("loss" if loss_nonfinite else "gradient norm", grad_norm)
        else:
            self._nonfinite_in_a_row = 0
            self._check_weights()
        return {"lr": lr, "grad_norm": grad_norm, "nonfinite_steps": self.nonfinite_steps}

    def _skip(self, quantity: str, grad_norm: float) -> None:
        self.nonfinite_steps += 1
        self._nonfinite_in_a_row += 1
        what = f"non-finite {quantity}" + (f" (gradient norm {grad_norm})" if quantity == "loss" else f" ({grad_norm})")
        if self._nonfinite_in_a_row >= self.cfg.max_nonfinite_steps:
            raise NonFiniteError(
                f"{what} at optimizer step {self.step_count}, {self._nonfinite_in_a_row} step(s) in a row "
                f"(learner.max_nonfinite_steps={self.cfg.max_nonfinite_steps}); the weights are those of the last "
                "good step: lower optim.lr or check the data, then resume from a checkpoint"
            )
        if self.is_main:
            print(f"rlvr: warning: {what} at optimizer step {self.step_count}: update skipped", file=sys.stderr)

    def _check_weights(self) -> None:
        """After an update every weight must be finite (a finite gradient can still overflow one)."""
        import torch

        # ZeRO-3 holds a partition of each weight per rank (ds_tensor): each rank checks its own.
        named = [(name, getattr(p, "ds_tensor", p)) for name, p in self.model.named_parameters() if p.requires_grad]
        finite = [torch.isfinite(t).all() for _, t in named]
        mine = bool(finite) and not bool(torch.stack(finite).all())  # one device sync, not one per tensor
        if any_rank(mine, self.world_size):
            first = next((name for (name, _), ok in zip(named, finite) if not ok), None) if mine else None
            raise NonFiniteError(
                f"non-finite weights after optimizer step {self.step_count}"
                + (f" (first: {first})" if first else "")
                + ": lower optim.lr or check the data, then resume from a checkpoint"
            )

    # ------------------------------------------------------------------ weights and checkpoints

    def named_full_parameters(self) -> Iterator[tuple[str, Any]]:
        """(HF name, full tensor) for every weight, gathered one tensor at a time under ZeRO-3."""
        model = self.model
        if self.cfg.lora.rank > 0:
            yield from _merged_lora_state(model)
            return
        for name, p in model.named_parameters():
            if self.engine is not None and self.cfg.zero_stage == 3:
                import deepspeed

                with deepspeed.zero.GatheredParameters([p]):
                    yield name, p.detach().clone()
            else:
                yield name, p.detach()

    def save_model(self, path: str | Path, tokenizer=None) -> None:
        """Write a ``save_pretrained`` directory (safetensors) of the current weights (rank 0 writes)."""
        state = {name: t.float().cpu().contiguous().clone() for name, t in self.named_full_parameters()}
        if not self.is_main:
            return
        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        base.save_pretrained(path, state_dict=state, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(path)

    def optimizer_state(self) -> dict[str, Any]:
        return _plain(self.optimizer.state_dict())

    def save_state(self, directory: Path) -> None:
        """This rank's optimizer state (rank-suffixed file: ZeRO partitions differ per rank), and
        with LoRA the adapters: a checkpoint's ``model/`` holds merged weights, which a resumed
        run cannot split back into base and adapters."""
        import torch

        state: dict[str, Any] = {"optimizer": self.optimizer_state(), "step": self.step_count, "nonfinite_steps": self.nonfinite_steps}
        if self.cfg.lora.rank > 0:
            state["adapters"] = {name: p.detach().cpu().clone() for name, p in self.model.named_parameters() if p.requires_grad}
        torch.save(state, directory / f"optimizer_rank{self.rank}.pt")

    def load_state(self, directory: Path) -> None:
        import torch

        files = [directory / f"optimizer_rank{r}.pt" for r in range(self.world_size)]
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            raise RlvrError(f"checkpoint {directory} lacks optimizer state {missing[0]} (saved with another world size?)")
        states = [torch.load(f, map_location="cpu", weights_only=True) for f in files]
        mine = states[self.rank]
        if "adapters" in mine:
            params = dict(self.model.named_parameters())
            with torch.no_grad():
                for name, t in mine["adapters"].items():
                    params[name].copy_(t)
        if self.engine is not None and self.cfg.zero_stage > 0:
            opt = self.engine.optimizer
            live = opt.state_dict()
            # Objects _plain() dropped on save (loss scaler, slice mappings) come from the live optimizer.
            saved = [{**{k: v for k, v in live.items() if k not in s["optimizer"]}, **s["optimizer"]} for s in states]
            opt.load_state_dict(saved, load_optimizer_states=True, load_from_fp32_weights=True)
        else:
            self.optimizer.load_state_dict(mine["optimizer"])
        self.step_count = int(mine["step"])
        self.nonfinite_steps = int(mine.get("nonfinite_steps", 0))  # checkpoints from before the guard lack it


class NonFiniteError(RlvrError):
    """Training produced NaN/inf that skipping updates cannot get past."""


_LR_WARN = 0.1  # above this an AdamW step changes each weight by more than a trained model tolerates


def _grad_norm(params) -> float:
    import torch

    norms = [p.grad.detach().float().norm() for p in params if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0


def _apply_lora(model, cfg: LoraConfig):
    try:
        from peft import LoraConfig as PeftLoraConfig
        from peft import get_peft_model
    except ImportError:
        raise RlvrError("learner.lora.rank > 0 needs peft: pip install 'rlvr[lora]'") from None
    peft_cfg = PeftLoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=cfg.target_modules, task_type="CAUSAL_LM")
    return get_peft_model(model, peft_cfg)


def _merged_lora_state(model) -> Iterator[tuple[str, Any]]:
    """Base-model names with LoRA deltas folded in: what a generator without adapters needs.

    Each delta is added to a copy (the same sum peft's merge computes in place): merging in place
    and unmerging leaves the base weights off by rounding after every sync, so a run resumed on
    the pristine base with the saved adapters could not match the uninterrupted one."""
    import torch

    base = model.get_base_model()
    with torch.no_grad():
        deltas: dict[str, Any] = {}
        for name, module in base.named_modules():
            if hasattr(module, "get_delta_weight") and hasattr(module, "lora_A"):
                for adapter in module.active_adapters:
                    if adapter in module.lora_A:
                        key = f"{name}.base_layer.weight"
                        delta = module.get_delta_weight(adapter)
                        deltas[key] = deltas[key] + delta if key in deltas else delta
        for name, p in base.named_parameters():
            if "lora_" in name:
                continue
            merged = p.detach() + deltas[name].to(p.dtype) if name in deltas else p.detach().clone()
            yield name.replace(".base_layer.", "."), merged


def _output_head(model) -> Any:
    """The plain linear output projection, or None when logits are more than ``hidden @ W.T + b``
    (soft-capping, logit scales): those models take the full-logits path."""
    import torch

    head = model.get_output_embeddings()
    cfg = model.config
    if not isinstance(head, torch.nn.Linear) or getattr(cfg, "final_logit_softcapping", None) or getattr(cfg, "logit_scale", None):
        return None
    return head


def token_logprobs(
    forward,
    model,
    lay: Layout,
    temperature: float,
    *,
    chunk_rows: int = 1024,
    entropy_tokens: int = 0,
    entropy_grad: bool = False,
    from_hidden: bool = True,
) -> tuple[Any, Any]:
    """``[B, T-1]`` logprobs of ``lay``'s scored positions (zero elsewhere) under ``forward`` (a
    learner's or a plain model), and with ``entropy_tokens`` > 0 the entropy at a sample of them
    (see :func:`~rlvr.algorithms.logprobs.entropy_sample`; zero elsewhere), else None. The entropy
    has a gradient only with ``entropy_grad`` (the entropy bonus): a metric needs no graph.

    ``from_hidden``: the model returns its final hidden states and no logits (``logits_to_keep``
    of no position), and the output projection is applied chunk by chunk to the scored positions
    only (:func:`~rlvr.algorithms.logprobs.logprobs_from_hidden`). Otherwise the model computes all
    logits and they are reduced in chunks, which holds a ``[R, L, V]`` tensor.
    """
    import torch

    from rlvr.algorithms.logprobs import entropy_from_hidden, entropy_from_logits, entropy_sample, logprobs_from_hidden, logprobs_from_logits

    head = _output_head(model) if from_hidden else None
    inputs: dict[str, Any] = {"input_ids": lay.input_ids, "attention_mask": lay.attention_mask, "use_cache": False}
    if lay.position_ids is not None:
        inputs["position_ids"] = lay.position_ids
    labels = lay.labels
    if head is not None:
        out = forward(**inputs, logits_to_keep=torch.zeros(0, dtype=torch.long, device=lay.input_ids.device), output_hidden_states=True)
        hidden = out.hidden_states[-1]
        hidden = hidden.reshape(-1, hidden.shape[-1])[lay.src]
        del out  # the other layers' hidden states
        values = logprobs_from_hidden(hidden, head.weight, head.bias, labels, temperature, chunk_rows)
    else:
        logits = forward(**inputs).logits
        logits = logits.reshape(-1, logits.shape[-1])[lay.src]
        values = logprobs_from_logits(logits, labels, temperature, chunk_rows)
    entropy = None
    if entropy_tokens:
        picked, weight = entropy_sample(len(labels), entropy_tokens)
        at = picked.to(labels.device)
        with torch.set_grad_enabled(entropy_grad and torch.is_grad_enabled()):
            ent = (
                entropy_from_hidden(hidden[at], head.weight, head.bias, temperature, chunk_rows)
                if head is not None
                else entropy_from_logits(logits[at], temperature, chunk_rows)
            )
        entropy = lay.scatter(ent * weight, picked)
    return lay.scatter(values), entropy


def _use_varlen_attention(model) -> None:
    """Packed rows on GPU: flash-attention's varlen kernel reads the sequence boundaries from the
    position ids (it needs 16-bit weights). Without it (CPU, float32, or flash-attn not installed)
    SDPA gets a block-diagonal mask, which is exact but attends over the whole row."""
    import importlib.util

    import torch

    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        model.set_attn_implementation("flash_attention_2")


def build_learner(model, cfg: LearnerConfig, optim: OptimConfig, total_steps: int) -> Learner:
    if cfg.backend == "deepspeed":
        try:
            import deepspeed  # noqa: F401
        except ImportError as e:
            raise RlvrError(f"learner.backend=deepspeed but deepspeed cannot be imported ({e}); use learner.backend=torch") from None
        with _comm_op_notice():
            return Learner(model, cfg, optim, total_steps)
    return Learner(model, cfg, optim, total_steps)
