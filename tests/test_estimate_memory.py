"""scripts/estimate_memory.py: model shapes against transformers, ZeRO arithmetic against the ZeRO
paper and DeepSpeed's own estimator, and the report it prints."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
from conftest import script_module

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def est():
    with script_module("estimate_memory") as module:
        yield module


def _meta_model(hf_config: dict):
    """The real transformers model for a config, on the meta device (no memory, no init cost)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.for_model(**hf_config)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(cfg)


def _counts(model) -> tuple[int, int, int]:
    """(distinct parameters, largest module's own parameters as DeepSpeed's model_to_params counts
    them, distinct tensors)."""
    unique = {id(p): p for p in model.parameters()}
    largest = max(sum(p.numel() for p in m.parameters(recurse=False)) for m in model.modules())
    return sum(p.numel() for p in unique.values()), largest, len(unique)


def _hf_config(shape) -> dict:
    return {
        "model_type": "qwen2",
        "hidden_size": shape.hidden,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "num_key_value_heads": shape.kv_heads,
        "intermediate_size": shape.intermediate,
        "vocab_size": shape.vocab,
        "tie_word_embeddings": shape.tied,
    }


def test_builtin_shapes_count_what_transformers_builds(est):
    """Each built-in Qwen2.5 shape gives exactly the parameters, largest module and tensor count
    of the Qwen2 model transformers builds from the same numbers."""
    for shape in est.BUILTIN_MODELS.values():
        params, largest, tensors = _counts(_meta_model(_hf_config(shape)))
        assert (shape.params, shape.largest_module_params, shape.tensor_count) == (params, largest, tensors), shape.name


def test_builtin_shapes_match_the_published_sizes(est):
    """Qwen2.5 model cards: 0.49B, 1.54B, 7.61B parameters (truncated to two decimals)."""
    published = {"qwen2.5-0.5b": 49, "qwen2.5-1.5b": 154, "qwen2.5-7b": 761}
    for name, centi_billions in published.items():
        assert est.BUILTIN_MODELS[name].params // 10**7 == centi_billions, name


def test_config_json_shapes(est, tmp_path):
    """A local config.json (the bundled Llama and an untied GQA Qwen2 without head_dim) reads
    into the shape transformers builds."""
    tiny = est.shape_from_config(ROOT / "rlvr" / "assets" / "tiny-arith")
    cfg = json.loads((ROOT / "rlvr" / "assets" / "tiny-arith" / "config.json").read_text())
    hf = {
        k: cfg[k]
        for k in (
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "intermediate_size",
            "vocab_size",
            "tie_word_embeddings",
            "head_dim",
        )
    }
    assert (tiny.params, tiny.largest_module_params, tiny.tensor_count) == _counts(_meta_model({"model_type": "llama", **hf}))
    assert not tiny.qkv_bias and tiny.tied

    qwen = {
        "model_type": "qwen2",
        "hidden_size": 256,
        "num_hidden_layers": 3,
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
        "intermediate_size": 704,
        "vocab_size": 1000,
        "tie_word_embeddings": False,
    }
    (tmp_path / "config.json").write_text(json.dumps(qwen))
    shape = est.shape_from_config(tmp_path / "config.json")
    assert (shape.kv_dim, shape.qkv_bias, shape.tied) == (64, True, False)
    assert (shape.params, shape.largest_module_params, shape.tensor_count) == _counts(_meta_model(qwen))

    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(ValueError, match="num_hidden_layers"):
        est.shape_from_config(tmp_path)


def test_zero_paper_figures(est):
    """ZeRO paper (arXiv:1910.02054) Figure 1: a 7.5B model, 64 GPUs, 2+2+12 bytes per parameter:
    120 GB baseline, 31.4 GB with P_os, 16.6 GB with P_os+g, 1.88 GB with P_os+g+p."""
    params = 7.5e9
    for stage, expected_gb in [(0, 120.0), (1, 31.4), (2, 16.6), (3, 1.88)]:
        total = sum(est.partitioned_states(params, params, est.ZERO_PAPER_MIXED, stage, 64))
        assert total / 1e9 == pytest.approx(expected_gb, rel=0.005), stage


