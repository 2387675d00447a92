#!/usr/bin/env python
"""Per-GPU memory and weight-sync time of rlvr's layouts, estimated on paper.

    python scripts/estimate_memory.py [--model qwen2.5-0.5b|...|path/to/config.json ...]
        [--gpus-per-node 8] [--nodes 2] [--zero-stage 3] [--dtype bfloat16] [--grad-dtype bf16]
        [--micro-batch 4] [--seq-len 2048] [--no-gradient-checkpointing] [--lora-rank 0]
        [--reference] [--kv-tokens 262144] [--tp auto] [--gpu-memory-gib 80]

Prints two markdown tables (learner memory per GPU by ZeRO stage; each layout's per-GPU peak and
weight-sync time) and, last, one JSON line with every number. Nothing is measured: the model
shape comes from a config.json (or the built-in table of published Qwen2.5 configs), and every
byte count, bandwidth and overhead is a named constant below with where it comes from. Replace
the constants with measurements when a GPU machine is available (docs/scaling.md says how).

What is counted, per GPU:

* learner model states: working weights, gradients, optimizer states (Adam: fp32 master weights,
  momentum, variance) and DeepSpeed's fp32 gradient partition, each divided by the data-parallel
  degree N where the ZeRO stage partitions it (stage 1: optimizer states; 2: + gradients;
  3: + weights). ZeRO-3 also materialises the largest module's weights and gradient while it runs.
* learner activations for one micro-batch: with gradient checkpointing (HF's
  ``gradient_checkpointing_enable``: one checkpoint per decoder layer) the layer inputs plus one
  layer's recomputed activations; without it every layer's activations; in both cases the logits
  and the float32 chunks rlvr's chunked log-softmax keeps for backward (``[tokens, vocab]``: for a
  150k vocabulary this is often the largest activation).
* the vLLM engine: weights split over its tensor-parallel degree TP, the KV cache for a budget of
  concurrent tokens (``2 x layers x kv_heads x head_dim x dtype bytes`` per token), a workspace.
* colocated (learner and engine on the same GPUs, vLLM sleep mode between phases): the larger of
  "learner training + sleeping engine" and "learner at rest (weights + optimizer states) + awake
  engine". Separate generator: the learner GPUs and the generator GPUs each hold one side.

Weight sync (learner -> engine, once per step), bandwidth-bound plus a per-tensor overhead:
ZeRO-3 first all-gathers every tensor (NVLink inside a node, InfiniBand across nodes); colocated
engines then copy their shard in HBM; a separate engine receives an NCCL broadcast (NVLink on
the same node, InfiniBand across nodes). Sleep mode adds an offload/reload of the engine's
weights over PCIe each step, reported on its own. The fingerprint check that follows every sync
is not included.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

GIB = 2**30
GB = 1e9

# ----------------------------------------------------------------------------- bytes per parameter


@dataclass(frozen=True)
class PrecisionBytes:
    """Bytes per parameter of each part of the learner's model states."""

    weight: float  # the working copy forward/backward use
    grad: float  # gradients as produced/accumulated by backward
    optimizer: float  # optimizer states, including any fp32 master copy of the weights
    fp32_grad: float  # DeepSpeed's fp32 copy of the gradient partition, made for the optimizer step


# ZeRO paper (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
# Parameter Models", arXiv:1910.02054, sec. 3.1): mixed-precision Adam holds 2 bytes fp16 weights
# + 2 bytes fp16 gradients + K = 12 bytes of optimizer states (fp32 master weights, momentum,
# variance) per parameter: "2 + 2 + 12 = 16 bytes".
ZERO_PAPER_MIXED = PrecisionBytes(weight=2, grad=2, optimizer=12, fp32_grad=0)
# DeepSpeed's implementation (deepspeed/runtime/zero/stage_1_and_2.py,
# estimate_zero2_model_states_mem_needs: "18 = 2_grads_16bit + 4_grads_32bit + 4_params_32bit +
# 8_optimizer_states_32bit", plus 2 for the 16-bit params) also keeps an fp32 gradient partition.
DEEPSPEED_BF16 = PrecisionBytes(weight=2, grad=2, optimizer=12, fp32_grad=4)
# Same with gradients accumulated in fp32 (DeepSpeed ``data_types.grad_accum_dtype: fp32``).
DEEPSPEED_BF16_FP32_GRADS = PrecisionBytes(weight=2, grad=4, optimizer=12, fp32_grad=4)
# Plain fp32 training (rlvr's CPU default ``learner.dtype: float32``): fp32 weights and gradients,
# Adam momentum + variance; no master copy and no extra gradient copy.
FP32 = PrecisionBytes(weight=4, grad=4, optimizer=8, fp32_grad=0)

PRECISIONS: dict[tuple[str, str], PrecisionBytes] = {
    ("bfloat16", "bf16"): DEEPSPEED_BF16,
    ("bfloat16", "fp32"): DEEPSPEED_BF16_FP32_GRADS,
    ("float32", "fp32"): FP32,
}

# DeepSpeed ZeRO-1/2/3 reduce gradients through a bucket of this many elements
# (deepspeed/runtime/zero/config.py: ``reduce_bucket_size`` default 5e8); rlvr's ds_config keeps it.
REDUCE_BUCKET_ELEMENTS = 5e8
# vLLM serves bf16 weights and a bf16 KV cache (rlvr's GPU configs: ``generator.dtype: bfloat16``).
VLLM_WEIGHT_BYTES = 2
VLLM_KV_BYTES = 2

# ----------------------------------------------------------------------------- fixed overheads (assumptions)

# One CUDA context per process. Assumption: ~0.5 GiB, the order of magnitude a CUDA 12 context
# with NCCL and cuBLAS workspaces takes on an H100; measure with nvidia-smi on an idle process.
CUDA_CONTEXT_GIB = 0.5
# vLLM's own non-KV memory: the peak activation of its profiling forward pass, the sampler's
# logits for the running batch and CUDA graphs. Assumption (order of magnitude), to be measured.
VLLM_WORKSPACE_GIB = 1.5
# What a sleeping engine (sleep level 1: weights offloaded to CPU, KV cache discarded) still holds
# on the GPU. Assumption, to be measured.
VLLM_SLEEP_RESIDUAL_GIB = 0.25

# ----------------------------------------------------------------------------- bandwidths (GB/s, low..high)


@dataclass(frozen=True)
class Bandwidth:
    """Effective GB/s, pessimistic and optimistic ends."""

    low: float
    high: float


# H100 SXM HBM3: 3.35 TB/s peak (NVIDIA H100 datasheet). A device-to-device copy reads and
# writes every byte, so it moves at most half of that; ~80-90% of the half is typical.
HBM_COPY = Bandwidth(1300, 1500)
# NCCL over NVLink 4 (H100: 450 GB/s per direction): 300-450 GB/s effective bus bandwidth for
# large messages (the figure the scale-out issue asks to assume; nccl-tests all-reduce busbw on
# 8xH100 is in this range).
NVLINK = Bandwidth(300, 450)
# NCCL across nodes over InfiniBand: one HDR 200 Gb/s (25 GB/s) to NDR 400 Gb/s (50 GB/s) NIC
# per GPU, line rate as the optimistic end.
INFINIBAND = Bandwidth(25, 50)
# Host <-> device for sleep-mode offload/reload: PCIe Gen4 x16 (~25 GB/s achievable pinned) to
# Gen5 x16 (64 GB/s theoretical, ~50 GB/s achievable pinned).
PCIE = Bandwidth(25, 50)
# Per tensor moved during a sync: one NCCL call (ZeRO-3 gather / broadcast), a Python round trip
# in rlvr's generator ``load_weights`` and a kernel launch. Assumption: 100 us, to be measured.
PER_TENSOR_S = 1e-4
# Dense bf16 peak of one H100 SXM (NVIDIA datasheet: 989 TFLOPS without sparsity), for MFU.
H100_BF16_TFLOPS = 989.0

# ----------------------------------------------------------------------------- model shapes