def _deepspeed_gpu_gib(fn, **kwargs) -> float:
    """The 'per GPU' GiB DeepSpeed's ``*_all_cold`` estimator prints for no offload at all."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        fn(**kwargs)
    rows = [line for line in buf.getvalue().splitlines() if "offload_optimizer=none" in line and "offload_param=cpu" not in line]
    (row,) = [r for r in rows if "zero_init=0" not in r]  # zero_init changes only the CPU column
    return float(re.search(r"\|\s*([\d.]+)GB\s*\|", row).group(1))


# Tolerance of the cross-check: ZeRO-2 must agree to the printed rounding (DeepSpeed counts the
# same 2 + (2 + 4 + 4 + 8)/N bytes). ZeRO-3: DeepSpeed's formula charges 18 bytes/param/N (16-bit
# weights + fp32 weights, gradients, momentum, variance); ours also keeps the bf16 gradient
# partition (20/N), so ours may be up to 20/18 - 1 = 11.1% higher, never lower.
ZERO2_TOLERANCE = 0.005
ZERO3_TOLERANCE = 0.12


def test_learner_states_agree_with_deepspeed_estimator(est):
    from deepspeed.runtime.zero.stage3 import (
        estimate_zero3_model_states_mem_needs_all_cold,
    )
    from deepspeed.runtime.zero.stage_1_and_2 import (
        estimate_zero2_model_states_mem_needs_all_cold,
    )

    for shape in est.BUILTIN_MODELS.values():
        for nodes in (1, 2):
            n = 8 * nodes
            setup = est.LearnerSetup(zero_stage=2, precision=est.DEEPSPEED_BF16, micro_batch=1, seq_len=1)
            ours2 = est.learner_memory(shape, setup, n).model_states / est.GIB
            ds2 = _deepspeed_gpu_gib(estimate_zero2_model_states_mem_needs_all_cold, total_params=shape.params, num_gpus_per_node=8, num_nodes=nodes)
            assert ours2 == pytest.approx(ds2, rel=ZERO2_TOLERANCE, abs=0.006), (shape.name, n)

            ours3 = est.learner_memory(shape, est.LearnerSetup(3, est.DEEPSPEED_BF16, 1, 1), n).model_states / est.GIB
            ds3 = _deepspeed_gpu_gib(
                estimate_zero3_model_states_mem_needs_all_cold,
                total_params=shape.params,
                largest_layer_params=shape.largest_module_params,
                num_gpus_per_node=8,
                num_nodes=nodes,
            )
            assert ds3 - 0.006 <= ours3 <= ds3 * (1 + ZERO3_TOLERANCE), (shape.name, n, ours3, ds3)

            # DeepSpeed's stage-1/2 estimator is one formula; ZeRO-1 keeps full bf16 gradients.
            ours1 = est.learner_memory(shape, est.LearnerSetup(1, est.DEEPSPEED_BF16, 1, 1), n).model_states / est.GIB
            assert ours1 - ours2 == pytest.approx(2 * shape.params * (1 - 1 / n) / est.GIB, rel=1e-9)


def test_activations_and_kv_cache(est):
    m = est.BUILTIN_MODELS["qwen2.5-0.5b"]
    on = est.LearnerSetup(zero_stage=3, precision=est.DEEPSPEED_BF16, micro_batch=2, seq_len=1024)
    off = est.LearnerSetup(zero_stage=3, precision=est.DEEPSPEED_BF16, micro_batch=2, seq_len=1024, gradient_checkpointing=False)
    tokens = 2 * 1024
    logits = tokens * m.vocab * (2 + 4 + 2)
    per_layer = 2 * (6 * m.hidden + 2 * m.kv_dim + 4 * m.intermediate) * tokens
    assert est.activation_bytes(m, on) == logits + m.layers * 2 * m.hidden * tokens + per_layer
    assert est.activation_bytes(m, off) == logits + m.layers * per_layer
    # 24 layers x 2 KV heads x 64 dims x (K, V) x 2 bytes
    assert m.kv_bytes_per_token() == 24 * 2 * 64 * 2 * 2 == 12288
    # TP beyond the KV head count replicates heads instead of splitting them further.
    assert est.engine_memory(m, 2, 1000).kv_cache == est.engine_memory(m, 8, 1000).kv_cache == 1000 * 12288 / 2
    assert est.engine_memory(m, 4, 0).weights == 2 * m.params / 4


def test_lora_trains_only_adapters(est):
    m = est.BUILTIN_MODELS["qwen2.5-7b"]
    full = est.learner_memory(m, est.LearnerSetup(2, est.DEEPSPEED_BF16, 1, 1), 8)
    lora = est.learner_memory(m, est.LearnerSetup(2, est.DEEPSPEED_BF16, 1, 1, lora_rank=16), 8)
    adapters = m.lora_params(16)
    assert 0 < adapters < m.params / 50
    assert lora.optimizer == pytest.approx(16 * adapters / 8) and lora.grads == pytest.approx(2 * adapters / 8)
    assert lora.weights == pytest.approx(2 * (m.params + adapters)) and lora.model_states < full.model_states / 2


def test_sync_estimates(est):
    m = est.BUILTIN_MODELS["qwen2.5-0.5b"]
    hw = est.Hardware(gpus_per_node=8, nodes=2, gpu_bytes=80 * est.GIB)
    setup = est.LearnerSetup(zero_stage=3, precision=est.DEEPSPEED_BF16, micro_batch=4, seq_len=2048)
    by_name = {e.layout: e for e in est.layouts(m, setup, hw, kv_tokens=262144, tp=None)}
    nbytes = 2 * m.params
    gather = nbytes * 7 / 8
    colocated = by_name["colocated 1x8"]
    assert colocated.sync_s[0] == pytest.approx(gather / 450e9 + nbytes / 1500e9 + m.tensor_count * est.PER_TENSOR_S, abs=1e-4)
    assert colocated.sync_s[1] < 1.0  # the target for 0.5B colocated, on paper
    split, remote = by_name["split 1x(4+4)"], by_name["learner 2x8 + generator 1x8"]
    assert remote.sync_s[1] > split.sync_s[1]  # InfiniBand is slower than NVLink
    assert remote.sync_s[1] == pytest.approx(nbytes * 15 / 16 / 25e9 + nbytes / 25e9 + m.tensor_count * est.PER_TENSOR_S, abs=1e-4)
    # ZeRO-2 keeps full weights on every rank: no gather before the copy.
    z2 = est.layouts(m, est.LearnerSetup(2, est.DEEPSPEED_BF16, 4, 2048), hw, 262144, None)[0]
    assert z2.sync_s[0] == pytest.approx(nbytes / 1500e9 + m.tensor_count * est.PER_TENSOR_S, abs=1e-4)


def test_32b_needs_more_than_one_node_colocated(est):
    m = est.BUILTIN_MODELS["qwen2.5-32b"]
    hw = est.Hardware(gpus_per_node=8, nodes=2, gpu_bytes=80 * est.GIB)
    setup = est.LearnerSetup(zero_stage=3, precision=est.DEEPSPEED_BF16, micro_batch=4, seq_len=2048)
    one, two = est.layouts(m, setup, hw, 262144, None)[:2]
    assert (one.layout, one.fits, two.layout, two.fits) == ("colocated 1x8", False, "colocated 2x8", True)
    assert one.tp == est.auto_tp(m, 8, 80 * est.GIB) == 4


def test_report_prints_tables_then_one_json_line(est, tmp_path):
    lines: list[str] = []
    assert est.main(["--model", "qwen2.5-0.5b", "--model", str(ROOT / "rlvr" / "assets" / "tiny-arith"), "--nodes", "4"], out=lines.append) == 0
    text = "\n".join(lines[:-1])
    assert "| qwen2.5-0.5b | colocated 1x8 |" in text and "| qwen2.5-0.5b | colocated 4x8 |" in text
    assert "| tiny-arith | learner 4x8 + generator 1x8 |" in text
    record = json.loads(lines[-1])
    assert [m["name"] for m in record["models"]] == ["qwen2.5-0.5b", "tiny-arith"]
    assert record["models"][0]["params"] == 494032768
    assert len(record["layouts"]) == 8 and record["assumptions"]["bandwidth_gbps"]["nvlink"] == {"low": 300, "high": 450}
    assert est.main(["--model", "no-such-model"], out=lines.append) == 2


def test_one_gpu_gets_no_split_layout(est):
    """A single GPU cannot be split into a learner half and a generator half (this divided by zero)."""
    lines: list[str] = []
    assert est.main(["--model", "qwen2.5-0.5b", "--gpus-per-node", "1", "--nodes", "1"], out=lines.append) == 0
    layouts = [x["layout"] for x in json.loads(lines[-1])["layouts"]]
    assert layouts == ["colocated 1x1", "learner 1x1 + generator 1x1"]