@dataclass(frozen=True)
class ModelShape:
    """The numbers of a decoder-only HF config (Llama/Qwen2 family: SwiGLU MLP, RMSNorm, GQA)."""

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied: bool
    head_dim: int
    qkv_bias: bool

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def layer_params(self) -> int:
        h = self.hidden
        attention = h * self.q_dim + 2 * h * self.kv_dim + self.q_dim * h
        bias = self.q_dim + 2 * self.kv_dim if self.qkv_bias else 0
        return attention + bias + 3 * h * self.intermediate + 2 * h  # q,k,v,o + gate,up,down + 2 norms

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def params(self) -> int:
        lm_head = 0 if self.tied else self.embedding_params
        return self.embedding_params + self.layers * self.layer_params + self.hidden + lm_head

    @property
    def largest_module_params(self) -> int:
        """Parameters of the biggest single module: what ZeRO-3 gathers at once (DeepSpeed's
        ``model_to_params`` counts modules the same way)."""
        return max(self.embedding_params, self.hidden * self.intermediate, self.hidden * self.q_dim + (self.q_dim if self.qkv_bias else 0))

    @property
    def tensor_count(self) -> int:
        per_layer = 7 + (3 if self.qkv_bias else 0) + 2  # linear weights, q/k/v biases, 2 norms
        return self.layers * per_layer + 2 + (0 if self.tied else 1)  # + embedding, final norm, lm_head

    def lora_params(self, rank: int) -> int:
        """Trainable LoRA parameters on rlvr's default targets (q,k,v,o,gate,up,down): r x (in + out) each."""
        h, i = self.hidden, self.intermediate
        shapes = [(h, self.q_dim), (h, self.kv_dim), (h, self.kv_dim), (self.q_dim, h), (h, i), (h, i), (i, h)]
        return self.layers * rank * sum(a + b for a, b in shapes)

    def kv_bytes_per_token(self, dtype_bytes: float = VLLM_KV_BYTES) -> float:
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes  # K and V

    def train_flops_per_token(self, seq_len: int) -> float:
        """Model FLOPs of one trained token (forward + backward, no recomputation), as in PaLM's MFU
        (Chowdhery et al. 2022, appendix B): 6 x matmul parameters + 12 x layers x q_dim x seq_len.
        The input embedding is a lookup, not a matmul; a tied lm_head still multiplies."""
        matmul_params = self.params - (0 if self.tied else self.embedding_params)
        return 6 * matmul_params + 12 * self.layers * self.q_dim * seq_len


def _shape(name: str, *, hidden: int, layers: int, heads: int, kv_heads: int, intermediate: int, vocab: int, tied: bool) -> ModelShape:
    return ModelShape(name, hidden, layers, heads, kv_heads, intermediate, vocab, tied, hidden // heads, qkv_bias=True)


# Published config.json of each base model (huggingface.co/Qwen/Qwen2.5-<size>/blob/main/config.json;
# the -Instruct and -Math variants share the shapes). Qwen2 attention has q/k/v biases.
BUILTIN_MODELS: dict[str, ModelShape] = {
    "qwen2.5-0.5b": _shape("qwen2.5-0.5b", hidden=896, layers=24, heads=14, kv_heads=2, intermediate=4864, vocab=151936, tied=True),
    "qwen2.5-1.5b": _shape("qwen2.5-1.5b", hidden=1536, layers=28, heads=12, kv_heads=2, intermediate=8960, vocab=151936, tied=True),
    "qwen2.5-7b": _shape("qwen2.5-7b", hidden=3584, layers=28, heads=28, kv_heads=4, intermediate=18944, vocab=152064, tied=False),
    "qwen2.5-32b": _shape("qwen2.5-32b", hidden=5120, layers=64, heads=40, kv_heads=8, intermediate=27648, vocab=152064, tied=False),
}


def shape_from_config(path: str | Path) -> ModelShape:
    """A :class:`ModelShape` from an HF ``config.json`` (or a directory holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    try:
        cfg = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read model config {path}: {e}") from None
    missing = [k for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size") if k not in cfg]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)} (a decoder-only HF config is expected)")
    heads = cfg["num_attention_heads"]
    model_type = cfg.get("model_type", "")
    return ModelShape(
        name=path.parent.name or str(path),
        hidden=cfg["hidden_size"],
        layers=cfg["num_hidden_layers"],
        heads=heads,
        kv_heads=cfg.get("num_key_value_heads") or heads,
        intermediate=cfg["intermediate_size"],
        vocab=cfg["vocab_size"],
        # Llama and Qwen2 configs default to untied embeddings when the key is absent.
        tied=bool(cfg.get("tie_word_embeddings", False)),
        head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
        # Qwen2 always has q/k/v biases; Llama-style configs say so in attention_bias.
        qkv_bias=bool(cfg.get("attention_bias", model_type == "qwen2")),
    )


def resolve_model(spec: str) -> ModelShape:
    if spec.lower() in BUILTIN_MODELS:
        return BUILTIN_MODELS[spec.lower()]
    if Path(spec).exists():
        return shape_from_config(spec)
    raise ValueError(f"unknown model {spec!r}: give a config.json path or one of {', '.join(BUILTIN_MODELS)}")


# ----------------------------------------------------------------------------- learner


@dataclass(frozen=True)
class LearnerSetup:
    zero_stage: int
    precision: PrecisionBytes
    micro_batch: int
    seq_len: int
    gradient_checkpointing: bool = True
    lora_rank: int = 0
    reference: bool = False  # a KL reference model (rlvr loads it whole on every rank)


@dataclass(frozen=True)
class LearnerMemory:
    """Bytes per GPU."""

    weights: float
    grads: float
    optimizer: float
    zero3_gather: float
    buckets: float
    activations: float
    reference: float

    @property
    def model_states(self) -> float:
        """What DeepSpeed's own estimator counts: weights, gradients, optimizer states, ZeRO-3 gather."""
        return self.weights + self.grads + self.optimizer + self.zero3_gather

    @property
    def training_peak(self) -> float:
        return self.model_states + self.buckets + self.activations + self.reference

    @property
    def at_rest(self) -> float:
        """Held while the colocated engine generates: weights and optimizer states (gradients,
        buckets and activations are freed after the optimizer step)."""
        return self.weights + self.optimizer + self.reference


def activation_bytes(m: ModelShape, setup: LearnerSetup) -> float:
    """Saved activations of one micro-batch at the learner's peak (start of backward).

    Per token and layer, counted the way Korthikanti et al. 2022 ("Reducing Activation
    Recomputation in Large Transformer Models", sec. 4.1) count a GPT layer, adapted to a SwiGLU
    MLP, grouped-query attention, fused (flash/SDPA) attention that keeps no seq x seq scores, and
    no dropout: attention saves its input, q, k, v and output (6h + 4 kv_dim bytes at 2 bytes per
    element counting the norm input), the MLP its input and gate, up, silu(gate), product
    (2h + 8 I), the two RMSNorms their inputs (4h): ``2 x (6h + 2 kv_dim + 4 I)`` bytes in bf16.
    Logits: the bf16 ``[tokens, vocab]`` logits, the fp32 upcast chunks rlvr's chunked
    log-softmax keeps for backward, and the bf16 logits gradient.
    """
    elem = setup.precision.weight
    tokens = setup.micro_batch * setup.seq_len
    layer = elem * (6 * m.hidden + 2 * m.kv_dim + 4 * m.intermediate)
    if setup.gradient_checkpointing:
        body = m.layers * elem * m.hidden + layer  # checkpointed layer inputs + one layer recomputed
    else:
        body = m.layers * layer
    logits = elem + 4 + elem
    return tokens * (body + m.vocab * logits)


def partitioned_states(params: float, trainable: float, prec: PrecisionBytes, stage: int, n_gpus: int) -> tuple[float, float, float]:
    """(weights, gradients, optimizer states) bytes per GPU under ZeRO ``stage`` over ``n_gpus`` ranks.

    ZeRO paper sec. 5: stage 1 partitions the optimizer states, stage 2 also the gradients,
    stage 3 also the weights. Only ``trainable`` parameters (LoRA adapters, or all) have gradients
    and optimizer states; frozen ones keep just their weights.
    """
    shard = {part: (n_gpus if stage >= part else 1) for part in (1, 2, 3)}
    return (
        prec.weight * params / shard[3],
        prec.grad * trainable / shard[2],
        (prec.optimizer + prec.fp32_grad) * trainable / shard[1],
    )


def learner_memory(m: ModelShape, setup: LearnerSetup, n_gpus: int) -> LearnerMemory:
    """Per-GPU learner memory under ZeRO ``setup.zero_stage`` over ``n_gpus`` data-parallel ranks.

    ZeRO-3 gathers each module's weights (and holds its gradient) while it runs, which DeepSpeed's
    estimator charges as 4 bytes x largest module (bf16 weight + gradient). With LoRA the frozen
    base weights are stored as usual and the adapters are trained.
    """
    prec, stage = setup.precision, setup.zero_stage
    trainable = m.lora_params(setup.lora_rank) if setup.lora_rank else m.params
    stored = m.params + (trainable if setup.lora_rank else 0)
    weights, grads, optimizer = partitioned_states(stored, trainable, prec, stage, n_gpus)
    return LearnerMemory(
        weights=weights,
        grads=grads,
        optimizer=optimizer,
        zero3_gather=(prec.weight + prec.grad) * m.largest_module_params if stage >= 3 else 0.0,
        buckets=prec.grad * min(REDUCE_BUCKET_ELEMENTS, trainable) if stage >= 1 else 0.0,
        activations=activation_bytes(m, setup),
        reference=prec.weight * m.params if setup.reference else 0.0,
    )


# ----------------------------------------------------------------------------- generator


@dataclass(frozen=True)
class EngineMemory:
    """Bytes per GPU of one vLLM engine spread over ``tp`` GPUs."""

    weights: float
    kv_cache: float
    workspace: float

    @property
    def awake(self) -> float:
        return self.weights + self.kv_cache + self.workspace


def engine_memory(m: ModelShape, tp: int, kv_tokens: int) -> EngineMemory:
    """vLLM splits every matrix, the embedding and lm_head (vocabulary-parallel) over TP ranks and
    each KV head lives on one rank; with more ranks than KV heads the heads are replicated."""
    return EngineMemory(
        weights=VLLM_WEIGHT_BYTES * m.params / tp,
        kv_cache=kv_tokens * m.kv_bytes_per_token() / min(tp, m.kv_heads),
        workspace=VLLM_WORKSPACE_GIB * GIB,
    )


def auto_tp(m: ModelShape, gpus_per_node: int, gpu_bytes: float) -> int:
    """Smallest power-of-two TP that keeps the engine's weights to a quarter of a GPU, so that a
    colocated learner and the KV cache keep the rest."""
    tp = 1
    while tp < gpus_per_node and VLLM_WEIGHT_BYTES * m.params / tp > gpu_bytes / 4:
        tp *= 2
    return tp


# ----------------------------------------------------------------------------- sync


@dataclass(frozen=True)
class SyncTime:
    """Seconds per weight sync, at the optimistic and pessimistic bandwidth ends."""

    low: float
    high: float


def transfer(nbytes: float, bw: Bandwidth) -> SyncTime:
    return SyncTime(nbytes / (bw.high * GB), nbytes / (bw.low * GB))


def add(*times: SyncTime) -> SyncTime:
    return SyncTime(sum(t.low for t in times), sum(t.high for t in times))


def zero3_gather_time(m: ModelShape, n_gpus: int, nodes: int) -> SyncTime:
    """All-gather of every bf16 tensor from ZeRO-3 shards: each rank receives (N-1)/N of the model,
    over NVLink inside one node, bounded by the NIC across nodes (ring all-gather)."""
    if n_gpus <= 1:
        return SyncTime(0.0, 0.0)
    return transfer(VLLM_WEIGHT_BYTES * m.params * (n_gpus - 1) / n_gpus, NVLINK if nodes == 1 else INFINIBAND)


def per_tensor(m: ModelShape) -> SyncTime:
    t = m.tensor_count * PER_TENSOR_S
    return SyncTime(t, t)


# ----------------------------------------------------------------------------- layouts


@dataclass(frozen=True)
class LayoutEstimate:
    model: str
    layout: str
    learner_gpus: int
    generator_gpus: int  # 0: the learner's GPUs also generate (colocated)
    tp: int
    zero_stage: int
    learner_gpu_gib: float  # peak on a learner GPU (colocated: learner + engine)
    generator_gpu_gib: float  # peak on a generator GPU (0 when colocated)
    fits: bool
    vllm_memory_fraction: float  # engine weights + KV + workspace / GPU memory: generator.gpu_memory_utilization
    sync_s: tuple[float, float]
    sleep_wake_s: tuple[float, float]


@dataclass(frozen=True)
class Hardware:
    gpus_per_node: int
    nodes: int
    gpu_bytes: float


def _gib(x: float) -> float:
    return round(x / GIB, 2)


def _pair(t: SyncTime) -> tuple[float, float]:
    return (round(t.low, 4), round(t.high, 4))


def colocated(m: ModelShape, setup: LearnerSetup, hw: Hardware, nodes: int, tp: int, kv_tokens: int) -> LayoutEstimate:
    """Every rank trains a ZeRO shard and runs (its TP slice of) an engine; vLLM sleeps while the
    learner trains and the learner rests while vLLM generates. Sync is in-process: gather (ZeRO-3)
    then each GPU copies its engine shard in HBM; sleep/wake moves the engine's weights over PCIe."""
    n = hw.gpus_per_node * nodes
    lm, em = learner_memory(m, setup, n), engine_memory(m, tp, kv_tokens)
    peak = max(lm.training_peak + VLLM_SLEEP_RESIDUAL_GIB * GIB, lm.at_rest + em.awake) + CUDA_CONTEXT_GIB * GIB
    gather = zero3_gather_time(m, n, nodes) if setup.zero_stage == 3 else SyncTime(0.0, 0.0)
    sync = add(gather, transfer(em.weights, HBM_COPY), per_tensor(m))
    wake = transfer(2 * em.weights, PCIE)  # offload after generation, reload before the next
    return LayoutEstimate(
        m.name,
        f"colocated {nodes}x{hw.gpus_per_node}",
        n,
        0,
        tp,
        setup.zero_stage,
        _gib(peak),
        0.0,
        peak <= hw.gpu_bytes,
        round(em.awake / hw.gpu_bytes, 3),
        _pair(sync),
        _pair(wake),
    )


def separate(
    m: ModelShape,
    setup: LearnerSetup,
    hw: Hardware,
    learner_nodes: int,
    learner_gpus: int,
    generator_gpus: int,
    same_node: bool,
    tp: int,
    kv_tokens: int,
    name: str,
) -> LayoutEstimate:
    """Learner and engines on different GPUs. Sync: gather (ZeRO-3), then rank 0 broadcasts each
    bf16 tensor to the engines over NCCL (NVLink on one node, InfiniBand between nodes)."""
    lm, em = learner_memory(m, setup, learner_gpus), engine_memory(m, tp, kv_tokens)
    learner_peak = lm.training_peak + CUDA_CONTEXT_GIB * GIB
    generator_peak = em.awake + CUDA_CONTEXT_GIB * GIB
    gather = zero3_gather_time(m, learner_gpus, learner_nodes) if setup.zero_stage == 3 else SyncTime(0.0, 0.0)
    broadcast = transfer(VLLM_WEIGHT_BYTES * m.params, NVLINK if same_node else INFINIBAND)
    return LayoutEstimate(
        m.name,
        name,
        learner_gpus,
        generator_gpus,
        tp,
        setup.zero_stage,
        _gib(learner_peak),
        _gib(generator_peak),
        max(learner_peak, generator_peak) <= hw.gpu_bytes,
        round(em.awake / hw.gpu_bytes, 3),
        _pair(add(gather, broadcast, per_tensor(m))),
        (0.0, 0.0),
    )


def layouts(m: ModelShape, setup: LearnerSetup, hw: Hardware, kv_tokens: int, tp: int | None) -> list[LayoutEstimate]:
    """colocated 1xG, colocated NxG, one node split in half (learner | generator; needs two GPUs
    or more), and a learner on N nodes with the generator on a node of its own."""
    g = hw.gpus_per_node
    t = tp or auto_tp(m, g, hw.gpu_bytes)
    half = max(1, g // 2)
    out = [colocated(m, setup, hw, 1, t, kv_tokens)]
    if hw.nodes > 1:
        out.append(colocated(m, setup, hw, hw.nodes, t, kv_tokens))
    if g > 1:
        out.append(separate(m, setup, hw, 1, half, g - half, True, min(t, g - half), kv_tokens, f"split 1x({half}+{g - half})"))
    out.append(separate(m, setup, hw, hw.nodes, hw.nodes * g, g, False, t, kv_tokens, f"learner {hw.nodes}x{g} + generator 1x{g}"))
    return out


# ----------------------------------------------------------------------------- report


def learner_table(models: list[ModelShape], setup: LearnerSetup, sizes: list[int]) -> tuple[str, list[dict]]:
    rows, records = [], []
    head = (
        "| model | params | GPUs | " + " | ".join(f"ZeRO-{s} states" for s in range(4)) + f" | activations | ZeRO-{setup.zero_stage} training peak |"
    )
    rows += [head, "|" + "---|" * (head.count("|") - 1)]
    for m in models:
        for n in sizes:
            per_stage = [learner_memory(m, replace(setup, zero_stage=s), n) for s in range(4)]
            act = per_stage[3].activations
            rows.append(
                f"| {m.name} | {m.params / 1e9:.2f}B | {n} | "
                + " | ".join(f"{_gib(x.model_states)}" for x in per_stage)
                + f" | {_gib(act)} | {_gib(per_stage[setup.zero_stage].training_peak)} |"
            )
            records.append({"model": m.name, "gpus": n, "model_states_gib": [_gib(x.model_states) for x in per_stage], "activations_gib": _gib(act)})
    return "\n".join(rows), records


def layout_table(estimates: list[LayoutEstimate], gpu_gib: float) -> str:
    head = (
        f"| model | layout | learner GPUs | generator GPUs | vLLM TP | learner-GPU peak GiB | generator-GPU peak GiB "
        f"| fits {gpu_gib:g} GiB | vLLM memory fraction | sync s | sleep+wake s |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for e in estimates:
        gen = str(e.generator_gpus) if e.generator_gpus else "(same)"
        gen_gib = f"{e.generator_gpu_gib}" if e.generator_gpus else "-"
        wake = f"{e.sleep_wake_s[0]:.3f}-{e.sleep_wake_s[1]:.3f}" if e.generator_gpus == 0 else "-"
        rows.append(
            f"| {e.model} | {e.layout} | {e.learner_gpus} | {gen} | {e.tp} | {e.learner_gpu_gib} | {gen_gib} "
            f"| {'yes' if e.fits else 'NO'} | {e.vllm_memory_fraction} | {e.sync_s[0]:.3f}-{e.sync_s[1]:.3f} | {wake} |"
        )
    return "\n".join(rows)


def assumptions() -> dict[str, object]:
    return {
        "bandwidth_gbps": {"hbm_copy": asdict(HBM_COPY), "nvlink": asdict(NVLINK), "infiniband": asdict(INFINIBAND), "pcie": asdict(PCIE)},
        "per_tensor_s": PER_TENSOR_S,
        "cuda_context_gib": CUDA_CONTEXT_GIB,
        "vllm_workspace_gib": VLLM_WORKSPACE_GIB,
        "vllm_sleep_residual_gib": VLLM_SLEEP_RESIDUAL_GIB,
        "reduce_bucket_elements": REDUCE_BUCKET_ELEMENTS,
        "vllm_weight_bytes": VLLM_WEIGHT_BYTES,
        "vllm_kv_bytes": VLLM_KV_BYTES,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--model", action="append", help=f"built-in ({', '.join(BUILTIN_MODELS)}) or config.json path; repeatable (default: all built-ins)"
    )
    p.add_argument("--gpus-per-node", type=int, default=8)
    p.add_argument("--nodes", type=int, default=2, help="nodes of the multi-node layouts (the learner's nodes when the generator is separate)")
    p.add_argument("--gpu-memory-gib", type=float, default=80.0, help="memory of one GPU (H100 SXM: 80)")
    p.add_argument("--zero-stage", type=int, default=3, choices=range(4), help="ZeRO stage of the layout table")
    p.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16", help="learner.dtype")
    p.add_argument("--grad-dtype", choices=["bf16", "fp32"], default="bf16", help="gradient accumulation dtype (bfloat16 learners)")
    p.add_argument("--micro-batch", type=int, default=4, help="learner.micro_batch_size (sequences)")
    p.add_argument("--seq-len", type=int, default=2048, help="padded prompt + completion tokens of a micro-batch")
    p.add_argument("--no-gradient-checkpointing", action="store_true")
    p.add_argument("--lora-rank", type=int, default=0, help="learner.lora.rank (0: full fine-tuning)")
    p.add_argument("--reference", action="store_true", help="a KL reference model on every learner GPU (algorithm.loss.kl_coef > 0)")
    p.add_argument("--kv-tokens", type=int, default=128 * 2048, help="tokens each engine keeps in its KV cache at once")
    p.add_argument("--tp", type=int, default=0, help="vLLM tensor-parallel degree (0: smallest power of two with weights <= 1/4 GPU)")
    args = p.parse_args(argv)
    if (args.dtype, args.grad_dtype) not in PRECISIONS:
        p.error("--dtype float32 trains with fp32 gradients: use --grad-dtype fp32")
    return args


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    args = parse_args(argv)
    try:
        models = [resolve_model(s) for s in (args.model or list(BUILTIN_MODELS))]
    except ValueError as e:
        print(f"estimate_memory: error: {e}", file=sys.stderr)
        return 2
    setup = LearnerSetup(
        zero_stage=args.zero_stage,
        precision=PRECISIONS[(args.dtype, args.grad_dtype)],
        micro_batch=args.micro_batch,
        seq_len=args.seq_len,
        gradient_checkpointing=not args.no_gradient_checkpointing,
        lora_rank=args.lora_rank,
        reference=args.reference,
    )
    hw = Hardware(args.gpus_per_node, args.nodes, args.gpu_memory_gib * GIB)
    sizes = sorted({args.gpus_per_node, args.gpus_per_node * args.nodes})
    table1, learner_records = learner_table(models, setup, sizes)
    estimates = [e for m in models for e in layouts(m, setup, hw, args.kv_tokens, args.tp or None)]
    out(
        f"Learner memory per GPU (GiB): model states by ZeRO stage; micro-batch {args.micro_batch} x {args.seq_len} tokens, "
        f"gradient checkpointing {'on' if setup.gradient_checkpointing else 'off'}, {args.dtype}\n"
    )
    out(table1)
    out(
        f"\nLayouts (ZeRO-{args.zero_stage}, {args.kv_tokens} KV tokens per engine, {args.gpus_per_node} GPUs per node; "
        "sync and sleep+wake: optimistic-pessimistic seconds per step)\n"
    )
    out(layout_table(estimates, args.gpu_memory_gib))
    record = {
        "settings": {k: v for k, v in vars(args).items() if k != "model"},
        "models": [
            {**asdict(m), "params": m.params, "tensors": m.tensor_count, "train_flops_per_token": m.train_flops_per_token(args.seq_len)}
            for m in models
        ],
        "learner": learner_records,
        "layouts": [asdict(e) for e in estimates],
        "assumptions": assumptions(),
    }
    out(json.dumps(record, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
